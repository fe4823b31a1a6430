# `make run` and `make test` work on a machine that has only Python 3.11: they create .venv.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml | cksum | cut -d' ' -f1)

.PHONY: install run test lint bench clean services browser fonts

$(STAMP): pyproject.toml
	$(PYTHON) -c 'import sys; assert sys.version_info[:2] in ((3, 11), (3, 12)), "Python 3.11 or 3.12 is required (durable-rules)"'
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	rm -f $(VENV)/.installed-*
	touch $(STAMP)

install: $(STAMP)

run: install fonts
	$(BIN)/riskengine db upgrade
	$(BIN)/riskengine serve --dev

lint: install
	$(BIN)/ruff check .
	$(BIN)/mypy riskengine

# The suite runs its persistence tests on PostgreSQL too; start the local server when it is
# installed but stopped (without it those tests fail).
services:
	@pg_isready -q -h 127.0.0.1 -p 5432 2>/dev/null || \
	  { command -v pg_ctlcluster >/dev/null && \
	    pg_ctlcluster --skip-systemctl-redirect $$(ls /etc/postgresql | head -n1) main start; } || \
	  echo "make: PostgreSQL is not running here; its tests will fail"

# Browser tests drive Debian's Chromium (Playwright never downloads a browser here).
browser:
	@test -x /usr/bin/chromium || \
	  { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium; } || \
	  echo "make: could not install chromium; the browser tests will fail"

# PDF reports embed WenQuanYi Micro Hei, a TrueType CJK font from Debian's fonts-wqy-microhei
# (riskengine/reports.py finds it, or RISKENGINE_CJK_FONT); the PDF tests render pages with
# pdftoppm (poppler-utils).
CJK_FONT_FILE := /usr/share/fonts/truetype/wqy/wqy-microhei.ttc
fonts:
	@{ test -f $(CJK_FONT_FILE) && command -v pdftoppm >/dev/null; } || \
	  { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
	      fonts-wqy-microhei poppler-utils >/dev/null; } || \
	  echo "make: could not install fonts-wqy-microhei poppler-utils; PDF reports will fail"

test: install lint services browser fonts
	$(BIN)/riskengine rules test
	$(BIN)/pytest -q

# Long runs, kept out of `make test`: each prints figures and ratios measured in the same run.
bench: install services
	$(BIN)/python bench/engine.py --profile
	$(BIN)/python bench/api.py
	$(BIN)/python bench/store.py
	$(BIN)/python bench/audits.py

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache

# `make run` and `make test` work on a machine that has only Python 3.11: they create .venv.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml | cksum | cut -d' ' -f1)

.PHONY: install run test lint bench clean services browser fonts image-tools

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
	$(BIN)/mypy riskengine api

# The suite runs its persistence tests on PostgreSQL too (postgres@127.0.0.1:5432, no password).
# On a fresh Debian machine this installs Debian's postgresql, creates and starts its cluster,
# trusts local TCP connections if the install asks for a password, and creates database `test`;
# where all that is done already it only checks, silently.
PG := 127.0.0.1
PG_VERSION = $$(ls /etc/postgresql 2>/dev/null | sort -V | tail -n1)
PSQL := psql -h $(PG) -p 5432 -U postgres -w -X -q -d postgres
services:
	@command -v pg_ctlcluster >/dev/null || \
	  { echo "make: installing PostgreSQL (Debian's postgresql)"; apt-get update -qq && \
	    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null; } || \
	  echo "make: could not install PostgreSQL; its tests will fail"
	@pg_isready -q -h $(PG) -p 5432 2>/dev/null || { \
	  test -n "$(PG_VERSION)" || pg_createcluster \
	    "$$(ls /usr/lib/postgresql | sort -V | tail -n1)" main >/dev/null; \
	  pg_ctlcluster --skip-systemctl-redirect $(PG_VERSION) main start; \
	  for i in 1 2 3 4 5 6 7 8 9 10; do pg_isready -q -h $(PG) -p 5432 && break; sleep 1; done; \
	  pg_isready -q -h $(PG) -p 5432; } || \
	  echo "make: PostgreSQL is not running here; its tests will fail"
	@! pg_isready -q -h $(PG) -p 5432 || $(PSQL) -c 'select 1' >/dev/null 2>&1 || { \
	  hba=/etc/postgresql/$(PG_VERSION)/main/pg_hba.conf; \
	  echo "make: $$hba: trusting 127.0.0.1 (a test machine's PostgreSQL)"; \
	  { printf '%s\n' '# make services: the tests connect as postgres without a password' \
	      'host all all 127.0.0.1/32 trust'; cat "$$hba"; } > "$$hba.new" && \
	  cat "$$hba.new" > "$$hba" && rm -f "$$hba.new" && \
	  pg_ctlcluster --skip-systemctl-redirect $(PG_VERSION) main reload && sleep 1; } || \
	  echo "make: PostgreSQL refuses postgres@$(PG) without a password; its tests will fail"
	@! pg_isready -q -h $(PG) -p 5432 || \
	  $(PSQL) -tAc "select 1 from pg_database where datname = 'test'" 2>/dev/null | grep -q 1 || \
	  $(PSQL) -c 'create database test' || \
	  echo "make: could not create PostgreSQL database test; its tests will fail"

# Browser tests drive Debian's Chromium (Playwright never downloads a browser here); its pages
# and the README's screenshots need a CJK font (Noto Sans CJK) or Chinese shows as boxes.
CHROMIUM_CJK_FONT := /usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc
# axe-core (the accessibility engine the browser tests inject from this local file, never a CDN)
# comes from the npm registry into .venv/axe; Debian has no package of it.
AXE_VERSION := 4.14.1
AXE_FILE := $(VENV)/axe/node_modules/axe-core/axe.min.js
browser:
	@{ test -x /usr/bin/chromium && test -f $(CHROMIUM_CJK_FONT) && command -v npm >/dev/null; } || \
	  { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
	      chromium fonts-noto-cjk npm >/dev/null; } || \
	  echo "make: could not install chromium fonts-noto-cjk npm; the browser tests will fail"
	@grep -qs '"version": "$(AXE_VERSION)"' $(VENV)/axe/node_modules/axe-core/package.json || \
	  npm install --silent --no-audit --no-fund --prefix $(VENV)/axe axe-core@$(AXE_VERSION) || \
	  echo "make: could not install axe-core $(AXE_VERSION) from npm; the browser tests will fail"

# PDF reports embed WenQuanYi Micro Hei, a TrueType CJK font from Debian's fonts-wqy-microhei
# (riskengine/output/reports.py finds it, or RISKENGINE_CJK_FONT); the PDF tests render pages with
# pdftoppm (poppler-utils).
CJK_FONT_FILE := /usr/share/fonts/truetype/wqy/wqy-microhei.ttc
fonts:
	@{ test -f $(CJK_FONT_FILE) && command -v pdftoppm >/dev/null; } || \
	  { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
	      fonts-wqy-microhei poppler-utils >/dev/null; } || \
	  echo "make: could not install fonts-wqy-microhei poppler-utils; PDF reports will fail"

# tests/deploy/test_podman_image.py builds the Dockerfile with Debian's podman (chroot isolation,
# no daemon) on a stand-in base that mmdebstrap makes from Debian's packages (cached under
# /var/cache/riskengine-image), then runs the image in a chroot (unshare, chroot: util-linux and
# coreutils, always there).
image-tools:
	@{ command -v podman && command -v mmdebstrap; } >/dev/null || \
	  { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
	      podman mmdebstrap >/dev/null; } || \
	  echo "make: could not install podman mmdebstrap; the image test will fail"

test: install lint services browser fonts image-tools
	$(BIN)/riskengine rules test
	$(BIN)/pytest -q

# Long runs, kept out of `make test`: each prints figures and ratios measured in the same run.
bench: install services
	$(BIN)/python bench/engine.py --profile
	$(BIN)/python bench/api.py
	$(BIN)/python bench/store.py
	$(BIN)/python bench/audits.py
	$(BIN)/python bench/whatif.py

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache

# riskengine HTTP service: gunicorn, non-root, the rulesets inside the image.
#   docker build -t riskengine .
#   docker run -e DATABASE_URL=postgresql://user:pass@db/riskengine -e SECRET_KEY=... \
#              -e RISKENGINE_WORKERS=2 -p 8000:8000 riskengine
# Workers default to the cores the container may run on; with a CPU quota (--cpus) set
# RISKENGINE_WORKERS. The web pages' session cookie is Secure: serve them behind HTTPS.
# A host directory mounted on /app/instance (embedded SQLite only) must be writable by uid 10001.
# tests/deploy/test_podman_image.py builds this image with podman and runs it on every `make test`.
# Python 3.11: durable-rules (the rule engine) fails to import on 3.13.
# BASE: any Debian image whose `python` and `pip` are Python 3.11 (the podman test builds on a
# stand-in made from Debian's packages, Docker Hub being out of its reach).
ARG BASE=python:3.11-slim

FROM ${BASE} AS build
# durable-rules has no wheel: it compiles its C extension here, never in the final image.
RUN apt-get update \
 && apt-get install -y --no-install-recommends gcc g++ make \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY pyproject.toml README.md ./
COPY riskengine ./riskengine
COPY api ./api
RUN pip wheel --no-cache-dir --wheel-dir /wheels .

FROM ${BASE}
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    RISKENGINE_RULESETS=/app/rulesets \
    RISKENGINE_ENV=production
# uid and gid 10001 both: `--user-group` alone would pick a system gid (999), which a volume's
# owner on the host cannot know in advance.
RUN groupadd --system --gid 10001 riskengine \
 && useradd --system --uid 10001 --gid riskengine --home-dir /app --shell /usr/sbin/nologin \
      riskengine
# The PDF reports embed this CJK TrueType font (riskengine/output/reports.py finds it here).
RUN apt-get update \
 && apt-get install -y --no-install-recommends fonts-wqy-microhei \
 && rm -rf /var/lib/apt/lists/*
COPY --from=build /wheels /wheels
RUN pip install --no-cache-dir /wheels/*.whl && rm -rf /wheels
WORKDIR /app
COPY rulesets ./rulesets
# Only the embedded SQLite file (no DATABASE_URL) is written, under /app/instance: mount a volume.
RUN mkdir -p /app/instance && chown riskengine:riskengine /app/instance
USER riskengine
EXPOSE 8000
VOLUME ["/app/instance"]
HEALTHCHECK --interval=30s --timeout=5s \
  CMD python -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=3)"
# Apply pending migrations, then serve. Several replicas: run `riskengine db upgrade` once as a
# release step instead (it takes a PostgreSQL advisory lock, so concurrent runs are safe too).
CMD ["sh", "-c", "riskengine db upgrade && exec riskengine serve --host 0.0.0.0 --port 8000"]

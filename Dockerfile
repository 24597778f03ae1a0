# The local twin in a container (docs/local-twin.md#in-a-container):
#   docker build -t agri-mrv . && docker run -p 8000:8000 agri-mrv
# Everything is installed by scripts/bootstrap.sh, the script every machine runs, so the image and a
# checkout cannot drift. Not built in CI (no Docker engine there): tests/infra/test_dockerfile.py lints
# this file with hadolint and checks it against scripts/bootstrap.sh and scripts/run.sh.
#
# Base images: official slim images, pinned by version and by digest, as docker-library/repo-info recorded
# them (python:3.11.16-slim-trixie on 2026-08-25; node:20-trixie-slim on 2026-03-25, then Node 20.20.2, the
# version our machines run). Not pulled from here (no registry access for images): a digest wins over its tag.
# Debian trixie for both, so the node binary copied below runs on the libraries it was built for.

FROM node:20.20.2-trixie-slim@sha256:2460bc3dca7ee791604d2dfa4219675d57520607f86c9f5896ab9444a41bad20 AS node

# ---- builder: runs the bootstrap (pip into /app/.venv, npm ci into /app/node_modules) ----------------
FROM python:3.11.16-slim-trixie@sha256:be1575ed968de893bd54f4c56315ff7c4736ce522c1bca08fd521731aafc0d76 AS builder
COPY --from=node /usr/local/bin/node /usr/local/bin/node
COPY --from=node /usr/local/lib/node_modules/npm /usr/local/lib/node_modules/npm
RUN ln -s ../lib/node_modules/npm/bin/npm-cli.js /usr/local/bin/npm \
    && ln -s ../lib/node_modules/npm/bin/npx-cli.js /usr/local/bin/npx
ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    npm_config_update_notifier=false \
    SCARF_ANALYTICS=false
WORKDIR /app
# Only what the bootstrap reads (its lock files and the verifier it installs editable), so a source
# change does not reinstall everything.
COPY scripts/bootstrap.sh scripts/
COPY requirements.txt package.json package-lock.json ./
COPY tools/ledger-verify tools/ledger-verify
RUN bash scripts/bootstrap.sh

# ---- runtime: the twin and only what it needs --------------------------------------------------------
FROM python:3.11.16-slim-trixie@sha256:be1575ed968de893bd54f4c56315ff7c4736ce522c1bca08fd521731aafc0d76 AS runtime
# node runs the CDK synth (jsii) at every start, as `bash scripts/run.sh` does; npm is not needed.
COPY --from=node /usr/local/bin/node /usr/local/bin/node
RUN useradd --create-home --uid 10001 --user-group twin
WORKDIR /app
# The venv's paths are absolute: it stays at /app/.venv, on the same Python, as the builder made it.
COPY --from=builder /app/.venv .venv
COPY --from=builder /app/node_modules node_modules
COPY --from=builder /app/tools/ledger-verify tools/ledger-verify
COPY cdk.json ./
COPY infra infra
COPY functions functions
COPY layers layers
# The code stays root's and read-only; the twin writes only its synth output (.local/cdk.out).
RUN mkdir .local && chown twin:twin .local
USER 10001:10001
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION=1 \
    JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION=20
EXPOSE 8000
# The first answer comes after the synth and the provisioning (about a minute on two cores).
HEALTHCHECK --interval=30s --timeout=5s --start-period=180s --retries=3 \
    CMD [".venv/bin/python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/health', timeout=4)"]
# What scripts/run.sh runs, listening on every interface so that `docker run -p 8000:8000` reaches it.
CMD [".venv/bin/python", "-m", "infra.local", "--host", "0.0.0.0", "--port", "8000"]

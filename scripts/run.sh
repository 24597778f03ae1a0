#!/usr/bin/env bash
# Install everything, then run agri-mrv locally (the local twin). Ctrl-C stops it.
#   bash scripts/run.sh [--port 8000] [--moto-port 5001]
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh
export JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION=1
exec .venv/bin/python -m infra.local "$@"

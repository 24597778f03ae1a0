#!/usr/bin/env bash
# Install everything, then run the whole test suite (unit, integration, infrastructure, end-to-end).
#   bash scripts/test.sh [pytest args]
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh --crosscheck
export JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION=1
exec .venv/bin/python -m pytest -n "${PYTEST_WORKERS:-2}" "$@"

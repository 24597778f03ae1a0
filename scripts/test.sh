#!/usr/bin/env bash
# Install everything, then run the whole test suite (unit, integration, infrastructure, end-to-end).
#   bash scripts/test.sh [pytest args]
# The schemathesis fuzz run (tests/fuzz, marker "fuzz") is collected but skipped unless AGRI_FUZZ=1:
#   AGRI_FUZZ=1 bash scripts/test.sh              # everything, fuzz run included
#   AGRI_FUZZ=1 bash scripts/test.sh -m fuzz      # the fuzz run only (a few minutes)
#   bash scripts/test.sh -m "not fuzz"            # everything else
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh --crosscheck
export JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION=1
exec .venv/bin/python -m pytest -n "${PYTEST_WORKERS:-2}" "$@"

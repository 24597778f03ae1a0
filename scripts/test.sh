#!/usr/bin/env bash
# Install everything, lint, check formatting and types, then run the whole test suite (unit, integration, infrastructure, end-to-end,
# and the bounded schemathesis fuzz run over every operation for each role: tests/fuzz, marker "fuzz").
#   bash scripts/test.sh [pytest args]
#   bash scripts/test.sh -m fuzz                  # the fuzz run only (a few minutes)
#   bash scripts/test.sh -m "not fuzz"            # everything else
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh --crosscheck
export JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION=1
.venv/bin/ruff check .            # lint (pyproject.toml [tool.ruff]); a finding fails the run before any test
.venv/bin/ruff format --check .   # formatting (ruff format, line length 120)
.venv/bin/mypy                    # types: strict on functions/ and the layers (pyproject.toml [tool.mypy])
exec .venv/bin/python -m pytest -n "${PYTEST_WORKERS:-2}" "$@"

#!/usr/bin/env bash
# Install everything the project needs from nothing: a .venv with the pinned Python requirements and
# the pinned npm tools (CDK CLI v2, swagger-ui-dist). Re-running is cheap: each step is skipped when
# its lock file has not changed since the last successful install.
set -euo pipefail
cd "$(dirname "$0")/.."

PY="${PYTHON:-$(command -v python3.11 || command -v python3)}"
stamp() { sha256sum "$@" | sha256sum | cut -d' ' -f1; }

# The README's walkthrough (and tests/e2e/test_readme_walkthrough.py, which runs it) uses curl:
# Debian's package when the machine lacks it.
if ! command -v curl > /dev/null 2>&1 && command -v apt-get > /dev/null 2>&1; then
  echo "==> installing curl (apt-get)"
  as_root=""
  [ "$(id -u)" = 0 ] || as_root="sudo"
  $as_root apt-get update -qq && $as_root apt-get install -y -qq --no-install-recommends curl
fi

if [ ! -x .venv/bin/python ]; then
  echo "==> creating .venv with $PY"
  "$PY" -m venv .venv
fi
want=$(stamp requirements.txt tools/ledger-verify/pyproject.toml)  # the verifier: installed from its folder
if [ "$(cat .venv/.requirements.sha 2>/dev/null)" != "$want" ]; then
  echo "==> installing Python requirements (about a minute the first time)"
  .venv/bin/python -m pip install --quiet --upgrade pip
  .venv/bin/python -m pip install --quiet -r requirements.txt
  echo "$want" > .venv/.requirements.sha
fi

if [ "${1:-}" = "--crosscheck" ]; then
  # bonsai-ipcc (independent IPCC implementation) pins numpy<2: it gets its own venv, used only by
  # tests/unit/layers/carbon_engine/test_bonsai_crosscheck.py through a subprocess.
  want=$(stamp requirements-crosscheck.txt)
  if [ "$(cat .venv-crosscheck/.requirements.sha 2>/dev/null)" != "$want" ]; then
    echo "==> installing the bonsai-ipcc cross-check venv (about a minute the first time)"
    [ -x .venv-crosscheck/bin/python ] || "$PY" -m venv .venv-crosscheck
    .venv-crosscheck/bin/python -m pip install --quiet --upgrade pip
    .venv-crosscheck/bin/python -m pip install --quiet -r requirements-crosscheck.txt
    echo "$want" > .venv-crosscheck/.requirements.sha
  fi
fi

want=$(stamp package.json package-lock.json)
if [ "$(cat node_modules/.package.sha 2>/dev/null)" != "$want" ]; then
  echo "==> installing npm tools"
  npm ci --no-audit --no-fund --loglevel=error
  echo "$want" > node_modules/.package.sha
fi
export JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION=1

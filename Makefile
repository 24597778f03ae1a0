# Shortcuts for the project's commands; each target delegates to scripts/ or the venv (the scripts stay the
# primary commands: docs/testing.md). `make dev ARGS="--port 8765"` passes options to the twin.
PY := .venv/bin/python
ARGS ?=

.PHONY: dev lint types unit test openapi bench

dev:  ## install, then run the local twin
	bash scripts/run.sh $(ARGS)

lint:  ## ruff lint and format check
	.venv/bin/ruff check . && .venv/bin/ruff format --check .

types:  ## mypy with the pyproject.toml config
	.venv/bin/mypy

unit:  ## the unit tests only
	$(PY) -m pytest -q tests/unit $(ARGS)

test:  ## everything CI runs: install, lint, all tests
	bash scripts/test.sh $(ARGS)

openapi:  ## regenerate the committed OpenAPI document
	$(PY) -m infra.openapi --write

bench:  ## every benchmark script in turn (slow: minutes each)
	for script in bench/*.py; do echo "== $$script"; $(PY) $$script || exit 1; done

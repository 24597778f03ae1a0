"""Fixtures of the infrastructure tests (the session's dev synth lives in tests/conftest.py).

``template`` / ``prod_template`` are the app's merged template (every stack's resources, cross-stack
references resolved: infra.local.template.merge_stacks), for assertions about the whole app;
``synthesized.stack(name)`` / ``prod_synthesized`` give each deployed stack's own template.
"""

from __future__ import annotations

import pytest

# prod anchors on a real chain, so its synth needs the registry's address (infra/config.py); any will do here.
PROD_REGISTRY = "0x" + "ab" * 20


@pytest.fixture(scope="session")
def template(synthesized) -> dict:
    return synthesized.template


@pytest.fixture(scope="session")
def prod_synthesized(tmp_path_factory):
    """The prod stacks, synthesized without the layers' pip step (only their settings are asserted)."""
    from infra.synth import synth

    return synth(
        "prod",
        bundle=False,
        outdir=tmp_path_factory.mktemp("cdk.out.prod"),
        context={"chain_contract_address": PROD_REGISTRY},
    )


@pytest.fixture(scope="session")
def prod_template(prod_synthesized) -> dict:
    return prod_synthesized.template


class _BudgetLines(list):
    """Lines a test appends here travel with its report (``user_properties``), so the terminal summary
    prints them under xdist too, where the tests run in worker processes."""

    def __init__(self, record_property) -> None:
        super().__init__()
        self._record = record_property

    def append(self, line: str) -> None:
        super().append(line)
        self._record("budget", line)


@pytest.fixture
def budget_report(record_property) -> list[str]:
    """Lines a test adds here are printed after the run (with or without ``-s``, with or without ``-n``)."""
    return _BudgetLines(record_property)

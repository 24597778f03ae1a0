"""Fixtures of the infrastructure tests (the session's dev synth lives in tests/conftest.py)."""

from __future__ import annotations

import pytest

# prod anchors on a real chain, so its synth needs the registry's address (infra/config.py); any will do here.
PROD_REGISTRY = "0x" + "ab" * 20


@pytest.fixture(scope="session")
def template(synthesized) -> dict:
    return synthesized.template


@pytest.fixture(scope="session")
def prod_template(tmp_path_factory) -> dict:
    """The prod stack, synthesized without the layers' pip step (only its settings are asserted)."""
    from infra.synth import synth

    return synth("prod", bundle=False, outdir=tmp_path_factory.mktemp("cdk.out.prod"),
                 context={"chain_contract_address": PROD_REGISTRY}).template

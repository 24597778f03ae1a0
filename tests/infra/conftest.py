"""Fixtures of the infrastructure tests (the session's dev synth lives in tests/conftest.py)."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="session")
def template(synthesized) -> dict:
    return synthesized.template


@pytest.fixture(scope="session")
def prod_template(tmp_path_factory) -> dict:
    """The prod stack, synthesized without the layers' pip step (only its settings are asserted)."""
    from infra.synth import synth

    return synth("prod", bundle=False, outdir=tmp_path_factory.mktemp("cdk.out.prod")).template

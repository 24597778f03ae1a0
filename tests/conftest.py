"""Shared pytest fixtures.

``synthesized``: the dev stack synthesized once per session (layers bundled, cdk-nag on) into a
temporary cloud assembly; infrastructure tests read its template and assets.
"""

from __future__ import annotations

import os

import pytest

# Before anything imports aws_cdk: jsii's Node 20 end-of-life banner is noise in test output.
os.environ.setdefault("JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION", "1")
os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")

from infra.routes import ensure_import_paths

ensure_import_paths()  # repo root and layers/*/python importable, as /opt/python is on Lambda


@pytest.fixture(scope="session")
def synthesized(tmp_path_factory):
    from infra.synth import synth

    return synth("dev", bundle=True, outdir=tmp_path_factory.mktemp("cdk.out"))

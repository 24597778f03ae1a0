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


@pytest.fixture(scope="session", autouse=True)
def _activity_log_for_session_fixtures():
    """Fixtures wider than a test (a pipeline run shared by a module) write their events here."""
    from agri_common.activity_table import InMemoryActivityStore
    from agri_common.platform import activity

    activity.use_store(InMemoryActivityStore())
    yield
    activity.use_store(None)


@pytest.fixture(autouse=True)
def activity_log(_activity_log_for_session_fixtures):
    """Every test's activity events, in memory: the hook in make_handler and @task writes one per
    mutating request or step (agri_common.platform.activity). A test of the DynamoDB store installs
    its own with ``activity.use_store``."""
    from agri_common.activity_table import InMemoryActivityStore
    from agri_common.platform import activity

    store = InMemoryActivityStore()
    activity.use_store(store)
    yield store
    activity.use_store(InMemoryActivityStore())


@pytest.fixture(scope="session")
def synthesized(tmp_path_factory):
    from infra.synth import synth

    return synth("dev", bundle=True, outdir=tmp_path_factory.mktemp("cdk.out"))


def pytest_terminal_summary(terminalreporter) -> None:
    """The resource budget and the other hard limits, as measured by tests/infra/test_stacks.py (here, in
    the root conftest: under xdist only the controller prints a summary, and it loads only this one)."""
    lines = [
        value
        for reports in terminalreporter.stats.values()
        for report in reports
        if getattr(report, "when", None) == "call"
        for name, value in getattr(report, "user_properties", [])
        if name == "budget"
    ]
    if lines:
        terminalreporter.section("stack budget (CloudFormation and service limits)")
        for line in lines:
            terminalreporter.write_line(line)

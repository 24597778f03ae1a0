"""Fixtures of the ledger unit tests: the writer and the reader over in-memory fakes."""

from __future__ import annotations

from decimal import Decimal

import pytest

from functions.ledger import models as m
from functions.ledger.anchoring import RetryPolicy
from functions.ledger.issuance import IssueRequests
from functions.ledger.moves import MoveRequests
from functions.ledger.queries import LedgerReader
from functions.ledger.writer import LedgerWriter
from tests.unit.functions.ledger.fakes import DirectWriterGateway, FakeArtifacts, FakeChain, FakeLedgerStore

NOW = "2026-01-01T00:00:00Z"


def approved_run(run_id: str = "R1", net: str = "10.7", farmers: int = 3, **overrides) -> m.ApprovedRun:
    data = dict(
        project_id="P1",
        run_id=run_id,
        vintage=2025,
        methodology_profile="awd-rice-v1",
        gwp="AR5",
        approved_by="auditor-sub-1",
        approved_at="2026-01-01T00:00:00Z",
        deductions={"uncertainty": "0.4", "buffer": "1.1"},
        creditable_net_t=Decimal(net),
        farmers=[
            {"farmer_id": f"FARMER-{i}", "owner_user_id": f"user-{i}", "fpo_id": "FPO-1", "net_t": str(i + 1)}
            for i in range(farmers)
        ],
    )
    data.update(overrides)
    return m.ApprovedRun.model_validate(data)


class Ledger:
    def __init__(self):
        self.store = FakeLedgerStore()
        self.artifacts = FakeArtifacts()
        self.chain = FakeChain()
        self.sleeps: list[float] = []
        self.writer = LedgerWriter(
            self.store, self.artifacts, lambda: self.chain, now=lambda: NOW, retry=RetryPolicy(sleep=self.sleeps.append)
        )
        self.gateway = DirectWriterGateway(self.writer)
        self.reader = LedgerReader(self.store, self.artifacts)
        self.moves = MoveRequests(self.store, self.gateway)
        self.issuances = IssueRequests(self.gateway)

    def serve(self, handler) -> None:
        """The ledger API handler's services over this ledger (dependency overrides)."""
        handler.app.dependency_overrides[handler.get_reader] = lambda: self.reader
        handler.app.dependency_overrides[handler.get_moves] = lambda: self.moves
        handler.app.dependency_overrides[handler.get_issuances] = lambda: self.issuances

    def issue(self, run: m.ApprovedRun | None = None) -> m.WriterResult:
        return self.writer.handle(m.WriterEvent(command="issue", run=run or approved_run()))

    def anchor(self) -> m.WriterResult:
        return self.writer.handle(m.WriterEvent(command="anchor"))


@pytest.fixture
def ledger() -> Ledger:
    return Ledger()


@pytest.fixture
def revocations():
    from agri_common.platform.revocation import InMemoryRevocationStore

    return InMemoryRevocationStore()


@pytest.fixture
def wired_api(ledger, revocations, monkeypatch):
    """The ledger API handler over the fake ledger: no projects assigned, in-memory revocations."""
    from functions.ledger import handler
    from tests.unit.fakes.assignments import Assignments

    ledger.serve(handler)
    handler.app.dependency_overrides[handler.get_assignments] = Assignments().loader
    monkeypatch.setattr(handler, "_revocation", lambda: revocations)
    yield
    handler.app.dependency_overrides.clear()


@pytest.fixture
def issued(ledger):
    return ledger.issue()

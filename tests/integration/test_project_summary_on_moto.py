"""The project summary on moto (the ledger table from the synthesized template, the in-process
chain): the real transactions (UpdateItem with ADD on numbers and string sets in
TransactWriteItems) keep it equal to the walk of the project's records after a mix of issuance
pages, a retried page, a transfer, a retirement, a cancellation and a failed transaction; the
backfill recounts a project whose records predate it; the registry reads it (decision 0021)."""

from __future__ import annotations

import pytest

from functions.ledger import models as m
from functions.ledger import summary_backfill
from functions.ledger.dal import DynamoLedgerStore
from functions.ledger.ports import BlockChanged
from functions.ledger.queries import LedgerReader
from functions.ledger.summary import summarize
from functions.registry.logic import RegistryReader
from tests.integration.test_ledger_on_moto import ledger_env as ledger_env  # the fixture
from tests.unit.functions.ledger.conftest import approved_run

ADMIN = m.Actor(user_id="admin-1", is_admin=True)


def walk(store: DynamoLedgerStore, project_id: str) -> m.ProjectSummary | None:
    return summarize(project_id, summary_backfill.project_records(store, project_id), complete=False)


def _move(writer, kind: str, serial: str, quantity: int, token: str) -> m.WriterResult:
    if kind == "transfer":
        cmd: dict = {
            "transfer": m.TransferCommand(serial=serial, quantity=quantity, to_ref="BUYER-1", client_token=token)
        }
    elif kind == "retire":
        cmd = {
            "retire": m.RetireCommand(
                serial=serial, quantity=quantity, beneficiary_ref="ACME", reason="voluntary", client_token=token
            )
        }
    else:
        cmd = {"cancel": m.CancelCommand(serial=serial, quantity=quantity, reason="reversal", client_token=token)}
    return writer.handle(m.WriterEvent(command=kind, actor=ADMIN, **cmd))


def test_the_summary_equals_the_walk_on_dynamodb_and_the_registry_reads_it(ledger_env):
    from functions.ledger import writer_handler

    writer = writer_handler.get_writer()
    store = writer.store
    assert isinstance(store, DynamoLedgerStore)
    run = approved_run(run_id="R1", net="95.5", farmers=45)  # two pages of 25: chunks of 30 and 20
    writer.issuer.issue(run, first=0, page=25, with_credits=False)
    after_page = store.project_summary("P1")
    writer.issuer.issue(run, first=0, page=25, with_credits=False)  # the page again: nothing new
    assert store.project_summary("P1") == after_page
    writer.issuer.issue(run, first=25, page=25, with_credits=False)
    second = writer.handle(
        m.WriterEvent(
            command="issue", run=approved_run(run_id="R2", vintage=2026, farmers=3, methodology_profile="dsr")
        )
    )
    writer.handle(m.WriterEvent(command="issue", run=approved_run(project_id="P2", farmers=2)))
    blocks = second.credits
    _move(writer, "transfer", blocks[0].serial, 1, "tok-transfer-1")
    _move(writer, "retire", blocks[1].serial, 2, "tok-retire-1")
    _move(writer, "cancel", blocks[2].serial, 1, "tok-cancel-1")
    before_failure = store.project_summary("P1")

    # a transaction DynamoDB cancels (a block no longer at the version the move read) adds nothing
    from functions.ledger.appending import Draft, append_drafts

    stale = store.find_block(blocks[2].series, blocks[2].start + 1)
    assert stale is not None
    body = {"kind": "retirement", "record_id": "x-fail", "project_id": "P1", "vintage": 2026, "quantity": 1}
    with pytest.raises(BlockChanged):
        append_drafts(store, [Draft(body, None, None, [(stale, stale.version + 5)])])
    assert store.project_summary("P1") == before_failure
    # one transaction with records of two projects: one summary update each
    two = [
        Draft(
            {"kind": "transfer", "record_id": f"x-{p}", "project_id": p, "vintage": 2025, "quantity": 1}, None, None, []
        )
        for p in ("P3", "P4")
    ]
    appends = store.append  # count the transactions
    calls: list[int] = []
    store.append = lambda entries, expected_seq: (calls.append(len(entries)), appends(entries, expected_seq))[1]  # type: ignore[method-assign]
    append_drafts(store, two)
    del store.append
    assert calls == [2]
    assert [(s.records, s.first_seq == s.last_seq) for s in map(store.project_summary, ("P3", "P4"))] == [(1, True)] * 2

    for project_id in ("P1", "P2"):
        kept = store.project_summary(project_id)
        assert kept is not None and kept == walk(store, project_id)
    p1 = store.project_summary("P1")
    assert p1 is not None and p1.runs == ["AGM-P1-2025-R1", "AGM-P1-2026-R2"]
    assert p1.methodology_profiles == ["awd-rice-v1", "dsr"]
    assert p1.vintages[2026] == m.VintageCount(issued=10, retired=2, cancelled=1)

    writer.handle(m.WriterEvent(command="anchor"))
    registry = RegistryReader(store, LedgerReader(store, writer.anchorer.artifacts))
    project = registry.project("P1")
    assert project.totals_from == "summary"
    assert (project.issued, project.retired, project.cancelled) == (p1.vintages[2025].issued + 10, 2, 1)
    assert project.records == p1.records and project.unanchored_records == 0 and project.anchors


def test_the_backfill_recounts_a_project_whose_records_predate_its_summary_on_dynamodb(ledger_env):
    from agri_common.platform.aws import dynamodb_table
    from functions.ledger import items, writer_handler

    writer = writer_handler.get_writer()
    store = writer.store
    assert isinstance(store, DynamoLedgerStore)
    first = writer.handle(m.WriterEvent(command="issue", run=approved_run(farmers=4)))
    dynamodb_table(store.table_name).delete_item(Key=items.summary_key("P1"))  # as before the summary existed
    _move(writer, "retire", first.credits[0].serial, 1, "tok-retire-9")  # creates a summary of this record only
    registry = RegistryReader(store, LedgerReader(store, writer.anchorer.artifacts))
    partial = store.project_summary("P1")
    assert partial is not None and partial.records == 1
    counted = registry.project("P1")
    assert counted.totals_from == "records" and counted.records == 5 and counted.retired == 1
    assert counted.unanchored_records == 1 and len(counted.anchors) == 1  # the retirement waits (Select COUNT)

    assert [r.status for r in summary_backfill.rebuild(store)] == ["written"]
    done = store.project_summary("P1")
    assert done is not None and done.complete and done == walk(store, "P1").model_copy(update={"complete": True})
    read = registry.project("P1")
    assert read.totals_from == "summary"
    assert read.model_dump(exclude={"totals_from"}) == counted.model_dump(exclude={"totals_from"})
    assert [r.status for r in summary_backfill.rebuild(store)] == ["complete"]  # idempotent
    # an append after the backfill adds to the complete summary
    _move(writer, "retire", first.credits[1].serial, 1, "tok-retire-10")
    assert store.project_summary("P1") == walk(store, "P1").model_copy(update={"complete": True})

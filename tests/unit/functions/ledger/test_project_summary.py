"""The project summary the ledger keeps in the transaction of every append (decision 0021): it
always equals the count of the project's records, whatever mix of issuance pages, moves, retried
pages and failed transactions led there; its transactions stay within DynamoDB's limit; the
backfill recounts a project whose records predate it."""

from __future__ import annotations

import pytest

from functions.ledger import items, summary_backfill
from functions.ledger import models as m
from functions.ledger.appending import APPEND_CHUNK, Draft, append_drafts, chunks
from functions.ledger.ports import MAX_TRANSACTION_ITEMS, BlockChanged, RecordExists
from functions.ledger.summary import SummaryDelta, apply, deltas, summarize
from tests.unit.functions.ledger.conftest import Ledger, approved_run

ADMIN = m.Actor(user_id="admin-1", is_admin=True)


def walk(ledger: Ledger, project_id: str) -> m.ProjectSummary | None:
    """The naive count: every stored record of the project."""
    return summarize(
        project_id, (r for r in ledger.store.records.values() if r.project_id == project_id), complete=False
    )


def kept(ledger: Ledger, project_id: str) -> m.ProjectSummary | None:
    return ledger.store.project_summary(project_id)


def move(ledger: Ledger, command: str, serial: str, quantity: int, token: str) -> m.WriterResult:
    if command == "transfer":
        event = m.WriterEvent(
            command="transfer",
            transfer=m.TransferCommand(serial=serial, quantity=quantity, to_ref="BUYER-1", client_token=token),
            actor=ADMIN,
        )
    elif command == "retire":
        event = m.WriterEvent(
            command="retire",
            retire=m.RetireCommand(
                serial=serial, quantity=quantity, beneficiary_ref="ACME", reason="voluntary", client_token=token
            ),
            actor=ADMIN,
        )
    else:
        event = m.WriterEvent(
            command="cancel",
            cancel=m.CancelCommand(serial=serial, quantity=quantity, reason="reversal", client_token=token),
            actor=ADMIN,
        )
    return ledger.writer.handle(event)


def test_the_summary_equals_the_walk_after_a_mix_of_writes_retries_and_failures(ledger):
    issuer = ledger.writer.issuer
    big = approved_run(run_id="R1", net="400.5", farmers=70)  # 70 farmers: pages of 40, chunks of 30
    issuer.issue(big, first=0, page=40, with_credits=False)
    before_retry = kept(ledger, "P1")
    issuer.issue(big, first=0, page=40, with_credits=False)  # the same page again (a retried writer step)
    assert kept(ledger, "P1") == before_retry
    issuer.issue(big, first=40, page=40, with_credits=False)
    second = ledger.issue(approved_run(run_id="R2", vintage=2026, net="31.9", farmers=4, methodology_profile="dsr-v2"))
    ledger.issue(approved_run(project_id="P2", run_id="R1", net="12.2", farmers=2))  # another project
    blocks = second.credits
    move(ledger, "transfer", blocks[0].serial, 2, "tok-transfer-1")
    move(ledger, "retire", blocks[1].serial, 1, "tok-retire-1")
    # the same token again: the stored answer, no new record
    move(ledger, "retire", blocks[1].serial, 1, "tok-retire-1")
    move(ledger, "cancel", blocks[2].serial, blocks[2].quantity, "tok-cancel-1")

    # a transaction that fails (the store crashes before committing) changes nothing
    ledger.store.fail_append_after = ledger.store.appends
    with pytest.raises(RuntimeError):
        move(ledger, "retire", blocks[3].serial, 1, "tok-retire-2")
    ledger.store.fail_append_after = None
    # a head that moved under the writer: re-chained and counted once
    ledger.store.move_head_once = True
    move(ledger, "retire", blocks[3].serial, 1, "tok-retire-3")

    for project_id in ("P1", "P2"):
        assert kept(ledger, project_id) == walk(ledger, project_id)
    p1 = kept(ledger, "P1")
    assert p1 is not None
    kinds = [r.body["kind"] for r in ledger.store.records.values() if r.project_id == "P1"]
    assert p1.records == len(kinds)
    # one transfer, two retirements (the retried token and the failed transaction added none), one cancellation
    assert [kinds.count(k) for k in ("transfer", "retirement", "cancellation")] == [1, 2, 1]
    assert p1.vintages[2025].issued == 400
    assert p1.vintages[2026] == m.VintageCount(issued=31, retired=2, cancelled=blocks[2].quantity)
    assert p1.runs == ["AGM-P1-2025-R1", "AGM-P1-2026-R2"]
    assert p1.methodology_profiles == ["awd-rice-v1", "dsr-v2"]
    assert (p1.first_seq, p1.last_seq) == (1, max(r.seq for r in ledger.store.records.values() if r.project_id == "P1"))
    assert all(size <= MAX_TRANSACTION_ITEMS for size in ledger.store.transaction_sizes)


def test_an_append_refused_as_a_duplicate_or_a_stale_block_adds_nothing(ledger):
    result = ledger.issue()
    summary = kept(ledger, "P1")
    record = next(iter(ledger.store.records.values()))
    duplicate = Draft(
        {k: v for k, v in record.body.items() if k not in ("seq", "prev_hash", "record_hash")}, None, None, []
    )
    with pytest.raises(RecordExists):
        append_drafts(ledger.store, [duplicate])
    block = result.credits[0]
    stale = block.model_copy(update={"version": 7})
    body = {"kind": "retirement", "record_id": "x-1", "project_id": "P1", "vintage": 2025, "quantity": 1}
    with pytest.raises(BlockChanged):
        append_drafts(ledger.store, [Draft(body, None, None, [(stale, 7)])])
    assert kept(ledger, "P1") == summary


def _draft(project: str, blocks: int = 1, absent: int = 0, salt: bool = False) -> Draft:
    block = m.CreditBlock(
        series="S", start=1, end=1, status="active", holder_ref="h", fpo_id="F", project_id=project, vintage=2025,
        record_ids=[],
    )  # fmt: skip
    return Draft(
        {"project_id": project, "kind": "transfer"},
        None,
        None,
        [(block, None)] * blocks,
        salt=("f", "s") if salt else None,
        absent=[f"a{i}" for i in range(absent)],
    )


def test_chunks_keep_every_transaction_within_the_item_limit_with_a_summary_update_per_project():
    # an issuance's records: record + block + salt, one project: 30 a chunk (91 items + 1 summary)
    issuance = [_draft("P1", salt=True) for _ in range(65)]
    assert [len(c) for c in chunks(issuance)] == [APPEND_CHUNK, APPEND_CHUNK, 5]
    # records of many projects with several items each: the summary updates count too
    mixed = [_draft(f"P{i}", blocks=2, absent=1) for i in range(40)]  # 4 items + 1 summary each
    sizes = [len(c) for c in chunks(mixed)]
    assert sum(sizes) == 40 and sizes[0] == (MAX_TRANSACTION_ITEMS - 1) // 5
    for chunk in chunks(mixed):
        cost = 1 + sum(4 for _ in chunk) + len({d.body["project_id"] for d in chunk})
        assert cost <= MAX_TRANSACTION_ITEMS
    with pytest.raises(ValueError):
        chunks([_draft("P1", blocks=99)])


def test_the_store_items_of_a_summary_round_trip_and_the_update_adds_only_what_the_delta_holds():
    delta = SummaryDelta("P1")
    for seq, kind, qty in ((5, "issuance", 3), (6, "transfer", 1), (7, "retirement", 2)):
        body = {
            "seq": seq,
            "kind": kind,
            "quantity": qty,
            "vintage": 2025,
            "project_id": "P1",
            "series": "AGM-P1-2025-R1",
        }
        body["methodology_profile"] = "awd-rice-v1"
        delta.add(m.StoredRecord(body=body))
    update = items.summary_update(delta)
    assert update["Key"] == items.summary_key("P1") == {"pk": "PROJECT#P1", "sk": "SUMMARY"}
    values = update["ExpressionAttributeValues"]
    assert (values[":n"], values[":f"], values[":l"]) == (3, 5, 7)
    added = {
        update["ExpressionAttributeNames"][k]: values[k.replace("#", ":")]
        for k in update["ExpressionAttributeNames"]
        if k.startswith("#t")
    }
    assert added == {"issued#2025": 3, "retired#2025": 2}  # no zero column, no transfer total
    summary = apply(None, delta).model_copy(update={"complete": True})
    assert items.summary_from_item(items.summary_item(summary)) == summary


def test_the_backfill_recounts_a_project_whose_records_predate_its_summary(ledger):
    ledger.issue()
    ledger.issue(approved_run(project_id="P2", farmers=2))
    full = kept(ledger, "P1")
    # as before the summary existed: P1's first records were appended without it, the later ones with it
    del ledger.store.summaries["P1"]
    del ledger.store.summaries["P2"]
    block = next(iter(ledger.store.blocks.values()))
    move(ledger, "retire", block.serial, 1, "tok-retire-late")
    partial = kept(ledger, "P1")
    assert partial is not None and partial.records == 1 and partial.first_seq > 1
    done = {r.project_id: r for r in summary_backfill.rebuild(ledger.store)}
    assert (done["P1"].status, done["P2"].status) == ("written", "written")
    for project_id in ("P1", "P2"):
        assert kept(ledger, project_id) == walk(ledger, project_id).model_copy(update={"complete": True})
    assert kept(ledger, "P1").records == full.records + 1
    # again: nothing to do (idempotent); --force recounts to the same
    assert {r.status for r in summary_backfill.rebuild(ledger.store)} == {"complete"}
    before = kept(ledger, "P1")
    assert summary_backfill.rebuild(ledger.store, ["P1"], force=True)[0].status == "written"
    assert kept(ledger, "P1") == before
    assert summary_backfill.rebuild(ledger.store, ["P9"])[0].status == "empty"
    assert kept(ledger, "P9") is None


def test_the_backfill_does_not_overwrite_an_append_that_lands_during_its_count(ledger, monkeypatch):
    ledger.issue()
    del ledger.store.summaries["P1"]
    block = next(iter(ledger.store.blocks.values()))
    real = summary_backfill.project_records
    landed: list[bool] = []

    def records_then_an_append(store, project_id):
        out = list(real(store, project_id))
        if not landed:  # after the backfill read the summary and the records: a retirement commits
            landed.append(True)
            move(ledger, "retire", block.serial, 1, "tok-retire-during")
        return out

    monkeypatch.setattr(summary_backfill, "project_records", records_then_an_append)
    assert summary_backfill.rebuild_project(ledger.store, "P1").status == "written"
    assert kept(ledger, "P1") == walk(ledger, "P1").model_copy(update={"complete": True})
    assert kept(ledger, "P1").vintages[2025].retired == 1


def test_deltas_group_records_by_project():
    records = [
        m.StoredRecord(body={"seq": s, "kind": "transfer", "project_id": p, "quantity": 1, "vintage": 2025})
        for s, p in ((1, "A"), (2, "B"), (3, "A"))
    ]
    out = deltas(records)
    assert {p: (d.records, d.first_seq, d.last_seq, d.totals) for p, d in out.items()} == {
        "A": (2, 1, 3, {}),
        "B": (1, 2, 2, {}),
    }

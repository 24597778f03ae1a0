"""Issuance of a run passed by reference (an object in the audit bucket), in pages of farmers: the
pages together write exactly what one inline issuance writes, retries and reordering change
nothing, and only the last page anchors."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from agri_common.ledger_crypto import canonical_json, sha256_hex, verify_chain
from agri_common.platform.errors import ConflictError, NotFoundError, UnprocessableError
from functions.ledger import issuance
from functions.ledger import models as m
from tests.unit.functions.ledger.conftest import Ledger, approved_run

KEY = "ledger/approved/P1/R1/a1.json"


def stored_run(ledger: Ledger, run: m.ApprovedRun, key: str = KEY) -> m.RunRef:
    data = canonical_json(run.model_dump(mode="json"))
    ledger.artifacts.put(key, data)
    return m.RunRef(key=key, sha256=sha256_hex(data))


def page(ledger: Ledger, ref: m.RunRef, first: int) -> m.WriterResult:
    return ledger.writer.handle(m.WriterEvent(command="issue", run_ref=ref, from_farmer=first))


def issued(ledger: Ledger) -> dict[str, tuple]:
    """record id -> what a record says about the credits (seq and chaining aside)."""
    return {
        r.record_id: (r.body["farmer_ref"], r.body["serial_start"], r.body["serial_end"], r.body["share_exact"])
        for r in ledger.store.records.values()
    }


@pytest.fixture
def small_pages(monkeypatch):
    monkeypatch.setattr(issuance, "ISSUE_PAGE", 3)


def test_pages_write_exactly_what_one_inline_issuance_writes_and_anchor_once_at_the_end(small_pages):
    run = approved_run(farmers=7, net="100.5")
    inline, paged = Ledger(), Ledger()
    inline.issue(run)
    ref = stored_run(paged, run)
    pages, first = [], 0
    while first is not None:
        result = page(paged, ref, first)
        pages.append(result)
        first = result.next_farmer
    assert [p.next_farmer for p in pages] == [3, 6, None]
    assert [p.created for p in pages] == [3, 3, 1]
    assert sum(p.credits_in_page for p in pages) == 100 and {p.farmers for p in pages} == {7}
    assert all(p.record_ids == [] and p.credits == [] for p in pages)  # small answers for Step Functions
    assert [len(p.batches) for p in pages] == [0, 0, 1] and pages[-1].batches[0].status == "anchored"
    assert paged.chain.sent == 1
    # the farmer refs differ (each ledger draws its own salts); serials and shares must not
    assert {k: v[1:] for k, v in issued(paged).items()} == {k: v[1:] for k, v in issued(inline).items()}
    verify_chain([r.body for r in sorted(paged.store.records.values(), key=lambda r: r.seq)])


def test_a_retried_or_reordered_page_changes_nothing(small_pages):
    run = approved_run(farmers=7, net="100")
    forward, backward = Ledger(), Ledger()
    for ledger, order in ((forward, (0, 3, 6)), (backward, (6, 3, 0))):
        ref = stored_run(ledger, run)
        for first in order:
            page(ledger, ref, first)
    again = page(forward, stored_run(forward, run), 3)
    assert again.created == 0 and len(forward.store.records) == 7
    assert {k: v[1:] for k, v in issued(forward).items()} == {k: v[1:] for k, v in issued(backward).items()}


def test_the_writer_refuses_a_stored_run_that_does_not_match_its_reference():
    ledger = Ledger()
    ref = stored_run(ledger, approved_run())
    with pytest.raises(ConflictError) as caught:
        page(ledger, m.RunRef(key=ref.key, sha256="0" * 64), 0)
    assert caught.value.code == "run_ref_mismatch"
    with pytest.raises(NotFoundError) as missing:
        page(ledger, m.RunRef(key="ledger/approved/P1/R1/none.json", sha256=ref.sha256), 0)
    assert missing.value.code == "run_not_found"
    ledger.artifacts.put(KEY, b'{"project_id": "P1"}')
    with pytest.raises(UnprocessableError) as invalid:
        page(ledger, m.RunRef(key=KEY, sha256=sha256_hex(b'{"project_id": "P1"}')), 0)
    assert any(d["field"].endswith("run_id") for d in invalid.value.details)
    assert ledger.store.records == {}


def test_events_keep_big_runs_out_of_the_payload():
    big = approved_run(farmers=m.MAX_INLINE_FARMERS + 1, net="10")
    with pytest.raises(ValidationError, match="run_ref"):
        m.WriterEvent(command="issue", run=big)
    with pytest.raises(ValidationError, match="from_farmer"):
        m.WriterEvent(command="issue", run=approved_run(), from_farmer=3)
    with pytest.raises(ValidationError, match="either run or run_ref"):
        m.WriterEvent(command="issue")
    with pytest.raises(ValidationError):
        m.RunRef(key="reports/elsewhere.json", sha256="0" * 64)  # the writer reads only ledger/approved/


def test_a_farmer_keeps_one_salt_across_runs_even_when_another_writer_stores_it_first():
    ledger = Ledger()
    first = ledger.issue(approved_run(run_id="R1"))
    stored = dict(ledger.store.salt_items)
    real_salts = ledger.store.salts
    calls = []

    def stale(farmer_ids):  # the first read misses the salts: as if another writer stored them meanwhile
        calls.append(list(farmer_ids))
        return {} if len(calls) == 1 else real_salts(farmer_ids)

    ledger.store.salts = stale
    second = ledger.issue(approved_run(run_id="R2"))
    assert len(calls) == 2 and ledger.store.salt_items == stored
    assert [c.holder_ref for c in second.credits] == [c.holder_ref for c in first.credits]


def test_a_transient_failure_of_a_page_raises_for_a_retry_while_inline_runs_answer_it(monkeypatch):
    from agri_common.platform.errors import DependencyError
    from functions.ledger.ports import HeadMoved
    from functions.ledger.writer_handler import handle

    ledger = Ledger()
    ref = stored_run(ledger, approved_run())

    def moved(entries, expected_seq):
        raise HeadMoved()

    monkeypatch.setattr(ledger.store, "append", moved)
    with pytest.raises(DependencyError):  # Step Functions retries the page (a refused page would strand the run)
        handle({"command": "issue", "run_ref": ref.model_dump(), "from_farmer": 0}, ledger.writer)
    inline = handle({"command": "issue", "run": approved_run(run_id="R2").model_dump(mode="json")}, ledger.writer)
    assert inline["ok"] is False and inline["error"]["status"] == 503 and inline["next_farmer"] is None


def test_a_run_approved_again_after_a_failed_issuance_completes_it_but_other_figures_conflict(small_pages):
    ledger = Ledger()
    first = approved_run(farmers=7, net="100")
    assert page(ledger, stored_run(ledger, first), 0).next_farmer == 3  # then the issuance failed; the run restarts
    again = approved_run(farmers=7, net="100", approved_by="auditor-sub-2", approved_at="2026-02-01T00:00:00Z")
    ref, first_farmer, pages = stored_run(ledger, again, "ledger/approved/P1/R1/a2.json"), 0, 0
    while first_farmer is not None:
        result = page(ledger, ref, first_farmer)
        first_farmer, pages = result.next_farmer, pages + 1
    records = sorted(ledger.store.records.values(), key=lambda r: r.seq)
    assert pages == 3 and len(records) == 7 and result.credits_total == 100
    assert sum(r.body["quantity"] for r in records) == 100
    assert [r.body["approved_by"] for r in records] == ["auditor-sub-1"] * 3 + ["auditor-sub-2"] * 4
    with pytest.raises(ConflictError) as caught:
        ledger.issue(approved_run(farmers=7, net="101"))
    assert caught.value.code == "run_conflict"


def test_the_claim_ignores_how_tonnes_are_written_and_accepts_series_claimed_before_it():
    from decimal import Decimal

    from functions.ledger.issuance import claim_hash, legacy_claim_hash

    plain, padded = approved_run(net="10"), approved_run(net="10.000000")
    assert padded.creditable_net_t == Decimal("10.000000") and claim_hash(plain) == claim_hash(padded)
    ledger = Ledger()
    run = approved_run(net="12.5")
    ledger.store.runs["AGM-P1-2025-R1"] = legacy_claim_hash(run)  # claimed by an older writer
    assert ledger.issue(run).created == 3
    assert ledger.store.runs == {"AGM-P1-2025-R1": legacy_claim_hash(run)}  # the same series, claimed the old way
    with pytest.raises(ConflictError):
        ledger.issue(approved_run(net="13"))

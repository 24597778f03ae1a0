"""A foreign root already on chain under a batch's key (another ledger anchored with the same contract
and key): the batch records what is there, is anchored under the next free id, admins see it, and
the ledger stays writable; an unexpected anchoring failure never fails an issuance that was stored."""

from __future__ import annotations

import json

import pytest

from agri_common.ledger_crypto import LedgerIntegrityError, batch_key
from functions.ledger import handler
from functions.ledger import models as m
from tests.unit.functions.conftest import call
from tests.unit.functions.ledger.conftest import approved_run
from tests.unit.functions.ledger.test_handler import ADMIN, MANAGER, OWNER

FIRST = "000000000001-000000000003"  # the first batch of a fresh ledger (3 records)
FOREIGN = "ee" * 32


pytestmark = pytest.mark.usefixtures("wired_api")


def occupy(ledger, anchor_id: str, root: str = FOREIGN, count: int = 3, block: int = 42) -> None:
    """Another ledger's root under ``anchor_id`` (as a reset table re-using the contract would meet)."""
    ledger.chain.roots[batch_key(anchor_id)] = (root, count, block)


def test_a_foreign_root_under_the_next_batch_id_moves_the_batch_to_the_next_free_id(ledger):
    occupy(ledger, FIRST)
    result = ledger.issue()
    assert result.created == 3 and not result.pending
    (batch,) = result.batches
    assert batch.status == "anchored" and batch.batch_id == FIRST and batch.anchor_id == f"{FIRST}.r1"
    assert [(c.anchor_id, c.root, c.record_count, c.block_number) for c in batch.conflicts] == [(FIRST, FOREIGN, 3, 42)]
    assert ledger.chain.roots[batch_key(FIRST)][0] == FOREIGN  # untouched: the chain never changes
    assert ledger.chain.roots[batch_key(f"{FIRST}.r1")][0] == batch.root
    artifact = json.loads(ledger.artifacts.objects[batch.artifact_key])
    assert artifact["anchor_id"] == f"{FIRST}.r1" and artifact["conflicts"][0]["root"] == FOREIGN
    proof = ledger.reader.proof(m_admin(), result.record_ids[0])
    assert proof.anchor.anchor_id == f"{FIRST}.r1" and proof.anchor.batch_key == batch_key(f"{FIRST}.r1").hex()
    assert proof.anchor.conflicts[0].root == FOREIGN


def test_the_ledger_stays_writable_and_later_batches_anchor(ledger):
    occupy(ledger, FIRST)
    ledger.issue()
    second = ledger.issue(approved_run(run_id="R2"))
    assert [(b.batch_id, b.anchor_id, b.status) for b in second.batches] == [
        ("000000000004-000000000006", None, "anchored")
    ]


def test_every_taken_id_is_stepped_over_and_recorded(ledger):
    for anchor_id in (FIRST, f"{FIRST}.r1", f"{FIRST}.r2"):
        occupy(ledger, anchor_id, root=("e" + anchor_id[-1]) * 32)
    (batch,) = ledger.issue().batches
    assert batch.status == "anchored" and batch.anchor_id == f"{FIRST}.r3"
    assert [c.anchor_id for c in batch.conflicts] == [FIRST, f"{FIRST}.r1", f"{FIRST}.r2"]


def test_a_batch_stuck_on_a_foreign_root_is_unblocked(ledger):
    """The reported failure: sent, but a foreign root took the key first (our transaction reverts);
    before, every later anchoring (and so every issuance) failed on it."""
    ledger.chain.auto_mine = False
    first = ledger.issue()
    (pending,) = first.batches
    assert pending.status == "pending" and pending.tx_hash and first.created == 3
    occupy(ledger, FIRST)
    ledger.chain.mine(pending.tx_hash)  # reverts: the key is taken
    ledger.chain.auto_mine = True
    later = ledger.issue(approved_run(run_id="R2"))
    assert later.created == 3 and not later.pending
    assert [(b.batch_id, b.anchor_id, b.status) for b in later.batches] == [
        (FIRST, f"{FIRST}.r1", "anchored"),
        ("000000000004-000000000006", None, "anchored"),
    ]


def test_a_foreign_root_landing_between_send_and_receipt_leaves_the_batch_in_conflict_until_the_next_run(
    ledger, monkeypatch
):
    ledger.chain.auto_mine = False
    (pending,) = ledger.issue().batches
    real = ledger.chain.receipt

    def racing(tx_hash):
        if not ledger.chain.txs[tx_hash].mined:
            occupy(ledger, FIRST)  # lands first
            ledger.chain.mine(tx_hash)  # ours reverts
        return real(tx_hash)

    monkeypatch.setattr(ledger.chain, "receipt", racing)
    waiting = ledger.anchor().batches[0]
    assert waiting.status == "conflict" and waiting.anchor_id == f"{FIRST}.r1" and waiting.tx_hash is None
    assert waiting.conflicts[0].root == FOREIGN
    assert ledger.store.batches[1].status == "conflict"  # stored: GET /ledger/batches?status=conflict shows it
    assert [
        b["status"]
        for b in call(handler, "GET", "/ledger/batches", claims=ADMIN, query="status=conflict").body["items"]
    ] == ["conflict"]
    ledger.chain.auto_mine = True
    done = ledger.anchor().batches[0]
    assert done.status == "anchored" and done.anchor_id == f"{FIRST}.r1"


def test_admins_see_conflicts_on_the_batches_route(ledger):
    occupy(ledger, FIRST)
    ledger.issue()
    ledger.issue(approved_run(run_id="R2"))
    every = call(handler, "GET", "/ledger/batches", claims=ADMIN)
    assert every.status == 200 and [b["batch_id"] for b in every.body["items"]] == ["000000000004-000000000006", FIRST]
    conflicted = call(handler, "GET", "/ledger/batches", claims=ADMIN, query="conflicts_only=true")
    (item,) = conflicted.body["items"]
    assert item["batch_id"] == FIRST and item["anchor_id"] == f"{FIRST}.r1" and item["status"] == "anchored"
    assert item["conflicts"][0] == {
        "anchor_id": FIRST,
        "root": FOREIGN,
        "record_count": 3,
        "block_number": 42,
        "detected_at": "2026-01-01T00:00:00Z",
    }
    assert call(handler, "GET", "/ledger/batches", claims=ADMIN, query="status=conflict").body["items"] == []
    for claims in (OWNER, MANAGER):
        r = call(handler, "GET", "/ledger/batches", claims=claims)
        assert r.status == 403 and r.body["error"]["code"] == "role_forbidden"
    assert call(handler, "GET", "/ledger/batches", claims=ADMIN, query="status=lost").status == 422


def test_batches_route_pages(ledger):
    ledger.writer.anchorer.max_batch = 1
    ledger.issue()
    page = call(handler, "GET", "/ledger/batches", claims=ADMIN, query="limit=2")
    assert len(page.body["items"]) == 2 and page.body["next_token"]
    rest = call(handler, "GET", "/ledger/batches", claims=ADMIN, query=f"limit=2&next_token={page.body['next_token']}")
    assert [b["from_seq"] for b in rest.body["items"]] == [1] and rest.body["next_token"] is None
    other = call(
        handler, "GET", "/ledger/batches", claims=ADMIN, query=f"status=anchored&next_token={page.body['next_token']}"
    )
    assert other.status == 400 and other.body["error"]["code"] == "invalid_next_token"


def test_an_unexpected_anchoring_failure_never_fails_a_stored_issuance(ledger, monkeypatch):
    def broken(batch):
        raise LedgerIntegrityError("simulated")

    monkeypatch.setattr(ledger.writer.anchorer, "_anchor_batch", broken)
    body = approved_run().model_dump(mode="json")
    r = call(handler, "POST", "/ledger/issuances", body, claims=ADMIN)
    assert r.status == 200 and r.body["created"] == 3 and r.body["pending"] is True
    assert [b["status"] for b in r.body["batches"]] == ["pending"]
    with pytest.raises(LedgerIntegrityError):  # the anchoring schedule fails loudly
        ledger.writer.handle(m.WriterEvent(command="anchor"))
    monkeypatch.undo()
    ledger.serve(handler)
    assert [b.status for b in ledger.anchor().batches] == ["anchored"]


def m_admin():
    from agri_common.platform.principal import Principal, Role

    return Principal(user_id="admin-1", username="root", role=Role.ADMIN)


def test_a_run_steps_over_a_bounded_number_of_taken_ids_and_the_next_run_goes_on(ledger):
    from functions.ledger.anchoring import MAX_CONFLICTS_PER_RUN

    taken = [FIRST, *(f"{FIRST}.r{n}" for n in range(1, MAX_CONFLICTS_PER_RUN + 1))]
    for anchor_id in taken:
        occupy(ledger, anchor_id)
    result = ledger.issue()
    (batch,) = result.batches
    assert result.created == 3 and result.pending
    assert batch.status == "conflict" and batch.anchor_id == f"{FIRST}.r{MAX_CONFLICTS_PER_RUN}"
    assert len(batch.conflicts) == MAX_CONFLICTS_PER_RUN and ledger.chain.sent == 0
    done = ledger.anchor().batches[0]
    assert done.status == "anchored" and done.anchor_id == f"{FIRST}.r{len(taken)}"
    assert [c.anchor_id for c in done.conflicts] == taken

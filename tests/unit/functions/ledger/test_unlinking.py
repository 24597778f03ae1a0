"""The writer's ``unlink_owner`` (a farmer's erasure, docs/decisions/0022): the erased farmer's account id
leaves every record's owner index entry and every credit block, the other farmers' stay, no hashed body
changes (the chain still verifies), the farmer's old token reaches nothing, an admin can still move the
credits; idempotent and resumable across calls."""

from __future__ import annotations

import json

import pytest

from agri_common.ledger_crypto import verify_chain
from agri_common.platform.errors import NotFoundError
from agri_common.platform.principal import Principal, Role
from functions.ledger import models as m
from functions.ledger import unlinking
from tests.unit.functions.ledger.conftest import approved_run

FARMER = Principal(user_id="user-2", username="f2", role=Role.FARMER, fpo_id="FPO-1")


def unlink(ledger, user_id="user-2") -> m.Unlinked:
    result = ledger.writer.handle(m.WriterEvent(command="unlink_owner", unlink_owner={"user_id": user_id}))
    assert result.command == "unlink_owner" and result.unlinked is not None
    return result.unlinked


def stored(ledger) -> str:
    return json.dumps(
        [r.model_dump() for r in ledger.store.records.values()] + [b.model_dump() for b in ledger.store.blocks.values()]
    )


def a_farmer_with_moved_credits(ledger) -> None:
    """user-2 gets credits in two runs, transfers part of a block (a split) and retires part of another."""
    first = ledger.issue().credits[2]
    second = ledger.issue(approved_run(run_id="R2", net="20.2")).credits[2]
    actor = m.Actor(user_id="user-2", is_admin=False)
    ledger.writer.mover.transfer(
        m.TransferCommand(serial=first.serial, quantity=2, to_ref="BUYER-ACME", client_token="token-0001"), actor
    )
    ledger.writer.mover.retire(
        m.RetireCommand(
            serial=second.serial, quantity=1, beneficiary_ref="ACME", reason="voluntary", client_token="token-0002"
        ),
        actor,
    )


def test_the_account_id_leaves_every_record_and_block_and_every_body_stays(ledger):
    a_farmer_with_moved_credits(ledger)
    bodies = {i: r.body for i, r in ledger.store.records.items()}
    others = {i: r.owner_user_id for i, r in ledger.store.records.items() if r.owner_user_id != "user-2"}
    assert "user-2" in stored(ledger)  # really there before
    held = [b for b in ledger.store.blocks.values() if b.owner_user_id == "user-2"]
    assert len(held) == 3  # the rest of the transferred block, the retired part and the rest of the second

    out = unlink(ledger)

    assert "user-2" not in stored(ledger)
    assert (out.records, out.blocks, out.done) == (4, 3, True)  # 2 issuances, the transfer, the retirement
    assert {i: r.body for i, r in ledger.store.records.items()} == bodies  # nothing hashed changed
    verify_chain([r.body for r in ledger.store.records_by_seq(1, 100)])
    assert {i: r.owner_user_id for i, r in ledger.store.records.items() if r.owner_user_id} == others
    assert all(b.owner_user_id in ("user-0", "user-1") for b in ledger.store.blocks.values() if b.owner_user_id)
    # a later move checked against a block as it was before (its version moved) cannot re-link it
    assert all(b.version >= 2 for b in held for b in [ledger.store.blocks[(b.series, b.start)]])


def test_after_unlinking_the_farmers_token_reaches_nothing_and_an_admin_still_moves_the_credits(ledger):
    a_farmer_with_moved_credits(ledger)
    unlink(ledger)
    records, _ = ledger.reader.list_records(
        FARMER, project_id=None, farmer_ref=None, serial=None, limit=50, cursor=None
    )
    assert records == []
    (block,) = [b for b in ledger.store.blocks.values() if b.status == "active" and b.holder_ref != "BUYER-ACME"][-1:]
    with pytest.raises(NotFoundError):
        ledger.reader.get_credit(FARMER, block.serial)
    with pytest.raises(NotFoundError):
        ledger.writer.mover.transfer(
            m.TransferCommand(serial=block.serial, quantity=1, to_ref="B", client_token="token-0009"),
            m.Actor(user_id="user-2", is_admin=False),
        )
    moved = ledger.writer.mover.transfer(
        m.TransferCommand(serial=block.serial, quantity=1, to_ref="B", client_token="token-0010"),
        m.Actor(user_id="admin-1", is_admin=True),
    )
    assert moved.credits[0].holder_ref == "B"
    assert "user-2" not in stored(ledger)  # the admin's move did not bring the account id back


def test_unlinking_again_changes_nothing_and_another_account_unlinks_nothing(ledger):
    a_farmer_with_moved_credits(ledger)
    unlink(ledger)
    snapshot = stored(ledger)
    assert unlink(ledger) == m.Unlinked(records=0, blocks=0, done=True)
    assert unlink(ledger, "user-nobody") == m.Unlinked(records=0, blocks=0, done=True)
    assert stored(ledger) == snapshot


def test_a_farmer_with_more_records_than_one_call_takes_finishes_over_several_calls(ledger, monkeypatch):
    a_farmer_with_moved_credits(ledger)
    monkeypatch.setattr(unlinking, "UNLINK_PAGE", 1)
    monkeypatch.setattr(unlinking, "MAX_UNLINK_RECORDS", 2)
    calls = []
    while True:
        calls.append(unlink(ledger))
        if calls[-1].done:
            break
    assert [c.done for c in calls] == [False, True]  # 2 records a call, the second call finds the last page
    assert sum(c.records for c in calls) == 4 and sum(c.blocks for c in calls) == 3
    assert "user-2" not in stored(ledger)


def test_the_writer_refuses_an_unlink_without_its_account_id(ledger):
    from functions.ledger.writer_handler import handle

    for event in ({"command": "unlink_owner"}, {"command": "unlink_owner", "unlink_owner": {"user_id": ""}}):
        out = handle(event, ledger.writer)
        assert out["ok"] is False and out["error"]["status"] == 422


def test_a_run_issued_after_the_farmers_erasure_names_neither_the_farmer_nor_the_account(ledger, monkeypatch):
    """The run was computed (and lists the farmer's account) before the erasure shredded the salt;
    it is issued after: the credits exist (the reductions happened) but under a salt nobody stores,
    with no account, and nobody is notified (decision 0022)."""
    from agri_common.ledger_crypto import farmer_ref

    first = ledger.issue()  # FARMER-2 (user-2) already has a record and a salt
    old_salt = ledger.store.salt_items["FARMER-2"]
    ledger.store.salt_items["FARMER-2"] = None  # the farmers domain's eraser shredded it
    ledger.store.salt_items["FARMER-9"] = None  # erased before any issuance: never had a salt
    run = approved_run(run_id="R2", net="20.2")
    run.farmers.append(run.farmers[0].model_copy(update={"farmer_id": "FARMER-9", "owner_user_id": "user-9"}))
    told: list[str] = []
    monkeypatch.setattr("functions.ledger.issuance.notify_all", lambda events: told.extend(e.farmer_id for e in events))

    issued = ledger.issue(run)

    new_records = [r for r in ledger.store.records.values() if r.body.get("run_id") == "R2"]
    erased = [r for r in new_records if r.body["farmer_index"] in (3, 4)]
    assert len(erased) == 2 and all(r.owner_user_id is None for r in erased)
    assert erased[0].body["farmer_ref"] != farmer_ref(old_salt, "FARMER-2")  # not linkable to the old records
    assert ledger.store.salt_items["FARMER-2"] is None and ledger.store.salt_items["FARMER-9"] is None
    new_blocks = [b for b in ledger.store.blocks.values() if b.series == issued.credits[0].series]
    assert {b.owner_user_id for b in new_blocks} == {"user-0", "user-1", None}
    assert "user-9" not in stored(ledger)
    others = [r for r in new_records if r.body["farmer_index"] in (1, 2)]
    assert {r.owner_user_id for r in others} == {"user-0", "user-1"}  # the other farmers are untouched
    assert sorted(told) == ["FARMER-0", "FARMER-1"]  # no one to tell for the erased ones
    assert any(r.owner_user_id == "user-2" for r in ledger.store.records.values() if r.body["run_id"] == "R1")
    assert first.credits  # the first run's records are left to unlink_owner

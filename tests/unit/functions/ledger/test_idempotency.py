"""Client tokens of transfers, retirements and cancellations: a retry answers exactly the first answer;
the same token with other content (or on another kind of move) is a 409 ``idempotency_conflict`` that
changes nothing. Re-sending an issuance answers the credits as they are now."""

from __future__ import annotations

import pytest

from agri_common.platform.errors import ConflictError, DependencyError
from functions.ledger import handler
from functions.ledger import models as m
from functions.ledger.moves import IDEMPOTENCY_CONFLICT
from tests.unit.functions.conftest import call
from tests.unit.functions.ledger.conftest import approved_run
from tests.unit.functions.ledger.test_handler import ADMIN, OWNER, credit

pytestmark = pytest.mark.usefixtures("wired_api")


def post(route, body, claims=ADMIN):
    return call(handler, "POST", f"/credits/{route}", body, claims=claims)


def bodies(serial: str, token: str) -> dict[str, dict]:
    return {
        "transfer": {"serial": serial, "quantity": 2, "to_ref": "BUYER-1", "client_token": token},
        "retire": {
            "serial": serial,
            "quantity": 2,
            "beneficiary_ref": "ACME",
            "reason": "voluntary",
            "client_token": token,
        },
        "cancel": {"serial": serial, "quantity": 2, "reason": "reversal", "client_token": token},
    }


@pytest.mark.parametrize("route,kind", [("transfer", "transfer"), ("retire", "retirement"), ("cancel", "cancellation")])
def test_a_retry_answers_exactly_what_the_first_call_answered(issued, ledger, route, kind):
    body = bodies(issued.credits[2].serial, "token-1000")[route]
    first = post(route, body)
    assert first.status == 200 and first.body["command"] == kind and first.body["created"] == 1
    for _ in range(2):
        again = post(route, body)
        assert again.status == 200 and again.body == first.body
    assert len(ledger.store.records) == 4 and len(ledger.gateway.events) == 1  # the retries never reached the writer


@pytest.mark.parametrize("route", ["transfer", "retire", "cancel"])
@pytest.mark.parametrize("change", ["quantity", "serial", "other field"])
def test_the_same_token_with_other_content_is_a_409_that_changes_nothing(issued, ledger, route, change):
    body = bodies(issued.credits[2].serial, "token-1100")[route]
    assert post(route, body).status == 200
    records, blocks = dict(ledger.store.records), dict(ledger.store.blocks)
    changed = {
        "quantity": {**body, "quantity": 1},
        "serial": {**body, "serial": issued.credits[1].serial},
        "other field": {
            **body,
            **{"transfer": {"to_ref": "BUYER-2"}, "retire": {"reason": "compliance"}, "cancel": {"reason": "other"}}[
                route
            ],
        },
    }[change]
    r = post(route, changed)
    assert r.status == 409 and r.body["error"]["code"] == IDEMPOTENCY_CONFLICT, r.body
    assert ledger.store.records == records and ledger.store.blocks == blocks


def test_a_token_used_for_one_kind_of_move_conflicts_on_the_others(issued, ledger):
    serial = issued.credits[2].serial
    moves = bodies(serial, "token-1200")
    assert post("transfer", {**moves["transfer"], "quantity": 1}).status == 200
    rest = m.block_serial(issued.credits[2].series, 7, 10)
    for route in ("retire", "cancel"):
        r = post(route, {**bodies(rest, "token-1200")[route]})
        assert r.status == 409 and r.body["error"]["code"] == IDEMPOTENCY_CONFLICT
    assert len(ledger.store.records) == 4


def test_tokens_are_per_caller(issued, ledger):
    serial = issued.credits[2].serial
    assert post("retire", {**bodies(serial, "token-1300")["retire"], "quantity": 1}, claims=OWNER).status == 200
    rest = m.block_serial(issued.credits[2].series, 7, 10)
    other = post("transfer", bodies(rest, "token-1300")["transfer"], claims=ADMIN)  # the admin's own token
    assert other.status == 200 and other.body["created"] == 1


def test_the_writer_itself_refuses_a_reused_token_and_replays_a_race(issued, ledger, monkeypatch):
    actor = m.Actor(user_id="user-2", is_admin=False)
    cmd = m.TransferCommand(serial=issued.credits[2].serial, quantity=2, to_ref="BUYER-1", client_token="token-1400")
    first = ledger.writer.mover.transfer(cmd, actor)
    with pytest.raises(ConflictError) as err:
        ledger.writer.mover.transfer(cmd.model_copy(update={"to_ref": "BUYER-2"}), actor)
    assert err.value.code == IDEMPOTENCY_CONFLICT
    # a retry racing the first: it misses the record on its first look, the append finds it
    real = ledger.store.get_records
    looks = []
    monkeypatch.setattr(
        ledger.store, "get_records", lambda ids: looks.append(ids) or ({} if len(looks) == 1 else real(ids))
    )
    monkeypatch.setattr(
        ledger.store,
        "find_block",
        lambda series, n: m.CreditBlock(
            series=series,
            start=6,
            end=10,
            status="active",
            holder_ref="x",
            owner_user_id="user-2",
            fpo_id="FPO-1",
            project_id="P1",
            vintage=2025,
            record_ids=["AGM-P1-2025-R1:F00003"],
        ),
    )
    assert ledger.writer.mover.transfer(cmd, actor) == first
    with pytest.raises(ConflictError):  # and a racing reuse with other content is still a conflict
        looks.clear()
        ledger.writer.mover.transfer(cmd.model_copy(update={"quantity": 1}), actor)
    assert len(ledger.store.records) == 4


def test_a_concurrent_use_of_the_token_by_another_kind_of_move_cannot_both_commit(issued, ledger, monkeypatch):
    actor = m.Actor(user_id="admin-1", is_admin=True)
    transfer = m.TransferCommand(serial=issued.credits[2].serial, quantity=1, to_ref="B", client_token="token-1500")
    ledger.writer.mover.transfer(transfer, actor)
    monkeypatch.setattr(ledger.store, "get_records", lambda ids: {})  # both checks miss: only the append can tell
    cancel = m.CancelCommand(
        serial=m.block_serial(issued.credits[2].series, 7, 10), quantity=1, reason="other", client_token="token-1500"
    )
    with pytest.raises(DependencyError):  # the append refused it (the transfer holds the token); retry to learn why
        ledger.writer.mover.cancel(cancel, actor)
    assert len(ledger.store.records) == 4  # the cancellation was not written next to the transfer


def test_a_record_written_before_requests_were_hashed_still_replays_and_conflicts(issued, ledger):
    body = bodies(issued.credits[2].serial, "token-1600")["transfer"]
    first = post("transfer", body)
    stored = ledger.store.records[first.body["record_ids"][0]]
    stored.request_sha256, stored.answer = None, None  # as stored by the previous version
    again = post("transfer", body)
    assert again.status == 200 and again.body["command"] == "transfer"
    assert again.body["record_ids"] == first.body["record_ids"] and again.body["credits"][0]["start"] == 6
    r = post("transfer", {**body, "to_ref": "BUYER-2"})
    assert r.status == 409 and r.body["error"]["code"] == IDEMPOTENCY_CONFLICT


def test_resending_an_issuance_answers_the_credits_as_they_are_now(issued, ledger):
    run = approved_run().model_dump(mode="json")
    assert post("transfer", bodies(issued.credits[2].serial, "token-1700")["transfer"]).status == 200  # 6..7 -> buyer
    rest = m.block_serial(issued.credits[2].series, 8, 10)
    assert post("retire", {**bodies(rest, "token-1701")["retire"], "quantity": 1}).status == 200  # 8 retired
    assert post("cancel", {**bodies(issued.credits[0].serial, "token-1702")["cancel"]}).status == 200  # 1..2 cancelled
    again = call(handler, "POST", "/ledger/issuances", run, claims=ADMIN)
    assert again.status == 200 and again.body["created"] == 0
    shown = [(c["start"], c["end"], c["status"]) for c in again.body["credits"]]
    assert shown == [(1, 2, "cancelled"), (3, 5, "active"), (6, 7, "active"), (8, 8, "retired"), (9, 10, "active")]
    for c in again.body["credits"]:  # each exactly as GET /credits/{serial} shows it
        assert credit(c["serial"], ADMIN).body == c
    assert again.body["credits"][2]["holder_ref"] == "BUYER-1"
    assert again.body["credits_in_page"] == 10 and again.body["credits_total"] == 10


def test_a_partly_issued_run_shows_new_blocks_and_current_old_ones(ledger):
    ledger.store.fail_append_after = 1  # 40 farmers: the second append chunk fails
    with pytest.raises(RuntimeError):
        ledger.issue(approved_run(farmers=40, net="1000"))
    ledger.store.fail_append_after = None
    done = ledger.issue(approved_run(farmers=40, net="1000"))
    assert 0 < done.created < 40 and len(done.credits) == 40
    assert [c.start for c in done.credits] == sorted(c.start for c in done.credits)
    assert sum(c.quantity for c in done.credits) == 1000

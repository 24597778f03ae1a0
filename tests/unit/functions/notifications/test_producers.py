"""Each producer hands its event to the notification port once (the pipeline's outcome and
await-auditor tasks, the ledger's issuance, moves and anchoring, the farmers' membership flow),
and none of them fails when the queue does."""

from __future__ import annotations

import json

import pytest

from agri_common import notify as port
from agri_common.notify import NotificationEvent
from functions.farmers.logic import FarmerService
from functions.farmers.membership import MembershipService
from functions.ledger import handler as ledger_handler
from functions.pipeline import outcome
from tests.unit.functions.conftest import call
from tests.unit.functions.farmers.test_membership import MGR1, body, ctx, farmer_account  # noqa: F401  # ctx: fixture
from tests.unit.functions.ledger.conftest import ledger, wired_api  # noqa: F401  # fixtures
from tests.unit.functions.ledger.test_anchor_conflicts import FIRST, occupy
from tests.unit.functions.ledger.test_handler import OWNER
from tests.unit.functions.pipeline.test_steps import RUN, Source, run_calc
from tests.unit.functions.pipeline.test_steps import ctx as pipeline_ctx  # noqa: F401  # fixture


@pytest.fixture
def sent():
    events: list[NotificationEvent] = []
    previous = port.use_transport(
        lambda bodies: events.extend(NotificationEvent.model_validate_json(b) for b in bodies)
    )
    yield events
    port.use_transport(previous)


@pytest.fixture
def broken_queue():
    def fail(bodies):
        raise ConnectionError("SQS unavailable")

    previous = port.use_transport(fail)
    yield
    port.use_transport(previous)


def kinds(events):
    return [(e.kind, e.event_id) for e in events]


# ---- farmers: membership ------------------------------------------------------------------------
def test_a_membership_request_and_its_decisions_are_told(ctx, sent):
    me = farmer_account(1)
    pending = FarmerService(ctx).register(me, body())
    (request,) = sent
    assert request.kind == "membership_requested" and request.fpo_id == "FPO-1"
    assert request.farmer_id == pending.farmer_id and request.values == {}  # no name: it would outlive an erasure
    MembershipService(ctx).reject(MGR1, "FPO-1", pending.farmer_id)
    MembershipService(ctx).request_again(me, pending.farmer_id)
    MembershipService(ctx).approve(MGR1, "FPO-1", pending.farmer_id)
    assert [e.kind for e in sent] == [
        "membership_requested",
        "membership_rejected",
        "membership_requested",
        "membership_approved",
    ]
    assert len({e.event_id for e in sent}) == 4  # a new request is a new event


def test_a_profile_registered_by_the_manager_is_a_member_and_tells_nobody(ctx, sent):
    FarmerService(ctx).register(MGR1, body())
    assert sent == []


def test_membership_still_works_when_the_queue_is_down(ctx, broken_queue):
    me = farmer_account(2)
    pending = FarmerService(ctx).register(me, body())
    assert MembershipService(ctx).approve(MGR1, "FPO-1", pending.farmer_id).membership == "approved"


# ---- ledger ---------------------------------------------------------------------------------------
def test_issuance_tells_each_farmer_once_even_when_repeated(ledger, sent):
    ledger.issue()
    issued = [e for e in sent if e.kind == "credits_issued"]
    assert sorted(e.farmer_id for e in issued) == ["FARMER-0", "FARMER-1", "FARMER-2"]
    assert all(e.project_id == "P1" and e.values["quantity"] >= 1 for e in issued)
    assert sum(e.values["quantity"] for e in issued) == ledger.issue().credits_total
    assert len([e for e in sent if e.kind == "credits_issued"]) == 3  # the repeat created nothing: told nothing


@pytest.mark.usefixtures("wired_api")
def test_a_transfer_tells_the_credits_owner(ledger, sent):
    issued = ledger.issue()
    sent.clear()
    serial = issued.credits[2].serial
    b = {"serial": serial, "quantity": 2, "to_ref": "BUYER-1", "client_token": "token-3000"}
    r = call(ledger_handler, "POST", "/credits/transfer", b, claims=OWNER)
    assert r.status == 200, r.body
    (e,) = sent
    assert e.kind == "credits_transferred" and e.user_ids == ("user-2",)
    assert e.values == {"quantity": 2, "serial": serial}


@pytest.mark.usefixtures("wired_api")
def test_a_transfer_succeeds_when_the_queue_is_down(ledger, broken_queue):
    issued = ledger.issue()
    b = {"serial": issued.credits[2].serial, "quantity": 1, "to_ref": "BUYER-1", "client_token": "token-3001"}
    assert call(ledger_handler, "POST", "/credits/transfer", b, claims=OWNER).status == 200


def test_an_anchor_conflict_is_told_to_admins(ledger, sent):
    occupy(ledger, FIRST)
    ledger.issue()
    (e,) = [e for e in sent if e.kind == "anchoring_conflict"]
    assert e.values == {"batch_id": FIRST, "next_anchor_id": f"{FIRST}.r1"}


def test_a_batch_left_pending_for_over_an_hour_is_told_once(ledger, sent):
    ledger.chain.auto_mine = False  # the node takes the transaction and never mines it
    clock = ["2026-01-01T00:00:00Z"]
    ledger.writer.now = lambda: clock[0]
    ledger.issue()
    ledger.anchor()  # the schedule, minutes later: pending, but not for long
    assert [e for e in sent if e.kind == "anchoring_stuck"] == []
    clock[0] = "2026-01-01T01:30:00Z"
    ledger.anchor()
    ledger.anchor()
    stuck = [e for e in sent if e.kind == "anchoring_stuck"]
    assert {e.event_id for e in stuck} == {f"anchoring_stuck:{FIRST}"}  # the same event: delivered once
    assert stuck[0].values == {"batch_id": FIRST, "status": "pending"}


# ---- pipeline -------------------------------------------------------------------------------------
def test_the_pipeline_tells_awaiting_auditor_and_outcomes(pipeline_ctx, sent):
    from functions.pipeline import aggregate, await_decision, sample_draw

    planned, _ = run_calc(pipeline_ctx, Source())
    state = {**RUN, "plan": planned}
    aggregate.aggregate(state, pipeline_ctx)
    state["verify"] = sample_draw.verify(state, pipeline_ctx)
    await_decision.await_decision({**state, "task_token": "tok"}, pipeline_ctx)
    await_decision.await_decision({**state, "task_token": "tok-2"}, pipeline_ctx)  # a retried state
    awaiting = [e for e in sent if e.kind == "run_awaiting_auditor"]
    assert len({e.event_id for e in awaiting}) == 1 and awaiting[0].task_id == f"{RUN['run_id']}_a1"
    outcome.record_outcome({**state, "error": {"Error": "Rejected", "Cause": None}}, pipeline_ctx)
    (back,) = [e for e in sent if e.kind == "run_sent_back"]
    assert back.event_id == f"run_sent_back:{RUN['run_id']}:a1" and back.values["decision"] == "rejected"
    cause = json.dumps({"errorType": "ValueError", "errorMessage": "boom"})
    outcome.record_outcome({**RUN, "error": {"Error": "ValueError", "Cause": cause}}, pipeline_ctx)
    (failed,) = [e for e in sent if e.kind == "run_failed"]
    assert failed.run_id == RUN["run_id"] and "step" in failed.values


def test_the_outcome_is_recorded_when_the_queue_is_down(pipeline_ctx, broken_queue):
    cause = json.dumps({"errorType": "ValueError", "errorMessage": "boom"})
    out = outcome.record_outcome({**RUN, "error": {"Error": "ValueError", "Cause": cause}}, pipeline_ctx)
    assert out["status"] == "failed"

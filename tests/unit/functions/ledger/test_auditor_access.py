"""Auditors and the ledger, through the ledger API's Lambda entry point: an auditor reads the
records and credits of the projects they are assigned to (created and assigned through the real
projects service), not those of another project over the same FPO, never moves or issues
credits, and loses access when unassigned."""

from __future__ import annotations

import pytest

from functions.ledger import handler
from tests.unit.fakes.assignments import Assignments
from tests.unit.functions.conftest import call, claims_for
from tests.unit.functions.ledger.conftest import approved_run

AUDREY = claims_for("auditor", user="aud-1", username="audrey", fpo=None)  # assigned to project A
OTTO = claims_for("auditor", user="aud-2", username="otto", fpo=None)  # never assigned


@pytest.fixture
def world(ledger, revocations, monkeypatch):
    assignments = Assignments()
    ledger.serve(handler)
    handler.app.dependency_overrides[handler.get_assignments] = assignments.loader
    monkeypatch.setattr(handler, "_revocation", lambda: revocations)
    a = assignments.project("FPO-1")
    b = assignments.project("FPO-1", crediting=("2031-01-01", "2036-12-31"))  # the same FPO, the next crediting years
    assignments.assign(a, "audrey")
    issued_a = ledger.issue(approved_run(project_id=a, run_id="R1"))
    issued_b = ledger.issue(approved_run(project_id=b, run_id="R1", farmers=2))
    yield {"a": a, "b": b, "issued_a": issued_a, "issued_b": issued_b, "assignments": assignments, "ledger": ledger}
    handler.app.dependency_overrides.clear()


def get(path, claims, resource=None, params=None, query=""):
    return call(handler, "GET", path, claims=claims, resource=resource or path, params=params, query=query)


def record(rid, claims):
    return get(f"/ledger/records/{rid}", claims, "/ledger/records/{record_id}", {"record_id": rid})


def proof(rid, claims):
    return get(f"/ledger/proofs/{rid}", claims, "/ledger/proofs/{record_id}", {"record_id": rid})


def credit(serial, claims):
    return get(f"/credits/{serial}", claims, "/credits/{serial}", {"serial": serial})


def listed(claims, query=""):
    r = get("/ledger/records", claims, query=query)
    assert r.status == 200, r.body
    return sorted(i["record"]["record_id"] for i in r.body["items"])


def test_an_assigned_auditor_reads_the_records_and_credits_of_their_project(world):
    a, issued = world["a"], world["issued_a"]
    for rid in issued.record_ids:
        r = record(rid, AUDREY)
        assert r.status == 200 and r.body["record"]["project_id"] == a
    assert proof(issued.record_ids[0], AUDREY).status == 200
    block = issued.credits[0]
    assert credit(block.serial, AUDREY).status == 200
    assert listed(AUDREY) == sorted(issued.record_ids)  # their one project, without naming it
    assert listed(AUDREY, f"project_id={a}") == sorted(issued.record_ids)
    assert listed(AUDREY, f"serial={block.serial}") == sorted(block.record_ids)


def test_another_project_over_the_same_fpo_stays_hidden(world):
    b, issued = world["b"], world["issued_b"]
    for r in (
        record(issued.record_ids[0], AUDREY),
        proof(issued.record_ids[0], AUDREY),
        credit(issued.credits[0].serial, AUDREY),
    ):
        assert r.status == 404 and r.body["error"]["code"] == "not_found"
    assert listed(AUDREY, f"project_id={b}") == []
    assert listed(AUDREY, f"serial={issued.credits[0].serial}") == []


def test_an_unassigned_auditor_gets_404_for_the_same_ids_and_empty_lists(world):
    a, issued = world["a"], world["issued_a"]
    for r in (
        record(issued.record_ids[0], OTTO),
        proof(issued.record_ids[0], OTTO),
        credit(issued.credits[0].serial, OTTO),
    ):
        assert r.status == 404 and r.body["error"]["code"] == "not_found"
    assert listed(OTTO) == [] and listed(OTTO, f"project_id={a}") == []
    assert listed(OTTO, f"serial={issued.credits[0].serial}") == []


def test_an_assigned_auditor_still_cannot_move_or_issue_credits(world):
    a, serial, ledger = world["a"], world["issued_a"].credits[0].serial, world["ledger"]
    for path, body in (
        ("/credits/transfer", {"serial": serial, "quantity": 1, "to_ref": "B", "client_token": "token-9000"}),
        (
            "/credits/retire",
            {
                "serial": serial,
                "quantity": 1,
                "beneficiary_ref": "B",
                "reason": "voluntary",
                "client_token": "token-9001",
            },
        ),
        (
            "/credits/cancel",
            {"serial": serial, "quantity": 1, "reason": "issuance_error", "client_token": "token-9002"},
        ),
        ("/ledger/issuances", approved_run(project_id=a, run_id="R9").model_dump(mode="json")),
    ):
        r = call(handler, "POST", path, body, claims=AUDREY)
        assert r.status == 403 and r.body["error"]["code"] == "role_forbidden", (path, r.body)
    assert ledger.gateway.events == []  # nothing reached the writer


def test_after_unassignment_access_disappears(world):
    a, issued, assignments = world["a"], world["issued_a"], world["assignments"]
    assert record(issued.record_ids[0], AUDREY).status == 200
    assignments.unassign(a, "audrey")
    assert record(issued.record_ids[0], AUDREY).status == 404
    assert credit(issued.credits[0].serial, AUDREY).status == 404
    assert listed(AUDREY) == [] and listed(AUDREY, f"project_id={a}") == []


def test_several_projects_are_listed_one_project_at_a_time(world):
    a, b, assignments = world["a"], world["b"], world["assignments"]
    assignments.assign(b, "audrey")
    r = get("/ledger/records", AUDREY)
    assert r.status == 422 and r.body["error"]["details"][0]["field"] == "query.project_id"
    assert listed(AUDREY, f"project_id={a}") == sorted(world["issued_a"].record_ids)
    assert listed(AUDREY, f"project_id={b}") == sorted(world["issued_b"].record_ids)

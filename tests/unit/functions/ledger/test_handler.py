"""The ledger API through its Lambda entry point: validation, role scoping, and every role boundary."""

from __future__ import annotations

import pytest

from functions.ledger import handler
from tests.unit.functions.conftest import call, claims_for
from tests.unit.functions.ledger.conftest import approved_run

ADMIN = claims_for("admin", user="admin-1", username="root", fpo=None)
OWNER = claims_for("farmer", user="user-2", username="ravi", fpo="FPO-1")  # owns serials 6..10 of R1
OTHER_FARMER = claims_for("farmer", user="user-9", username="sita", fpo="FPO-1")
MANAGER = claims_for("fpo_manager", user="mgr-1", username="meena", fpo="FPO-1")
OTHER_MANAGER = claims_for("fpo_manager", user="mgr-2", username="arun", fpo="FPO-2")
AUDITOR = claims_for("auditor", user="aud-1", username="audrey", fpo=None)  # assigned to no project here


pytestmark = pytest.mark.usefixtures("wired_api")


def get(path, claims, resource=None, params=None, query=""):
    return call(handler, "GET", path, claims=claims, resource=resource or path, params=params, query=query)


def record(rid, claims):
    return get(f"/ledger/records/{rid}", claims, "/ledger/records/{record_id}", {"record_id": rid})


def credit(serial, claims):
    return get(f"/credits/{serial}", claims, "/credits/{serial}", {"serial": serial})


def test_owner_manager_and_admin_see_a_record_others_get_404(issued):
    rid = issued.record_ids[2]
    for claims in (OWNER, MANAGER, ADMIN):
        r = record(rid, claims)
        assert r.status == 200, r.body
        assert r.body["record"]["record_id"] == rid and r.body["anchored"] is True
    for claims in (OTHER_FARMER, OTHER_MANAGER, AUDITOR):
        r = record(rid, claims)
        assert r.status == 404 and r.body["error"]["code"] == "not_found"


def test_lists_are_scoped_by_role(issued, ledger):
    ledger.issue(approved_run(run_id="R2", farmers=2, net="3"))
    counts = {}
    for name, claims in (
        ("owner", OWNER),
        ("manager", MANAGER),
        ("admin", ADMIN),
        ("other", OTHER_FARMER),
        ("other_manager", OTHER_MANAGER),
        ("auditor", AUDITOR),
    ):
        r = get("/ledger/records", claims)
        assert r.status == 200, r.body
        counts[name] = len(r.body["items"])
    assert counts == {"owner": 1, "manager": 5, "admin": 5, "other": 0, "other_manager": 0, "auditor": 0}


def test_list_filters_and_pagination(issued, ledger):
    ledger.issue(approved_run(run_id="R2", farmers=2, net="3"))
    r = get("/ledger/records", ADMIN, query="project_id=P1&limit=2")
    assert r.status == 200 and len(r.body["items"]) == 2 and r.body["next_token"]
    seqs = [i["record"]["seq"] for i in r.body["items"]]
    assert seqs == sorted(seqs, reverse=True)
    nxt = get("/ledger/records", ADMIN, query=f"project_id=P1&limit=2&next_token={r.body['next_token']}")
    assert nxt.status == 200 and [i["record"]["seq"] for i in nxt.body["items"]] == [seqs[-1] - 1, seqs[-1] - 2]
    other_query = get("/ledger/records", ADMIN, query=f"limit=2&next_token={r.body['next_token']}")
    assert other_query.status == 400 and other_query.body["error"]["code"] == "invalid_next_token"
    ref = issued.credits[0].holder_ref
    by_farmer = get("/ledger/records", ADMIN, query=f"farmer_ref={ref}")
    assert [i["record"]["farmer_ref"] for i in by_farmer.body["items"]] == [ref, ref]  # same farmer in R1 and R2
    by_serial = get("/ledger/records", OWNER, query=f"serial={issued.credits[2].serial}")
    assert [i["record"]["record_id"] for i in by_serial.body["items"]] == [issued.record_ids[2]]
    assert get("/ledger/records", OTHER_FARMER, query=f"serial={issued.credits[2].serial}").body["items"] == []


@pytest.mark.parametrize("query", ["limit=0", "limit=101", "project_id=a-b", "farmer_ref=xyz", "serial=nope"])
def test_bad_list_parameters_are_422_naming_the_field(query):
    r = get("/ledger/records", ADMIN, query=query)
    assert r.status == 422 and r.body["error"]["details"][0]["field"].startswith("query.")


def test_credit_by_unit_or_block_serial(issued):
    block = issued.credits[2]
    unit = block.serial.rsplit("-", 1)[0][:-10] + "-000000007"
    for serial in (block.serial, unit):
        r = credit(serial, OWNER)
        assert r.status == 200 and r.body["serial"] == block.serial and r.body["quantity"] == 5
    assert credit(block.serial, OTHER_FARMER).status == 404
    assert credit(block.serial, AUDITOR).status == 404
    assert credit("AGM-P1-2025-R1-000000099", ADMIN).status == 404
    assert credit("not-a-serial", ADMIN).status == 422


def test_proof_route_returns_a_verifiable_proof(issued):
    from ledger_verify import verify_proof

    rid = issued.record_ids[1]
    r = get(f"/ledger/proofs/{rid}", ADMIN, "/ledger/proofs/{record_id}", {"record_id": rid})
    assert r.status == 200, r.body
    assert {"tx_hash", "block_number", "contract_address", "root"} <= set(r.body["anchor"])
    assert verify_proof(r.body, None)["root"] == r.body["anchor"]["root"]
    assert get(f"/ledger/proofs/{rid}", OTHER_FARMER, "/ledger/proofs/{record_id}", {"record_id": rid}).status == 404


def test_proof_of_a_pending_record_is_409(issued, ledger):
    body = {"serial": issued.credits[2].serial, "quantity": 1, "to_ref": "BUYER-1", "client_token": "token-2000"}
    rid = call(handler, "POST", "/credits/transfer", body, claims=OWNER).body["record_ids"][0]
    r = get(f"/ledger/proofs/{rid}", OWNER, "/ledger/proofs/{record_id}", {"record_id": rid})
    assert r.status == 409 and r.body["error"]["code"] == "not_anchored"


def test_owner_transfers_part_of_a_block(issued, ledger):
    body = {"serial": issued.credits[2].serial, "quantity": 2, "to_ref": "BUYER-1", "client_token": "token-3000"}
    r = call(handler, "POST", "/credits/transfer", body, claims=OWNER)
    assert r.status == 200, r.body
    assert [(c["start"], c["end"]) for c in r.body["credits"]] == [(6, 7), (8, 10)]
    again = call(handler, "POST", "/credits/transfer", body, claims=OWNER)
    assert again.status == 200 and again.body == r.body  # a retry answers exactly the first answer
    # the buyer's part no longer belongs to the farmer: a second transfer of it is 404 for them
    moved = {**body, "serial": r.body["credits"][0]["serial"], "client_token": "token-3001"}
    assert call(handler, "POST", "/credits/transfer", moved, claims=OWNER).status == 404
    assert call(handler, "POST", "/credits/transfer", moved, claims=ADMIN).status == 200


def test_a_farmer_who_does_not_own_the_serial_gets_404_on_transfer_and_retire(issued, ledger):
    serial = issued.credits[2].serial
    t = call(
        handler,
        "POST",
        "/credits/transfer",
        {"serial": serial, "quantity": 1, "to_ref": "B", "client_token": "token-4000"},
        claims=OTHER_FARMER,
    )
    rt = call(
        handler,
        "POST",
        "/credits/retire",
        {"serial": serial, "quantity": 1, "beneficiary_ref": "B", "reason": "voluntary", "client_token": "token-4001"},
        claims=OTHER_FARMER,
    )
    assert (t.status, rt.status) == (404, 404)
    assert ledger.gateway.events == []  # nothing reached the writer


@pytest.mark.parametrize("claims", [MANAGER, AUDITOR])
def test_managers_and_auditors_cannot_move_credits(issued, claims):
    body = {"serial": issued.credits[2].serial, "quantity": 1, "to_ref": "B", "client_token": "token-5000"}
    r = call(handler, "POST", "/credits/transfer", body, claims=claims)
    assert r.status == 403 and r.body["error"]["code"] == "role_forbidden"


def test_admin_retires_for_a_beneficiary(issued):
    body = {
        "serial": issued.credits[0].serial,
        "quantity": 2,
        "beneficiary_ref": "ACME-2026",
        "reason": "compensation",
        "client_token": "token-6000",
    }
    r = call(handler, "POST", "/credits/retire", body, claims=ADMIN)
    assert r.status == 200 and r.body["credits"][0]["status"] == "retired"
    again = call(handler, "POST", "/credits/retire", {**body, "client_token": "token-6001"}, claims=ADMIN)
    assert again.status == 409 and again.body["error"]["code"] == "credits_not_active"


@pytest.mark.parametrize(
    "body,field",
    [
        ({"quantity": 1, "to_ref": "B", "client_token": "token-7000"}, "body.serial"),
        (
            {
                "serial": "AGM-P1-2025-R1-000000001-000000002",
                "quantity": 0,
                "to_ref": "B",
                "client_token": "token-7000",
            },
            "body.quantity",
        ),
        (
            {
                "serial": "AGM-P1-2025-R1-000000001-000000002",
                "quantity": 1,
                "to_ref": "Ravi Kumar",
                "client_token": "token-7000",
            },
            "body.to_ref",
        ),
        (
            {"serial": "AGM-P1-2025-R1-000000001-000000002", "quantity": 1, "to_ref": "B", "client_token": "x"},
            "body.client_token",
        ),
        (
            {
                "serial": "AGM-P1-2025-R1-000000001-000000002",
                "quantity": 1,
                "to_ref": "B",
                "client_token": "token-7000",
                "x": 1,
            },
            "body.x",
        ),
    ],
)
def test_transfer_validation_names_the_field(body, field):
    r = call(handler, "POST", "/credits/transfer", body, claims=ADMIN)
    assert r.status == 422 and field in [d["field"] for d in r.body["error"]["details"]]


def test_manual_issuance_is_admin_only_and_idempotent(ledger):
    body = approved_run().model_dump(mode="json")
    for claims in (OWNER, MANAGER, AUDITOR):
        assert call(handler, "POST", "/ledger/issuances", body, claims=claims).status == 403
    first = call(handler, "POST", "/ledger/issuances", body, claims=ADMIN)
    assert first.status == 200 and first.body["created"] == 3 and first.body["pending"] is False
    again = call(handler, "POST", "/ledger/issuances", body, claims=ADMIN)
    assert again.status == 200 and again.body["created"] == 0
    changed = call(handler, "POST", "/ledger/issuances", {**body, "creditable_net_t": "99"}, claims=ADMIN)
    assert changed.status == 409 and changed.body["error"]["code"] == "run_conflict"


def test_manual_issuance_validates_amounts_without_floats_in_records(ledger):
    body = approved_run().model_dump(mode="json")
    body["farmers"][0]["net_t"] = -1
    r = call(handler, "POST", "/ledger/issuances", body, claims=ADMIN)
    assert r.status == 422 and r.body["error"]["details"][0]["field"] == "body.farmers.0.net_t"


def test_only_an_admin_cancels_credits_and_the_cancellation_is_recorded(issued, ledger):
    body = {"serial": issued.credits[2].serial, "quantity": 5, "reason": "issuance_error", "client_token": "token-8000"}
    assert call(handler, "POST", "/credits/cancel", body, claims=OWNER).status == 403
    r = call(handler, "POST", "/credits/cancel", body, claims=ADMIN)
    assert r.status == 200 and r.body["credits"][0]["status"] == "cancelled"
    record = ledger.store.records[r.body["record_ids"][0]].body
    assert record["kind"] == "cancellation" and record["reason"] == "issuance_error" and record["quantity"] == 5
    transfer = {"serial": issued.credits[2].serial, "quantity": 1, "to_ref": "B", "client_token": "token-8001"}
    assert call(handler, "POST", "/credits/transfer", transfer, claims=OWNER).status == 409


def test_the_writer_refuses_a_cancellation_by_a_non_admin_actor(issued, ledger):
    from agri_common.platform.errors import ForbiddenError
    from functions.ledger import models as m

    with pytest.raises(ForbiddenError):
        ledger.writer.mover.cancel(
            m.CancelCommand(serial=issued.credits[0].serial, quantity=1, reason="other", client_token="token-8002"),
            m.Actor(user_id="user-0", is_admin=False),
        )

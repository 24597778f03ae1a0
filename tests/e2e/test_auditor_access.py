"""Auditor access over HTTP against the local twin: an admin creates a project for FPO-DEMO-1 and
assigns the demo auditor through the real projects routes; the auditor then reads a farmer, plot
and dashboard of FPO-DEMO-1 and the project's ledger records, while an auditor assigned to nothing
gets 404 for the same ids (exactly like ids that do not exist) and empty lists, and neither can write."""

from __future__ import annotations

import uuid

import pytest

from tests.e2e.conftest import Client
from tests.e2e.test_farm import DEMO_FPO, RICE, farmer_body, somewhere, square
from tests.e2e.test_mfa_and_claim import created_user, first_login_with_totp

pytestmark = pytest.mark.e2e


def new_auditor(client: Client, admin: str) -> str:
    """An auditor created through the admin routes (first login included: new password, then TOTP
    enrolment, decision 0015), assigned to nothing."""
    tokens, _ = first_login_with_totp(client, created_user(client, admin, "auditor"))
    return str(tokens["id_token"])


def listed_farmers(client: Client, token: str) -> list[str]:
    """Every farmer id of the demo FPO the caller's list shows (all pages: other tests add farmers)."""
    ids, query = [], f"/farmers?fpo_id={DEMO_FPO}&limit=100"
    while True:
        r = client.call("GET", query, token=token)
        assert r.status_code == 200, r.text
        ids += [f["farmer_id"] for f in r.json()["items"]]
        if not r.json().get("next_token"):
            return ids
        query = f"/farmers?fpo_id={DEMO_FPO}&limit=100&next_token={r.json()['next_token']}"


def test_an_assigned_auditor_reads_the_project_fpo_and_ledger_others_do_not(twin):
    client = Client.of(twin)
    tokens = {u["role"]: client.login(u["username"], u["password"])["id_token"] for u in twin["users"]}
    admin, mgr, auditor = tokens["admin"], tokens["fpo_manager"], tokens["auditor"]
    stranger = new_auditor(client, admin)

    # farm data of the demo FPO, written by its manager
    fid = client.call("POST", "/farmers", farmer_body(), token=mgr).json()["farmer_id"]
    lon, lat = somewhere()
    r = client.call("POST", f"/farmers/{fid}/plots", square(lon, lat), token=mgr)
    assert r.status_code == 201, r.text
    plot_id = r.json()["plot_id"]

    # the admin creates a project over the demo FPO and assigns the demo auditor (projects routes)
    r = client.call(
        "POST",
        "/projects",
        {
            "name": "Auditor access e2e",
            "fpo_ids": [DEMO_FPO],
            "methodology": "vm0051",
            "profile": "vm0051",
            "gwp": "AR5",
            "crediting_start": "2025-06-01",
            "crediting_end": "2030-05-31",
        },
        token=admin,
    )
    assert r.status_code == 201, r.text
    pid = r.json()["project_id"]
    r = client.call("POST", f"/projects/{pid}/auditors", {"username": "demo-auditor"}, token=admin)
    assert r.status_code == 200, r.text

    # ledger records of that project (a manually approved run)
    run = {
        "project_id": pid,
        "run_id": "E2E_" + uuid.uuid4().hex[:8],
        "vintage": 2025,
        "methodology_profile": "vm0051",
        "gwp": "AR5",
        "approved_by": "demo-auditor",
        "approved_at": "2026-01-01T00:00:00Z",
        "deductions": {},
        "creditable_net_t": "5",
        "farmers": [{"farmer_id": fid, "owner_user_id": "nobody", "fpo_id": DEMO_FPO, "net_t": "5"}],
    }
    r = client.call("POST", "/ledger/issuances", run, token=admin)
    assert r.status_code == 200, r.text
    record_id, serial = r.json()["record_ids"][0], r.json()["credits"][0]["serial"]

    # the assigned auditor reads them all
    r = client.call("GET", f"/farmers/{fid}", token=auditor)
    assert r.status_code == 200 and r.json()["farmer_id"] == fid, r.text
    r = client.call("GET", f"/plots/{plot_id}", token=auditor)
    assert r.status_code == 200 and r.json()["farmer_id"] == fid
    assert fid in listed_farmers(client, auditor)
    r = client.call("GET", f"/fpos/{DEMO_FPO}/overview", token=auditor)
    assert r.status_code == 200 and r.json()["members"] >= 1
    r = client.call("GET", f"/ledger/records/{record_id}", token=auditor)
    assert r.status_code == 200 and r.json()["record"]["project_id"] == pid
    listed = client.call("GET", f"/ledger/records?project_id={pid}", token=auditor).json()["items"]
    assert [i["record"]["record_id"] for i in listed] == [record_id]
    assert client.call("GET", f"/credits/{serial}", token=auditor).status_code == 200

    # an auditor assigned to nothing: 404 for the same ids, empty lists
    for path in (
        f"/farmers/{fid}",
        f"/plots/{plot_id}",
        f"/fpos/{DEMO_FPO}/overview",
        f"/ledger/records/{record_id}",
        f"/credits/{serial}",
    ):
        r = client.call("GET", path, token=stranger)
        assert r.status_code == 404 and r.json()["error"]["code"] == "not_found", (path, r.text)
    assert listed_farmers(client, stranger) == []

    # ... answered exactly like ids that do not exist (status, code and message: no existence oracle),
    # on the projects and verification routes too; the queue agrees with the task route
    missing_pid = "prj_00000000" if pid != "prj_00000000" else "prj_ffffffff"
    for route in (
        "/projects/{}",
        "/projects/{}/runs",
        "/projects/{}/runs/{}_2025_kharif",
        "/verification/samples/{}_2025_kharif",
        "/verification/tasks/{}_2025_kharif_a1",
        "/verification/reports/{}_2025_kharif_a1_mon",
    ):
        foreign = client.call("GET", route.format(pid, pid), token=stranger)
        missing = client.call("GET", route.format(missing_pid, missing_pid), token=stranger)
        assert foreign.status_code == missing.status_code == 404, (route, foreign.text)
        strip = lambda r: {k: v for k, v in r.json()["error"].items() if k != "request_id"}
        assert strip(foreign) == strip(missing), (route, foreign.text, missing.text)
    assert client.call("GET", f"/projects/{pid}", token=auditor).status_code == 200
    for token in (stranger, auditor, mgr):  # no run yet: an empty queue for every reader, not a 403
        r = client.call("GET", "/verification/tasks", token=token)
        assert r.status_code == 200 and pid not in {t["project_id"] for t in r.json()["items"]}, r.text
    assert client.call("GET", f"/ledger/records?project_id={pid}", token=stranger).json()["items"] == []

    # reading is all: the assigned auditor still cannot write farm data or move credits
    r = client.call("PATCH", f"/farmers/{fid}", {"version": 1, "name": "Changed"}, token=auditor)
    assert r.status_code == 403 and r.json()["error"]["code"] == "role_forbidden"
    assert client.call("POST", f"/plots/{plot_id}/seasons", RICE, token=auditor).status_code == 403
    r = client.call(
        "POST",
        "/credits/transfer",
        {"serial": serial, "quantity": 1, "to_ref": "B", "client_token": "token-e2e-aud"},
        token=auditor,
    )
    assert r.status_code == 403
    assert client.call("GET", f"/farmers/{fid}", token=mgr).json()["version"] == 1

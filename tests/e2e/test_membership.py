"""FPO membership needs the FPO's consent (docs/decisions/0007) over HTTP against the local twin:
a self-registered farmer is a pending request, invisible to the FPO's totals and to an MRV run;
another FPO's manager cannot approve it; the FPO's manager approves it, and then it is counted."""

from __future__ import annotations

import random
import time

import pytest

from functions.farmers.aadhaar import verhoeff_check_digit
from tests.e2e.conftest import Client
from tests.e2e.test_api import PASSWORD, register_and_confirm, unique
from tests.e2e.test_farm import CONSENT, RICE, somewhere, square


@pytest.fixture(scope="module")
def admin(twin) -> str:
    client = Client.of(twin)
    user = next(u for u in twin["users"] if u["role"] == "admin")
    return client.login(user["username"], user["password"])["id_token"]


@pytest.fixture(scope="module")
def demo_manager(twin) -> str:
    """The demo FPO's manager: a manager of *another* FPO than the one under test."""
    client = Client.of(twin)
    user = next(u for u in twin["users"] if u["role"] == "fpo_manager")
    return client.login(user["username"], user["password"])["id_token"]


def new_manager(client: Client, admin: str, fpo_id: str) -> str:
    username = unique("mgr")
    r = client.call(
        "POST",
        "/admin/users",
        {
            "username": username,
            "role": "fpo_manager",
            "fpo_id": fpo_id,
            "name": "FPO Manager",
            "temporary_password": "Temp-Passw0rd!x",
        },
        token=admin,
    )
    assert r.status_code == 201, r.text
    first = client.call("POST", "/auth/login", {"username": username, "password": "Temp-Passw0rd!x"}).json()
    done = client.call(
        "POST",
        "/auth/challenge",
        {
            "challenge_name": "NEW_PASSWORD_REQUIRED",
            "username": username,
            "session": first["challenge"]["session"],
            "new_password": PASSWORD,
        },
    )
    return done.json()["tokens"]["id_token"]


def new_farmer(client: Client) -> str:
    username = unique("farmer")
    register_and_confirm(client, username)
    return client.login(username, PASSWORD)["id_token"]


def aadhaar() -> str:
    digits = "2" + "".join(random.choice("0123456789") for _ in range(10))
    return digits + verhoeff_check_digit(digits)


def wait_run(client: Client, admin: str, pid: str, run_id: str) -> dict:
    deadline = time.monotonic() + 300
    while True:
        run = client.call("GET", f"/projects/{pid}/runs/{run_id}", token=admin).json()
        if run["status"] != "running" or time.monotonic() > deadline:
            return run
        time.sleep(1)


def test_a_self_registered_farmer_counts_only_once_the_fpos_manager_approves(client, admin, demo_manager):
    fpo_id = unique("FPO-M-")
    assert (
        client.call(
            "POST", "/fpos", {"fpo_id": fpo_id, "name": "Consent FPO", "state": "Punjab"}, token=admin
        ).status_code
        == 201
    )
    manager = new_manager(client, admin, fpo_id)
    farmer = new_farmer(client)

    # 1. the farmer registers themselves: a pending request; they still add their plot and season
    body = {
        "name": "Ravi Kumar",
        "phone": "9812345678",
        "village": "Rampur",
        "district": "Patiala",
        "state": "Punjab",
        "fpo_id": fpo_id,
        "consent": CONSENT,
        "aadhaar": aadhaar(),
    }
    r = client.call("POST", "/farmers", body, token=farmer)
    assert r.status_code == 201, r.text
    me = r.json()
    assert me["membership"] == "pending" and me["aadhaar_duplicate"] is None
    plot = client.call("POST", f"/farmers/{me['farmer_id']}/plots", square(*somewhere()), token=farmer)
    assert plot.status_code == 201, plot.text
    season = client.call(
        "POST", "/farmers/field-data", {"plot_id": plot.json()["plot_id"], "season": RICE}, token=farmer
    )
    assert season.status_code == 201, season.text
    assert client.call("GET", f"/farmers/{me['farmer_id']}", token=farmer).json()["membership"] == "pending"

    overview = client.call("GET", f"/fpos/{fpo_id}/overview", token=manager).json()
    assert (overview["members"], overview["plots"], overview["seasons_reported"]) == (0, 0, 0)
    pending = client.call("GET", "/farmers?status=pending", token=manager).json()["items"]
    assert [f["farmer_id"] for f in pending] == [me["farmer_id"]]

    # 2. invisible to the MRV run: the plan finds no member
    project = client.call(
        "POST",
        "/projects",
        {
            "name": "Consent AWD",
            "fpo_ids": [fpo_id],
            "methodology": "vm0051",
            "profile": "vm0051",
            "gwp": "AR5",
            "crediting_start": "2025-06-01",
            "crediting_end": "2030-05-31",
        },
        token=admin,
    )
    assert project.status_code == 201, project.text
    pid = project.json()["project_id"]
    started = client.call("POST", f"/projects/{pid}/runs", {"period": "2025-kharif"}, token=admin)
    assert started.status_code == 202, started.text
    run_id = started.json()["run_id"]
    run = wait_run(client, admin, pid, run_id)
    assert run["status"] == "failed" and "no farmers" in str(run["error"]), run

    # 3. another FPO's manager gets the answer of a missing record; the farmer cannot approve themselves
    path = f"/fpos/{fpo_id}/members/{me['farmer_id']}/approve"
    other = client.call("POST", path, token=demo_manager)
    missing = client.call("POST", f"/fpos/{fpo_id}/members/F-{unique('x')}/approve", token=manager)
    assert other.status_code == missing.status_code == 404
    assert (other.json()["error"]["code"], other.json()["error"]["message"]) == (
        missing.json()["error"]["code"],
        missing.json()["error"]["message"],
    )
    assert client.call("POST", path, token=farmer).status_code == 403

    # 4. the FPO's manager approves: counted in the totals and in the run
    ok = client.call("POST", path, token=manager)
    assert ok.status_code == 200 and ok.json()["membership"] == "approved", ok.text
    overview = client.call("GET", f"/fpos/{fpo_id}/overview", token=manager).json()
    assert (overview["members"], overview["plots"], overview["seasons_reported"]) == (1, 1, 1)
    assert overview["area_ha"] == plot.json()["area_ha"]
    again = client.call("POST", f"/projects/{pid}/runs", {"period": "2025-kharif"}, token=admin)
    assert again.status_code in (200, 202), again.text
    run = wait_run(client, admin, pid, run_id)
    assert run["status"] == "awaiting_auditor", run
    carbon = client.call("GET", f"/fpos/{fpo_id}/overview", token=manager).json()["carbon"]["runs"]
    assert [(c["run_id"], c["farmers"]) for c in carbon] == [(run_id, 1)]


def test_a_farmer_with_an_invitation_code_joins_at_once(client, admin, demo_manager):
    code = client.call("POST", "/fpos/FPO-DEMO-1/invitations", {"expires_in_hours": 24}, token=demo_manager)
    assert code.status_code == 201, code.text
    farmer = new_farmer(client)
    body = {
        "name": "Sita Devi",
        "phone": "9812345679",
        "village": "Nabha",
        "district": "Patiala",
        "state": "Punjab",
        "fpo_id": "FPO-DEMO-1",
        "consent": CONSENT,
        "invitation_code": code.json()["code"],
    }
    r = client.call("POST", "/farmers", body, token=farmer)
    assert r.status_code == 201 and r.json()["membership"] == "approved", r.text
    reuse = client.call("POST", "/farmers", {**body, "phone": "9812345670"}, token=new_farmer(client))
    assert reuse.status_code == 422 and reuse.json()["error"]["details"][0]["type"] == "invalid_invitation"


def test_a_removed_member_leaves_the_totals_and_may_ask_again(client, admin, demo_manager):
    code = client.call("POST", "/fpos/FPO-DEMO-1/invitations", {}, token=demo_manager).json()["code"]
    farmer = new_farmer(client)
    body = {
        "name": "Gita Rani",
        "phone": "9812345671",
        "village": "Nabha",
        "district": "Patiala",
        "state": "Punjab",
        "fpo_id": "FPO-DEMO-1",
        "consent": CONSENT,
        "invitation_code": code,
    }
    me = client.call("POST", "/farmers", body, token=farmer).json()
    assert me["membership"] == "approved", me
    plot = client.call("POST", f"/farmers/{me['farmer_id']}/plots", square(*somewhere()), token=farmer)
    assert plot.status_code == 201, plot.text
    counted = client.call("GET", "/fpos/FPO-DEMO-1/overview", token=demo_manager).json()

    removed = client.call("POST", f"/fpos/FPO-DEMO-1/members/{me['farmer_id']}/remove", token=demo_manager)
    assert removed.status_code == 200 and removed.json()["membership"] == "removed", removed.text
    after = client.call("GET", "/fpos/FPO-DEMO-1/overview", token=demo_manager).json()
    assert (after["members"], after["plots"]) == (counted["members"] - 1, counted["plots"] - 1)
    again = client.call("POST", f"/farmers/{me['farmer_id']}/membership-request", token=farmer)
    assert again.status_code == 200 and again.json()["membership"] == "pending", again.text
    twice = client.call("POST", f"/farmers/{me['farmer_id']}/membership-request", token=farmer)
    assert twice.status_code == 409 and twice.json()["error"]["code"] == "membership_pending"

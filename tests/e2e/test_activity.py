"""The activity log over HTTP against the local twin: a few mutating requests by different roles,
refusals included, each writing exactly one event (keyed by API Gateway's request id), visible to
the roles that may see it and to no other. Prints the figure "events per request"."""

from __future__ import annotations

import pytest

from tests.e2e.conftest import Client
from tests.e2e.test_api import unique
from tests.e2e.test_farm import farmer_body

DEMO_FPO = "FPO-DEMO-1"


@pytest.fixture(scope="module")
def tokens(twin) -> dict[str, str]:
    client = Client.of(twin)
    return {u["role"]: client.login(u["username"], u["password"])["id_token"] for u in twin["users"]}


def _events(client: Client, token: str, query: str = "") -> list[dict]:
    out, next_token = [], None
    while True:
        q = "limit=200" + (f"&{query}" if query else "") + (f"&next_token={next_token}" if next_token else "")
        r = client.call("GET", f"/activity?{q}", token=token)
        assert r.status_code == 200, r.text
        out += r.json()["events"]
        next_token = r.json()["next_token"]
        if not next_token:
            return out


def test_mutating_requests_write_one_event_each_visible_to_the_right_roles(client, tokens, record_property):
    admin, manager, auditor, farmer = (tokens[r] for r in ("admin", "fpo_manager", "auditor", "farmer"))
    done: dict[str, tuple[str, int]] = {}  # request id -> (what, status)

    def send(what: str, method: str, path: str, body, token: str, expect: int) -> dict:
        r = client.call(method, path, body, token=token)
        assert r.status_code == expect, (what, r.text)
        done[r.headers["x-amzn-RequestId"]] = (what, r.status_code)
        return r.json()

    fpo_id = unique("FPO-ACT-")
    send("admin creates an FPO", "POST", "/fpos", {"fpo_id": fpo_id, "name": "Act", "state": "Bihar"}, admin, 201)
    farmer_id = send("manager registers", "POST", "/farmers", farmer_body(), manager, 201)["farmer_id"]
    send("manager patches", "PATCH", f"/farmers/{farmer_id}", {"version": 1, "name": "Ravi K."}, manager, 200)
    stale = send("stale patch", "PATCH", f"/farmers/{farmer_id}", {"version": 1, "name": "X Y"}, manager, 409)
    send("farmer may not create projects", "POST", "/projects", {}, farmer, 403)
    project = {
        "name": "Activity e2e",
        "fpo_ids": [fpo_id],  # its own FPO: an FPO is in one project at most, and the twin is shared
        "methodology": "vm0051",
        "profile": "vm0051",
        "gwp": "AR5",
        "crediting_start": "2025-06-01",
        "crediting_end": "2030-05-31",
    }
    pid = send("admin creates a project", "POST", "/projects", project, admin, 201)["project_id"]
    send("admin assigns the auditor", "POST", f"/projects/{pid}/auditors", {"username": "demo-auditor"}, admin, 200)
    send("bad body", "POST", f"/projects/{pid}/auditors", {"username": 7}, admin, 422)
    reads_before = len(_events(client, admin))
    client.call("GET", f"/farmers/{farmer_id}", token=manager)  # a read writes nothing
    assert len(_events(client, admin)) == reads_before

    everything = _events(client, admin)
    mine = [e for e in everything if e["request_id"] in done]
    per_request = {rid: sum(1 for e in mine if e["request_id"] == rid) for rid in done}
    assert per_request == dict.fromkeys(done, 1), {done[r][0]: n for r, n in per_request.items()}
    figure = len(mine) / len(done)
    record_property("events_per_request", figure)
    print(f"\nactivity log: {len(mine)} events for {len(done)} mutating requests = {figure:.2f} events per request")

    by_what = {done[e["request_id"]][0]: e for e in mine}
    assert by_what["stale patch"]["outcome"] == stale["error"]["code"]
    assert by_what["farmer may not create projects"]["outcome"] == "role_forbidden"
    assert by_what["bad body"]["outcome"] == "validation_error"
    assert by_what["manager patches"]["diff"]["fields"] == ["name", "version"]
    assert "Ravi K." not in str(mine) and "X Y" not in str(mine)  # names by field name only
    assert by_what["admin creates a project"]["project_id"] == pid

    def visible(token: str) -> set[str]:
        return {done[e["request_id"]][0] for e in _events(client, token) if e["request_id"] in done}

    farm_events = {"manager registers", "manager patches", "stale patch"}
    project_events = {"admin creates a project", "admin assigns the auditor", "bad body"}
    assert visible(manager) == farm_events  # their FPO's (not the other FPO, not the project's)
    assert visible(auditor) == project_events  # their projects'
    assert visible(farmer) == {"farmer may not create projects"}  # their own
    assert visible(admin) == set(x for x, _ in done.values())
    # what another role may not see answers like nothing at all
    hidden = client.call("GET", f"/activity?target=fpo:{fpo_id}", token=manager)
    absent = client.call("GET", "/activity?target=fpo:FPO-NOPE", token=manager)
    assert hidden.status_code == absent.status_code == 200 and hidden.json() == absent.json()

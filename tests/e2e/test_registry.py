"""The public registry view end to end on the twin: an admin creates an integrator key, the
integrator reads a credit and a project with it (no account), is refused without it, runs into its
plan's quota (429), and is refused once the key is deleted; a retired credit shows its beneficiary
and reason and no personal data."""

from __future__ import annotations

import uuid

import pytest

pytestmark = pytest.mark.e2e

TRIAL_QUOTA = 20  # cdk.json, stages.dev.api_plans.trial.quota_limit (requests per day per key)
FARMER_IDS = ("FARMER-REG-1", "FARMER-REG-2")


@pytest.fixture(scope="module")
def world(twin):
    from tests.e2e.conftest import Client

    users = {u["role"]: u for u in twin["users"]}
    client = Client.of(twin)
    admin = client.login("demo-admin", users["admin"]["password"])["id_token"]
    farmer = client.login("demo-farmer", users["farmer"]["password"])["id_token"]
    farmer_sub = client.call("GET", "/auth/me", token=farmer).json()["user_id"]
    project = "PREG_" + uuid.uuid4().hex[:8]
    run = {
        "project_id": project,
        "run_id": "R1",
        "vintage": 2025,
        "methodology_profile": "awd-rice-v1",
        "gwp": "AR5",
        "approved_by": "demo-auditor",
        "approved_at": "2026-01-01T00:00:00Z",
        "deductions": {},
        "creditable_net_t": "10",
        "farmers": [
            {"farmer_id": FARMER_IDS[0], "owner_user_id": farmer_sub, "fpo_id": "FPO-DEMO-1", "net_t": "6"},
            {"farmer_id": FARMER_IDS[1], "owner_user_id": "someone-else", "fpo_id": "FPO-DEMO-1", "net_t": "4"},
        ],
    }
    issued = client.call("POST", "/ledger/issuances", run, token=admin)
    assert issued.status_code == 200, issued.text
    block = issued.json()["credits"][0]
    retired = client.call(
        "POST",
        "/credits/retire",
        {
            "serial": block["serial"],
            "quantity": 2,
            "beneficiary_ref": "ACME-AIRLINES-2025",
            "reason": "compensation",
            "client_token": "reg-e2e-" + uuid.uuid4().hex[:12],
        },
        token=admin,
    )
    assert retired.status_code == 200, retired.text
    key_name = "e2e-" + uuid.uuid4().hex[:10]
    key = client.call(
        "POST",
        "/admin/api-keys",
        {"name": key_name, "owner": "Example Registry", "contact": "ops@registry.example", "plan": "trial"},
        token=admin,
    )
    assert key.status_code == 201, key.text
    return {
        "client": client,
        "admin": admin,
        "farmer_sub": farmer_sub,
        "project": project,
        "block": block,
        "retired": retired.json()["credits"],
        "key": key.json(),
    }


def registry(world, path: str, key: str | None):
    headers = {"x-api-key": key} if key is not None else {}
    return world["client"].call("GET", path, headers=headers)


def strings(value) -> list[str]:
    if isinstance(value, dict):
        return [*value.keys(), *(s for v in value.values() for s in strings(v))]
    if isinstance(value, list):
        return [s for v in value for s in strings(v)]
    return [value] if isinstance(value, str) else []


def assert_no_personal_data(body, world) -> None:
    texts = strings(body)
    for secret in (*FARMER_IDS, world["farmer_sub"], "someone-else", "FPO-DEMO-1", "demo-auditor"):
        assert not any(secret in t for t in texts), secret
    for key in ("farmer_ref", "holder_ref", "owner_user_id", "fpo_id", "approved_by", "farmer_id", "from_ref"):
        assert key not in texts, key


def test_the_key_lifecycle_and_the_quota(world):
    client, admin, key = world["client"], world["admin"], world["key"]
    value = key["value"]
    listed = client.call("GET", "/admin/api-keys", token=admin).json()["items"]
    mine = next(i for i in listed if i["key_id"] == key["key_id"])
    assert mine["plan"] == "trial" and "value" not in mine

    retired_serial = next(c["serial"] for c in world["retired"] if c["status"] == "retired")
    used = 0
    credit = registry(world, f"/registry/credits/{retired_serial}", value)
    used += 1
    assert credit.status_code == 200, credit.text
    body = credit.json()
    assert body["status"] == "retired" and body["quantity"] == 2
    assert body["retirement"] == {
        **body["retirement"],
        "beneficiary_ref": "ACME-AIRLINES-2025",
        "reason": "compensation",
    }
    assert (body["project_id"], body["vintage"], body["methodology_profile"]) == (world["project"], 2025, "awd-rice-v1")
    issuance = body["proof"]["records"][0]
    assert issuance["kind"] == "issuance" and issuance["anchored"] and issuance["anchor"]["tx_hash"].startswith("0x")
    assert_no_personal_data(body, world)

    project = registry(world, f"/registry/projects/{world['project']}", value)
    used += 1
    assert project.status_code == 200, project.text
    assert (project.json()["issued"], project.json()["retired"]) == (10, 2)
    assert project.json()["anchors"]
    assert project.json()["totals_from"] == "summary"  # the ledger's summary of the project, not a walk
    assert_no_personal_data(project.json(), world)
    paged = registry(world, f"/registry/projects/{world['project']}?limit=1", value)
    used += 1
    assert paged.status_code == 200, paged.text
    assert paged.json()["anchors"] == project.json()["anchors"][:1] and paged.json()["issued"] == 10

    unknown = registry(world, "/registry/projects/NO_SUCH_PROJECT", value)
    used += 1
    assert unknown.status_code == 404 and unknown.json()["error"]["code"] == "not_found"

    # no key, a wrong key: API Gateway's 403, before the function runs (and not counted)
    for bad in (None, "not-a-key", value + "x"):
        refused = registry(world, f"/registry/projects/{world['project']}", bad)
        assert refused.status_code == 403, (bad, refused.text)
        assert refused.json()["error"]["code"] == "invalid_api_key"
        assert refused.json()["error"]["message"] == "Forbidden"

    while used < TRIAL_QUOTA:
        assert registry(world, f"/registry/projects/{world['project']}", value).status_code == 200, used
        used += 1
    over = registry(world, f"/registry/projects/{world['project']}", value)
    assert over.status_code == 429, over.text
    assert over.json()["error"]["code"] == "quota_exceeded" and over.json()["error"]["message"] == "Limit Exceeded"

    deleted = client.call("DELETE", f"/admin/api-keys/{key['key_id']}", token=admin)
    assert deleted.status_code == 200 and deleted.json()["enabled"] is False
    gone = registry(world, f"/registry/credits/{retired_serial}", value)
    assert gone.status_code == 403 and gone.json()["error"]["code"] == "invalid_api_key"
    assert client.call("DELETE", f"/admin/api-keys/{key['key_id']}", token=admin).status_code == 404


def test_a_deleted_key_is_refused_at_once(world):
    client, admin = world["client"], world["admin"]
    key = client.call(
        "POST",
        "/admin/api-keys",
        {"name": "e2e-" + uuid.uuid4().hex[:10], "owner": "A Buyer", "contact": "a@buyer.example", "plan": "standard"},
        token=admin,
    ).json()
    path = f"/registry/credits/{world['block']['serial'].rsplit('-', 1)[0]}"  # a unit serial of the first block
    assert registry(world, path, key["value"]).status_code == 200
    assert client.call("DELETE", f"/admin/api-keys/{key['key_id']}", token=admin).status_code == 200
    assert registry(world, path, key["value"]).status_code == 403


def test_only_admins_manage_keys(world, users):
    client = world["client"]
    farmer = client.login("demo-farmer", users["farmer"]["password"])["id_token"]
    r = client.call(
        "POST",
        "/admin/api-keys",
        {"name": "sneaky-key", "owner": "Me", "contact": "me@example.org", "plan": "standard"},
        token=farmer,
    )
    assert r.status_code == 403
    assert client.call("GET", "/admin/api-keys", token=farmer).status_code == 403

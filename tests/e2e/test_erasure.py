"""Personal-data erasure against the twin (docs/decisions/0017): the farmer erases themself, an admin
erases a farmer on their behalf, and every other role is refused exactly like a missing farmer."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta

import requests

from tests.e2e.test_jobs import jobs, moto

PASSWORD = "Erasure-E2e-Passw0rd!"
FPO = "FPO-DEMO-1"
CONSENT = {"given": True, "version": "v1", "at": "2025-06-01T10:00:00+05:30"}


def profile(name: str, phone: str) -> dict:
    return {
        "name": name,
        "phone": phone,
        "village": "Rampur",
        "district": "Patiala",
        "state": "Punjab",
        "fpo_id": FPO,
        "consent": CONSENT,
    }


def token_of(client, users, role: str) -> str:
    return client.login(users[role]["username"], users[role]["password"])["id_token"]


def test_a_farmer_erases_themself(client):
    username = f"erase{uuid.uuid4().hex[:8]}"
    r = client.call(
        "POST",
        "/auth/register",
        {"username": username, "password": PASSWORD, "name": "Gurpreet Erasekaur", "phone_number": "+919812300021"},
    )
    assert r.status_code == 201, r.text
    assert (
        client.call("POST", "/auth/confirm-registration", {"username": username, "code": "123456"}).status_code == 200
    )
    token = client.login(username, PASSWORD)["id_token"]
    r = client.call("POST", "/farmers", profile("Gurpreet Erasekaur", "9812300021"), token=token)
    assert r.status_code == 201, r.text
    farmer_id = r.json()["farmer_id"]

    r = client.call("POST", f"/farmers/{farmer_id}/erasure", token=token)
    assert r.status_code == 200, r.text
    out = r.json()
    assert out["farmer_id"] == farmer_id and out["status"] == "complete" and out["remaining"] == []
    assert out["requested_by"] == "farmer:self" and "account" in out["erased"]
    assert "ledger_owner" in out["erased"]  # the ledger writer was asked to unlink the account (decision 0022)
    # the account is gone and the tokens it held are refused
    assert client.call("GET", "/auth/me", token=token).status_code == 401
    assert client.call("POST", "/auth/login", {"username": username, "password": PASSWORD}).status_code in (400, 401)


def test_an_admin_erases_a_farmer_on_their_behalf(client, users):
    manager, admin = token_of(client, users, "fpo_manager"), token_of(client, users, "admin")
    r = client.call("POST", "/farmers", profile("Harjit Erasesingh", "9812300022"), token=manager)
    assert r.status_code == 201, r.text
    farmer_id = r.json()["farmer_id"]
    lon, lat, size = 75.71, 30.71, 0.001
    ring = [[lon, lat], [lon + size, lat], [lon + size, lat + size], [lon, lat + size], [lon, lat]]
    feature = {"type": "Feature", "properties": {}, "geometry": {"type": "Polygon", "coordinates": [ring]}}
    r = client.call("POST", f"/farmers/{farmer_id}/plots", feature, token=manager)
    assert r.status_code == 201, r.text
    plot_id = r.json()["plot_id"]
    r = client.call("POST", f"/farmers/{farmer_id}/erasure", token=admin)
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "complete" and r.json()["requested_by"].startswith("admin:")
    missing = client.call("GET", "/farmers/F-00000000000000000000", token=manager).json()["error"]["message"]
    gone = client.call("GET", f"/farmers/{farmer_id}", token=manager)
    assert (gone.status_code, gone.json()["error"]["message"]) == (404, missing)
    # the plot stays readable by the FPO, but no upload is presigned on it any more, by anyone (decision 0022)
    assert client.call("GET", f"/plots/{plot_id}", token=manager).status_code == 200
    for token in (manager, admin):
        r2 = client.call(
            "POST", "/uploads", {"plot_id": plot_id, "content_type": "image/jpeg", "size_bytes": 10}, token=token
        )
        assert (r2.status_code, r2.json()["error"]["message"]) == (404, missing)
    listed = client.call("GET", f"/farmers?fpo_id={FPO}&limit=100", token=manager).json()["items"]
    assert farmer_id not in [f["farmer_id"] for f in listed]
    again = client.call("POST", f"/farmers/{farmer_id}/erasure", token=admin)
    assert again.status_code == 200 and again.json() == r.json()


def test_other_roles_are_refused_exactly_like_a_missing_farmer(client, users):
    manager = token_of(client, users, "fpo_manager")
    r = client.call("POST", "/farmers", profile("Simran Keepkaur", "9812300023"), token=manager)
    assert r.status_code == 201, r.text
    farmer_id = r.json()["farmer_id"]
    for role in ("fpo_manager", "auditor", "farmer"):
        token = manager if role == "fpo_manager" else token_of(client, users, role)
        refused = client.call("POST", f"/farmers/{farmer_id}/erasure", token=token)
        missing = client.call("POST", "/farmers/F-00000000000000000000/erasure", token=token)
        assert refused.status_code == missing.status_code == 404, (role, refused.text)
        body, absent = refused.json()["error"], missing.json()["error"]
        assert (body["code"], body["message"], body.get("details")) == (
            absent["code"],
            absent["message"],
            absent.get("details"),
        ), role
    # nothing was erased
    kept = client.call("GET", f"/farmers/{farmer_id}", token=manager)
    assert kept.status_code == 200 and kept.json()["name"] == "Simran Keepkaur"


def test_the_scheduled_sweep_deletes_a_file_posted_after_the_erasure_with_an_earlier_url(
    client, users, twin, synthesized
):
    """decision 0022: a URL presigned before the erasure, used after it; no admin repeats the erasure: the
    scheduled sweep (fired here as if 30 minutes had passed) deletes every version of the late file."""
    manager, admin = token_of(client, users, "fpo_manager"), token_of(client, users, "admin")
    r = client.call("POST", "/farmers", profile("Navjot Latekaur", "9812300024"), token=manager)
    assert r.status_code == 201, r.text
    farmer_id = r.json()["farmer_id"]
    lon, lat, size = 75.73, 30.73, 0.001
    ring = [[lon, lat], [lon + size, lat], [lon + size, lat + size], [lon, lat + size], [lon, lat]]
    feature = {"type": "Feature", "properties": {}, "geometry": {"type": "Polygon", "coordinates": [ring]}}
    r = client.call("POST", f"/farmers/{farmer_id}/plots", feature, token=manager)
    assert r.status_code == 201, r.text
    late = b"\xff\xd8\xff\xe0LATE" + uuid.uuid4().hex.encode() + b"\xff\xd9"
    body = {"plot_id": r.json()["plot_id"], "content_type": "image/jpeg", "size_bytes": len(late)}
    r = client.call("POST", "/uploads", body, token=manager)
    assert r.status_code == 201, r.text
    upload = r.json()
    erased = client.call("POST", f"/farmers/{farmer_id}/erasure", token=admin)
    assert erased.status_code == 200 and erased.json()["status"] == "complete", erased.text
    posted = requests.post(
        upload["url"], data=upload["fields"], files={"file": ("late.jpg", late, "image/jpeg")}, timeout=30
    )
    assert posted.status_code in (200, 201, 204), posted.text
    (uploads,) = [
        lid
        for lid, res in synthesized.template["Resources"].items()
        if (res.get("Metadata") or {}).get("agri:resource") == "uploads"
    ]
    s3, bucket = moto(twin, "s3"), twin["resources"][uploads]

    def versions() -> list:
        listed = s3.list_object_versions(Bucket=bucket, Prefix=upload["object_key"])
        return listed.get("Versions", []) + listed.get("DeleteMarkers", [])

    assert versions(), "the late file landed"
    due = datetime.fromisoformat(erased.json()["requested_at"]) + timedelta(minutes=31)
    fired = jobs(twin, "run", "sweep-erasures", "--input", json.dumps({"time": due.astimezone(UTC).isoformat()}))
    assert fired.returncode == 0, fired.stdout + fired.stderr
    (target,) = json.loads(fired.stdout)["targets"]
    assert farmer_id in target["result"]["swept"], target
    assert versions() == []

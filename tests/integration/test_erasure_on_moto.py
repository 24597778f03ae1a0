"""A farmer's erasure on the twin (moto + our handlers + the in-process chain, docs/decisions/0017): a
farmer with everything (account with name and phone, profile with Aadhaar, a plot, a season with free
text, an evidence photo, credits issued by an approved run, a statement) erases themself; then every
item of every table, every version of every object of every bucket (and the files inside zips) and
every user of the pool are read, and none of the farmer's personal values is anywhere; every ledger
record of the run still verifies with the outsiders' verifier, on chain."""

from __future__ import annotations

import base64
import hashlib
import hmac
import io
import json
import os
import time
import uuid
import zipfile

import boto3
import pytest
import requests

from infra.local.twin import login_tokens
from tests.integration.mrv_seed import farm_items, seed

FPO = "FPO-DEMO-1"
PASSWORD = "Erasure-Passw0rd!x"
NAME = "Zorawar Erasuresingh"
PHONE = "+919812300017"
PLOT_NAME = "Zorawar's tubewell field"
NOTE = "pipe readings kept by Zorawar Erasuresingh"
PHOTO = b"\xff\xd8\xff\xe0" + b"ERASABLE-PHOTO-" + uuid.uuid4().hex.encode() + b"\xff\xd9"
LATE = b"\xff\xd8\xff\xe0" + b"LATE-PHOTO-" + uuid.uuid4().hex.encode() + b"\xff\xd9"


def _aadhaar() -> str:
    from functions.farmers import aadhaar

    return "56785678567" + aadhaar.verhoeff_check_digit("56785678567")


def _lid(template: dict, resource: str) -> str:
    return next(
        k for k, v in template["Resources"].items() if (v.get("Metadata") or {}).get("agri:resource") == resource
    )


@pytest.fixture(scope="module")
def twin(synthesized):
    from agri_common.platform.aws import reset_clients
    from agri_common.platform.settings import clear_settings_cache
    from agri_common.single_table import DynamoTableStore
    from infra.local.twin import LocalTwin

    saved = dict(os.environ)
    reset_clients()
    clear_settings_cache()
    twin = LocalTwin(template=synthesized.template).start()
    clear_settings_cache()
    farm = DynamoTableStore(twin.resolver.ref(_lid(synthesized.template, "farm")))
    seed(farm, farm_items(FPO, farmers=6, plots_per_farmer=1, seasons=["2025-kharif"], prefix="S"))
    yield twin
    twin.stop()
    os.environ.clear()
    os.environ.update(saved)
    reset_clients()
    clear_settings_cache()


class Api:
    def __init__(self, twin):
        self.base = twin.base_url
        self.tokens = {}
        for u in twin.demo_users:  # the demo admin and auditor answer a TOTP challenge (login_tokens)
            self.tokens[u.role] = login_tokens(self.post, u.username, u.password, u.totp_secret)["id_token"]

    def post(self, path: str, body: dict) -> dict:
        return requests.post(f"{self.base}{path}", json=body, timeout=30).json()

    def __call__(self, method: str, path: str, who: str, body=None):
        token = self.tokens.get(who, who)
        return requests.request(method, self.base + path, json=body, timeout=60, headers={"Authorization": token})


def wait_status(api, pid, rid, statuses, timeout=180):
    deadline = time.monotonic() + timeout
    while True:
        run = api("GET", f"/projects/{pid}/runs/{rid}", "admin").json()
        if run["status"] in statuses or time.monotonic() > deadline:
            return run
        time.sleep(0.3)


def farmer_with_everything(api) -> tuple[str, str, str]:
    """(username, token, farmer id): a self-registered account, approved into the demo FPO, with a plot,
    a season, a stored photo."""
    username = f"zorawar{uuid.uuid4().hex[:6]}"
    r = requests.post(
        f"{api.base}/auth/register",
        json={"username": username, "password": PASSWORD, "name": NAME, "phone_number": PHONE},
        timeout=30,
    )
    assert r.status_code == 201, r.text
    r = requests.post(
        f"{api.base}/auth/confirm-registration", json={"username": username, "code": "123456"}, timeout=30
    )
    assert r.status_code == 200, r.text
    token = login_tokens(api.post, username, PASSWORD, None)["id_token"]
    body = {
        "name": NAME,
        "phone": PHONE,
        "village": "Rampur",
        "district": "Patiala",
        "state": "Punjab",
        "fpo_id": FPO,
        "aadhaar": _aadhaar(),
        "consent": {"given": True, "version": "v1", "at": "2025-06-01T10:00:00+05:30"},
    }
    r = api("POST", "/farmers", token, body)
    assert r.status_code == 201, r.text
    farmer_id = r.json()["farmer_id"]
    assert api("POST", f"/fpos/{FPO}/members/{farmer_id}/approve", "fpo_manager").status_code == 200
    size = 0.002
    lon, lat = 75.95, 30.95
    ring = [[lon, lat], [lon + size, lat], [lon + size, lat + size], [lon, lat + size], [lon, lat]]
    r = api(
        "POST",
        f"/farmers/{farmer_id}/plots",
        token,
        {"type": "Feature", "properties": {"name": PLOT_NAME}, "geometry": {"type": "Polygon", "coordinates": [ring]}},
    )
    assert r.status_code == 201, r.text
    plot_id = r.json()["plot_id"]
    season = {
        "year": 2025,
        "season": "kharif",
        "crop": "rice",
        "sowing_date": "2025-06-20",
        "harvest_date": "2025-10-20",
        "cultivation_days": 110,
        "water_regime": "multiple_drainage",
        "preseason_water": "non_flooded_lt_180",
        "water_regime_evidence": {"method": "awd_pipe_readings", "description": NOTE},
        "synthetic_n_kg_per_ha": 120,
        "residue_fate": "incorporated",
        "yield_t_per_ha": 5.2,
    }
    assert api("POST", f"/plots/{plot_id}/seasons", token, season).status_code == 201
    r = api("POST", "/uploads", token, {"plot_id": plot_id, "content_type": "image/jpeg", "size_bytes": len(PHOTO)})
    assert r.status_code == 201, r.text
    upload = r.json()
    posted = requests.post(
        upload["url"],
        data=upload["fields"],
        files={"file": ("photo.jpg", PHOTO, "image/jpeg")},
        timeout=30,
    )
    assert posted.status_code in (200, 201, 204), posted.text
    r = api("POST", f"/uploads/{upload['upload_id']}/complete", token)
    assert r.status_code == 200 and r.json()["status"] == "stored", r.text
    return username, token, farmer_id


def approved_run(api) -> tuple[str, str]:
    r = api(
        "POST",
        "/projects",
        "admin",
        {
            "name": "Erasure AWD",
            "fpo_ids": [FPO],
            "methodology": "vm0051",
            "profile": "vm0051",
            "gwp": "AR5",
            "crediting_start": "2025-06-01",
            "crediting_end": "2030-05-31",
            "draws": 200,
        },
    )
    assert r.status_code == 201, r.text
    pid = r.json()["project_id"]
    assert api("POST", f"/projects/{pid}/auditors", "admin", {"username": "demo-auditor"}).status_code == 200
    r = api("POST", f"/projects/{pid}/runs", "admin", {"period": "2025-kharif"})
    assert r.status_code == 202, r.text
    rid = r.json()["run_id"]
    assert wait_status(api, pid, rid, {"awaiting_auditor", "failed"})["status"] == "awaiting_auditor"
    from functions.verification.logic import checklist

    answers = {i["id"]: {"answer": "pass"} for i in checklist("vm0051")["items"]}
    r = api("POST", f"/verification/tasks/{rid}_a1/decision", "auditor", {"decision": "approve", "checklist": answers})
    assert r.status_code == 200, r.text
    run = wait_status(api, pid, rid, {"approved", "failed"})
    assert run["status"] == "approved", run
    return pid, rid


def issuance_records(api, pid: str) -> list[dict]:
    items = api("GET", f"/ledger/records?project_id={pid}&limit=100", "admin").json()["items"]
    return [i["record"] for i in items if i["record"]["kind"] == "issuance"]


def verify_all(api, twin, records: list[dict]) -> None:
    """The outsiders' verifier, on chain, for every issuance record (one serial of each)."""
    from ledger_verify import verify_credit

    rpc = twin.describe()["chain_rpc"]
    assert rpc
    for record in records:
        report = verify_credit(api.base, record["serial_start"], api.tokens["admin"], rpc)
        assert report and all(r["checked_on_chain"] for r in report), report


def jwt_sub(token: str) -> str:
    """The account id (Cognito sub) in an id token (read, not verified: the test's own token)."""
    payload = token.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))["sub"]


def ledger_items(moto) -> str:
    ddb = boto3.client("dynamodb", endpoint_url=moto, region_name="ap-south-1")
    (table,) = [t for t in ddb.list_tables()["TableNames"] if "edger" in t]
    items = [i for page in ddb.get_paginator("scan").paginate(TableName=table) for i in page["Items"]]
    assert items
    return json.dumps(items, sort_keys=True)


def salt_item(moto, farmer_id: str) -> dict:
    ddb = boto3.client("dynamodb", endpoint_url=moto, region_name="ap-south-1")
    (table,) = [t for t in ddb.list_tables()["TableNames"] if "edger" in t]
    return ddb.get_item(TableName=table, Key={"pk": {"S": f"SALT#{farmer_id}"}, "sk": {"S": "S"}}).get("Item", {})


def evidence_versions(moto, prefix: str) -> list[str]:
    """Every version and delete marker under ``prefix`` of every bucket."""
    s3 = boto3.client("s3", endpoint_url=moto, region_name="ap-south-1")
    found = []
    for bucket in [b["Name"] for b in s3.list_buckets()["Buckets"]]:
        resp = s3.list_object_versions(Bucket=bucket, Prefix=prefix)
        found += [
            f"{bucket}/{v['Key']}@{v['VersionId']}" for v in resp.get("Versions", []) + resp.get("DeleteMarkers", [])
        ]
    return found


def every_table_item(moto) -> str:
    ddb = boto3.client("dynamodb", endpoint_url=moto, region_name="ap-south-1")
    out = []
    for table in ddb.list_tables()["TableNames"]:
        for page in ddb.get_paginator("scan").paginate(TableName=table):  # a test may scan; product code may not
            out += page["Items"]
    return json.dumps(out, sort_keys=True)


def every_object(moto) -> list[tuple[str, bytes]]:
    """Every version of every object of every bucket, and every file inside a zip (xlsx, exports)."""
    s3 = boto3.client("s3", endpoint_url=moto, region_name="ap-south-1")
    found: list[tuple[str, bytes]] = []
    for bucket in [b["Name"] for b in s3.list_buckets()["Buckets"]]:
        for page in s3.get_paginator("list_object_versions").paginate(Bucket=bucket):
            for v in page.get("Versions", []):
                body = s3.get_object(Bucket=bucket, Key=v["Key"], VersionId=v["VersionId"])["Body"].read()
                found.append((f"{bucket}/{v['Key']}@{v['VersionId']}", body))
                if body[:2] == b"PK":
                    with zipfile.ZipFile(io.BytesIO(body)) as z:
                        found += [(f"{bucket}/{v['Key']}!{n}", z.read(n)) for n in z.namelist()]
    return found


def pool_users(moto) -> str:
    idp = boto3.client("cognito-idp", endpoint_url=moto, region_name="ap-south-1")
    users = []
    for pool in idp.list_user_pools(MaxResults=10)["UserPools"]:
        users += idp.list_users(UserPoolId=pool["Id"])["Users"]
    return json.dumps(users, default=str)


def aadhaar_token(moto) -> str:
    sm = boto3.client("secretsmanager", endpoint_url=moto, region_name="ap-south-1")
    (secret,) = [s for s in sm.list_secrets()["SecretList"] if "adhaar" in s["Name"].lower() or "Aadhaar" in s["Name"]]
    key = sm.get_secret_value(SecretId=secret["ARN"])["SecretString"].encode()
    from functions.farmers import aadhaar

    return aadhaar.keyed_hash(_aadhaar(), key)


def test_after_a_farmers_erasure_nothing_personal_is_left_and_the_ledger_still_verifies(twin):
    api = Api(twin)
    moto = twin.moto_url
    username, token, farmer_id = farmer_with_everything(api)
    pid, rid = approved_run(api)
    records = issuance_records(api, pid)
    statement = api("GET", f"/farmers/{farmer_id}/statement?run_id={rid}", token)
    assert statement.status_code == 200 and statement.content.startswith(b"%PDF")
    verify_all(api, twin, records)
    token_hex = aadhaar_token(moto)
    personal = {
        "name": NAME,
        "phone": PHONE,
        "phone digits": PHONE[3:],
        "aadhaar": _aadhaar(),
        "aadhaar token": token_hex,
        "plot name": PLOT_NAME,
        "season note": NOTE,
    }
    tables, objects, users = every_table_item(moto), every_object(moto), pool_users(moto)
    # the values really were stored before (the test can fail)
    assert NAME in tables and PHONE in tables and token_hex in tables and PLOT_NAME in tables and NOTE in tables
    assert any(PHOTO in body for _, body in objects)
    assert NAME in users and username in users
    salt = salt_item(moto, farmer_id)["salt"]["S"]
    assert salt in tables
    # the account id beside the farmer's ledger records (owner index) and on their credit blocks
    account_id = jwt_sub(token)
    assert account_id in ledger_items(moto)
    # an upload presigned before the erasure, posted after it (decision 0022)
    (plot_id,) = [p["plot_id"] for p in api("GET", f"/farmers/{farmer_id}/plots", "admin").json()["items"]]
    r = api("POST", "/uploads", token, {"plot_id": plot_id, "content_type": "image/jpeg", "size_bytes": len(LATE)})
    assert r.status_code == 201, r.text
    late_upload = r.json()

    r = api("POST", f"/farmers/{farmer_id}/erasure", token)
    assert r.status_code == 200, r.text
    out = r.json()
    assert out["status"] == "complete" and out["remaining"] == [], out
    assert out["erased"] == ["evidence", "plots", "ledger_salt", "ledger_owner", "notifications", "account"]

    tables, objects, users = every_table_item(moto), every_object(moto), pool_users(moto)
    for what, value in personal.items():
        assert value not in tables, what
        assert not [where for where, body in objects if value.encode() in body], what
    assert not [where for where, body in objects if PHOTO in body]
    assert NAME not in users and username not in users and PHONE not in users
    # crypto-shredded: no record's farmer_ref can be recomputed; an erased marker stays in the salt's place
    # so that a run issued after the erasure names no one either (decision 0022)
    assert salt not in tables and set(salt_item(moto, farmer_id)) == {"pk", "sk", "erased_at"}
    # the farmer's tokens are revoked; the profile reads as missing; plots and seasons stay
    assert api("GET", f"/farmers/{farmer_id}", token).status_code == 401
    missing = api("GET", "/farmers/F-00000000000000000000", "admin")
    gone = api("GET", f"/farmers/{farmer_id}", "admin")
    assert (gone.status_code, gone.json()["error"]["message"]) == (404, missing.json()["error"]["message"])
    plots = api("GET", f"/farmers/{farmer_id}/plots", "fpo_manager")
    assert plots.status_code == 404  # the farmer's list is the farmer's: gone with them
    # the run and every credit it issued stay, and the outsiders' verifier still verifies every record
    assert api("GET", f"/projects/{pid}/runs/{rid}", "admin").json()["status"] == "approved"
    after = issuance_records(api, pid)
    assert after == records
    verify_all(api, twin, after)
    # the ledger no longer names the farmer's account anywhere (records, blocks, the owner index), and every
    # record above still verified with its hashed body unchanged
    assert account_id not in ledger_items(moto)

    # the late upload: no new one can be presigned on the erased farmer's plot, by anyone...
    for who in ("admin", "fpo_manager"):
        r = api("POST", "/uploads", who, {"plot_id": plot_id, "content_type": "image/jpeg", "size_bytes": 10})
        assert (r.status_code, r.json()["error"]["message"]) == (404, missing.json()["error"]["message"])
    # ...but the one presigned before the erasure is posted after it and lands
    posted = requests.post(
        late_upload["url"],
        data=late_upload["fields"],
        files={"file": ("late.jpg", LATE, "image/jpeg")},
        timeout=30,
    )
    assert posted.status_code in (200, 201, 204), posted.text
    prefix = late_upload["object_key"].rsplit("/", 1)[0] + "/"
    assert evidence_versions(moto, prefix), "the late upload landed"
    assert api("POST", f"/uploads/{late_upload['upload_id']}/complete", "admin").status_code == 404
    # a second erasure by an admin sweeps it away (every version) and answers the same tombstone
    again = api("POST", f"/farmers/{farmer_id}/erasure", "admin")
    assert again.status_code == 200 and again.json() == out
    assert evidence_versions(moto, prefix) == []
    assert not [where for where, body in every_object(moto) if LATE in body]
    # and the farmer's ledger reference cannot be matched: no salt, and the records name only hashes
    assert all(farmer_id not in json.dumps(rec) for rec in after)
    assert not any(
        hmac.compare_digest(rec["farmer_ref"], hashlib.sha256(farmer_id.encode()).hexdigest()) for rec in after
    )

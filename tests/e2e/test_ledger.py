"""The ledger end to end: an admin issues for a manually approved run, the farmer reads and
transfers, and the command-line verifier, a separate process without our credentials, checks a
credit from its serial against the twin's chain over JSON-RPC, and catches a forged record."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

pytestmark = pytest.mark.e2e


def _verifier(*args: str) -> subprocess.CompletedProcess:
    """The installed console script (tools/ledger-verify), as an outsider runs it: no PYTHONPATH, so
    none of our code is importable."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    script = Path(sys.executable).parent / "agri-ledger-verify"
    return subprocess.run([str(script), *args], capture_output=True, text=True, env=env, timeout=60, cwd="/")


@pytest.fixture(scope="module")
def issued(twin):
    from tests.e2e.conftest import Client

    users = {u["role"]: u for u in twin["users"]}
    client = Client.of(twin)
    admin = client.login("demo-admin", users["admin"]["password"])["id_token"]
    farmer = client.login("demo-farmer", users["farmer"]["password"])["id_token"]
    farmer_id = client.call("GET", "/auth/me", token=farmer).json()["user_id"]
    run_id = "E2E_" + uuid.uuid4().hex[:8]
    run = {
        "project_id": "PDEMO",
        "run_id": run_id,
        "vintage": 2025,
        "methodology_profile": "awd-rice-v1",
        "gwp": "AR5",
        "approved_by": "demo-auditor",
        "approved_at": "2026-01-01T00:00:00Z",
        "deductions": {"buffer": "2.5"},
        "creditable_net_t": "12.9",
        "farmers": [
            {"farmer_id": "FARMER-DEMO-1", "owner_user_id": farmer_id, "fpo_id": "FPO-DEMO-1", "net_t": "9"},
            {"farmer_id": "FARMER-DEMO-2", "owner_user_id": "someone-else", "fpo_id": "FPO-OTHER", "net_t": "4"},
        ],
    }
    r = client.call("POST", "/ledger/issuances", run, token=admin)
    assert r.status_code == 200, r.text
    return {"client": client, "admin": admin, "farmer": farmer, "result": r.json(), "run": run}


def test_admin_issues_and_the_batch_is_anchored_on_the_twin_chain(issued, twin):
    result = issued["result"]
    assert result["created"] == 2 and result["pending"] is False
    assert [c["quantity"] for c in result["credits"]] == [8, 4]  # 12 whole credits, quotas 8.31 / 3.69
    assert twin["chain_rpc"].startswith("http://127.0.0.1:")
    again = issued["client"].call("POST", "/ledger/issuances", issued["run"], token=issued["admin"])
    assert again.status_code == 200 and again.json()["created"] == 0


def test_roles_see_what_they_may(issued, users):
    client = issued["client"]
    serial = issued["result"]["credits"][0]["serial"]
    mine = client.call("GET", f"/credits/{serial}", token=issued["farmer"])
    assert mine.status_code == 200 and mine.json()["quantity"] == 8
    other = client.call("GET", f"/credits/{issued['result']['credits'][1]['serial']}", token=issued["farmer"])
    assert other.status_code == 404
    manager = client.login("demo-fpo-manager", users["fpo_manager"]["password"])["id_token"]
    listed = client.call("GET", "/ledger/records?project_id=PDEMO", token=manager).json()["items"]
    assert listed and {i["record"]["fpo_id"] for i in listed} == {"FPO-DEMO-1"}
    auditor = client.login("demo-auditor", users["auditor"]["password"])["id_token"]
    # auditors read only the projects they are assigned to, and none of them is PDEMO
    assert client.call("GET", "/ledger/records?project_id=PDEMO", token=auditor).json()["items"] == []
    forbidden = client.call(
        "POST",
        "/credits/transfer",
        {"serial": serial, "quantity": 1, "to_ref": "B", "client_token": "token-e2e-1"},
        token=manager,
    )
    assert forbidden.status_code == 403


def test_verify_a_credit_from_its_serial_with_the_cli(issued, twin):
    serial = issued["result"]["credits"][0]["serial"]
    done = _verifier(
        "credit", "--api", twin["api"], "--serial", serial, "--token", issued["farmer"], "--rpc", twin["chain_rpc"]
    )
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)["report"]
    assert report[0]["checked_on_chain"] is True and report[0]["record_id"] == issued["result"]["record_ids"][0]


def test_the_cli_catches_a_forged_proof(issued, twin, tmp_path):
    rid = issued["result"]["record_ids"][0]
    proof = issued["client"].call("GET", f"/ledger/proofs/{rid}", token=issued["farmer"]).json()
    path = tmp_path / "proof.json"
    path.write_text(json.dumps(proof))
    assert _verifier("proof", "--proof", str(path), "--rpc", twin["chain_rpc"]).returncode == 0
    proof["record"]["quantity"] += 1
    path.write_text(json.dumps(proof))
    forged = _verifier("proof", "--proof", str(path), "--rpc", twin["chain_rpc"])
    assert forged.returncode == 1 and "FAILED" in forged.stderr


def test_the_cli_cannot_verify_against_another_chain_or_a_registry_without_code(issued, twin, tmp_path):
    rid = issued["result"]["record_ids"][0]
    proof = issued["client"].call("GET", f"/ledger/proofs/{rid}", token=issued["farmer"]).json()
    path = tmp_path / "proof.json"
    for field, value in (("chain_id", proof["anchor"]["chain_id"] + 1), ("contract_address", "0x" + "11" * 20)):
        path.write_text(json.dumps({**proof, "anchor": {**proof["anchor"], field: value}}))
        done = _verifier("proof", "--proof", str(path), "--rpc", twin["chain_rpc"])
        assert done.returncode == 2 and "cannot verify" in done.stderr, (field, done.stderr)


def test_farmer_transfers_part_of_their_credits(issued):
    client = issued["client"]
    serial = issued["result"]["credits"][0]["serial"]
    body = {"serial": serial, "quantity": 4, "to_ref": "BUYER-E2E", "client_token": "token-" + uuid.uuid4().hex[:12]}
    r = client.call("POST", "/credits/transfer", body, token=issued["farmer"])
    assert r.status_code == 200, r.text
    assert [c["quantity"] for c in r.json()["credits"]] == [4, 4]
    again = client.call("POST", "/credits/transfer", body, token=issued["farmer"])
    assert again.status_code == 200 and again.json() == r.json()  # a retry: the first answer, nothing written
    reused = client.call("POST", "/credits/transfer", {**body, "quantity": 3}, token=issued["farmer"])
    assert reused.status_code == 409 and reused.json()["error"]["code"] == "idempotency_conflict"
    rid = r.json()["record_ids"][0]
    assert (
        client.call("GET", f"/ledger/proofs/{rid}", token=issued["farmer"]).status_code == 409
    )  # anchored in the next batch

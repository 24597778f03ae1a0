"""The ledger on moto (tables and bucket provisioned from the synthesized template) and a chain:
the in-process EVM (reached by the verifier over the twin's JSON-RPC bridge) and a real JSON-RPC
node (ganache from npm, started here on 127.0.0.1)."""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import time
from pathlib import Path

import pytest
import requests

from agri_chain import ChainUnavailable, connect, reset_in_process_chain
from agri_common.ledger_crypto import GENESIS_HASH, LedgerIntegrityError, seal
from agri_common.platform.principal import Principal, Role
from functions.ledger import models as m
from functions.ledger.anchoring import RetryPolicy
from functions.ledger.dal import DynamoLedgerStore, S3ArtifactStore
from functions.ledger.ports import Append, BlockChanged, HeadMoved, RecordExists
from functions.ledger.queries import LedgerReader
from functions.ledger.writer import LedgerWriter
from infra.local import invoke
from infra.local.chain import ChainBridge
from infra.local.lambdas import LambdaContext
from infra.local.template import function_specs
from ledger_verify import LedgerIntegrityError, verify_export, verify_proof
from tests.unit.functions.conftest import call, claims_for
from tests.unit.functions.ledger.conftest import NOW, approved_run

ROOT = Path(__file__).resolve().parents[2]
GANACHE = ROOT / "node_modules" / ".bin" / "ganache"
# ganache --wallet.deterministic: the first account's well-known development key (no value anywhere)
GANACHE_KEY = "0x4f3edf983ac636a65a842ce7c78d9aa706d3b113bce9c46f30d7d21715b23b1d"
OWNER = claims_for("farmer", user="user-2", username="ravi", fpo="FPO-1")
ADMIN = Principal(user_id="admin-1", username="root", role=Role.ADMIN)
# what every issuance record carries and the project summary counts (functions/ledger/summary.py)
ISSUED = {"vintage": 2025, "quantity": 1, "series": "AGM-P1-2025-R1", "methodology_profile": "awd-rice-v1"}


@pytest.fixture
def ledger_env(aws, function_env, synthesized, monkeypatch):
    """Both ledger functions' environments; lambda:Invoke of the writer runs it in-process."""
    from functions.ledger import writer_handler as writer

    function_env("ledger-writer")
    env = function_env("ledger")
    reset_in_process_chain()
    writer.get_writer.cache_clear()
    invoke.install()
    (lid,) = [lid for lid, s in function_specs(synthesized.template).items() if s.domain == "ledger-writer"]
    ctx = LambdaContext(
        function_name=env["LEDGER_WRITER_FUNCTION"],
        memory_limit_in_mb=512,
        invoked_function_arn="arn:aws:lambda:ap-south-1:123456789012:function:w",
        aws_request_id="r",
        timeout_s=60,
    )
    invoke.register(
        env["LEDGER_WRITER_FUNCTION"], aws.get_att(lid, "Arn"), lambda event: writer.lambda_handler(event, ctx)
    )
    yield env
    invoke.clear()
    writer.get_writer.cache_clear()
    reset_in_process_chain()


def test_issue_transfer_anchor_and_verify_over_json_rpc(ledger_env):
    from functions.ledger import handler
    from functions.ledger import writer_handler as writer

    ctx = LambdaContext(
        function_name="w", memory_limit_in_mb=512, invoked_function_arn="arn", aws_request_id="r", timeout_s=60
    )
    issued = writer.lambda_handler({"command": "issue", "run": approved_run().model_dump(mode="json")}, ctx)
    assert issued["ok"], issued
    result = m.WriterResult.model_validate(issued["result"])
    assert result.created == 3 and [b.status for b in result.batches] == ["anchored"]

    # the API, through its Lambda entry point; the transfer reaches the writer by lambda:Invoke
    serial = result.credits[2].serial
    r = call(
        handler,
        "POST",
        "/credits/transfer",
        {"serial": serial, "quantity": 2, "to_ref": "BUYER-1", "client_token": "token-9000"},
        claims=OWNER,
    )
    assert r.status == 200, r.body
    pending_id = r.body["record_ids"][0]
    proof = call(
        handler,
        "GET",
        f"/ledger/proofs/{pending_id}",
        claims=OWNER,
        resource="/ledger/proofs/{record_id}",
        params={"record_id": pending_id},
    )
    assert proof.status == 409
    anchored = writer.lambda_handler({"command": "anchor"}, ctx)
    assert [b["status"] for b in anchored["result"]["batches"]] == ["anchored"]

    bridge = ChainBridge(0).start()
    try:
        for rid in [*result.record_ids, pending_id]:
            p = call(
                handler,
                "GET",
                f"/ledger/proofs/{rid}",
                claims=claims_for("admin", user="a", fpo=None),
                resource="/ledger/proofs/{record_id}",
                params={"record_id": rid},
            )
            assert p.status == 200, p.body
            assert verify_proof(p.body, bridge.url)["checked_on_chain"] is True
            forged = json.loads(json.dumps(p.body))
            forged["record"]["quantity"] += 1
            with pytest.raises(LedgerIntegrityError):
                verify_proof(forged, bridge.url)
        credit = call(
            handler, "GET", f"/credits/{serial}", claims=OWNER, resource="/credits/{serial}", params={"serial": serial}
        )
        assert credit.status == 404  # the block split: 6..7 belongs to the buyer, 8..10 to the farmer
    finally:
        bridge.stop()


def test_appends_are_fork_proof_and_idempotent_on_dynamodb(ledger_env):
    store = DynamoLedgerStore(ledger_env["LEDGER_TABLE"])

    def entry(seq, prev, rid):
        body = seal({"record_id": rid, "kind": "issuance", "project_id": "P1", "seq": seq, "prev_hash": prev, **ISSUED})
        return Append(m.StoredRecord(body=body, owner_user_id="u", fpo_id="FPO-1"))

    first = entry(1, GENESIS_HASH, "A")
    store.append([first], expected_seq=0)
    assert store.head() == (1, first.record.body["record_hash"])
    fork = entry(1, GENESIS_HASH, "B")  # a second writer that read the same (empty) head
    with pytest.raises(HeadMoved):
        store.append([fork], expected_seq=0)
    with pytest.raises(RecordExists):
        store.append([entry(2, first.record.body["record_hash"], "A")], expected_seq=1)
    block = m.CreditBlock(
        series="AGM-P1-2025-R1",
        start=1,
        end=5,
        status="active",
        holder_ref="h",
        owner_user_id="u",
        fpo_id="FPO-1",
        project_id="P1",
        vintage=2025,
        record_ids=["A"],
    )
    second = entry(2, first.record.body["record_hash"], "C")
    second.blocks.append((block, 7))  # expects a version that is not stored
    with pytest.raises(BlockChanged):
        store.append([second], expected_seq=1)
    assert store.head()[0] == 1 and store.get_record("B") is None and store.get_record("C") is None
    assert [r.record_id for r in store.records_by_seq(1, 5)] == ["A"]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def ganache():
    if not GANACHE.exists():
        pytest.fail("ganache is not installed: run npm ci (package.json pins it)")
    port = _free_port()
    proc = subprocess.Popen(
        [
            str(GANACHE),
            "--server.host",
            "127.0.0.1",
            "--server.port",
            str(port),
            "--wallet.deterministic",
            "--logging.quiet",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    for _ in range(300):
        try:
            requests.post(url, json={"jsonrpc": "2.0", "id": 1, "method": "eth_chainId", "params": []}, timeout=1)
            break
        except (requests.ConnectionError, requests.Timeout):  # not listening yet, or slow to answer on a busy machine
            if proc.poll() is not None:
                pytest.fail("ganache exited at start")
            time.sleep(0.1)
    yield url
    proc.terminate()
    proc.wait(timeout=10)


def test_anchoring_on_a_real_json_rpc_node_with_an_outage(ledger_env, ganache, tmp_path):
    from web3 import Web3

    from agri_chain import deploy_registry

    contract = deploy_registry(Web3(Web3.HTTPProvider(ganache)), private_key=GANACHE_KEY)
    store, artifacts = DynamoLedgerStore(ledger_env["LEDGER_TABLE"]), S3ArtifactStore(ledger_env["AUDIT_BUCKET"])
    url = {"value": f"http://127.0.0.1:{_free_port()}"}  # nothing listens there: an RPC outage
    writer = LedgerWriter(
        store,
        artifacts,
        lambda: connect(url["value"], contract_address=contract, private_key=GANACHE_KEY),
        now=lambda: NOW,
        retry=RetryPolicy(rpc_attempts=2),
    )
    result = writer.handle(m.WriterEvent(command="issue", run=approved_run()))
    assert result.pending and result.batches[0].status == "pending" and result.created == 3

    writer.anchorer._chain, url["value"] = None, ganache  # the node is back
    done = writer.handle(m.WriterEvent(command="anchor")).batches
    assert [b.status for b in done] == ["anchored"]
    assert writer.handle(m.WriterEvent(command="issue", run=approved_run())).created == 0  # a duplicate invocation
    receipt = requests.post(
        ganache, json={"jsonrpc": "2.0", "id": 1, "method": "eth_getTransactionReceipt", "params": [done[0].tx_hash]}
    ).json()["result"]
    assert int(receipt["status"], 16) == 1

    reader = LedgerReader(store, artifacts)
    for rid in result.record_ids:
        assert verify_proof(reader.proof(ADMIN, rid).model_dump(mode="json"), ganache)["checked_on_chain"]
    export = tmp_path / "export"
    export.mkdir()
    (export / "b.json").write_bytes(artifacts.get(done[0].artifact_key))
    with pytest.raises(LedgerIntegrityError, match="MANIFEST"):
        verify_export([str(export)], rpc_url=ganache, contract=contract)
    (export / "MANIFEST.json").write_bytes(artifacts.get("ledger/batches/MANIFEST.json"))
    assert (
        verify_export([str(export)], rpc_url=ganache)["batches_checked_on_chain"] == 1
    )  # contract, chain id: manifest
    with pytest.raises(ChainUnavailable):
        connect(f"http://127.0.0.1:{_free_port()}", contract_address=contract, private_key=GANACHE_KEY).anchored(
            b"\0" * 32
        )
    assert shutil.which("node")


def test_client_tokens_and_resent_issuances_on_dynamodb(ledger_env):
    """A retry answers the first answer (stored with the record), a reuse with other content is a 409,
    the transaction itself refuses a second kind of move under one token, and a re-sent issuance
    shows the blocks as they are now (one Query of the series)."""
    from functions.ledger import handler
    from functions.ledger import writer_handler as writer

    admin = claims_for("admin", user="admin-1", fpo=None)
    ctx = LambdaContext(
        function_name="w", memory_limit_in_mb=512, invoked_function_arn="arn", aws_request_id="r", timeout_s=60
    )
    issued = m.WriterResult.model_validate(
        writer.lambda_handler({"command": "issue", "run": approved_run().model_dump(mode="json")}, ctx)["result"]
    )
    body = {
        "serial": issued.credits[2].serial,
        "quantity": 2,
        "beneficiary_ref": "ACME",
        "reason": "voluntary",
        "client_token": "token-9100",
    }
    first = call(handler, "POST", "/credits/retire", body, claims=OWNER)
    assert first.status == 200 and first.body["command"] == "retirement"
    again = call(handler, "POST", "/credits/retire", body, claims=OWNER)
    assert again.status == 200 and again.body == first.body
    reused = call(handler, "POST", "/credits/retire", {**body, "quantity": 1}, claims=OWNER)
    assert reused.status == 409 and reused.body["error"]["code"] == "idempotency_conflict"

    store = DynamoLedgerStore(ledger_env["LEDGER_TABLE"])
    stored = store.get_record(first.body["record_ids"][0])
    assert stored.answer == first.body and stored.request_sha256
    seq, head = store.head()
    other = seal({"record_id": "TRF:other", "kind": "transfer", "project_id": "P1", "seq": seq + 1, "prev_hash": head})
    with pytest.raises(RecordExists):  # the retirement holds the token: the transfer cannot commit beside it
        store.append([Append(m.StoredRecord(body=other), absent=[first.body["record_ids"][0]])], expected_seq=seq)
    assert store.get_record("TRF:other") is None

    resent = call(handler, "POST", "/ledger/issuances", approved_run().model_dump(mode="json"), claims=admin)
    assert resent.status == 200 and resent.body["created"] == 0
    assert [(c["start"], c["end"], c["status"]) for c in resent.body["credits"]] == [
        (1, 2, "active"),
        (3, 5, "active"),
        (6, 7, "retired"),
        (8, 10, "active"),
    ]


def test_a_foreign_root_on_chain_is_stepped_over_and_shown_on_dynamodb_and_s3(ledger_env, tmp_path):
    """Another ledger anchored the first batch id with the same contract (a reset table): the batch is
    anchored under <id>.r1, DynamoDB keeps the conflict (GET /ledger/batches), the batch file and the
    manifest in S3 name the anchor id, and the verifier, over JSON-RPC, reports the conflict."""
    from agri_common.ledger_crypto import batch_key
    from functions.ledger import handler

    first_id = "000000000001-000000000003"
    chain = connect("eth-tester://in-process")
    foreign = "ab" * 32
    receipt = chain.receipt(chain.send_anchor(batch_key(first_id), foreign, 3))
    assert receipt.status == 1
    store, artifacts = DynamoLedgerStore(ledger_env["LEDGER_TABLE"]), S3ArtifactStore(ledger_env["AUDIT_BUCKET"])
    writer = LedgerWriter(store, artifacts, lambda: chain, now=lambda: NOW)
    first = writer.handle(m.WriterEvent(command="issue", run=approved_run()))
    second = writer.handle(m.WriterEvent(command="issue", run=approved_run(run_id="R2")))
    assert first.created == second.created == 3 and not first.pending and not second.pending
    stored = store.get_batch(1)
    assert stored.status == "anchored" and stored.anchor_id == f"{first_id}.r1"
    assert [(c.anchor_id, c.root, c.record_count) for c in stored.conflicts] == [(first_id, foreign, 3)]
    listed = call(
        handler, "GET", "/ledger/batches", claims=claims_for("admin", user="a", fpo=None), query="conflicts_only=true"
    )
    assert listed.status == 200 and [b["batch_id"] for b in listed.body["items"]] == [first_id]
    assert json.loads(artifacts.get(stored.artifact_key))["anchor_id"] == f"{first_id}.r1"
    assert json.loads(artifacts.get("ledger/batches/MANIFEST.json"))["head"]["batch_id"] == "000000000004-000000000006"

    export = tmp_path / "export"
    export.mkdir()
    for key in (stored.artifact_key, store.get_batch(4).artifact_key, "ledger/batches/MANIFEST.json"):
        (export / key.rsplit("/", 1)[-1]).write_bytes(artifacts.get(key))
    bridge = ChainBridge(0).start()
    try:
        report = verify_export([str(export)], rpc_url=bridge.url)
        assert report["batches_checked_on_chain"] == 2 and report["conflicts"][0]["root_on_chain"] == foreign
        proof = LedgerReader(store, artifacts).proof(ADMIN, first.record_ids[0]).model_dump(mode="json")
        assert verify_proof(proof, bridge.url)["anchor_id"] == f"{first_id}.r1"
    finally:
        bridge.stop()


def test_an_edited_records_token_is_400_on_dynamodb(ledger_env):
    """GET /ledger/records pages by a DynamoDB key inside the token: an edited key (another index
    partition, other attributes, other types) is a 400 invalid_next_token before any Query."""
    from urllib.parse import quote

    from agri_common.platform.pagination import decode_token, encode_token
    from functions.ledger import handler
    from functions.ledger import writer_handler as writer

    ctx = LambdaContext(
        function_name="w", memory_limit_in_mb=512, invoked_function_arn="arn", aws_request_id="r", timeout_s=60
    )
    assert writer.lambda_handler({"command": "issue", "run": approved_run().model_dump(mode="json")}, ctx)["ok"]
    admin = claims_for("admin", user="a", fpo=None)
    first = call(handler, "GET", "/ledger/records", claims=admin, query="limit=1")
    assert first.status == 200 and len(first.body["items"]) == 1 and first.body["next_token"], first.body
    token = decode_token(first.body["next_token"])
    assert set(token["k"]) == {"pk", "sk", "g_chain", "g_seq"}  # the chain index's LastEvaluatedKey
    following = call(
        handler, "GET", "/ledger/records", claims=admin, query=f"limit=1&next_token={first.body['next_token']}"
    )
    assert (
        following.status == 200
        and following.body["items"][0]["record"]["seq"] < first.body["items"][0]["record"]["seq"]
    )
    for edited in (
        {**token["k"], "g_chain": "OTHER"},
        {**token["k"], "g_fpo": "FPO-1"},
        {**token["k"], "g_seq": 5},
        {"pk": token["k"]["pk"], "sk": "R"},
        {**token["k"], "sk": {"S": "R"}},
    ):
        r = call(
            handler,
            "GET",
            "/ledger/records",
            claims=admin,
            query=f"limit=1&next_token={quote(encode_token({**token, 'k': edited}))}",
        )
        assert r.status == 400 and r.body["error"]["code"] == "invalid_next_token", (edited, r.body)


def test_unlinking_an_erased_farmers_account_on_dynamodb(ledger_env):
    """docs/decisions/0022: the writer's unlink_owner on DynamoDB: no item of the ledger table names the
    account afterwards (records, the by_owner index, blocks), the other farmers' items stay, every body is
    unchanged and the chain verifies. A transaction meeting items already unlinked (a retry, a stale index
    page) skips them and does the rest; an item naming another account is never touched."""
    import boto3

    from agri_common.ledger_crypto import verify_chain
    from functions.ledger.writer_client import LambdaWriterGateway

    store = DynamoLedgerStore(ledger_env["LEDGER_TABLE"])
    gateway = LambdaWriterGateway(ledger_env["LEDGER_WRITER_FUNCTION"])  # as the farmers function asks it
    issued = gateway.submit(m.WriterEvent(command="issue", run=approved_run()))
    mine, theirs = issued.credits[2], issued.credits[1]  # user-2's and user-1's blocks
    gateway.submit(
        m.WriterEvent(
            command="transfer",
            actor=m.Actor(user_id="user-2", is_admin=False),
            transfer=m.TransferCommand(serial=mine.serial, quantity=2, to_ref="BUYER-1", client_token="token-0001"),
        )
    )

    def table_items() -> list[dict]:
        return boto3.resource("dynamodb").Table(ledger_env["LEDGER_TABLE"]).scan()["Items"]  # a test may scan

    before = table_items()
    assert "user-2" in json.dumps(before, default=str) and "user-1" in json.dumps(before, default=str)
    bodies = {i["pk"]: i["body"] for i in before if "body" in i}
    records, _ = store.query_records("owner_user_id", "user-2", 10, None, {})
    assert [r.body["kind"] for r in records] == ["transfer", "issuance"]
    store.unlink_owner("user-2", [records[0].record_id], [])  # the transfer's record only
    held = [b for b in store.blocks_between(mine.series, mine.start, mine.end) if b.owner_user_id == "user-2"]
    assert len(held) == 1  # the rest of the transferred block
    store.unlink_owner("user-2", [r.record_id for r in records], held)  # the transfer's condition fails: skipped

    unlink = m.WriterEvent(command="unlink_owner", unlink_owner=m.UnlinkOwnerCommand(user_id="user-2"))
    result = gateway.submit(unlink).unlinked
    assert result == m.Unlinked(records=0, blocks=0, done=True)  # nothing left for the command

    after = table_items()
    assert "user-2" not in json.dumps(after, default=str)
    assert {i["pk"]: i["body"] for i in after if "body" in i} == bodies
    verify_chain([r.body for r in store.records_by_seq(1, 10)])
    # another account's record and block are never touched by an unlink naming user-2
    (other,) = store.query_records("owner_user_id", "user-1", 10, None, {})[0]
    store.unlink_owner("user-2", [other.record_id], [store.find_block(theirs.series, theirs.start)])
    assert table_items() == after and "user-1" in json.dumps(after, default=str)

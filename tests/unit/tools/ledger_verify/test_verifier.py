"""Tamper tests: every kind of change to stored records, exports or artifacts is caught by the
verifier (ledger_verify), every case, not one. The chain here is the fake registry, reached
through the verifier's own JSON-RPC decoding (rpc_call is replaced by an eth_call emulator)."""

from __future__ import annotations

import copy
import json

import pytest

import ledger_verify
from agri_common.ledger_crypto import LedgerIntegrityError, seal, sha256_hex
from agri_common.platform.principal import Principal, Role
from functions.ledger import models as m
from ledger_verify import LedgerIntegrityError
from ledger_verify.__main__ import main
from tests.unit.functions.ledger.conftest import approved_run

ADMIN = Principal(user_id="admin-1", username="admin", role=Role.ADMIN)
CONTRACT = "0x00000000000000000000000000000000000000aa"


@pytest.fixture
def anchored(ledger, monkeypatch, tmp_path):
    """Two runs and a transfer, all anchored; the export written as files; eth_call served by the fake chain."""
    first = ledger.issue()
    ledger.writer.mover.transfer(
        m.TransferCommand(serial=first.credits[0].serial, quantity=1, to_ref="BUYER-1", client_token="token-1000"),
        m.Actor(user_id="user-0", is_admin=False),
    )
    ledger.issue(approved_run(run_id="R2", net="7"))

    ledger.node = {"chain_id": 1337, "code": {CONTRACT: "0x6080604052"}, "down": False}

    def rpc_call(url, method, params, timeout=15.0):
        if ledger.node["down"]:
            raise ledger_verify.RpcError(f"{url}: connection refused")
        if method == "eth_chainId":
            return hex(ledger.node["chain_id"])
        if method == "eth_getCode":
            return ledger.node["code"].get(params[0].lower(), "0x")
        if method == "eth_call":
            key = bytes.fromhex(params[0]["data"][10:])
            root, count, block = ledger.chain.roots.get(key, ("0" * 64, 0, 0))
            return "0x" + root + count.to_bytes(32, "big").hex() + block.to_bytes(32, "big").hex() + "00" * 32
        if method == "eth_getTransactionReceipt":
            tx = ledger.chain.txs.get(params[0])
            return {"status": hex(tx.status), "blockNumber": hex(tx.block), "to": CONTRACT} if tx and tx.mined else None
        raise AssertionError(method)

    monkeypatch.setattr(ledger_verify, "rpc_call", rpc_call)
    export = tmp_path / "export"
    export.mkdir()
    for key, data in ledger.artifacts.objects.items():
        (export / key.rsplit("/", 1)[-1]).write_bytes(data)
    ledger.export = export
    return ledger


def _records(ledger):
    return [r.body for r in ledger.store.records_by_seq(1, 10_000)]


def test_the_untouched_ledger_verifies(anchored):
    report = ledger_verify.verify_export([str(anchored.export)], rpc_url="http://rpc", contract=CONTRACT)
    assert report["records"] == len(anchored.store.records) == 7 and report["batches_checked_on_chain"] == 2
    for record in _records(anchored):
        proof = anchored.reader.proof(ADMIN, record["record_id"]).model_dump(mode="json")
        assert ledger_verify.verify_proof(proof, "http://rpc")["checked_on_chain"] is True


def _export_files(ledger):
    """The batch files of the export (not its MANIFEST.json), oldest first."""
    return sorted(p for p in ledger.export.glob("*.json") if p.name != "MANIFEST.json")


def _rewrite(path, mutate):
    doc = json.loads(path.read_bytes())
    mutate(doc)
    path.write_text(json.dumps(doc))


def test_changing_any_field_of_any_record_in_the_export_is_detected(anchored):
    cases = 0
    for path in _export_files(anchored):
        original = path.read_bytes()
        for index, record in enumerate(json.loads(original)["records"]):
            for field in record:

                def mutate(doc, index=index, field=field):
                    value = doc["records"][index][field]
                    doc["records"][index][field] = (
                        (value + 1)
                        if isinstance(value, int)
                        else ({**value, "x": "1"} if isinstance(value, dict) else str(value) + "0")
                    )

                _rewrite(path, mutate)
                with pytest.raises(LedgerIntegrityError):
                    ledger_verify.verify_export([str(anchored.export)])
                path.write_bytes(original)
                cases += 1
    assert cases > 7 * 20  # every field of every record


def test_changing_any_field_of_a_proof_record_is_detected(anchored):
    cases = 0
    for record in _records(anchored):
        proof = anchored.reader.proof(ADMIN, record["record_id"]).model_dump(mode="json")
        for field, value in record.items():
            tampered = copy.deepcopy(proof)
            tampered["record"][field] = (
                (value + 1)
                if isinstance(value, int)
                else ({**value, "x": "1"} if isinstance(value, dict) else str(value) + "0")
            )
            with pytest.raises(LedgerIntegrityError):
                ledger_verify.verify_proof(tampered, "http://rpc")
            cases += 1
    assert cases > 7 * 20


def test_a_consistently_rehashed_forgery_is_caught_by_the_chain(anchored):
    """Edit a record, re-seal it and every later record, fix the file's root: only the chain knows."""
    from agri_common.ledger_crypto import merkle_root

    path = _export_files(anchored)[-1]
    doc = json.loads(path.read_bytes())
    prev = doc["records"][0]["prev_hash"]
    for i, record in enumerate(doc["records"]):
        if i == 0:
            record["quantity"] += 100
        record["prev_hash"] = prev
        doc["records"][i] = seal(record)
        prev = doc["records"][i]["record_hash"]
    doc["root"] = merkle_root([r["record_hash"] for r in doc["records"]])
    path.write_text(json.dumps(doc))
    with pytest.raises(LedgerIntegrityError, match="not the file the manifest names"):
        ledger_verify.verify_export([str(anchored.export)])  # the manifest pins the newest file...
    manifest = anchored.export / "MANIFEST.json"
    _rewrite(manifest, lambda m: m["head"].update(root=doc["root"], artifact_sha256=sha256_hex(path.read_bytes())))
    ledger_verify.verify_export([str(anchored.export)])  # ...forged too: hashes and links alone are consistent...
    with pytest.raises(LedgerIntegrityError, match="the chain holds root"):
        ledger_verify.verify_export([str(anchored.export)], rpc_url="http://rpc", contract=CONTRACT)


def test_deleting_any_record_is_detected(anchored):
    for path in _export_files(anchored):
        original = path.read_bytes()
        for index in range(len(json.loads(original)["records"])):
            _rewrite(path, lambda doc, index=index: doc["records"].pop(index))
            with pytest.raises(LedgerIntegrityError):
                ledger_verify.verify_export([str(anchored.export)])
            path.write_bytes(original)


def test_deleting_a_whole_batch_file_is_detected(anchored):
    first = _export_files(anchored)[0]
    first.unlink()
    with pytest.raises(LedgerIntegrityError):
        ledger_verify.verify_export([str(anchored.export)])


def test_reordering_records_is_detected(anchored):
    path = _export_files(anchored)[0]
    count = len(json.loads(path.read_bytes())["records"])
    original = path.read_bytes()
    for i in range(count - 1):

        def swap(doc, i=i):
            doc["records"][i], doc["records"][i + 1] = doc["records"][i + 1], doc["records"][i]

        _rewrite(path, swap)
        with pytest.raises(LedgerIntegrityError):
            ledger_verify.verify_export([str(anchored.export)])
        path.write_bytes(original)


def test_changing_the_s3_artifact_is_detected(anchored):
    record = _records(anchored)[0]
    proof = anchored.reader.proof(ADMIN, record["record_id"]).model_dump(mode="json")
    artifact = anchored.artifacts.objects[proof["anchor"]["artifact_key"]]
    assert ledger_verify.verify_proof(proof, None, artifact)["artifact"] == "ok"
    for changed in (artifact + b" ", artifact.replace(b'"quantity":2', b'"quantity":3', 1), artifact[:-1]):
        with pytest.raises((LedgerIntegrityError, ValueError)):
            ledger_verify.verify_proof(proof, None, changed)
    # and the API refuses to serve a proof from a changed artifact
    anchored.artifacts.objects[proof["anchor"]["artifact_key"]] = artifact + b" "
    with pytest.raises(Exception, match="artifact"):
        anchored.reader.proof(ADMIN, record["record_id"])


def test_a_proof_for_a_root_the_chain_does_not_hold_fails(anchored):
    record = _records(anchored)[0]
    proof = anchored.reader.proof(ADMIN, record["record_id"]).model_dump(mode="json")
    anchored.chain.roots.clear()
    with pytest.raises(LedgerIntegrityError, match="no root on chain"):
        ledger_verify.verify_proof(proof, "http://rpc")


def test_cli_exit_codes(anchored, tmp_path, capsys):
    record = _records(anchored)[0]
    proof = anchored.reader.proof(ADMIN, record["record_id"]).model_dump(mode="json")
    good = tmp_path / "proof.json"
    good.write_text(json.dumps(proof))
    assert main(["proof", "--proof", str(good), "--rpc", "http://rpc"]) == 0
    assert '"verified": true' in capsys.readouterr().out
    proof["record"]["quantity"] += 1
    good.write_text(json.dumps(proof))
    assert main(["proof", "--proof", str(good), "--rpc", "http://rpc"]) == 1
    assert main(["chain", "--export", str(anchored.export), "--rpc", "http://rpc", "--contract", CONTRACT]) == 0


def test_the_verifier_selector_matches_the_committed_contract_build():
    from agri_chain import contract_build

    assert contract_build()["methodIdentifiers"]["rootOf(bytes32)"] == ledger_verify.ROOT_OF_SELECTOR

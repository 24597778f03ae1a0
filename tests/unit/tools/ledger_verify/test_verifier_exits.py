"""The verifier's exit statuses, each one (0 verified, 1 FAILED, 2 cannot verify); the node's chain id
and contract code; an export that lost its newest batch files (the manifest); batches that met a
foreign root on chain (conflicts)."""

from __future__ import annotations

import json

import pytest

import ledger_verify
from agri_common.ledger_crypto import batch_key
from ledger_verify import LedgerIntegrityError
from ledger_verify.__main__ import EXIT_CANNOT_VERIFY, EXIT_FAILED, EXIT_VERIFIED, main
from tests.unit.functions.ledger.conftest import approved_run
from tests.unit.tools.ledger_verify.test_verifier import ADMIN, CONTRACT, _export_files, _records, _rewrite, anchored  # noqa: F401

OTHER_REGISTRY = "0x00000000000000000000000000000000000000bb"  # code, but not this ledger's registry


def proof_file(ledger, tmp_path, mutate=None):
    proof = ledger.reader.proof(ADMIN, _records(ledger)[0]["record_id"]).model_dump(mode="json")
    if mutate:
        mutate(proof)
    path = tmp_path / "proof.json"
    path.write_text(json.dumps(proof))
    return str(path)


def run(*argv):
    return main(list(argv))


def test_exit_0_when_verified(anchored, tmp_path, capsys):
    assert run("proof", "--proof", proof_file(anchored, tmp_path), "--rpc", "http://rpc") == EXIT_VERIFIED == 0
    assert run("chain", "--export", str(anchored.export), "--rpc", "http://rpc") == 0  # the contract from the manifest
    assert '"verified": true' in capsys.readouterr().out


def test_a_reader_that_stops_early_gets_the_exit_status_not_a_traceback(anchored, tmp_path, monkeypatch):
    """``agri-ledger-verify ... | head -c 20``: the pipe is closed when the report is written."""
    import io
    import os
    import sys

    class ClosedPipe(io.TextIOBase):
        def __init__(self, fd: int):
            self.fd = fd

        def write(self, text: str) -> int:
            raise BrokenPipeError(32, "Broken pipe")

        def fileno(self) -> int:
            return self.fd

    fd = os.open(os.devnull, os.O_WRONLY)
    monkeypatch.setattr(sys, "stdout", ClosedPipe(fd))
    try:
        assert run("proof", "--proof", proof_file(anchored, tmp_path), "--rpc", "http://rpc") == EXIT_VERIFIED
    finally:
        os.close(fd)


@pytest.mark.parametrize(
    "case",
    [
        "tampered record",
        "root not on chain",
        "another registry",
        "newest batch removed",
        "no manifest",
        "forged manifest head",
    ],
)
def test_exit_1_when_the_evidence_contradicts_itself_or_the_chain(anchored, tmp_path, capsys, case):
    proof = export = None
    if case == "tampered record":
        proof = proof_file(anchored, tmp_path, lambda p: p["record"].update(quantity=p["record"]["quantity"] + 1))
    elif case == "root not on chain":
        anchored.chain.roots.clear()
        proof = proof_file(anchored, tmp_path)
    elif case == "another registry":  # it has code and answers rootOf, but holds no such root
        anchored.node["code"][OTHER_REGISTRY] = "0x6080"
        proof = proof_file(anchored, tmp_path, lambda p: p["anchor"].update(contract_address=OTHER_REGISTRY))
        original = anchored.chain.roots.copy()
        anchored.chain.roots.clear()  # the emulator serves one registry: the other one is empty
        assert run("proof", "--proof", proof, "--rpc", "http://rpc") == EXIT_FAILED
        anchored.chain.roots.update(original)
        return
    elif case == "newest batch removed":
        _export_files(anchored)[-1].unlink()
        export = str(anchored.export)
    elif case == "no manifest":
        (anchored.export / "MANIFEST.json").unlink()
        export = str(anchored.export)
    else:
        _rewrite(anchored.export / "MANIFEST.json", lambda m: m["head"].update(to_seq=99))
        export = str(anchored.export)
    if proof:
        assert run("proof", "--proof", proof, "--rpc", "http://rpc") == EXIT_FAILED == 1
    else:
        assert run("chain", "--export", export) == EXIT_FAILED
        assert run("chain", "--export", export, "--rpc", "http://rpc", "--contract", CONTRACT) == EXIT_FAILED
    assert "FAILED:" in capsys.readouterr().err


@pytest.mark.parametrize(
    "case", ["node down", "other chain", "no contract code", "unreadable file", "not JSON", "no such export", "usage"]
)
def test_exit_2_when_nothing_could_be_proven(anchored, tmp_path, capsys, case):
    proof = proof_file(anchored, tmp_path)
    argv = ["proof", "--proof", proof, "--rpc", "http://rpc"]
    if case == "node down":
        anchored.node["down"] = True
    elif case == "other chain":
        anchored.node["chain_id"] = 137
    elif case == "no contract code":
        anchored.node["code"].clear()
    elif case == "unreadable file":
        argv = ["proof", "--proof", str(tmp_path / "missing.json"), "--rpc", "http://rpc"]
    elif case == "not JSON":
        (tmp_path / "bad.json").write_text("{not json")
        argv = ["proof", "--proof", str(tmp_path / "bad.json")]
    elif case == "no such export":
        argv = ["chain", "--export", str(tmp_path / "nowhere")]
    else:
        with pytest.raises(SystemExit) as exit_:
            run("proof")  # --proof missing: argparse's usage error
        assert exit_.value.code == EXIT_CANNOT_VERIFY == 2
        return
    assert run(*argv) == EXIT_CANNOT_VERIFY
    assert "cannot verify" in capsys.readouterr().err
    if case in ("node down", "other chain", "no contract code"):  # the export against the same node: 2 as well
        assert run("chain", "--export", str(anchored.export), "--rpc", "http://rpc") == EXIT_CANNOT_VERIFY


def test_a_proof_naming_another_chain_is_refused_with_both_ids(anchored):
    proof = anchored.reader.proof(ADMIN, _records(anchored)[0]["record_id"]).model_dump(mode="json")
    assert proof["anchor"]["chain_id"] == 1337
    anchored.node["chain_id"] = 1
    with pytest.raises(ledger_verify.WrongChain, match="chain id 1337.*serves chain 1"):
        ledger_verify.verify_proof(proof, "http://rpc")
    anchored.node["chain_id"] = 1337
    proof["anchor"]["chain_id"] = 0
    with pytest.raises(ledger_verify.WrongChain):
        ledger_verify.verify_proof(proof, "http://rpc")


def test_help_documents_the_exit_statuses(capsys):
    for argv in ([], ["proof"], ["chain"], ["credit"]):
        with pytest.raises(SystemExit):
            run(*argv, "--help")
        out = capsys.readouterr().out
        assert "exit status" in out and "0  verified" in out and "1  FAILED" in out and "2  cannot verify" in out
    assert "Exit status" in ledger_verify.__doc__ and "``2`` cannot verify" in ledger_verify.__doc__


def test_an_export_may_hold_batches_newer_than_its_manifest(anchored):
    stale = (anchored.export / "MANIFEST.json").read_bytes()
    anchored.issue(approved_run(run_id="R3", net="4"))
    for key, data in anchored.artifacts.objects.items():
        (anchored.export / key.rsplit("/", 1)[-1]).write_bytes(data)
    (anchored.export / "MANIFEST.json").write_bytes(stale)  # taken before the last anchoring
    report = ledger_verify.verify_export([str(anchored.export)], "http://rpc")
    assert report["newest_batch"] != report["manifest_head"] and report["batches_checked_on_chain"] == 3
    assert ledger_verify.verify_export([str(anchored.export)], allow_no_manifest=True)["batches"] == 3


def test_the_manifest_names_the_newest_anchored_batch_and_never_moves_back(ledger):
    ledger.issue()
    ledger.issue(approved_run(run_id="R2"))
    manifest = json.loads(ledger.artifacts.objects["ledger/batches/MANIFEST.json"])
    newest = max(ledger.store.batches.values(), key=lambda b: b.to_seq)
    assert (
        manifest["head"]["batch_id"] == newest.batch_id
        and manifest["head"]["artifact_sha256"] == newest.artifact_sha256
    )
    assert manifest["head"]["chain_id"] == 1337 and manifest["head"]["contract_address"] == CONTRACT
    ledger.writer.anchorer._write_manifest(ledger.store.batches[1])  # a late duplicate settling the older batch
    assert json.loads(ledger.artifacts.objects["ledger/batches/MANIFEST.json"])["head"]["batch_id"] == newest.batch_id


@pytest.fixture
def conflicted(ledger, monkeypatch, tmp_path):
    """A ledger whose first batch met a foreign root (anchored under .r1), exported, served by the emulator."""
    ledger.chain.roots[batch_key("000000000001-000000000003")] = ("ee" * 32, 5, 42)
    ledger.issue()
    ledger.issue(approved_run(run_id="R2"))
    node = {"chain_id": 1337}

    def rpc_call(url, method, params, timeout=15.0):
        if method == "eth_chainId":
            return hex(node["chain_id"])
        if method == "eth_getCode":
            return "0x6080" if params[0].lower() == CONTRACT else "0x"
        if method == "eth_call":
            root, count, block = ledger.chain.roots.get(bytes.fromhex(params[0]["data"][10:]), ("0" * 64, 0, 0))
            return "0x" + root + count.to_bytes(32, "big").hex() + block.to_bytes(32, "big").hex() + "00" * 32
        if method == "eth_getTransactionReceipt":
            tx = ledger.chain.txs.get(params[0])
            return {"status": hex(tx.status), "blockNumber": hex(tx.block), "to": CONTRACT} if tx and tx.mined else None
        raise AssertionError(method)

    monkeypatch.setattr(ledger_verify, "rpc_call", rpc_call)
    ledger.export = tmp_path / "export"
    ledger.export.mkdir()
    for key, data in ledger.artifacts.objects.items():
        (ledger.export / key.rsplit("/", 1)[-1]).write_bytes(data)
    return ledger


def test_the_verifier_reports_a_conflict_and_checks_it_on_chain(conflicted):
    record_id = _records(conflicted)[0]["record_id"]
    proof = conflicted.reader.proof(ADMIN, record_id).model_dump(mode="json")
    report = ledger_verify.verify_proof(proof, "http://rpc")
    assert report["checked_on_chain"] and report["anchor_id"] == "000000000001-000000000003.r1"
    assert report["conflicts"] == [
        {
            "batch_id": "000000000001-000000000003",
            "anchor_id": "000000000001-000000000003",
            "root_on_chain": "ee" * 32,
            "checked_on_chain": True,
        }
    ]
    export = ledger_verify.verify_export([str(conflicted.export)], "http://rpc")
    assert export["batches_checked_on_chain"] == 2 and [c["anchor_id"] for c in export["conflicts"]] == [
        "000000000001-000000000003"
    ]


@pytest.mark.parametrize(
    "forgery",
    ["claimed conflict not on chain", "anchor id skips a conflict", "anchor id of another batch", "conflicts dropped"],
)
def test_a_forged_conflict_or_anchor_id_fails(conflicted, forgery):
    proof = conflicted.reader.proof(ADMIN, _records(conflicted)[0]["record_id"]).model_dump(mode="json")
    anchor = proof["anchor"]
    if forgery == "claimed conflict not on chain":
        anchor["conflicts"][0]["root"] = "dd" * 32
    elif forgery == "anchor id skips a conflict":
        anchor["anchor_id"] = anchor["batch_id"] + ".r2"
    elif forgery == "anchor id of another batch":
        anchor["anchor_id"] = "000000000004-000000000006"
    else:
        anchor["conflicts"] = []
    with pytest.raises(LedgerIntegrityError):
        ledger_verify.verify_proof(proof, "http://rpc")

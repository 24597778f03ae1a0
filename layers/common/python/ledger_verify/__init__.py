"""Independent verification of agri-mrv ledger records, without our credentials.

    python -m ledger_verify proof  --proof proof.json|URL [--token ID_TOKEN] --rpc RPC_URL [--artifact batch.json]
    python -m ledger_verify chain  --export DIR|FILE... [--rpc RPC_URL --contract 0x...]
    python -m ledger_verify credit --api API_URL --serial SERIAL --token ID_TOKEN --rpc RPC_URL

``proof`` recomputes the record's hash from its canonical JSON, walks the Merkle proof to the root,
and asks the chain (a plain ``eth_call`` of ``rootOf(batchKey)`` on the registry contract named in
the proof, and the transaction's receipt) whether that root was anchored for that batch. With
``--artifact`` it also checks the batch file from the audit bucket against its recorded SHA-256
and recomputes the root from every record in it.

``chain`` checks an export (the batch files of ``s3://<audit bucket>/ledger/batches/``): every
record's hash, contiguous seq numbers, every ``prev_hash`` link across batches, every batch root,
and with ``--rpc`` each root on chain, so even a consistently re-hashed forgery is caught.

Only the standard library and :mod:`agri_common.ledger_crypto` are used: any RPC URL (Polygon,
Ethereum, a ganache node, the local twin's bridge) works the same way.
"""

from __future__ import annotations

import json
import urllib.request
from pathlib import Path
from typing import Any, Iterable, Mapping, Sequence

from agri_common.ledger_crypto import (
    GENESIS_HASH, LedgerIntegrityError, batch_key, merkle_root, root_from_proof, sha256_hex, verify_chain,
    verify_record,
)

# Selectors of the registry (contracts/build/AnchorRegistry.json "methodIdentifiers"; a test
# checks they match the committed build).
ROOT_OF_SELECTOR = "6d6f398e"  # rootOf(bytes32)
ZERO = "0" * 64


class RpcError(RuntimeError):
    """The JSON-RPC endpoint failed or answered with an error."""


def rpc_call(url: str, method: str, params: list[Any], timeout: float = 15.0) -> Any:
    request = urllib.request.Request(url, data=json.dumps({"jsonrpc": "2.0", "id": 1, "method": method,
                                                           "params": params}).encode(),
                                     headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as resp:
            answer = json.loads(resp.read())
    except OSError as exc:
        raise RpcError(f"{url}: {exc}") from exc
    if answer.get("error"):
        raise RpcError(f"{method}: {answer['error']}")
    return answer.get("result")


def root_on_chain(rpc_url: str, contract: str, batch_id: str) -> tuple[str, int, int]:
    """(root hex, record count, block number) anchored for ``batch_id``; root is zeros if none."""
    data = "0x" + ROOT_OF_SELECTOR + batch_key(batch_id).hex()
    raw = rpc_call(rpc_url, "eth_call", [{"to": contract, "data": data}, "latest"])
    words = bytes.fromhex((raw or "0x")[2:])
    if len(words) < 128:
        raise RpcError(f"unexpected rootOf answer from {contract}: {raw!r} (is this the registry contract?)")
    return words[0:32].hex(), int.from_bytes(words[32:64], "big"), int.from_bytes(words[64:96], "big")


def load_json(source: str, token: str | None = None) -> Any:
    """A JSON document from a file path or an http(s) URL (with the ID token if given)."""
    if source.startswith(("http://", "https://")):
        headers = {"Authorization": token} if token else {}
        with urllib.request.urlopen(urllib.request.Request(source, headers=headers), timeout=30) as resp:
            return json.loads(resp.read())
    return json.loads(Path(source).read_text())


def verify_artifact(artifact: bytes, expected_sha256: str | None = None) -> dict[str, Any]:
    """A batch file: its SHA-256 (if known), every record hash, its links and its root."""
    if expected_sha256 is not None and sha256_hex(artifact) != expected_sha256:
        raise LedgerIntegrityError(f"the batch artifact hashes to {sha256_hex(artifact)}, "
                                   f"but {expected_sha256} was recorded when it was anchored")
    doc = json.loads(artifact)
    records = doc["records"]
    if len(records) != doc["to_seq"] - doc["from_seq"] + 1:
        raise LedgerIntegrityError(f"batch {doc['batch_id']} should hold {doc['to_seq'] - doc['from_seq'] + 1} "
                                   f"records, it holds {len(records)}")
    verify_chain(records, start_prev_hash=records[0].get("prev_hash") if doc["from_seq"] > 1 else GENESIS_HASH,
                 start_seq=doc["from_seq"])
    root = merkle_root([r["record_hash"] for r in records])
    if root != doc["root"]:
        raise LedgerIntegrityError(f"batch {doc['batch_id']}: its records hash to root {root}, the file says {doc['root']}")
    return doc


def verify_proof(proof: Mapping[str, Any], rpc_url: str | None, artifact: bytes | None = None) -> dict[str, Any]:
    """Check one proof (as served by GET /ledger/proofs/{record_id}); returns a short report."""
    record, anchor = proof["record"], proof["anchor"]
    computed = verify_record(record)
    if proof.get("record_hash") != computed:
        raise LedgerIntegrityError(f"the proof names record hash {proof.get('record_hash')}, "
                                   f"the record hashes to {computed}")
    root = root_from_proof(computed, proof["proof"])
    if root != anchor["root"]:
        raise LedgerIntegrityError(f"the Merkle proof leads to root {root}, not to the anchored root {anchor['root']}")
    if batch_key(anchor["batch_id"]).hex() != anchor.get("batch_key", batch_key(anchor["batch_id"]).hex()):
        raise LedgerIntegrityError("the proof's batch key does not derive from its batch id")
    report: dict[str, Any] = {"record_id": record.get("record_id"), "record_hash": computed, "root": root,
                              "batch_id": anchor["batch_id"], "checked_on_chain": False}
    if artifact is not None:
        doc = verify_artifact(artifact, anchor.get("artifact_sha256"))
        if doc["root"] != root or record not in doc["records"]:
            raise LedgerIntegrityError("the batch artifact does not contain this record under this root")
        report["artifact"] = "ok"
    if rpc_url:
        on_chain, count, block = root_on_chain(rpc_url, anchor["contract_address"], anchor["batch_id"])
        if on_chain == ZERO:
            raise LedgerIntegrityError(f"batch {anchor['batch_id']} has no root on chain at {anchor['contract_address']}")
        if on_chain != root:
            raise LedgerIntegrityError(f"the chain holds root {on_chain} for batch {anchor['batch_id']}, not {root}")
        if count != anchor["record_count"] or block != anchor["block_number"]:
            raise LedgerIntegrityError(f"the chain says {count} records in block {block}; the proof says "
                                       f"{anchor['record_count']} in block {anchor['block_number']}")
        receipt = rpc_call(rpc_url, "eth_getTransactionReceipt", [anchor["tx_hash"]]) if anchor.get("tx_hash") else None
        if not receipt or int(receipt["status"], 16) != 1 or int(receipt["blockNumber"], 16) != block \
                or (receipt.get("to") or "").lower() != anchor["contract_address"].lower():
            raise LedgerIntegrityError(f"transaction {anchor.get('tx_hash')} is not the successful anchor of this batch")
        report.update(checked_on_chain=True, block_number=block, tx_hash=anchor["tx_hash"])
    return report


def artifact_files(paths: Iterable[str]) -> list[Path]:
    files: list[Path] = []
    for raw in paths:
        path = Path(raw)
        files.extend(sorted(path.rglob("*.json")) if path.is_dir() else [path])
    return files


def verify_export(paths: Sequence[str], rpc_url: str | None = None, contract: str | None = None) -> dict[str, Any]:
    """The whole hash chain from batch files: hashes, seq, links across batches, roots (on chain)."""
    docs = sorted((verify_artifact(p.read_bytes()) for p in artifact_files(paths)), key=lambda d: d["from_seq"])
    if not docs:
        raise LedgerIntegrityError("the export holds no batch files")
    if docs[0]["from_seq"] != 1:
        raise LedgerIntegrityError(f"the export starts at seq {docs[0]['from_seq']}, not at the genesis (1)")
    records = [r for d in docs for r in d["records"]]
    head = verify_chain(records)
    anchored = 0
    if rpc_url:
        if not contract:
            raise ValueError("--contract is needed with --rpc (the registry address, from any proof)")
        for doc in docs:
            on_chain, count, _block = root_on_chain(rpc_url, contract, doc["batch_id"])
            if on_chain != doc["root"] or count != len(doc["records"]):
                raise LedgerIntegrityError(f"batch {doc['batch_id']}: the chain holds root {on_chain} for {count} "
                                           f"records, the export {doc['root']} for {len(doc['records'])}")
            anchored += 1
    return {"batches": len(docs), "records": len(records), "head_hash": head, "batches_checked_on_chain": anchored}


def verify_credit(api: str, serial: str, token: str, rpc_url: str) -> list[dict[str, Any]]:
    """Every record of the credit block holding ``serial``, each proof checked on chain."""
    credit = load_json(f"{api.rstrip('/')}/credits/{serial}", token)
    return [verify_proof(load_json(f"{api.rstrip('/')}/ledger/proofs/{rid}", token), rpc_url)
            for rid in credit["record_ids"]]

"""Independent verification of agri-mrv ledger records, without our credentials.

    agri-ledger-verify proof  --proof proof.json|URL [--token ID_TOKEN] --rpc RPC_URL [--artifact batch.json]
    agri-ledger-verify chain  --export DIR|FILE... [--rpc RPC_URL [--contract 0x...]] [--allow-no-manifest]
    agri-ledger-verify credit --api API_URL --serial SERIAL --token ID_TOKEN --rpc RPC_URL

(``python -m ledger_verify`` is the same command.) Install: ``pip install ./tools/ledger-verify``
from a checkout of agri-mrv; it needs nothing but Python's standard library.

``proof`` recomputes the record's hash from its canonical JSON, walks the Merkle proof to the root,
and asks the chain (a plain ``eth_call`` of ``rootOf(batchKey)`` on the registry contract named in
the proof, and the transaction's receipt) whether that root was anchored for that batch. The node
must serve the chain the proof names (``eth_chainId``) and hold code at the registry address. With
``--artifact`` it also checks the batch file from the audit bucket against its recorded SHA-256
and recomputes the root from every record in it.

``chain`` checks an export (the files of ``s3://<audit bucket>/ledger/batches/``: the batch files
and ``MANIFEST.json``): every record's hash, contiguous seq numbers, every ``prev_hash`` link across
batches, every batch root, that the newest batch the manifest names is in the export (so an export
that lost its newest batch files fails), and with ``--rpc`` each root on chain, so even a
consistently re-hashed forgery is caught. The registry address and chain id come from the manifest
(``--contract`` overrides the address).

A batch that met a foreign root on chain under its key (another ledger anchored with the same
contract) is anchored under ``<batch_id>.r<n>`` (its ``anchor_id``); proofs and batch files list
those ``conflicts``, the reports show them, and with ``--rpc`` each is checked to be on chain.

Exit status (the same for every command; also in ``--help`` and docs/ledger-verifier.md):

- ``0`` verified;
- ``1`` FAILED: the evidence contradicts itself or the chain it names (a record, link, Merkle path,
  root, batch file or manifest does not match; a root absent or different on chain; a transaction
  that is not the anchor; a batch missing from an export; a conflict the chain does not show);
- ``2`` cannot verify: nothing was proven either way (unreadable or malformed input, wrong usage,
  an RPC node that fails or is unreachable, a node serving another chain than the evidence names,
  no contract code at the registry address).

Only the standard library is used (the hashing scheme is in :mod:`ledger_verify.scheme`): any RPC
URL (Polygon, Ethereum, a ganache node, the local twin's bridge) works the same way.
"""

from __future__ import annotations

import json
import urllib.parse
import urllib.request
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from ledger_verify.scheme import (
    GENESIS_HASH,
    HASH_SCHEME,
    MANIFEST_KIND,
    MANIFEST_NAME,
    LedgerIntegrityError,
    batch_key,
    is_anchor_id,
    merkle_root,
    root_from_proof,
    sha256_hex,
    verify_chain,
    verify_record,
)

__version__ = "1.0.0"
__all__ = [
    "HASH_SCHEME",
    "CannotVerify",
    "LedgerIntegrityError",
    "NoContract",
    "RpcError",
    "WrongChain",
    "load_json",
    "verify_artifact",
    "verify_credit",
    "verify_export",
    "verify_proof",
]

# Selectors of the registry (contracts/build/AnchorRegistry.json "methodIdentifiers"; a test
# checks they match the committed build).
ROOT_OF_SELECTOR = "6d6f398e"  # rootOf(bytes32)
ZERO = "0" * 64


class CannotVerify(RuntimeError):
    """Nothing was proven either way (exit status 2): the node, the address or the input is unusable."""


class RpcError(CannotVerify):
    """The JSON-RPC endpoint failed or answered with an error."""


class WrongChain(CannotVerify):
    """The node serves another chain than the evidence names (``eth_chainId``)."""


class NoContract(CannotVerify):
    """No contract code at the registry address on this node (a wrong address, or the wrong chain)."""


def rpc_call(url: str, method: str, params: list[Any], timeout: float = 15.0) -> Any:
    request = urllib.request.Request(
        url,
        data=json.dumps({"jsonrpc": "2.0", "id": 1, "method": method, "params": params}).encode(),
        headers={"Content-Type": "application/json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as resp:
            answer = json.loads(resp.read())
    except OSError as exc:
        raise RpcError(f"{url}: {exc}") from exc
    if answer.get("error"):
        raise RpcError(f"{method}: {answer['error']}")
    return answer.get("result")


def check_node(rpc_url: str, chain_id: Any, contract: str) -> None:
    """The node serves chain ``chain_id`` and holds code at ``contract``; :class:`CannotVerify` otherwise."""
    served = int(str(rpc_call(rpc_url, "eth_chainId", [])), 16)
    if not isinstance(chain_id, int) or isinstance(chain_id, bool) or served != chain_id:
        raise WrongChain(
            f"the evidence names chain id {chain_id!r}, the node at {rpc_url} serves chain {served}: "
            "use an RPC URL of that chain"
        )
    code = rpc_call(rpc_url, "eth_getCode", [contract, "latest"])
    if not code or str(code).lower() in ("0x", "0x0"):
        raise NoContract(f"no contract code at {contract} on chain {served} (a wrong registry address?)")


def root_on_chain(rpc_url: str, contract: str, anchor_id: str) -> tuple[str, int, int]:
    """(root hex, record count, block number) anchored for ``anchor_id``; root is zeros if none."""
    data = "0x" + ROOT_OF_SELECTOR + batch_key(anchor_id).hex()
    raw = rpc_call(rpc_url, "eth_call", [{"to": contract, "data": data}, "latest"])
    try:
        words = bytes.fromhex((raw or "0x")[2:])
    except (TypeError, ValueError):
        words = b""
    if len(words) < 128:
        raise RpcError(f"unexpected rootOf answer from {contract}: {raw!r} (is this the registry contract?)")
    return words[0:32].hex(), int.from_bytes(words[32:64], "big"), int.from_bytes(words[64:96], "big")


def anchor_id_of(batch_id: str, anchor_id: str | None) -> str:
    """The id whose key holds the batch's root: ``anchor_id`` if given (it must derive from ``batch_id``)."""
    anchor_id = anchor_id or batch_id
    if not is_anchor_id(batch_id, anchor_id):
        raise LedgerIntegrityError(f"anchor id {anchor_id!r} is not batch {batch_id} or one of its re-keyed ids")
    return anchor_id


def check_conflicts(
    conflicts: Sequence[Mapping[str, Any]], batch_id: str, anchor_id: str, rpc_url: str | None, contract: str | None
) -> list[dict[str, Any]]:
    """The foreign roots that moved a batch to ``anchor_id``: one per earlier id, in order (batch id,
    .r1, ...), each (with ``rpc_url``) really on chain; a claimed conflict the chain does not show fails."""
    expected = [f"{batch_id}.r{n}" if n else batch_id for n in range(len(conflicts))]
    if [c.get("anchor_id") for c in conflicts] != expected or anchor_id != (
        f"{batch_id}.r{len(conflicts)}" if conflicts else batch_id
    ):
        raise LedgerIntegrityError(f"batch {batch_id}: anchor id {anchor_id} does not follow from its conflicts")
    out = []
    for conflict in conflicts:
        if rpc_url and contract:
            on_chain, count, block = root_on_chain(rpc_url, contract, conflict["anchor_id"])
            if (on_chain, count, block) != (conflict["root"], conflict["record_count"], conflict["block_number"]):
                raise LedgerIntegrityError(
                    f"batch {batch_id}: the conflict under {conflict['anchor_id']} is not on chain "
                    f"as claimed (the chain holds {on_chain} for {count} records in block {block})"
                )
        out.append(
            {
                "batch_id": batch_id,
                "anchor_id": conflict["anchor_id"],
                "root_on_chain": conflict["root"],
                "checked_on_chain": bool(rpc_url and contract),
            }
        )
    return out


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
        raise LedgerIntegrityError(
            f"the batch artifact hashes to {sha256_hex(artifact)}, "
            f"but {expected_sha256} was recorded when it was anchored"
        )
    doc: dict[str, Any] = json.loads(artifact)  # not an object: a TypeError below (cannot verify)
    records = doc["records"]
    if len(records) != doc["to_seq"] - doc["from_seq"] + 1:
        raise LedgerIntegrityError(
            f"batch {doc['batch_id']} should hold {doc['to_seq'] - doc['from_seq'] + 1} "
            f"records, it holds {len(records)}"
        )
    if not records:
        raise LedgerIntegrityError(f"batch {doc['batch_id']} holds no records")
    verify_chain(
        records,
        start_prev_hash=records[0].get("prev_hash") if doc["from_seq"] > 1 else GENESIS_HASH,
        start_seq=doc["from_seq"],
    )
    root = merkle_root([r["record_hash"] for r in records])
    if root != doc["root"]:
        raise LedgerIntegrityError(
            f"batch {doc['batch_id']}: its records hash to root {root}, the file says {doc['root']}"
        )
    if doc["batch_id"] != f"{doc['from_seq']:012d}-{doc['to_seq']:012d}":
        raise LedgerIntegrityError(f"batch {doc['batch_id']} does not name its seqs {doc['from_seq']}..{doc['to_seq']}")
    anchor_id_of(doc["batch_id"], doc.get("anchor_id"))
    return doc


def verify_proof(proof: Mapping[str, Any], rpc_url: str | None, artifact: bytes | None = None) -> dict[str, Any]:
    """Check one proof (as served by GET /ledger/proofs/{record_id}); returns a short report."""
    record, anchor = proof["record"], proof["anchor"]
    computed = verify_record(record)
    if proof.get("record_hash") != computed:
        raise LedgerIntegrityError(
            f"the proof names record hash {proof.get('record_hash')}, the record hashes to {computed}"
        )
    root = root_from_proof(computed, proof["proof"])
    if root != anchor["root"]:
        raise LedgerIntegrityError(f"the Merkle proof leads to root {root}, not to the anchored root {anchor['root']}")
    anchor_id = anchor_id_of(anchor["batch_id"], anchor.get("anchor_id"))
    if batch_key(anchor_id).hex() != anchor.get("batch_key", batch_key(anchor_id).hex()):
        raise LedgerIntegrityError("the proof's batch key does not derive from its anchor id")
    report: dict[str, Any] = {
        "record_id": record.get("record_id"),
        "record_hash": computed,
        "root": root,
        "batch_id": anchor["batch_id"],
        "anchor_id": anchor_id,
        "checked_on_chain": False,
    }
    if artifact is not None:
        doc = verify_artifact(artifact, anchor.get("artifact_sha256"))
        if doc["root"] != root or record not in doc["records"] or doc.get("anchor_id", doc["batch_id"]) != anchor_id:
            raise LedgerIntegrityError("the batch artifact does not contain this record under this root and anchor id")
        report["artifact"] = "ok"
    if rpc_url:
        check_node(rpc_url, anchor.get("chain_id"), anchor["contract_address"])
    report["conflicts"] = check_conflicts(
        anchor.get("conflicts") or [], anchor["batch_id"], anchor_id, rpc_url, anchor["contract_address"]
    )
    if rpc_url:
        on_chain, count, block = root_on_chain(rpc_url, anchor["contract_address"], anchor_id)
        if on_chain == ZERO:
            raise LedgerIntegrityError(
                f"batch {anchor['batch_id']} has no root on chain at {anchor['contract_address']}"
            )
        if on_chain != root:
            raise LedgerIntegrityError(f"the chain holds root {on_chain} for batch {anchor['batch_id']}, not {root}")
        if count != anchor["record_count"] or block != anchor["block_number"]:
            raise LedgerIntegrityError(
                f"the chain says {count} records in block {block}; the proof says "
                f"{anchor['record_count']} in block {anchor['block_number']}"
            )
        receipt = rpc_call(rpc_url, "eth_getTransactionReceipt", [anchor["tx_hash"]]) if anchor.get("tx_hash") else None
        if (
            not receipt
            or int(receipt["status"], 16) != 1
            or int(receipt["blockNumber"], 16) != block
            or (receipt.get("to") or "").lower() != anchor["contract_address"].lower()
        ):
            raise LedgerIntegrityError(
                f"transaction {anchor.get('tx_hash')} is not the successful anchor of this batch"
            )
        report.update(checked_on_chain=True, block_number=block, tx_hash=anchor["tx_hash"])
    return report


def artifact_files(paths: Iterable[str]) -> list[Path]:
    """Every ``*.json`` named or under a named folder (the batch files and the manifest)."""
    files: list[Path] = []
    for raw in paths:
        path = Path(raw)
        if not path.exists():
            raise FileNotFoundError(f"{raw}: no such file or folder")
        files.extend(sorted(path.rglob("*.json")) if path.is_dir() else [path])
    return files


def verify_export(
    paths: Sequence[str], rpc_url: str | None = None, contract: str | None = None, *, allow_no_manifest: bool = False
) -> dict[str, Any]:
    """The whole hash chain from batch files: hashes, seq, links across batches, roots, the manifest's
    newest batch present, and (``rpc_url``) every root on chain."""
    files = artifact_files(paths)
    manifests = [p for p in files if p.name == MANIFEST_NAME]
    raw = {p: p.read_bytes() for p in files if p.name != MANIFEST_NAME}
    docs = sorted((verify_artifact(data) for data in raw.values()), key=lambda d: d["from_seq"])
    if not docs:
        raise LedgerIntegrityError("the export holds no batch files")
    if len({d["batch_id"] for d in docs}) != len(docs):
        raise LedgerIntegrityError("the export holds the same batch twice")
    if docs[0]["from_seq"] != 1:
        raise LedgerIntegrityError(f"the export starts at seq {docs[0]['from_seq']}, not at the genesis (1)")
    records = [r for d in docs for r in d["records"]]
    head = verify_chain(records)
    manifest = _check_manifest(
        manifests, docs, {json.loads(data)["batch_id"]: sha256_hex(data) for data in raw.values()}, allow_no_manifest
    )
    anchored, conflicts = 0, []
    if rpc_url:
        contract = contract or (manifest or {}).get("contract_address")
        if not contract:
            raise ValueError(
                "--contract is needed with --rpc when the export has no manifest (the registry address, from any proof)"
            )
        check_node(
            rpc_url, (manifest or {}).get("chain_id", int(str(rpc_call(rpc_url, "eth_chainId", [])), 16)), contract
        )
    for doc in docs:
        anchor_id = anchor_id_of(doc["batch_id"], doc.get("anchor_id"))
        conflicts += check_conflicts(doc.get("conflicts") or [], doc["batch_id"], anchor_id, rpc_url, contract)
        if rpc_url and contract:  # (with rpc_url, a contract is known: checked above)
            on_chain, count, _block = root_on_chain(rpc_url, contract, anchor_id)
            if on_chain != doc["root"] or count != len(doc["records"]):
                raise LedgerIntegrityError(
                    f"batch {doc['batch_id']}: the chain holds root {on_chain} for {count} "
                    f"records, the export {doc['root']} for {len(doc['records'])}"
                )
            anchored += 1
    return {
        "batches": len(docs),
        "records": len(records),
        "head_hash": head,
        "batches_checked_on_chain": anchored,
        "newest_batch": docs[-1]["batch_id"],
        "manifest_head": (manifest or {}).get("batch_id"),
        "conflicts": conflicts,
    }


def _check_manifest(
    manifests: list[Path], docs: list[dict[str, Any]], sha256_by_batch: dict[str, str], allow_missing: bool
) -> dict[str, Any] | None:
    """The manifest's head: the newest batch anchored when the export was taken. It must be in the
    export, byte for byte (its SHA-256); newer batches than the head may follow (anchored after)."""
    if len(manifests) > 1:
        raise LedgerIntegrityError(f"the export holds {len(manifests)} manifests")
    if not manifests:
        if allow_missing:
            return None
        raise LedgerIntegrityError(
            f"the export has no {MANIFEST_NAME}: whether its newest batches are missing cannot "
            "be known (--allow-no-manifest checks it without)"
        )
    doc = json.loads(manifests[0].read_bytes())
    head = doc.get("head") if isinstance(doc, dict) and doc.get("kind") == MANIFEST_KIND else None
    if not isinstance(head, dict):
        raise LedgerIntegrityError(f"{manifests[0]} is not a ledger manifest")
    batch_id = head.get("batch_id")
    if batch_id not in sha256_by_batch:
        raise LedgerIntegrityError(
            f"the manifest names batch {batch_id} (seqs up to {head.get('to_seq')}) as the newest, "
            f"but the export ends at batch {docs[-1]['batch_id']}: batch files are missing"
        )
    if sha256_by_batch[batch_id] != head.get("artifact_sha256"):
        raise LedgerIntegrityError(f"batch {batch_id} in the export is not the file the manifest names (SHA-256)")
    batch = next(d for d in docs if d["batch_id"] == batch_id)
    if (batch["to_seq"], batch["root"], batch.get("anchor_id", batch_id)) != (
        head.get("to_seq"),
        head.get("root"),
        head.get("anchor_id"),
    ):
        raise LedgerIntegrityError(f"batch {batch_id} does not match the manifest's head")
    return head


def verify_credit(api: str, serial: str, token: str, rpc_url: str) -> list[dict[str, Any]]:
    """Every record of the credit block holding ``serial``, each proof checked on chain."""
    base = api.rstrip("/")
    credit = load_json(f"{base}/credits/{urllib.parse.quote(serial, safe=':')}", token)
    return [
        verify_proof(load_json(f"{base}/ledger/proofs/{urllib.parse.quote(rid, safe=':')}", token), rpc_url)
        for rid in credit["record_ids"]
    ]

"""The agri-mrv ledger's hashing scheme (``agri-mrv-ledger-v1``), as a verifier needs it: the
verifier's own implementation, standard library only, so it depends on nothing of ours. (The
ledger's writer has its own in agri_common.ledger_crypto; a test of the agri-mrv repository checks
that the two agree on every definition below.)

- **Canonical JSON** of a record: ``json.dumps(record, sort_keys=True, separators=(",", ":"),
  ensure_ascii=False)`` encoded as UTF-8. Floats are refused (quantities are integers or decimal
  strings).
- **Record hash**: ``sha256(canonical_json(record without "record_hash"))``, lower-case hex. Each
  record holds ``prev_hash``, the hash of the record before it (64 zeros for seq 1): one chain.
- **Merkle tree** of a batch, records in seq order: ``leaf = sha256(0x00 || record_hash)``,
  ``node = sha256(0x01 || left || right)``; an odd node at the end of a level is promoted unchanged.
- **Proof**: the sibling hashes from leaf to root, each with its side (``"L"``: the sibling is on
  the left).
- **Batch key on chain**: ``sha256("agri-mrv:batch:" + anchor_id)``; the anchor id is the batch id
  (``<from seq>-<to seq>``, 12 digits each) or ``<batch_id>.r<n>`` after ``n`` foreign roots.
- **Manifest** (``MANIFEST.json`` beside the batch files): the newest anchored batch.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

HASH_SCHEME = "agri-mrv-ledger-v1"
GENESIS_HASH = "0" * 64
HASH_FIELD = "record_hash"
LEAF_PREFIX = b"\x00"
NODE_PREFIX = b"\x01"
MANIFEST_NAME = "MANIFEST.json"
MANIFEST_KIND = "agri-mrv-ledger-manifest"


class LedgerIntegrityError(ValueError):
    """A record, a link, a proof or an artifact does not match what was hashed or anchored."""


def is_anchor_id(batch_id: str, anchor_id: str) -> bool:
    """Whether ``anchor_id`` is the batch id or one of its re-keyed ids (``<batch_id>.r<n>``, n >= 1)."""
    if anchor_id == batch_id:
        return True
    prefix = f"{batch_id}.r"
    rest = anchor_id[len(prefix) :] if anchor_id.startswith(prefix) else ""
    return rest.isascii() and rest.isdigit() and not rest.startswith("0")


def _reject_floats(value: Any, path: str = "record") -> None:
    if isinstance(value, float):
        raise TypeError(f"{path} is a float; ledger records hold integers or decimal strings")
    if isinstance(value, Mapping):
        for key, item in value.items():
            if not isinstance(key, str):
                raise TypeError(f"{path} has a non-string key {key!r}")
            _reject_floats(item, f"{path}.{key}")
    elif isinstance(value, (list, tuple)):
        for index, item in enumerate(value):
            _reject_floats(item, f"{path}[{index}]")


def canonical_json(value: Any) -> bytes:
    _reject_floats(value)
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def record_hash(record: Mapping[str, Any]) -> str:
    """The hash of a record: everything except the hash field itself."""
    return sha256_hex(canonical_json({k: v for k, v in record.items() if k != HASH_FIELD}))


def batch_key(anchor_id: str) -> bytes:
    """The bytes32 under which a batch's root is stored on chain."""
    return hashlib.sha256(f"agri-mrv:batch:{anchor_id}".encode()).digest()


def leaf_hash(record_hash_hex: str) -> bytes:
    return hashlib.sha256(LEAF_PREFIX + bytes.fromhex(record_hash_hex)).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(NODE_PREFIX + left + right).digest()


def merkle_root(record_hashes: Sequence[str]) -> str:
    if not record_hashes:
        raise ValueError("a Merkle tree needs at least one leaf")
    level = [leaf_hash(h) for h in record_hashes]
    while len(level) > 1:
        nxt = [node_hash(level[i], level[i + 1]) for i in range(0, len(level) - 1, 2)]
        if len(level) % 2:
            nxt.append(level[-1])  # promoted, not duplicated
        level = nxt
    return level[0].hex()


def root_from_proof(record_hash_hex: str, proof: Iterable[Mapping[str, str]]) -> str:
    node = leaf_hash(record_hash_hex)
    for step in proof:
        sibling = bytes.fromhex(step["hash"])
        if step["side"] == "L":
            node = node_hash(sibling, node)
        elif step["side"] == "R":
            node = node_hash(node, sibling)
        else:
            raise LedgerIntegrityError(f"proof step side must be L or R, not {step['side']!r}")
    return node.hex()


def verify_record(record: Mapping[str, Any]) -> str:
    """Recompute a record's hash; raise if it differs from the stored one. Returns the hash."""
    computed = record_hash(record)
    if record.get(HASH_FIELD) != computed:
        raise LedgerIntegrityError(
            f"record {record.get('record_id')!r} (seq {record.get('seq')}): stored hash "
            f"{record.get(HASH_FIELD)} but its content hashes to {computed}"
        )
    return computed


def verify_chain(
    records: Sequence[Mapping[str, Any]], *, start_prev_hash: str = GENESIS_HASH, start_seq: int = 1
) -> str:
    """Check hashes, contiguous seq numbers and ``prev_hash`` links, in the order given; returns the
    hash of the last record. A deleted record leaves a seq gap and a broken link; reordered records
    break links; an edited record breaks its own hash."""
    prev, expected_seq = start_prev_hash, start_seq
    for record in records:
        current = verify_record(record)
        if record.get("seq") != expected_seq:
            raise LedgerIntegrityError(
                f"expected seq {expected_seq}, found {record.get('seq')} "
                f"(record {record.get('record_id')!r}): a record is missing or out of order"
            )
        if record.get("prev_hash") != prev:
            raise LedgerIntegrityError(
                f"record {record.get('record_id')!r} (seq {expected_seq}) links to "
                f"{record.get('prev_hash')}, but the previous record hashes to {prev}"
            )
        prev, expected_seq = current, expected_seq + 1
    return prev

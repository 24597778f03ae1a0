"""The ledger's hashing rules, in one place: the writer, the read API and the verifier all use this.

Definitions (also in docs/ledger.md; changing any of them breaks every
existing proof, so they are versioned by :data:`HASH_SCHEME`):

- **Canonical JSON** of a record: ``json.dumps(record, sort_keys=True, separators=(",", ":"),
  ensure_ascii=False)`` encoded as UTF-8. Floats are refused: their text form differs between
  languages, so quantities are integers (whole credits) or decimal *strings* ("12.345").
- **Record hash**: ``sha256(canonical_json(record without "record_hash"))``, lower-case hex. The
  record includes ``prev_hash`` (the hash of the record with ``seq - 1``; 64 zeros for seq 1), so
  the records form one global hash chain: changing, deleting or reordering any record breaks the
  links after it.
- **Merkle tree** of a batch (records ``from_seq..to_seq`` in seq order), RFC 6962 style domain
  separation so a leaf can never pass for an inner node (second pre-image):
  ``leaf = sha256(0x00 || record_hash)``, ``node = sha256(0x01 || left || right)``. An odd node at
  the end of a level is *promoted* unchanged to the next level (never duplicated, so no two
  different leaf lists share a root). The root of a one-record batch is that record's leaf.
- **Proof**: the sibling hashes from leaf to root, each with its side (``"L"``: the sibling is on
  the left). Promoted levels contribute no step.
- **Farmer reference**: ``sha256(salt || farmer_id)`` with a random 16-byte salt per farmer kept
  off chain (the ledger table), so a farmer id cannot be confirmed by hashing guesses.
- **Batch id on chain**: ``sha256("agri-mrv:batch:" + anchor_id)`` as bytes32, where the anchor id
  is the batch id (``<from seq>-<to seq>``, 12 digits each), or ``<batch_id>.r<n>`` when ``n``
  foreign roots were found on chain under the earlier ids (the batch file then names its
  ``anchor_id`` and lists those ``conflicts``).
- **Manifest** (``MANIFEST.json`` beside the batch files): the newest anchored batch (``head``:
  batch id, anchor id, seqs, root, the SHA-256 of its batch file, chain id, contract), rewritten
  after every anchoring, so an export that lost its newest batch files is caught.
"""

from __future__ import annotations

import hashlib
import json
import secrets
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

HASH_SCHEME = "agri-mrv-ledger-v1"
GENESIS_HASH = "0" * 64
HASH_FIELD = "record_hash"
LEAF_PREFIX = b"\x00"
NODE_PREFIX = b"\x01"


MANIFEST_NAME = "MANIFEST.json"
MANIFEST_KIND = "agri-mrv-ledger-manifest"


def is_anchor_id(batch_id: str, anchor_id: str) -> bool:
    """Whether ``anchor_id`` is the batch id or one of its re-keyed ids (``<batch_id>.r<n>``, n >= 1)."""
    if anchor_id == batch_id:
        return True
    prefix = f"{batch_id}.r"
    rest = anchor_id[len(prefix) :] if anchor_id.startswith(prefix) else ""
    return rest.isascii() and rest.isdigit() and not rest.startswith("0")


class LedgerIntegrityError(ValueError):
    """A record, a link, a proof or an artifact does not match what was hashed or anchored."""


def _reject_floats(value: Any, path: str = "record") -> None:
    if isinstance(value, float):
        raise TypeError(f"{path} is a float; use an integer or a decimal string in ledger records")
    if isinstance(value, Mapping):
        for key, item in value.items():
            if not isinstance(key, str):
                raise TypeError(f"{path} has a non-string key {key!r}")
            _reject_floats(item, f"{path}.{key}")
    elif isinstance(value, (list, tuple)):
        for index, item in enumerate(value):
            _reject_floats(item, f"{path}[{index}]")


def canonical_json(value: Any) -> bytes:
    """Sorted keys, no whitespace, UTF-8; floats refused (see the module docstring)."""
    _reject_floats(value)
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def record_hash(record: Mapping[str, Any]) -> str:
    """The hash of a record: everything except the hash field itself."""
    return sha256_hex(canonical_json({k: v for k, v in record.items() if k != HASH_FIELD}))


def seal(record: Mapping[str, Any]) -> dict[str, Any]:
    """The record with its ``record_hash`` set."""
    body = {k: v for k, v in record.items() if k != HASH_FIELD}
    return {**body, HASH_FIELD: record_hash(body)}


def new_salt() -> str:
    return secrets.token_hex(16)


def farmer_ref(salt_hex: str, farmer_id: str) -> str:
    return sha256_hex(bytes.fromhex(salt_hex) + farmer_id.encode("utf-8"))


def batch_key(batch_id: str) -> bytes:
    """The bytes32 under which a batch's root is stored on chain."""
    return hashlib.sha256(f"agri-mrv:batch:{batch_id}".encode()).digest()


# ---- Merkle tree ------------------------------------------------------------------------------
def leaf_hash(record_hash_hex: str) -> bytes:
    return hashlib.sha256(LEAF_PREFIX + bytes.fromhex(record_hash_hex)).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(NODE_PREFIX + left + right).digest()


def _levels(leaves: Sequence[bytes]) -> list[list[bytes]]:
    if not leaves:
        raise ValueError("a Merkle tree needs at least one leaf")
    levels = [list(leaves)]
    while len(levels[-1]) > 1:
        level = levels[-1]
        nxt = [node_hash(level[i], level[i + 1]) for i in range(0, len(level) - 1, 2)]
        if len(level) % 2:
            nxt.append(level[-1])  # promoted, not duplicated
        levels.append(nxt)
    return levels


def merkle_root(record_hashes: Sequence[str]) -> str:
    return _levels([leaf_hash(h) for h in record_hashes])[-1][0].hex()


def merkle_proof(record_hashes: Sequence[str], index: int) -> list[dict[str, str]]:
    """Sibling path of leaf ``index``: ``[{"side": "L"|"R", "hash": hex}, ...]`` from leaf to root."""
    if not 0 <= index < len(record_hashes):
        raise IndexError(f"leaf {index} is outside a tree of {len(record_hashes)}")
    proof = []
    for level in _levels([leaf_hash(h) for h in record_hashes])[:-1]:
        sibling = index ^ 1
        if sibling < len(level):
            proof.append({"side": "L" if sibling < index else "R", "hash": level[sibling].hex()})
        index //= 2
    return proof


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


# ---- whole-chain checks -----------------------------------------------------------------------
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
    """Check hashes, contiguous seq numbers and ``prev_hash`` links, in the order given.

    Returns the hash of the last record (the head). A deleted record leaves a seq gap and a broken
    link; reordered records break links; an edited record breaks its own hash.
    """
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

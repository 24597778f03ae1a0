"""The hashing rules of agri_common.ledger_crypto: canonical JSON, record hashes, Merkle proofs, chains."""

from __future__ import annotations

import hashlib
import json

import pytest

from agri_common import ledger_crypto as lc


def test_canonical_json_sorts_keys_drops_whitespace_and_keeps_utf8():
    assert lc.canonical_json({"b": 1, "a": {"d": "é", "c": [2, 1]}}) == '{"a":{"c":[2,1],"d":"é"},"b":1}'.encode()


@pytest.mark.parametrize("value", [1.5, {"a": 0.1}, {"a": [1, 2.0]}])
def test_floats_are_refused(value):
    with pytest.raises(TypeError, match="float"):
        lc.canonical_json(value)


def test_record_hash_covers_everything_but_the_hash_field():
    record = lc.seal({"record_id": "r", "seq": 1, "prev_hash": lc.GENESIS_HASH, "quantity": 3})
    expected = hashlib.sha256(
        b'{"prev_hash":"' + lc.GENESIS_HASH.encode() + b'","quantity":3,"record_id":"r","seq":1}'
    ).hexdigest()
    assert record["record_hash"] == expected == lc.record_hash(record)
    assert lc.record_hash({**record, "record_hash": "x"}) == expected
    assert lc.record_hash({**record, "quantity": 4}) != expected


def _hashes(n):
    return [hashlib.sha256(str(i).encode()).hexdigest() for i in range(n)]


@pytest.mark.parametrize("n", [1, 2, 3, 4, 5, 7, 8, 9, 16, 17, 33])
def test_every_leaf_proves_to_the_root(n):
    hashes = _hashes(n)
    root = lc.merkle_root(hashes)
    for i in range(n):
        assert lc.root_from_proof(hashes[i], lc.merkle_proof(hashes, i)) == root


def test_tree_shape_is_as_documented():
    a, b, c = _hashes(3)
    leaf = lc.leaf_hash
    assert lc.merkle_root([a]) == leaf(a).hex()
    # odd node promoted, not duplicated
    assert lc.merkle_root([a, b, c]) == lc.node_hash(lc.node_hash(leaf(a), leaf(b)), leaf(c)).hex()
    assert lc.merkle_root([a, b, c]) != lc.merkle_root([a, b, c, c])


def test_domain_separation_an_inner_node_is_not_a_leaf():
    hashes = _hashes(4)
    inner = lc.node_hash(lc.leaf_hash(hashes[0]), lc.leaf_hash(hashes[1])).hex()
    # presenting the inner node as a "record hash" with the upper path must not reach the root
    upper = lc.merkle_proof(hashes, 0)[1:]
    assert lc.root_from_proof(inner, upper) != lc.merkle_root(hashes)


def test_a_wrong_sibling_or_side_changes_the_root():
    hashes = _hashes(6)
    proof = lc.merkle_proof(hashes, 2)
    root = lc.merkle_root(hashes)
    flipped = [{**proof[0], "side": "L" if proof[0]["side"] == "R" else "R"}, *proof[1:]]
    assert lc.root_from_proof(hashes[2], flipped) != root
    assert lc.root_from_proof(hashes[3], proof) != root


def _chain(n):
    records, prev = [], lc.GENESIS_HASH
    for seq in range(1, n + 1):
        record = lc.seal({"record_id": f"r{seq}", "seq": seq, "prev_hash": prev, "quantity": seq})
        records.append(record)
        prev = record["record_hash"]
    return records


def test_verify_chain_accepts_the_chain_and_returns_the_head():
    records = _chain(5)
    assert lc.verify_chain(records) == records[-1]["record_hash"]


@pytest.mark.parametrize("tamper", ["edit", "delete", "swap", "rehash_one"])
def test_verify_chain_detects_tampering(tamper):
    records = json.loads(json.dumps(_chain(5)))
    if tamper == "edit":
        records[2]["quantity"] = 99
    elif tamper == "delete":
        del records[2]
    elif tamper == "swap":
        records[1], records[2] = records[2], records[1]
    else:  # edit and re-hash one record: its successor's link breaks
        records[2]["quantity"] = 99
        records[2] = lc.seal(records[2])
    with pytest.raises(lc.LedgerIntegrityError):
        lc.verify_chain(records)


def test_farmer_ref_is_salted():
    salt1, salt2 = lc.new_salt(), lc.new_salt()
    assert salt1 != salt2
    assert lc.farmer_ref(salt1, "F1") != lc.farmer_ref(salt2, "F1")
    assert lc.farmer_ref(salt1, "F1") == hashlib.sha256(bytes.fromhex(salt1) + b"F1").hexdigest()

"""Items of the ledger table: items.py is the one owner of their keys (no other ledger module spells
one), every kind round-trips through its item as DynamoDB returns it (numbers as Decimal), and the
sort keys sort as the numbers they encode."""

from __future__ import annotations

import re
from decimal import Decimal
from pathlib import Path

import pytest

from agri_common.ledger_crypto import GENESIS_HASH, seal
from functions.ledger import items
from functions.ledger import models as m

LEDGER = Path(items.__file__).parent
KEY_SPELLINGS = re.compile(r"""["'](REC#|CREDIT#|SALT#|RUN#|BATCH|HEAD|CURSOR)""")


def _as_dynamodb(item: dict) -> dict:
    """Numbers as DynamoDB's resource API returns them."""

    def convert(value):
        if isinstance(value, bool) or not isinstance(value, (int, list, dict)):
            return value
        if isinstance(value, int):
            return Decimal(value)
        if isinstance(value, list):
            return [convert(v) for v in value]
        return {k: convert(v) for k, v in value.items()}

    return convert(item)


def test_no_other_ledger_module_spells_a_key():
    spelled = {p.name: KEY_SPELLINGS.findall(p.read_text()) for p in LEDGER.glob("*.py") if p.name != "items.py"}
    assert {name: found for name, found in spelled.items() if found} == {}
    assert KEY_SPELLINGS.findall((LEDGER / "items.py").read_text())  # the pattern does find them where they are


def test_the_indexes_are_the_tables():
    from infra.storage import LEDGER_INDEXES

    assert set(items.INDEXES.values()) == set(LEDGER_INDEXES)


def test_a_record_round_trips():
    body = seal(
        {
            "record_id": "TRF:abc",
            "kind": "transfer",
            "project_id": "P1",
            "farmer_ref": "f" * 64,
            "seq": 7,
            "prev_hash": GENESIS_HASH,
            "quantity": 2,
        }
    )
    record = m.StoredRecord(
        body=body,
        owner_user_id="user-1",
        fpo_id="FPO-1",
        request_sha256="a" * 64,
        answer={"command": "transfer", "created": 1},
    )
    item = items.record_item(record)
    assert (item["pk"], item["sk"]) == tuple(items.record_key("TRF:abc").values())
    assert item[items.SEQ_ATTR] == items.seq_sort(7) and item["g_farmer"] == "f" * 64
    assert items.record_from_item(_as_dynamodb(item)) == record


def test_a_block_and_a_batch_round_trip():
    block = m.CreditBlock(
        series="AGM-P1-2025-R1",
        start=6,
        end=9,
        status="active",
        holder_ref="h",
        owner_user_id="u",
        fpo_id="FPO-1",
        project_id="P1",
        vintage=2025,
        record_ids=["A", "B"],
        version=3,
    )
    item = items.block_item(block)
    assert (item["pk"], item["sk"]) == (items.block_partition(block.series), items.block_sort(6))
    assert items.block_from_item(_as_dynamodb(item)) == block
    batch = m.Batch(
        batch_id="000000000001-000000000004",
        from_seq=1,
        to_seq=4,
        status="anchored",
        root="0" * 64,
        block_number=12,
        chain_id=1337,
        conflicts=[m.AnchorConflict(anchor_id="x", root="1" * 64, record_count=2, block_number=3, detected_at="t")],
    )
    item = items.batch_item(batch)
    assert {k: item[k] for k in ("pk", "sk")} == items.batch_item_key(1)
    assert items.batch_from_item(_as_dynamodb(item)) == batch


def test_salts_and_run_claims():
    assert items.salt_from_item(items.salt_item("FARMER#1", "ab" * 16)) == ("FARMER#1", "ab" * 16)
    kinds = [
        items.record_key("x"),
        items.salt_key("x"),
        items.run_key("x"),
        items.batch_item_key(1),
        items.HEAD,
        items.CURSOR,
        {"pk": items.block_partition("x"), "sk": items.block_sort(1)},
    ]
    assert len({(k["pk"], k["sk"]) for k in kinds}) == len(kinds)  # no two kinds share a key


@pytest.mark.parametrize("sort", [items.seq_sort, items.block_sort])
def test_sort_keys_sort_as_numbers(sort):
    numbers = [1, 2, 9, 10, 99, 100, 12_345, 999_999_999]
    assert sorted(numbers, key=sort) == numbers

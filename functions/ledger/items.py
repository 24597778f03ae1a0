"""Items of the ledger table: the one place that builds their keys and turns models into items and
back. dal.py reads and writes them; nothing else spells a ``pk``/``sk``. The keys and index names
that another domain reads (a farmer's salt and records, for the farmers domain's credit statement)
are spelled in ``agri_common.ledger_table`` and re-exported here.

Items (``pk``, ``sk``):

- ``HEAD/HEAD``: ``seq`` and ``hash`` of the last record: every append is one transaction that
  puts the new records (only if their ids are new) and moves the head from the seq it read;
- ``REC#<record_id>/R``: ``body`` (the sealed record as canonical JSON, exactly what was hashed),
  ``seq``, and the sparse index keys ``g_chain``/``g_project``/``g_farmer``/``g_owner``/``g_fpo``
  with ``g_seq`` (the seq, zero-padded) as every index's sort key;
- ``CREDIT#<series>/<start>``: a credit block (serial range) and its state; a serial is found with
  one Query (``sk <= serial``, newest first, limit 1);
- ``BATCH/<from_seq>``: a batch and its anchoring state; ``CURSOR/BATCH`` the next seq to batch
  and the pending batch; ``RUN#<series>/R`` the hash of an issued run's input; ``SALT#<farmer>/S``
  the farmer's salt (never leaves this table), written in the transaction of their first record.
"""

from __future__ import annotations

import json
from typing import Any

from agri_common.dynamo_values import from_dynamo
from agri_common.ledger_crypto import canonical_json
from agri_common.ledger_table import BODY_ATTR, KIND_ATTR, SALT_ATTR
from agri_common.ledger_table import FILTER_ATTRS as FILTER_ATTRS  # shared with the readers of other domains
from agri_common.ledger_table import INDEXES as INDEXES
from agri_common.ledger_table import SALT_PREFIX as SALT_PREFIX
from agri_common.ledger_table import SEQ_ATTR as SEQ_ATTR
from agri_common.ledger_table import ItemKey as ItemKey
from agri_common.ledger_table import salt_key as salt_key
from functions.ledger import models as m

# ---- the chain's head and the batch cursor (one item each) ------------------------------------------
HEAD = ItemKey(pk="HEAD", sk="HEAD")
CURSOR = ItemKey(pk="CURSOR", sk="BATCH")


def head_item(seq: int, record_hash: str) -> dict[str, Any]:
    return {**HEAD, "seq": seq, "hash": record_hash}


# ---- records and their indexes ------------------------------------------------------------------
CHAIN_PARTITION = "LEDGER"
SEQ_DIGITS = 12


def seq_sort(seq: int) -> str:
    """A seq as the indexes' sort key (and a batch's): zero-padded, so strings sort as numbers."""
    return f"{seq:0{SEQ_DIGITS}d}"


def record_key(record_id: str) -> ItemKey:
    return ItemKey(pk=f"REC#{record_id}", sk="R")


def record_item(record: m.StoredRecord) -> dict[str, Any]:
    body = record.body
    item: dict[str, Any] = {
        **record_key(body["record_id"]),
        BODY_ATTR: canonical_json(body).decode("utf-8"),
        "seq": record.seq,
        SEQ_ATTR: seq_sort(record.seq),
        KIND_ATTR: body["kind"],
        "g_chain": CHAIN_PARTITION,
        "g_project": body["project_id"],
    }
    for attr, value in (
        ("g_farmer", body.get("farmer_ref")),
        (OWNER_ATTR, record.owner_user_id),
        ("g_fpo", record.fpo_id),
    ):
        if value:
            item[attr] = value
    if record.request_sha256:
        item["request_sha256"] = record.request_sha256
    if record.answer is not None:
        item["answer"] = json.dumps(record.answer, sort_keys=True, separators=(",", ":"))
    return item


def record_from_item(item: dict[str, Any]) -> m.StoredRecord:
    return m.StoredRecord(
        body=json.loads(item[BODY_ATTR]),
        owner_user_id=item.get(OWNER_ATTR),
        fpo_id=item.get("g_fpo"),
        request_sha256=item.get("request_sha256"),
        answer=json.loads(item["answer"]) if item.get("answer") else None,
    )


# ---- farmers' salts and issued runs' claims --------------------------------------------------------
def salt_item(farmer_id: str, salt: str) -> dict[str, Any]:
    return {**salt_key(farmer_id), SALT_ATTR: salt}


def salt_from_item(item: dict[str, Any]) -> tuple[str, str]:
    """(farmer id, salt) of a salt item."""
    return str(item["pk"]).removeprefix(SALT_PREFIX), str(item[SALT_ATTR])


def run_key(series: str) -> ItemKey:
    return ItemKey(pk=f"RUN#{series}", sk="R")


# ---- credit blocks ------------------------------------------------------------------------------------
def block_partition(series: str) -> str:
    return f"CREDIT#{series}"


def block_sort(serial_number: int) -> str:
    return f"{serial_number:0{m.SERIAL_DIGITS}d}"


def block_key(series: str, start: int) -> ItemKey:
    return ItemKey(pk=block_partition(series), sk=block_sort(start))


def block_item(block: m.CreditBlock) -> dict[str, Any]:
    return {**block_key(block.series, block.start), **block.model_dump(exclude_none=True)}


# ---- the access metadata beside the hashed body: what an erasure unlinks (docs/decisions/0022) -------
OWNER_ATTR = "g_owner"  # a record's owner (the by_owner index key); INDEXES["owner_user_id"] names it
BLOCK_OWNER_ATTR = "owner_user_id"  # a block's owner (m.CreditBlock.owner_user_id)


def block_from_item(item: dict[str, Any]) -> m.CreditBlock:
    return m.CreditBlock.model_validate(_attributes(item))


# ---- batches ----------------------------------------------------------------------------------------
BATCH_PARTITION = "BATCH"


def batch_item_key(from_seq: int) -> ItemKey:
    return ItemKey(pk=BATCH_PARTITION, sk=seq_sort(from_seq))


def batch_item(batch: m.Batch) -> dict[str, Any]:
    return {**batch_item_key(batch.from_seq), **batch.model_dump(exclude_none=True)}


def batch_from_item(item: dict[str, Any]) -> m.Batch:
    return m.Batch.model_validate(_attributes(item))


def _attributes(item: dict[str, Any]) -> dict[str, Any]:
    """An item's attributes without its key, DynamoDB's Decimals back to numbers (every number a block or
    batch stores is an integer, so each comes back an int)."""
    return {k: v for k, v in from_dynamo(item).items() if k not in ("pk", "sk")}

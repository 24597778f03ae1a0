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
  the farmer's salt (never leaves this table), written in the transaction of their first record;
- ``PROJECT#<project_id>/SUMMARY``: the project's summary (functions/ledger/summary.py), added to
  in the transaction of every append of its records: ``records``, ``first_seq``, ``last_seq``,
  ``complete``, the string sets ``runs`` and ``profiles``, and one number per vintage and column
  (``issued#<vintage>``, ``retired#<vintage>``, ``cancelled#<vintage>``).
"""

from __future__ import annotations

import json
import re
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
from functions.ledger.summary import COLUMNS, SummaryDelta

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


def salt_from_item(item: dict[str, Any]) -> tuple[str, str | None]:
    """(farmer id, salt) of a salt item; the salt is None once the farmer's erasure shredded it."""
    salt = item.get(SALT_ATTR)
    return str(item["pk"]).removeprefix(SALT_PREFIX), None if salt is None else str(salt)


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


# ---- project summaries ------------------------------------------------------------------------------
SUMMARY_SORT = "SUMMARY"
_VINTAGE_ATTR = re.compile(r"^(" + "|".join(COLUMNS.values()) + r")#([0-9]+)$")


def summary_key(project_id: str) -> ItemKey:
    return ItemKey(pk=f"PROJECT#{project_id}", sk=SUMMARY_SORT)


def _vintage_attr(vintage: int, column: str) -> str:
    return f"{column}#{vintage}"


def summary_update(delta: SummaryDelta) -> dict[str, Any]:
    """The UpdateItem arguments (``UpdateExpression`` and its names and values, plain Python values)
    that add ``delta`` to its project's summary, creating it on the project's first record. It has
    no condition: the records' own ``attribute_not_exists`` puts in the same transaction make a
    retried append fail whole, so a delta is never added twice."""
    names: dict[str, str] = {"#pid": "project_id", "#n": "records", "#f": "first_seq", "#l": "last_seq"}
    values: dict[str, Any] = {
        ":pid": delta.project_id,
        ":n": delta.records,
        ":f": delta.first_seq,
        ":l": delta.last_seq,
    }
    sets = ["#pid = if_not_exists(#pid, :pid)", "#f = if_not_exists(#f, :f)", "#l = :l"]
    adds = ["#n :n"]
    for i, ((vintage, column), quantity) in enumerate(sorted(delta.totals.items())):
        names[f"#t{i}"] = _vintage_attr(vintage, column)
        values[f":t{i}"] = quantity
        adds.append(f"#t{i} :t{i}")
    for attr, members in (("runs", delta.runs), ("profiles", delta.profiles)):
        if members:  # DynamoDB has no empty set
            names[f"#{attr}"] = attr
            values[f":{attr}"] = set(members)
            adds.append(f"#{attr} :{attr}")
    return {
        "Key": summary_key(delta.project_id),
        "UpdateExpression": "SET " + ", ".join(sets) + " ADD " + ", ".join(adds),
        "ExpressionAttributeNames": names,
        "ExpressionAttributeValues": values,
    }


def summary_item(summary: m.ProjectSummary) -> dict[str, Any]:
    """The whole item of a summary (the backfill's put)."""
    item: dict[str, Any] = {
        **summary_key(summary.project_id),
        "project_id": summary.project_id,
        "records": summary.records,
        "first_seq": summary.first_seq,
        "last_seq": summary.last_seq,
        "complete": summary.complete,
    }
    if summary.runs:
        item["runs"] = set(summary.runs)
    if summary.methodology_profiles:
        item["profiles"] = set(summary.methodology_profiles)
    for vintage, count in summary.vintages.items():
        for column in COLUMNS.values():
            item[_vintage_attr(vintage, column)] = getattr(count, column)
    return item


def summary_from_item(item: dict[str, Any]) -> m.ProjectSummary:
    values = from_dynamo(item)
    vintages: dict[int, m.VintageCount] = {}
    for attr, value in values.items():
        found = _VINTAGE_ATTR.match(attr)
        if found:
            count = vintages.setdefault(int(found.group(2)), m.VintageCount())
            setattr(count, found.group(1), int(value))
    return m.ProjectSummary(
        project_id=str(values["project_id"]),
        records=int(values.get("records", 0)),
        first_seq=int(values["first_seq"]),
        last_seq=int(values["last_seq"]),
        complete=bool(values.get("complete", False)),
        runs=sorted(values.get("runs") or ()),
        methodology_profiles=sorted(values.get("profiles") or ()),
        vintages=dict(sorted(vintages.items())),
    )

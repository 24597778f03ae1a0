"""Ledger data access: the ledger table on DynamoDB and the batch artifacts in the audit bucket (S3),
behind the interfaces of ports.py. The items and their keys are built in items.py (their one owner).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from agri_common.dynamo_values import from_dynamo
from agri_common.platform.aws import batch_get_responses
from agri_common.platform.errors import AppError, DependencyError
from agri_common.platform.pagination import check_start_key
from functions.ledger import items, summary
from functions.ledger import models as m
from functions.ledger.ports import MAX_TRANSACTION_ITEMS, Append, BlockChanged, HeadMoved, RecordExists


def dependency_error(exc: Exception, what: str) -> AppError:
    """A failed AWS call as a 503 naming what failed and the service's error code."""
    code = getattr(exc, "response", {}).get("Error", {}).get("Code", type(exc).__name__)
    return DependencyError(f"{what} failed: {code}")


class DynamoLedgerStore:
    def __init__(self, table_name: str):
        self.table_name = table_name

    @property
    def _table(self) -> Any:
        from agri_common.platform.aws import dynamodb_table

        return dynamodb_table(self.table_name)

    @property
    def _client(self) -> Any:
        from agri_common.platform.aws import client

        return client("dynamodb")

    def _ser(self, item: dict[str, Any]) -> dict[str, Any]:
        from boto3.dynamodb.types import TypeSerializer

        serializer = TypeSerializer()
        return {k: serializer.serialize(v) for k, v in item.items()}

    # ---- the chain ----------------------------------------------------------------------------
    def head(self) -> tuple[int, str]:
        from agri_common.ledger_crypto import GENESIS_HASH

        item = self._table.get_item(Key=items.HEAD, ConsistentRead=True).get("Item")
        return (int(item["seq"]), item["hash"]) if item else (0, GENESIS_HASH)

    def append(self, entries: Sequence[Append], expected_seq: int) -> None:
        from botocore.exceptions import ClientError

        last = entries[-1].record.body
        if expected_seq == 0:
            head_item = self._ser(items.head_item(last["seq"], last["record_hash"]))
            head_op = {
                "Put": {
                    "TableName": self.table_name,
                    "Item": head_item,
                    "ConditionExpression": "attribute_not_exists(pk)",
                }
            }
        else:
            head_op = {
                "Update": {
                    "TableName": self.table_name,
                    "Key": self._ser(dict(items.HEAD)),
                    "UpdateExpression": "SET #s = :new, #h = :hash",
                    "ConditionExpression": "#s = :expected",
                    "ExpressionAttributeNames": {"#s": "seq", "#h": "hash"},
                    "ExpressionAttributeValues": self._ser(
                        {":new": last["seq"], ":hash": last["record_hash"], ":expected": expected_seq}
                    ),
                }
            }
        ops, kinds = [head_op], ["head"]
        for entry in entries:
            ops.append(
                {
                    "Put": {
                        "TableName": self.table_name,
                        "Item": self._ser(items.record_item(entry.record)),
                        "ConditionExpression": "attribute_not_exists(pk)",
                    }
                }
            )
            kinds.append("record")
            if entry.salt is not None:  # the farmer's first record: their salt, only if still new
                farmer_id, salt = entry.salt
                ops.append(
                    {
                        "Put": {
                            "TableName": self.table_name,
                            "Item": self._ser(items.salt_item(farmer_id, salt)),
                            "ConditionExpression": "attribute_not_exists(pk)",
                        }
                    }
                )
                kinds.append("salt")
            for record_id in entry.absent:  # the same client token used by another kind of move
                ops.append(
                    {
                        "ConditionCheck": {
                            "TableName": self.table_name,
                            "Key": self._ser(dict(items.record_key(record_id))),
                            "ConditionExpression": "attribute_not_exists(pk)",
                        }
                    }
                )
                kinds.append("record")
            for block, expected_version in entry.blocks:
                put: dict[str, Any] = {"TableName": self.table_name, "Item": self._ser(items.block_item(block))}
                if expected_version is None:
                    put["ConditionExpression"] = "attribute_not_exists(pk)"
                else:
                    put["ConditionExpression"] = "#v = :v AND #st = :active"
                    put["ExpressionAttributeNames"] = {"#v": "version", "#st": "status"}
                    put["ExpressionAttributeValues"] = self._ser({":v": expected_version, ":active": "active"})
                ops.append({"Put": put})
                kinds.append("block")
        for delta in summary.deltas(e.record for e in entries).values():  # each project's summary, same transaction
            update = items.summary_update(delta)
            ops.append(
                {
                    "Update": {
                        "TableName": self.table_name,
                        "Key": self._ser(dict(update["Key"])),
                        "UpdateExpression": update["UpdateExpression"],
                        "ExpressionAttributeNames": update["ExpressionAttributeNames"],
                        "ExpressionAttributeValues": self._ser(update["ExpressionAttributeValues"]),
                    }
                }
            )
            kinds.append("summary")
        if len(ops) > MAX_TRANSACTION_ITEMS:  # appending.py chunks within it: a caller that did not is a bug
            raise ValueError(f"an append of {len(ops)} items exceeds DynamoDB's {MAX_TRANSACTION_ITEMS}")
        try:
            self._client.transact_write_items(TransactItems=ops)
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") != "TransactionCanceledException":
                raise dependency_error(exc, "ledger append") from exc
            reasons = exc.response.get("CancellationReasons") or []
            failed = {kinds[i] for i, r in enumerate(reasons) if r.get("Code") == "ConditionalCheckFailed"}
            if "record" in failed or "salt" in failed:
                raise RecordExists() from exc
            if "block" in failed:
                raise BlockChanged() from exc
            if "head" in failed or not reasons:
                raise HeadMoved() from exc
            raise dependency_error(exc, "ledger append") from exc

    def get_record(self, record_id: str) -> m.StoredRecord | None:
        item = self._table.get_item(Key=items.record_key(record_id)).get("Item")
        return items.record_from_item(item) if item else None

    def get_records(self, record_ids: Sequence[str]) -> dict[str, m.StoredRecord]:
        out: dict[str, m.StoredRecord] = {}
        ids = list(dict.fromkeys(record_ids))
        for start in range(0, len(ids), 100):
            keys = [items.record_key(i) for i in ids[start : start + 100]]
            request = {self.table_name: {"Keys": keys, "ConsistentRead": True}}
            for resp in batch_get_responses(self._table.meta.client, request):  # bounded re-asks (503)
                for item in resp.get("Responses", {}).get(self.table_name, []):
                    record = items.record_from_item(item)
                    out[record.record_id] = record
        return out

    def records_by_seq(self, from_seq: int, to_seq: int) -> list[m.StoredRecord]:
        from boto3.dynamodb.conditions import Key

        records: list[m.StoredRecord] = []
        name, attr = items.INDEXES["chain"]
        kwargs: dict[str, Any] = {
            "IndexName": name,
            "KeyConditionExpression": Key(attr).eq(items.CHAIN_PARTITION)
            & Key(items.SEQ_ATTR).between(items.seq_sort(from_seq), items.seq_sort(to_seq)),
        }
        while True:
            resp = self._table.query(**kwargs)
            records.extend(items.record_from_item(i) for i in resp.get("Items", []))
            if "LastEvaluatedKey" not in resp:
                return sorted(records, key=lambda r: r.seq)
            kwargs["ExclusiveStartKey"] = resp["LastEvaluatedKey"]

    def query_records(
        self, index: str, value: str, limit: int, cursor: Any, filters: dict[str, str]
    ) -> tuple[list[m.StoredRecord], Any]:
        from boto3.dynamodb.conditions import Attr, Key

        name, attr = items.INDEXES[index]
        kwargs: dict[str, Any] = {
            "IndexName": name,
            "KeyConditionExpression": Key(attr).eq(value),
            "ScanIndexForward": False,
            "Limit": limit,
        }
        condition = None
        for key, wanted in filters.items():
            clause = Attr(items.FILTER_ATTRS[key]).eq(wanted)
            condition = clause if condition is None else condition & clause
        if condition is not None:
            kwargs["FilterExpression"] = condition
        if cursor:
            kwargs["ExclusiveStartKey"] = check_start_key(
                cursor, attrs={"pk", "sk", attr, items.SEQ_ATTR}, partition=(attr, value)
            )
        resp = self._table.query(**kwargs)
        return [items.record_from_item(i) for i in resp.get("Items", [])], from_dynamo(resp.get("LastEvaluatedKey"))

    # ---- project summaries (summary.py) ---------------------------------------------------------
    def project_summary(self, project_id: str) -> m.ProjectSummary | None:
        item = self._table.get_item(Key=items.summary_key(project_id), ConsistentRead=True).get("Item")
        return items.summary_from_item(item) if item else None

    def put_project_summary(self, summary: m.ProjectSummary, expected_last_seq: int | None) -> bool:
        """Replace the project's summary (the backfill's recount) if no append changed it since it
        was read: it is absent (``expected_last_seq`` None) or still ends at ``expected_last_seq``."""
        from botocore.exceptions import ClientError

        kwargs: dict[str, Any] = {"Item": items.summary_item(summary)}
        if expected_last_seq is None:
            kwargs["ConditionExpression"] = "attribute_not_exists(pk)"
        else:
            kwargs["ConditionExpression"] = "#l = :l"
            kwargs["ExpressionAttributeNames"] = {"#l": "last_seq"}
            kwargs["ExpressionAttributeValues"] = {":l": expected_last_seq}
        try:
            self._table.put_item(**kwargs)
            return True
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException":
                return False
            raise dependency_error(exc, "project summary write") from exc

    def project_seq_from(self, project_id: str, from_seq: int) -> int | None:
        """The seq of the project's first record at or after ``from_seq`` (one index item read)."""
        from boto3.dynamodb.conditions import Key

        name, attr = items.INDEXES["project_id"]
        resp = self._table.query(
            IndexName=name,
            KeyConditionExpression=Key(attr).eq(project_id) & Key(items.SEQ_ATTR).gte(items.seq_sort(from_seq)),
            ScanIndexForward=True,
            Limit=1,
            ProjectionExpression="#s",
            ExpressionAttributeNames={"#s": items.SEQ_ATTR},
        )
        found = resp.get("Items", [])
        return int(found[0][items.SEQ_ATTR]) if found else None

    def count_project_records_from(self, project_id: str, from_seq: int, at_most: int) -> int:
        """How many of the project's records have a seq at or after ``from_seq``, counting at most
        ``at_most`` (Select COUNT on the project's index: the items are read, not returned)."""
        from boto3.dynamodb.conditions import Key

        name, attr = items.INDEXES["project_id"]
        kwargs: dict[str, Any] = {
            "IndexName": name,
            "KeyConditionExpression": Key(attr).eq(project_id) & Key(items.SEQ_ATTR).gte(items.seq_sort(from_seq)),
            "Select": "COUNT",
        }
        count = 0
        while count < at_most:
            resp = self._table.query(**kwargs, Limit=at_most - count)
            count += int(resp.get("Count", 0))
            if "LastEvaluatedKey" not in resp:
                break
            kwargs["ExclusiveStartKey"] = resp["LastEvaluatedKey"]
        return min(count, at_most)

    # ---- reference data -----------------------------------------------------------------------
    def _put_once(self, key: items.ItemKey, attr: str, value: str) -> str:
        """Store ``value`` unless the item exists; return what is stored (ours or the first writer's)."""
        from botocore.exceptions import ClientError

        try:
            self._table.put_item(Item={**key, attr: value}, ConditionExpression="attribute_not_exists(pk)")
            return value
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") != "ConditionalCheckFailedException":
                raise dependency_error(exc, "ledger write") from exc
        return str(self._table.get_item(Key=key, ConsistentRead=True)["Item"][attr])

    def salts(self, farmer_ids: Sequence[str]) -> dict[str, str | None]:
        """The stored salts of these farmers (BatchGetItem, 100 keys a call); new farmers are absent:
        their salt is written with their first record (:meth:`append`); erased farmers map to None."""
        out: dict[str, str | None] = {}
        ids = list(dict.fromkeys(farmer_ids))
        client = self._table.meta.client
        for start in range(0, len(ids), 100):
            request = {
                self.table_name: {"Keys": [items.salt_key(i) for i in ids[start : start + 100]], "ConsistentRead": True}
            }
            for resp in batch_get_responses(client, request):  # bounded re-asks (503)
                for item in resp.get("Responses", {}).get(self.table_name, []):
                    farmer_id, salt = items.salt_from_item(item)
                    out[farmer_id] = salt
        return out

    def claim_run(self, run_key: str, input_hash: str) -> str:
        return self._put_once(items.run_key(run_key), "input_hash", input_hash)

    def find_block(self, series: str, serial_number: int) -> m.CreditBlock | None:
        from boto3.dynamodb.conditions import Key

        resp = self._table.query(
            KeyConditionExpression=Key("pk").eq(items.block_partition(series))
            & Key("sk").lte(items.block_sort(serial_number)),
            ScanIndexForward=False,
            Limit=1,
            ConsistentRead=True,
        )
        found = resp.get("Items", [])
        block = items.block_from_item(found[0]) if found else None
        return block if block is not None and block.end >= serial_number else None

    def blocks_between(self, series: str, start: int, end: int) -> list[m.CreditBlock]:
        """The blocks of ``series`` that start within ``start..end``, in serial order."""
        from boto3.dynamodb.conditions import Key

        kwargs: dict[str, Any] = {
            "KeyConditionExpression": Key("pk").eq(items.block_partition(series))
            & Key("sk").between(items.block_sort(start), items.block_sort(end)),
            "ConsistentRead": True,
        }
        out: list[m.CreditBlock] = []
        while True:
            resp = self._table.query(**kwargs)
            out.extend(items.block_from_item(i) for i in resp.get("Items", []))
            if "LastEvaluatedKey" not in resp:
                return out
            kwargs["ExclusiveStartKey"] = resp["LastEvaluatedKey"]

    def unlink_owner(self, user_id: str, record_ids: Sequence[str], blocks: Sequence[m.CreditBlock]) -> None:
        """:meth:`functions.ledger.ports.LedgerStore.unlink_owner`: conditional updates, blocks first, in
        transactions of at most 100; a block or record no longer naming ``user_id`` is skipped."""
        values = self._ser({":u": user_id, ":one": 1})
        block_ops = [
            {
                "Update": {
                    "TableName": self.table_name,
                    "Key": self._ser(dict(items.block_key(b.series, b.start))),
                    "UpdateExpression": "REMOVE #o SET #v = #v + :one",
                    "ConditionExpression": "#o = :u",
                    "ExpressionAttributeNames": {"#o": items.BLOCK_OWNER_ATTR, "#v": "version"},
                    "ExpressionAttributeValues": values,
                }
            }
            for b in blocks
        ]
        record_ops = [
            {
                "Update": {
                    "TableName": self.table_name,
                    "Key": self._ser(dict(items.record_key(record_id))),
                    "UpdateExpression": "REMOVE #o",
                    "ConditionExpression": "#o = :u",
                    "ExpressionAttributeNames": {"#o": items.OWNER_ATTR},
                    "ExpressionAttributeValues": {":u": values[":u"]},
                }
            }
            for record_id in dict.fromkeys(record_ids)
        ]
        for ops in (block_ops, record_ops):
            for start in range(0, len(ops), 100):
                self._transact_skipping_done(ops[start : start + 100])

    def _transact_skipping_done(self, ops: list[dict[str, Any]]) -> None:
        """One transaction; if some of its conditions fail (already unlinked: a retry, an index page read
        before its own update), the rest again without them (at most as many rounds as writes)."""
        from botocore.exceptions import ClientError

        while ops:
            try:
                self._client.transact_write_items(TransactItems=ops)
                return
            except ClientError as exc:
                if exc.response.get("Error", {}).get("Code") != "TransactionCanceledException":
                    raise dependency_error(exc, "ledger unlink") from exc
                reasons = exc.response.get("CancellationReasons") or []
                done = {i for i, r in enumerate(reasons) if r.get("Code") == "ConditionalCheckFailed"}
                if not done:
                    raise dependency_error(exc, "ledger unlink") from exc
                ops = [op for i, op in enumerate(ops) if i not in done]

    # ---- batches -----------------------------------------------------------------------------
    def batch_cursor(self) -> tuple[int, str | None]:
        item = self._table.get_item(Key=items.CURSOR, ConsistentRead=True).get("Item") or {}
        pending = item.get("pending")
        return int(item.get("next_seq", 1)), (str(int(pending)) if pending is not None else None)

    def create_batch(self, batch: m.Batch, expected_next_seq: int) -> bool:
        from botocore.exceptions import ClientError

        condition = "#n = :e" if expected_next_seq > 1 else "attribute_not_exists(pk) OR #n = :e"
        ops = [
            {
                "Put": {
                    "TableName": self.table_name,
                    "Item": self._ser(items.batch_item(batch)),
                    "ConditionExpression": "attribute_not_exists(pk)",
                }
            },
            {
                "Update": {
                    "TableName": self.table_name,
                    "Key": self._ser(dict(items.CURSOR)),
                    "UpdateExpression": "SET #n = :next, #p = :pending",
                    "ConditionExpression": f"({condition}) AND attribute_not_exists(#p)",
                    "ExpressionAttributeNames": {"#n": "next_seq", "#p": "pending"},
                    "ExpressionAttributeValues": self._ser(
                        {":next": batch.to_seq + 1, ":pending": batch.from_seq, ":e": expected_next_seq}
                    ),
                }
            },
        ]
        try:
            self._client.transact_write_items(TransactItems=ops)
            return True
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") == "TransactionCanceledException":
                return False
            raise dependency_error(exc, "batch creation") from exc

    def get_batch(self, from_seq: int) -> m.Batch | None:
        item = self._table.get_item(Key=items.batch_item_key(from_seq), ConsistentRead=True).get("Item")
        return items.batch_from_item(item) if item else None

    def update_batch(self, batch: m.Batch, **changes: Any) -> m.Batch:
        sets = {k: v for k, v in changes.items() if v is not None}
        removes = [k for k, v in changes.items() if v is None]
        names = {f"#{k}": k for k in changes}
        expression = ""
        if sets:
            expression += "SET " + ", ".join(f"#{k} = :{k}" for k in sets)
        if removes:
            expression += " REMOVE " + ", ".join(f"#{k}" for k in removes)
        kwargs: dict[str, Any] = {
            "Key": items.batch_item_key(batch.from_seq),
            "UpdateExpression": expression.strip(),
            "ExpressionAttributeNames": names,
            "ReturnValues": "ALL_NEW",
        }
        if sets:
            kwargs["ExpressionAttributeValues"] = {f":{k}": v for k, v in sets.items()}
        return items.batch_from_item(self._table.update_item(**kwargs)["Attributes"])

    def close_batch(self, batch: m.Batch) -> None:
        from botocore.exceptions import ClientError

        try:
            self._table.update_item(
                Key=items.CURSOR,
                UpdateExpression="REMOVE #p",
                ConditionExpression="#p = :b",
                ExpressionAttributeNames={"#p": "pending"},
                ExpressionAttributeValues={":b": batch.from_seq},
            )
        except ClientError as exc:  # already closed by a concurrent run: nothing to do
            if exc.response.get("Error", {}).get("Code") != "ConditionalCheckFailedException":
                raise dependency_error(exc, "batch close") from exc

    def find_batch(self, seq: int) -> m.Batch | None:
        from boto3.dynamodb.conditions import Key

        resp = self._table.query(
            KeyConditionExpression=Key("pk").eq(items.BATCH_PARTITION) & Key("sk").lte(items.seq_sort(seq)),
            ScanIndexForward=False,
            Limit=1,
        )
        found = resp.get("Items", [])
        batch = items.batch_from_item(found[0]) if found else None
        return batch if batch is not None and batch.to_seq >= seq else None

    def list_batches(
        self, limit: int, cursor: Any, *, status: str | None, conflicts_only: bool
    ) -> tuple[list[m.Batch], Any]:
        """Newest first; filtered (a filter applies to each page of ``limit`` items read)."""
        from boto3.dynamodb.conditions import Attr, Key

        kwargs: dict[str, Any] = {
            "KeyConditionExpression": Key("pk").eq(items.BATCH_PARTITION),
            "ScanIndexForward": False,
            "Limit": limit,
        }
        condition = None
        if status:
            condition = Attr("status").eq(status)
        if conflicts_only:
            clause = Attr("conflicts").size().gt(0)
            condition = clause if condition is None else condition & clause
        if condition is not None:
            kwargs["FilterExpression"] = condition
        if cursor:
            kwargs["ExclusiveStartKey"] = check_start_key(
                cursor, attrs={"pk", "sk"}, partition=("pk", items.BATCH_PARTITION)
            )
        resp = self._table.query(**kwargs)
        return [items.batch_from_item(i) for i in resp.get("Items", [])], from_dynamo(resp.get("LastEvaluatedKey"))


class S3ArtifactStore:
    """Batch artifacts in the audit bucket (Object Lock: a rewrite adds a version, never replaces)."""

    def __init__(self, bucket: str):
        self.bucket = bucket

    def put(self, key: str, data: bytes) -> None:
        from agri_common.platform.aws import client

        client("s3").put_object(
            Bucket=self.bucket, Key=key, Body=data, ContentType="application/json", ChecksumAlgorithm="SHA256"
        )

    def get(self, key: str) -> bytes:
        from agri_common.platform.aws import client

        data: bytes = client("s3").get_object(Bucket=self.bucket, Key=key)["Body"].read()
        return data

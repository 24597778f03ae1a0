"""Ledger data access: DynamoDB (the ledger table), S3 (batch artifacts in the audit bucket), and
the Lambda call from the API to the writer. The logic sees only the interfaces of logic.py.

Items of the ledger table (``pk``, ``sk``):

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
from decimal import Decimal
from typing import Any, Sequence

from agri_common.platform.aws import batch_get_responses
from agri_common.platform.errors import AppError, DependencyError
from agri_common.ledger_crypto import canonical_json
from agri_common.platform.pagination import check_start_key

from functions.ledger import models as m
from functions.ledger.logic import Append, BlockChanged, HeadMoved, RecordExists

INDEXES = {  # logical list -> (GSI name, partition attribute)
    "chain": ("by_chain", "g_chain"),
    "project_id": ("by_project", "g_project"),
    "farmer_ref": ("by_farmer", "g_farmer"),
    "owner_user_id": ("by_owner", "g_owner"),
    "fpo_id": ("by_fpo", "g_fpo"),
}
FILTER_ATTRS = {"project_id": "g_project", "farmer_ref": "g_farmer"}
CHAIN_PARTITION = "LEDGER"
HEAD = {"pk": "HEAD", "sk": "HEAD"}
CURSOR = {"pk": "CURSOR", "sk": "BATCH"}
SEQ_DIGITS = 12


def _plain(value: Any) -> Any:
    """DynamoDB's Decimals back to ints (every number we store is an integer)."""
    if isinstance(value, Decimal):
        return int(value)
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    return value


def _record_item(record: m.StoredRecord) -> dict[str, Any]:
    body = record.body
    item = {"pk": f"REC#{body['record_id']}", "sk": "R", "body": canonical_json(body).decode("utf-8"),
            "seq": record.seq, "g_seq": f"{record.seq:0{SEQ_DIGITS}d}", "kind": body["kind"], "g_chain": CHAIN_PARTITION,
            "g_project": body["project_id"]}
    for attr, value in (("g_farmer", body.get("farmer_ref")), ("g_owner", record.owner_user_id), ("g_fpo", record.fpo_id)):
        if value:
            item[attr] = value
    if record.request_sha256:
        item["request_sha256"] = record.request_sha256
    if record.answer is not None:
        item["answer"] = json.dumps(record.answer, sort_keys=True, separators=(",", ":"))
    return item


def _record(item: dict[str, Any]) -> m.StoredRecord:
    return m.StoredRecord(body=json.loads(item["body"]), owner_user_id=item.get("g_owner"), fpo_id=item.get("g_fpo"),
                          request_sha256=item.get("request_sha256"),
                          answer=json.loads(item["answer"]) if item.get("answer") else None)


def _block_item(block: m.CreditBlock) -> dict[str, Any]:
    item = {"pk": f"CREDIT#{block.series}", "sk": f"{block.start:0{m.SERIAL_DIGITS}d}",
            **block.model_dump(exclude_none=True)}
    return item


def _block(item: dict[str, Any]) -> m.CreditBlock:
    return m.CreditBlock.model_validate({k: v for k, v in _plain(item).items() if k not in ("pk", "sk")})


def _batch_key(from_seq: int) -> dict[str, str]:
    return {"pk": "BATCH", "sk": f"{from_seq:0{SEQ_DIGITS}d}"}


def _batch(item: dict[str, Any]) -> m.Batch:
    return m.Batch.model_validate({k: v for k, v in _plain(item).items() if k not in ("pk", "sk")})


def _dependency(exc: Exception, what: str) -> AppError:
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

        item = self._table.get_item(Key=HEAD, ConsistentRead=True).get("Item")
        return (int(item["seq"]), item["hash"]) if item else (0, GENESIS_HASH)

    def append(self, entries: Sequence[Append], expected_seq: int) -> None:
        from botocore.exceptions import ClientError

        last = entries[-1].record.body
        if expected_seq == 0:
            head_item = self._ser({**HEAD, "seq": last["seq"], "hash": last["record_hash"]})
            head_op = {"Put": {"TableName": self.table_name, "Item": head_item,
                               "ConditionExpression": "attribute_not_exists(pk)"}}
        else:
            head_op = {"Update": {"TableName": self.table_name, "Key": self._ser(HEAD),
                                  "UpdateExpression": "SET #s = :new, #h = :hash", "ConditionExpression": "#s = :expected",
                                  "ExpressionAttributeNames": {"#s": "seq", "#h": "hash"},
                                  "ExpressionAttributeValues": self._ser({":new": last["seq"], ":hash": last["record_hash"],
                                                                          ":expected": expected_seq})}}
        ops, kinds = [head_op], ["head"]
        for entry in entries:
            ops.append({"Put": {"TableName": self.table_name, "Item": self._ser(_record_item(entry.record)),
                                "ConditionExpression": "attribute_not_exists(pk)"}})
            kinds.append("record")
            if entry.salt is not None:  # the farmer's first record: their salt, only if still new
                farmer_id, salt = entry.salt
                ops.append({"Put": {"TableName": self.table_name,
                                    "Item": self._ser({"pk": f"SALT#{farmer_id}", "sk": "S", "salt": salt}),
                                    "ConditionExpression": "attribute_not_exists(pk)"}})
                kinds.append("salt")
            for record_id in entry.absent:  # the same client token used by another kind of move
                ops.append({"ConditionCheck": {"TableName": self.table_name, "Key": self._ser({"pk": f"REC#{record_id}", "sk": "R"}),
                                               "ConditionExpression": "attribute_not_exists(pk)"}})
                kinds.append("record")
            for block, expected_version in entry.blocks:
                put: dict[str, Any] = {"TableName": self.table_name, "Item": self._ser(_block_item(block))}
                if expected_version is None:
                    put["ConditionExpression"] = "attribute_not_exists(pk)"
                else:
                    put["ConditionExpression"] = "#v = :v AND #st = :active"
                    put["ExpressionAttributeNames"] = {"#v": "version", "#st": "status"}
                    put["ExpressionAttributeValues"] = self._ser({":v": expected_version, ":active": "active"})
                ops.append({"Put": put})
                kinds.append("block")
        try:
            self._client.transact_write_items(TransactItems=ops)
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") != "TransactionCanceledException":
                raise _dependency(exc, "ledger append") from exc
            reasons = exc.response.get("CancellationReasons") or []
            failed = {kinds[i] for i, r in enumerate(reasons) if r.get("Code") == "ConditionalCheckFailed"}
            if "record" in failed or "salt" in failed:
                raise RecordExists() from exc
            if "block" in failed:
                raise BlockChanged() from exc
            if "head" in failed or not reasons:
                raise HeadMoved() from exc
            raise _dependency(exc, "ledger append") from exc

    def get_record(self, record_id: str) -> m.StoredRecord | None:
        item = self._table.get_item(Key={"pk": f"REC#{record_id}", "sk": "R"}).get("Item")
        return _record(item) if item else None

    def get_records(self, record_ids: Sequence[str]) -> dict[str, m.StoredRecord]:
        out: dict[str, m.StoredRecord] = {}
        ids = list(dict.fromkeys(record_ids))
        for start in range(0, len(ids), 100):
            keys = [{"pk": f"REC#{i}", "sk": "R"} for i in ids[start:start + 100]]
            request = {self.table_name: {"Keys": keys, "ConsistentRead": True}}
            for resp in batch_get_responses(self._table.meta.client, request):  # bounded re-asks (503)
                for item in resp.get("Responses", {}).get(self.table_name, []):
                    record = _record(item)
                    out[record.record_id] = record
        return out

    def records_by_seq(self, from_seq: int, to_seq: int) -> list[m.StoredRecord]:
        from boto3.dynamodb.conditions import Key

        records: list[m.StoredRecord] = []
        kwargs: dict[str, Any] = {"IndexName": "by_chain",
                                  "KeyConditionExpression": Key("g_chain").eq(CHAIN_PARTITION)
                                  & Key("g_seq").between(f"{from_seq:0{SEQ_DIGITS}d}", f"{to_seq:0{SEQ_DIGITS}d}")}
        while True:
            resp = self._table.query(**kwargs)
            records.extend(_record(i) for i in resp.get("Items", []))
            if "LastEvaluatedKey" not in resp:
                return sorted(records, key=lambda r: r.seq)
            kwargs["ExclusiveStartKey"] = resp["LastEvaluatedKey"]

    def query_records(self, index: str, value: str, limit: int, cursor: Any,
                      filters: dict[str, str]) -> tuple[list[m.StoredRecord], Any]:
        from boto3.dynamodb.conditions import Attr, Key

        name, attr = INDEXES[index]
        kwargs: dict[str, Any] = {"IndexName": name, "KeyConditionExpression": Key(attr).eq(value),
                                  "ScanIndexForward": False, "Limit": limit}
        condition = None
        for key, wanted in filters.items():
            clause = Attr(FILTER_ATTRS[key]).eq(wanted)
            condition = clause if condition is None else condition & clause
        if condition is not None:
            kwargs["FilterExpression"] = condition
        if cursor:
            kwargs["ExclusiveStartKey"] = check_start_key(cursor, attrs={"pk", "sk", attr, "g_seq"}, partition=(attr, value))
        resp = self._table.query(**kwargs)
        return [_record(i) for i in resp.get("Items", [])], _plain(resp.get("LastEvaluatedKey"))

    # ---- reference data -----------------------------------------------------------------------
    def _put_once(self, key: dict[str, str], attr: str, value: str) -> str:
        """Store ``value`` unless the item exists; return what is stored (ours or the first writer's)."""
        from botocore.exceptions import ClientError

        try:
            self._table.put_item(Item={**key, attr: value}, ConditionExpression="attribute_not_exists(pk)")
            return value
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") != "ConditionalCheckFailedException":
                raise _dependency(exc, "ledger write") from exc
        return self._table.get_item(Key=key, ConsistentRead=True)["Item"][attr]

    def salts(self, farmer_ids: Sequence[str]) -> dict[str, str]:
        """The stored salts of these farmers (BatchGetItem, 100 keys a call); new farmers are absent:
        their salt is written with their first record (:meth:`append`)."""
        out: dict[str, str] = {}
        ids = list(dict.fromkeys(farmer_ids))
        client = self._table.meta.client
        for start in range(0, len(ids), 100):
            request = {self.table_name: {"Keys": [{"pk": f"SALT#{i}", "sk": "S"} for i in ids[start:start + 100]],
                                         "ConsistentRead": True}}
            for resp in batch_get_responses(client, request):  # bounded re-asks (503)
                for item in resp.get("Responses", {}).get(self.table_name, []):
                    out[item["pk"][len("SALT#"):]] = item["salt"]
        return out

    def claim_run(self, run_key: str, input_hash: str) -> str:
        return self._put_once({"pk": f"RUN#{run_key}", "sk": "R"}, "input_hash", input_hash)

    def find_block(self, series: str, serial_number: int) -> m.CreditBlock | None:
        from boto3.dynamodb.conditions import Key

        resp = self._table.query(
            KeyConditionExpression=Key("pk").eq(f"CREDIT#{series}") & Key("sk").lte(f"{serial_number:0{m.SERIAL_DIGITS}d}"),
            ScanIndexForward=False, Limit=1, ConsistentRead=True)
        items = resp.get("Items", [])
        block = _block(items[0]) if items else None
        return block if block is not None and block.end >= serial_number else None

    def blocks_between(self, series: str, start: int, end: int) -> list[m.CreditBlock]:
        """The blocks of ``series`` that start within ``start..end``, in serial order."""
        from boto3.dynamodb.conditions import Key

        kwargs: dict[str, Any] = {"KeyConditionExpression": Key("pk").eq(f"CREDIT#{series}") & Key("sk").between(
            f"{start:0{m.SERIAL_DIGITS}d}", f"{end:0{m.SERIAL_DIGITS}d}"), "ConsistentRead": True}
        out: list[m.CreditBlock] = []
        while True:
            resp = self._table.query(**kwargs)
            out.extend(_block(i) for i in resp.get("Items", []))
            if "LastEvaluatedKey" not in resp:
                return out
            kwargs["ExclusiveStartKey"] = resp["LastEvaluatedKey"]

    # ---- batches -----------------------------------------------------------------------------
    def batch_cursor(self) -> tuple[int, str | None]:
        item = self._table.get_item(Key=CURSOR, ConsistentRead=True).get("Item") or {}
        pending = item.get("pending")
        return int(item.get("next_seq", 1)), (str(int(pending)) if pending is not None else None)

    def create_batch(self, batch: m.Batch, expected_next_seq: int) -> bool:
        from botocore.exceptions import ClientError

        condition = "#n = :e" if expected_next_seq > 1 else "attribute_not_exists(pk) OR #n = :e"
        ops = [
            {"Put": {"TableName": self.table_name,
                     "Item": self._ser({**_batch_key(batch.from_seq), **batch.model_dump(exclude_none=True)}),
                     "ConditionExpression": "attribute_not_exists(pk)"}},
            {"Update": {"TableName": self.table_name, "Key": self._ser(CURSOR),
                        "UpdateExpression": "SET #n = :next, #p = :pending",
                        "ConditionExpression": f"({condition}) AND attribute_not_exists(#p)",
                        "ExpressionAttributeNames": {"#n": "next_seq", "#p": "pending"},
                        "ExpressionAttributeValues": self._ser({":next": batch.to_seq + 1, ":pending": batch.from_seq,
                                                                ":e": expected_next_seq})}},
        ]
        try:
            self._client.transact_write_items(TransactItems=ops)
            return True
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") == "TransactionCanceledException":
                return False
            raise _dependency(exc, "batch creation") from exc

    def get_batch(self, from_seq: int) -> m.Batch | None:
        item = self._table.get_item(Key=_batch_key(from_seq), ConsistentRead=True).get("Item")
        return _batch(item) if item else None

    def update_batch(self, batch: m.Batch, **changes: Any) -> m.Batch:
        sets = {k: v for k, v in changes.items() if v is not None}
        removes = [k for k, v in changes.items() if v is None]
        names = {f"#{k}": k for k in changes}
        expression = ""
        if sets:
            expression += "SET " + ", ".join(f"#{k} = :{k}" for k in sets)
        if removes:
            expression += " REMOVE " + ", ".join(f"#{k}" for k in removes)
        kwargs: dict[str, Any] = {"Key": _batch_key(batch.from_seq), "UpdateExpression": expression.strip(),
                                  "ExpressionAttributeNames": names, "ReturnValues": "ALL_NEW"}
        if sets:
            kwargs["ExpressionAttributeValues"] = {f":{k}": v for k, v in sets.items()}
        return _batch(self._table.update_item(**kwargs)["Attributes"])

    def close_batch(self, batch: m.Batch) -> None:
        from botocore.exceptions import ClientError

        try:
            self._table.update_item(Key=CURSOR, UpdateExpression="REMOVE #p", ConditionExpression="#p = :b",
                                    ExpressionAttributeNames={"#p": "pending"},
                                    ExpressionAttributeValues={":b": batch.from_seq})
        except ClientError as exc:  # already closed by a concurrent run: nothing to do
            if exc.response.get("Error", {}).get("Code") != "ConditionalCheckFailedException":
                raise _dependency(exc, "batch close") from exc

    def find_batch(self, seq: int) -> m.Batch | None:
        from boto3.dynamodb.conditions import Key

        resp = self._table.query(KeyConditionExpression=Key("pk").eq("BATCH") & Key("sk").lte(f"{seq:0{SEQ_DIGITS}d}"),
                                 ScanIndexForward=False, Limit=1)
        items = resp.get("Items", [])
        batch = _batch(items[0]) if items else None
        return batch if batch is not None and batch.to_seq >= seq else None


    def list_batches(self, limit: int, cursor: Any, *, status: str | None,
                     conflicts_only: bool) -> tuple[list[m.Batch], Any]:
        """Newest first; filtered (a filter applies to each page of ``limit`` items read)."""
        from boto3.dynamodb.conditions import Attr, Key

        kwargs: dict[str, Any] = {"KeyConditionExpression": Key("pk").eq("BATCH"), "ScanIndexForward": False,
                                  "Limit": limit}
        condition = None
        if status:
            condition = Attr("status").eq(status)
        if conflicts_only:
            clause = Attr("conflicts").size().gt(0)
            condition = clause if condition is None else condition & clause
        if condition is not None:
            kwargs["FilterExpression"] = condition
        if cursor:
            kwargs["ExclusiveStartKey"] = check_start_key(cursor, attrs={"pk", "sk"}, partition=("pk", "BATCH"))
        resp = self._table.query(**kwargs)
        return [_batch(i) for i in resp.get("Items", [])], _plain(resp.get("LastEvaluatedKey"))


class S3ArtifactStore:
    """Batch artifacts in the audit bucket (Object Lock: a rewrite adds a version, never replaces)."""

    def __init__(self, bucket: str):
        self.bucket = bucket

    def put(self, key: str, data: bytes) -> None:
        from agri_common.platform.aws import client

        client("s3").put_object(Bucket=self.bucket, Key=key, Body=data, ContentType="application/json",
                                ChecksumAlgorithm="SHA256")

    def get(self, key: str) -> bytes:
        from agri_common.platform.aws import client

        return client("s3").get_object(Bucket=self.bucket, Key=key)["Body"].read()


class LambdaWriterGateway:
    """The API's way to the writer: a synchronous Lambda invoke (the API role cannot write the ledger)."""

    def __init__(self, function_name: str):
        self.function_name = function_name

    def submit(self, event: m.WriterEvent) -> m.WriterResult:
        from botocore.exceptions import BotoCoreError, ClientError

        from agri_common.platform.aws import client

        try:
            resp = client("lambda").invoke(FunctionName=self.function_name, InvocationType="RequestResponse",
                                           Payload=event.model_dump_json(exclude_none=True).encode())
        except (BotoCoreError, ClientError) as exc:
            raise _dependency(exc, "ledger writer") from exc
        payload = json.loads(resp["Payload"].read() or b"{}")
        if resp.get("FunctionError"):
            raise DependencyError("The ledger writer failed")
        return writer_result(payload)


def writer_result(payload: dict[str, Any]) -> m.WriterResult:
    """Turn the writer's answer back into a result, or re-raise its domain error as is."""
    if payload.get("ok"):
        return m.WriterResult.model_validate(payload["result"])
    error = payload.get("error") or {}
    exc = AppError(error.get("message", "ledger writer error"), code=error.get("code"), details=error.get("details"))
    exc.status = int(error.get("status", 500))
    raise exc

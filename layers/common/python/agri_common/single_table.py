"""Data access of the single-table DynamoDB tables (the farm table and the pipeline table): a small
generic interface, DynamoDB behind it, and :class:`Stored`, the base of every record they hold
(each record builds its own key: agri_common.farm_table.records, agri_common.pipeline_table).

Logic never builds DynamoDB expressions: it describes a write as a list of operations
(:class:`Put`, :class:`Update`, :class:`Delete`, :class:`Check`) that :meth:`TableStore.transact`
applies all-or-nothing (TransactWriteItems). That is how a record and the FPO aggregates it moves
are written together, and how an idempotency receipt and its record can never be half applied.
If a condition fails, :class:`WriteConflict` names the operations whose condition failed, so the
caller can tell "already applied" from "stale version" from "lost a race, retry".

No method scans: reads are GetItem, BatchGetItem and Query on a key (tests fail on a Scan).

Failures that are not the caller's: AWS throttling or unavailability surfaces as the AWS error
(or, where the store has to tell it from a failed condition, as ``DependencyError``, through the
store base :class:`agri_common.platform.aws.DynamoTable`); the resolver
answers both 503 ``service_unavailable`` (agri_common.platform.errors.aws_unavailable). An item DynamoDB
would refuse as too large (400 KB) is refused *before* writing: 413 ``item_too_large``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar, Protocol, Self, TypeVar, overload

from pydantic import BaseModel, ConfigDict

from agri_common.dynamo_values import MAX_ITEM_BYTES as MAX_ITEM_BYTES
from agri_common.dynamo_values import attribute_size as attribute_size
from agri_common.dynamo_values import from_dynamo as from_dynamo
from agri_common.dynamo_values import item_size as item_size
from agri_common.dynamo_values import item_too_large as item_too_large
from agri_common.dynamo_values import size_refusal
from agri_common.dynamo_values import to_dynamo as to_dynamo
from agri_common.platform.aws import DynamoTable

Key = tuple[str, str]  # (pk, sk): both tables' base keys
INDEX = "gsi1"  # both tables' one global index (gsi1pk, gsi1sk)
T = TypeVar("T")
MAX_TRANSACTION_OPS = 100  # DynamoDB's limit per TransactWriteItems


class Stored(BaseModel):
    """A single-table item: its key, its index attributes, and the item round trip.
    The base of every stored record of the farm table and of the pipeline table."""

    model_config = ConfigDict(extra="ignore")

    kind: ClassVar[str]

    def key(self) -> Key:
        raise NotImplementedError

    def index(self) -> dict[str, str]:
        return {}

    def to_item(self) -> dict[str, Any]:
        pk, sk = self.key()
        return {
            "pk": pk,
            "sk": sk,
            "kind": self.kind,
            **self.index(),
            **self.model_dump(mode="json", exclude_none=True),
        }

    @overload
    @classmethod
    def from_item(cls, item: dict[str, Any]) -> Self: ...

    @overload
    @classmethod
    def from_item(cls, item: dict[str, Any] | None) -> Self | None: ...

    @classmethod
    def from_item(cls, item: dict[str, Any] | None) -> Self | None:
        return None if item is None else cls.model_validate(item)


@dataclass(frozen=True)
class Put:
    """Write a whole item. ``if_absent``: only if no item has this key."""

    item: Mapping[str, Any]
    if_absent: bool = False


@dataclass(frozen=True)
class Update:
    """Change some attributes of an item (created if missing unless ``if_exists``).

    ``add``: numbers added (from 0 if absent); ``set``: values written (``a.b`` sets key ``b`` of
    map ``a``); ``remove``: attributes or map keys removed; ``delete``: elements taken out of a set
    (DynamoDB DELETE: no read, a missing element is no error, the attribute goes with its last
    element). ``expect``: attribute values the stored item must have (optimistic concurrency,
    e.g. ``{"version": 3}``); an expected 0 also accepts an absent attribute.
    """

    key: Key
    add: Mapping[str, Any] = field(default_factory=dict)
    set: Mapping[str, Any] = field(default_factory=dict)
    remove: tuple[str, ...] = ()
    delete: Mapping[str, Any] = field(default_factory=dict)
    expect: Mapping[str, Any] = field(default_factory=dict)
    if_exists: bool = False


@dataclass(frozen=True)
class Delete:
    key: Key


@dataclass(frozen=True)
class Check:
    """Fail the transaction unless the item exists with the ``expect``-ed attribute values."""

    key: Key
    expect: Mapping[str, Any] = field(default_factory=dict)


Op = Put | Update | Delete | Check


class WriteConflict(Exception):
    """A transaction was cancelled. ``failed``: indexes of the operations whose condition failed;
    empty when DynamoDB cancelled it for a concurrent transaction on the same items (retry)."""

    def __init__(self, failed: Sequence[int]):
        super().__init__(f"transaction cancelled; failed conditions at {list(failed)}")
        self.failed = list(failed)


class TableStore(Protocol):
    def get(self, key: Key) -> dict[str, Any] | None: ...

    def batch_get(self, keys: Sequence[Key]) -> list[dict[str, Any]]: ...

    def query(
        self,
        pk: str,
        *,
        prefix: str = "",
        index: bool = False,
        limit: int | None = None,
        start: dict[str, Any] | None = None,
        newest_first: bool = False,
    ) -> tuple[list[dict[str, Any]], dict[str, Any] | None]: ...

    def transact(self, ops: Sequence[Op]) -> None: ...


# ---- item size (counted by agri_common.dynamo_values) -------------------------------------------
def _written_size(op: Op) -> int:
    """What ``op`` certainly writes: the whole item of a Put; for an Update, its key and the values it
    sets or adds (the stored item's other attributes come on top: DynamoDB's own refusal of the
    grown item is mapped to the same error, see :meth:`DynamoTableStore.transact`)."""
    if isinstance(op, Put):
        return item_size(op.item)
    if isinstance(op, Update):
        written = {"pk": op.key[0], "sk": op.key[1]}
        written.update({path.split(".")[-1]: value for path, value in {**op.set, **op.add}.items()})
        return item_size(written)
    return 0


def check_item_sizes(ops: Sequence[Op]) -> None:
    """413 ``item_too_large`` before anything is written if one operation exceeds the item limit."""
    for op in ops:
        size = _written_size(op)
        if size > MAX_ITEM_BYTES:
            raise item_too_large(size)


_RACE_OR_CONDITION = frozenset({"None", "ConditionalCheckFailed", "TransactionConflict"})


class _Expr:
    """Builds expression attribute names/values with unique placeholders."""

    def __init__(self) -> None:
        self.names: dict[str, str] = {}
        self.values: dict[str, Any] = {}

    def name(self, path: str) -> str:
        parts = []
        for part in path.split("."):
            placeholder = f"#n{len(self.names)}"
            self.names[placeholder] = part
            parts.append(placeholder)
        return ".".join(parts)

    def value(self, value: Any) -> str:
        placeholder = f":v{len(self.values)}"
        self.values[placeholder] = to_dynamo(value)
        return placeholder

    def expect(self, expected: Mapping[str, Any]) -> list[str]:
        out = []
        for attr, value in expected.items():
            name = self.name(attr)
            if value == 0:
                out.append(f"(attribute_not_exists({name}) OR {name} = {self.value(0)})")
            else:
                out.append(f"{name} = {self.value(value)}")
        return out

    def attach(self, request: dict[str, Any]) -> dict[str, Any]:
        if self.names:
            request["ExpressionAttributeNames"] = self.names
        if self.values:
            request["ExpressionAttributeValues"] = self.values
        return request


def check_query_start(start: Any, pk: str, *, prefix: str = "", index: bool = False) -> dict[str, Any] | None:
    """``start`` as the ExclusiveStartKey of ``query(pk, prefix=, index=)``: exactly the table key
    (and, on the index, the index key), the queried partition, a sort key under the prefix; 400
    ``invalid_next_token`` otherwise (it came back in a client's pagination token)."""
    from agri_common.platform.pagination import check_start_key

    pk_name, sk_name = ("gsi1pk", "gsi1sk") if index else ("pk", "sk")
    return check_start_key(
        start,
        attrs={"pk", "sk", pk_name, sk_name},
        partition=(pk_name, pk),
        sort_prefix=(sk_name, prefix) if prefix else None,
    )


class DynamoTableStore(DynamoTable):
    """:class:`TableStore` on a DynamoDB table, through the boto3 resource (native Python types)."""

    def get(self, key: Key) -> dict[str, Any] | None:
        item = self._table.get_item(Key={"pk": key[0], "sk": key[1]}, ConsistentRead=True).get("Item")
        return from_dynamo(item) if item else None

    def batch_get(self, keys: Sequence[Key]) -> list[dict[str, Any]]:
        from agri_common.platform.aws import batch_get_responses

        client = self._table.meta.client
        unique = list(dict.fromkeys(keys))
        found: list[dict[str, Any]] = []
        for start in range(0, len(unique), 100):
            request = {
                self.table_name: {
                    "Keys": [{"pk": pk, "sk": sk} for pk, sk in unique[start : start + 100]],
                    "ConsistentRead": True,
                }
            }
            for resp in batch_get_responses(client, request):  # unprocessed keys re-asked, bounded (503)
                found.extend(from_dynamo(item) for item in resp["Responses"].get(self.table_name, []))
        return found

    def query(
        self,
        pk: str,
        *,
        prefix: str = "",
        index: bool = False,
        limit: int | None = None,
        start: dict[str, Any] | None = None,
        newest_first: bool = False,
    ) -> tuple[list[dict[str, Any]], dict[str, Any] | None]:
        """Items of one partition in sort-key order (``newest_first``: descending)."""
        from boto3.dynamodb.conditions import Key as K

        pk_name, sk_name = ("gsi1pk", "gsi1sk") if index else ("pk", "sk")
        start = check_query_start(start, pk, prefix=prefix, index=index)
        condition = K(pk_name).eq(pk)
        if prefix:
            condition = condition & K(sk_name).begins_with(prefix)
        kwargs: dict[str, Any] = {"KeyConditionExpression": condition}
        if index:
            kwargs["IndexName"] = INDEX
        else:
            kwargs["ConsistentRead"] = True
        if limit:
            kwargs["Limit"] = limit
        if start:
            kwargs["ExclusiveStartKey"] = start
        if newest_first:
            kwargs["ScanIndexForward"] = False
        items: list[dict[str, Any]] = []
        while True:
            resp = self._table.query(**kwargs)
            items.extend(from_dynamo(i) for i in resp.get("Items", []))
            last = resp.get("LastEvaluatedKey")
            if not last or (limit and len(items) >= limit):
                return items, last
            kwargs["ExclusiveStartKey"] = last

    def transact(self, ops: Sequence[Op]) -> None:
        if not ops:
            return
        if len(ops) > MAX_TRANSACTION_OPS:
            raise ValueError(f"{len(ops)} operations exceed the transaction limit of {MAX_TRANSACTION_OPS}")
        check_item_sizes(ops)
        from botocore.exceptions import ClientError

        from agri_common.platform.errors import aws_error_code

        client = self._table.meta.client
        try:
            client.transact_write_items(TransactItems=[self._op(op) for op in ops])
        except ClientError as exc:
            if size_refusal(exc):
                raise item_too_large(None) from exc
            if aws_error_code(exc) != "TransactionCanceledException":
                raise
            self._raise_if_busy(exc)  # cancelled because throttled: not a condition, not a race
            reasons = exc.response.get("CancellationReasons") or []
            if any(str((r or {}).get("Code")) not in _RACE_OR_CONDITION for r in reasons):
                raise  # e.g. a ValidationError reason: a bug of ours, not a race to retry
            raise WriteConflict(
                [i for i, r in enumerate(reasons) if r.get("Code") == "ConditionalCheckFailed"]
            ) from exc

    def _op(self, op: Op) -> dict[str, Any]:
        e = _Expr()
        if isinstance(op, Put):
            request: dict[str, Any] = {"TableName": self.table_name, "Item": to_dynamo(dict(op.item))}
            if op.if_absent:
                request["ConditionExpression"] = f"attribute_not_exists({e.name('pk')})"
            return {"Put": e.attach(request)}
        key = {"pk": op.key[0], "sk": op.key[1]}
        if isinstance(op, Delete):
            return {"Delete": {"TableName": self.table_name, "Key": key}}
        if isinstance(op, Check):
            condition = " AND ".join([f"attribute_exists({e.name('pk')})", *e.expect(op.expect)])
            return {
                "ConditionCheck": e.attach({"TableName": self.table_name, "Key": key, "ConditionExpression": condition})
            }
        clauses = []
        if op.set:
            clauses.append("SET " + ", ".join(f"{e.name(k)} = {e.value(v)}" for k, v in op.set.items()))
        if op.add:
            clauses.append("ADD " + ", ".join(f"{e.name(k)} {e.value(v)}" for k, v in op.add.items()))
        if op.remove:
            clauses.append("REMOVE " + ", ".join(e.name(k) for k in op.remove))
        if op.delete:
            clauses.append("DELETE " + ", ".join(f"{e.name(k)} {e.value(v)}" for k, v in op.delete.items()))
        request = {"TableName": self.table_name, "Key": key, "UpdateExpression": " ".join(clauses)}
        conditions = [f"attribute_exists({e.name('pk')})"] if op.if_exists else []
        conditions += e.expect(op.expect)
        if conditions:
            request["ConditionExpression"] = " AND ".join(conditions)
        return {"Update": e.attach(request)}


class Txn:
    """The operations of one transaction, with what a failed condition of each one means.

    ``race=True``: the condition guards against a concurrent change (re-read and retry);
    ``on_fail``: a domain error to raise instead (duplicate, stale version...).
    """

    def __init__(self) -> None:
        self.ops: list[Op] = []
        self.races: set[int] = set()
        self.errors: dict[int, Any] = {}

    def add(self, op: Op | None, *, race: bool = False, on_fail: Any = None) -> Txn:
        if op is not None:
            if race:
                self.races.add(len(self.ops))
            if on_fail is not None:
                self.errors[len(self.ops)] = on_fail
            self.ops.append(op)
        return self


def commit(store: TableStore, build: Callable[[], tuple[Txn, T]], attempts: int = 4) -> T:
    """Apply ``build() -> (Txn, result)`` and return ``result``; rebuild from fresh reads and retry
    when a race guard failed or DynamoDB cancelled for a concurrent transaction.

    A failed condition with an ``on_fail`` raises that error (a callable is called first, so it
    can re-read the current state for the message); any other failed condition is a bug: re-raised.
    """
    for attempt in range(attempts):
        txn, result = build()
        try:
            store.transact(txn.ops)
            return result
        except WriteConflict as conflict:
            for index in conflict.failed:
                if index in txn.errors:
                    error = txn.errors[index]
                    raise (error() if callable(error) else error) from conflict
            if conflict.failed and not set(conflict.failed) <= txn.races:
                raise
            if attempt == attempts - 1:
                from agri_common.platform.errors import ConflictError

                raise ConflictError("Concurrent updates kept conflicting; retry", code="write_contention") from conflict
    raise AssertionError("unreachable")


def iter_chunks(items: Iterable[Any], size: int) -> Iterable[list[Any]]:
    """``items`` in lists of at most ``size`` (batch limits: 25 writes, 100 reads, 100 transaction ops)."""
    chunk: list[Any] = []
    for item in items:
        chunk.append(item)
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk

"""One mapping of AWS throttling / unavailability (agri_common.platform.errors.aws_unavailable), applied by the
shared resolver to every route, and the farm store's own cases (cancelled transactions, unprocessed
keys). A fake DynamoDB table raises each error; real Lambda entry points answer."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from botocore.exceptions import (
    ClientError,
    ConnectionClosedError,
    ConnectTimeoutError,
    EndpointConnectionError,
    NoCredentialsError,
    ParamValidationError,
    ReadTimeoutError,
)

from agri_common.farm_table import keys
from agri_common.farm_table.records import FpoRecord
from agri_common.platform.clock import utc_iso_seconds_offset
from agri_common.platform.errors import DependencyError, aws_unavailable
from agri_common.platform.revocation import InMemoryRevocationStore
from agri_common.single_table import DynamoTableStore, Put, WriteConflict
from functions.farmers import handler as farmers
from functions.farmers.context import FarmContext
from functions.fpo import handler as fpo
from functions.fpo.logic import FpoService
from tests.unit.fakes.assignments import Assignments
from tests.unit.functions.conftest import call, claims_for

BUSY_CODES = [
    "ProvisionedThroughputExceededException",
    "ThrottlingException",
    "RequestLimitExceeded",
    "InternalServerError",
    "ServiceUnavailable",
]
MANAGER = claims_for("fpo_manager", user="mgr", fpo="FPO-1")
ADMIN = claims_for("admin", user="adm", fpo=None)
FARMER = {
    "name": "Asha",
    "phone": "+919812345678",
    "village": "Rampur",
    "district": "Ludhiana",
    "state": "Punjab",
    "fpo_id": "FPO-1",
    "consent": {"given": True, "version": "v1", "at": "2025-06-01T10:00:00+05:30"},
}


def client_error(
    code: str, op: str = "GetItem", status: int = 400, reasons: list | None = None, message: str = "x"
) -> ClientError:
    response = {"Error": {"Code": code, "Message": message}, "ResponseMetadata": {"HTTPStatusCode": status}}
    if reasons is not None:
        response["CancellationReasons"] = reasons
    return ClientError(response, op)


CONNECTION_ERRORS = [
    EndpointConnectionError(endpoint_url="https://dynamodb"),
    ConnectTimeoutError(endpoint_url="x"),
    ReadTimeoutError(endpoint_url="x"),
    ConnectionClosedError(endpoint_url="x"),
]


# ---- the mapping itself --------------------------------------------------------------------------
@pytest.mark.parametrize("code", BUSY_CODES + ["TooManyRequestsException", "SlowDown", "InternalFailure"])
def test_each_busy_code_is_a_503(code):
    mapped = aws_unavailable(client_error(code))
    assert isinstance(mapped, DependencyError) and (mapped.status, mapped.code) == (503, "service_unavailable")
    assert code not in mapped.message  # the AWS code is logged, not shown


def test_any_aws_5xx_answer_is_a_503():
    assert aws_unavailable(client_error("SomethingNew", status=502)).status == 503


@pytest.mark.parametrize("exc", CONNECTION_ERRORS, ids=lambda e: type(e).__name__)
def test_connection_errors_are_503(exc):
    assert aws_unavailable(exc).status == 503


@pytest.mark.parametrize(
    "exc",
    [
        client_error("ValidationException"),
        client_error("ConditionalCheckFailedException"),
        client_error("ResourceNotFoundException"),
        NoCredentialsError(),
        ParamValidationError(report="bad"),
        ValueError("x"),
        RuntimeError("x"),
    ],
    ids=lambda e: type(e).__name__ + getattr(e, "operation_name", ""),
)
def test_our_own_bugs_are_not_disguised_as_503(exc):
    assert aws_unavailable(exc) is None


def test_a_transaction_cancelled_for_throttling_is_503_not_a_condition():
    throttled = client_error(
        "TransactionCanceledException", "TransactWriteItems", reasons=[{"Code": "None"}, {"Code": "ThrottlingError"}]
    )
    assert aws_unavailable(throttled).status == 503
    failed = client_error(
        "TransactionCanceledException", "TransactWriteItems", reasons=[{"Code": "ConditionalCheckFailed"}]
    )
    assert aws_unavailable(failed) is None


# ---- a fake table behind the real store ------------------------------------------------------------
class FakeTable:
    """The boto3 Table/client calls DynamoTableStore makes; ``fail`` maps an operation to what it raises."""

    def __init__(self, fail: dict[str, Exception] | None = None):
        self.fail = fail or {}
        self.items: dict[tuple[str, str], dict] = {}
        self.calls: list[str] = []
        self.meta = SimpleNamespace(client=self)
        self.unprocessed = False

    def _op(self, name: str) -> None:
        self.calls.append(name)
        if name in self.fail:
            raise self.fail[name]

    def get_item(self, Key, **_):
        self._op("GetItem")
        item = self.items.get((Key["pk"], Key["sk"]))
        return {"Item": item} if item else {}

    def query(self, **_):
        self._op("Query")
        return {"Items": []}

    def batch_get_item(self, RequestItems, **_):
        self._op("BatchGetItem")
        if self.unprocessed:
            return {"Responses": {}, "UnprocessedKeys": RequestItems}
        return {"Responses": {}, "UnprocessedKeys": {}}

    def transact_write_items(self, TransactItems, **_):
        self._op("TransactWriteItems")
        return {}


class FakeTableStore(DynamoTableStore):
    def __init__(self, table: FakeTable):
        super().__init__("farm")
        self.fake = table

    @property
    def _table(self):
        return self.fake


def with_fpo(table: FakeTable) -> FakeTable:
    item = FpoRecord(
        fpo_id="FPO-1", name="One", state="Punjab", created_by="a", created_at=utc_iso_seconds_offset()
    ).to_item()
    table.items[keys.fpo("FPO-1")] = item
    return table


@pytest.fixture
def wire(monkeypatch):
    revocations = InMemoryRevocationStore()
    for module in (farmers, fpo):
        monkeypatch.setattr(module, "_revocation", lambda: revocations)
        module.app.dependency_overrides[module.get_assignments] = Assignments().loader

    def use(table: FakeTable) -> FakeTable:
        store = FakeTableStore(table)
        farmers.app.dependency_overrides[farmers.get_context] = lambda: FarmContext(
            store=store, aadhaar_key=lambda: b"k"
        )
        fpo.app.dependency_overrides[fpo.get_service] = lambda: FpoService(store, utc_iso_seconds_offset)
        return table

    yield use
    farmers.app.dependency_overrides.clear()
    fpo.app.dependency_overrides.clear()


def assert_503(r) -> None:
    assert r.status == 503, r.body
    assert r.body["error"]["code"] == "service_unavailable" and r.body["error"]["request_id"]


@pytest.mark.parametrize(
    "exc",
    [client_error(c) for c in BUSY_CODES] + CONNECTION_ERRORS,
    ids=BUSY_CODES + [type(e).__name__ for e in CONNECTION_ERRORS],
)
def test_a_busy_read_is_503_on_the_farmers_and_fpo_routes(wire, exc):
    wire(FakeTable(fail={"GetItem": exc, "Query": exc}))
    assert_503(
        call(
            farmers, "GET", "/farmers/F-1", claims=MANAGER, resource="/farmers/{farmer_id}", params={"farmer_id": "F-1"}
        )
    )
    assert_503(call(farmers, "GET", "/farmers", claims=MANAGER))
    assert_503(call(fpo, "GET", "/fpos/FPO-1", claims=MANAGER, resource="/fpos/{fpo_id}", params={"fpo_id": "FPO-1"}))


@pytest.mark.parametrize(
    "exc",
    [client_error(c, "TransactWriteItems") for c in BUSY_CODES]
    + [
        client_error("TransactionCanceledException", "TransactWriteItems", reasons=[{"Code": "None"}, {"Code": reason}])
        for reason in ("ThrottlingError", "ProvisionedThroughputExceeded")
    ],
    ids=BUSY_CODES + ["cancelled-ThrottlingError", "cancelled-ProvisionedThroughputExceeded"],
)
def test_a_busy_write_is_503_not_a_conflict(wire, exc):
    table = wire(with_fpo(FakeTable(fail={"TransactWriteItems": exc})))
    assert_503(call(farmers, "POST", "/farmers", FARMER, claims=MANAGER))
    assert table.calls.count("TransactWriteItems") == 1  # not retried as a lost race


def test_a_failed_condition_is_still_a_write_conflict():
    exc = client_error(
        "TransactionCanceledException", "TransactWriteItems", reasons=[{"Code": "ConditionalCheckFailed"}]
    )
    store = FakeTableStore(FakeTable(fail={"TransactWriteItems": exc}))
    with pytest.raises(WriteConflict) as err:
        store.transact([Put({"pk": "a", "sk": "b"})])
    assert err.value.failed == [0]


def test_a_cancellation_for_a_validation_error_is_a_bug_not_a_race():
    exc = client_error("TransactionCanceledException", "TransactWriteItems", reasons=[{"Code": "ValidationError"}])
    store = FakeTableStore(FakeTable(fail={"TransactWriteItems": exc}))
    with pytest.raises(ClientError):
        store.transact([Put({"pk": "a", "sk": "b"})])


def test_keys_left_unprocessed_round_after_round_are_503_not_a_spin(monkeypatch):
    import time

    monkeypatch.setattr(time, "sleep", lambda s: None)
    table = FakeTable()
    table.unprocessed = True
    with pytest.raises(DependencyError):
        FakeTableStore(table).batch_get([("a", "b")])
    assert 1 < table.calls.count("BatchGetItem") <= 10


def test_a_throttled_revocation_check_is_503_before_routing(wire, monkeypatch):
    class Busy:
        def is_revoked(self, principal):
            raise client_error("ProvisionedThroughputExceededException")

    wire(with_fpo(FakeTable()))
    monkeypatch.setattr(farmers, "_revocation", lambda: Busy())
    assert_503(call(farmers, "GET", "/farmers", claims=MANAGER))


def test_an_unexpected_aws_error_is_still_a_500(wire):
    wire(FakeTable(fail={"GetItem": client_error("ValidationException")}))
    r = call(
        farmers, "GET", "/farmers/F-1", claims=MANAGER, resource="/farmers/{farmer_id}", params={"farmer_id": "F-1"}
    )
    assert r.status == 500 and r.body["error"]["code"] == "internal_error"


def test_the_ledger_stores_batch_reads_are_bounded_too(monkeypatch):
    import time

    from functions.ledger.dal import DynamoLedgerStore

    class Store(DynamoLedgerStore):
        _table = property(lambda self: table)

    monkeypatch.setattr(time, "sleep", lambda s: None)
    table = FakeTable()
    table.unprocessed = True
    for read in (lambda s: s.get_records(["r-1"]), lambda s: s.salts(["F-1"])):
        table.calls.clear()
        with pytest.raises(DependencyError):
            read(Store("ledger"))
        assert 1 < table.calls.count("BatchGetItem") <= 10


# ---- the store base: one mapping for every table store ---------------------------------------------
def test_the_store_base_raises_the_503_for_busy_aws_and_passes_anything_else():
    from agri_common.platform.aws import DynamoTable

    busy = client_error("ProvisionedThroughputExceededException")
    with pytest.raises(DependencyError) as err:
        DynamoTable._raise_if_busy(busy)
    assert err.value.status == 503 and err.value.__cause__ is busy
    assert DynamoTable._raise_if_busy(client_error("ValidationException")) is None


def test_the_revocation_store_writes_through_the_store_base(monkeypatch):
    """The revocation store is a DynamoTable: its writes reach the table the base builds."""
    from agri_common.platform import aws
    from agri_common.platform.revocation import DynamoRevocationStore

    puts = []
    fake = SimpleNamespace(put_item=lambda Item: puts.append(Item))
    monkeypatch.setattr(aws, "dynamodb_table", lambda name: fake if name == "revocations" else None)
    DynamoRevocationStore("revocations", clock=lambda: 1000).revoke_user_tokens("u-1", before=999)
    assert puts == [{"pk": "user#u-1", "expires_at": 1000 + 24 * 3600, "revoked_before": 999}]

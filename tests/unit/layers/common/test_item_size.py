"""The farm store refuses an item DynamoDB would refuse (400 KB) before writing it: 413
``item_too_large`` naming the limit, never a 500 from the write; DynamoDB's own refusal of an item
an Update grows past the limit answers the same."""

from __future__ import annotations

import boto3
import pytest
from moto import mock_aws
from pydantic import BaseModel

from agri_common.platform.errors import PayloadTooLargeError
from agri_common.platform.principal import Role
from agri_common.platform.resolver import PRIVATE, make_handler, make_resolver
from agri_common.platform.revocation import InMemoryRevocationStore
from agri_common.single_table import MAX_ITEM_BYTES, DynamoTableStore, Put, Update, item_size
from tests.unit.functions.conftest import call, claims_for
from tests.unit.layers.common.test_aws_unavailable import FakeTable, FakeTableStore, client_error


def padded(size: int, **attrs) -> dict:
    """An item of exactly ``size`` bytes (DynamoDB accounting): pk, sk, and a string ``blob``."""
    item = {"pk": "P#1", "sk": "META", **attrs, "blob": ""}
    item["blob"] = "x" * (size - item_size(item))
    assert item_size(item) == size
    return item


def test_item_size_follows_dynamodb_accounting():
    assert item_size({"pk": "FPO#1", "sk": "META"}) == 2 + 5 + 2 + 4
    assert item_size({"name": "आशा"}) == 4 + 9  # UTF-8 bytes, not characters
    assert item_size({"m": {"a": "b"}}) == 1 + 3 + (1 + 1 + 1)  # map: 3 + name + value + 1 per element
    assert item_size({"l": ["ab", "c"]}) == 1 + 3 + (2 + 1) + (1 + 1)
    assert item_size({"ok": True, "none": None}) == 2 + 1 + 4 + 1
    assert item_size({"n": 12345}) == 1 + 4  # (5 digits + 1) // 2 + 1


def test_a_put_over_the_limit_is_refused_before_any_write():
    table = FakeTable()
    with pytest.raises(PayloadTooLargeError) as err:
        FakeTableStore(table).transact([Put({"pk": "a", "sk": "b"}), Put(padded(MAX_ITEM_BYTES + 1))])
    assert err.value.status == 413 and err.value.code == "item_too_large"
    assert "409,600" in err.value.message and f"{MAX_ITEM_BYTES + 1:,}" in err.value.details[0]["issue"]
    assert table.calls == []  # nothing sent, so nothing of the transaction is written


def test_a_put_at_the_limit_is_sent():
    table = FakeTable()
    FakeTableStore(table).transact([Put(padded(MAX_ITEM_BYTES))])
    assert table.calls == ["TransactWriteItems"]


def test_an_update_whose_new_values_alone_exceed_the_limit_is_refused_before_any_write():
    table = FakeTable()
    with pytest.raises(PayloadTooLargeError):
        FakeTableStore(table).transact([Update(("a", "b"), set={"geometry.coordinates": "x" * MAX_ITEM_BYTES})])
    assert table.calls == []


@pytest.mark.parametrize(
    "message",
    ["Item size has exceeded the maximum allowed size", "Item size to update has exceeded the maximum allowed size"],
)
def test_dynamodbs_own_size_refusal_is_the_same_413(message):
    table = FakeTable(
        fail={"TransactWriteItems": client_error("ValidationException", "TransactWriteItems", message=message)}
    )
    with pytest.raises(PayloadTooLargeError) as err:
        FakeTableStore(table).transact([Update(("a", "b"), set={"note": "x" * 1000})])
    assert err.value.code == "item_too_large" and "409,600" in err.value.message


def test_other_validation_errors_stay_bugs():
    table = FakeTable(
        fail={
            "TransactWriteItems": client_error(
                "ValidationException", "TransactWriteItems", message="Invalid UpdateExpression"
            )
        }
    )
    with pytest.raises(Exception) as err:
        FakeTableStore(table).transact([Update(("a", "b"), set={"note": "x"})])
    assert not isinstance(err.value, PayloadTooLargeError)


# ---- over HTTP: the envelope, through any route that writes -------------------------------------
app = make_resolver()
target = FakeTable()


class Note(BaseModel):
    text: str


@app.post("/notes", security=PRIVATE)
def save(body: Note) -> dict:
    FakeTableStore(target).transact([Put({"pk": "NOTE#1", "sk": "META", "text": body.text})])
    return {"ok": True}


class Module:
    lambda_handler = staticmethod(make_handler(app, roles=[Role.ADMIN], revocation=lambda: InMemoryRevocationStore()))


def test_an_oversize_record_is_a_413_envelope_and_nothing_is_written():
    target.calls.clear()
    r = call(Module, "POST", "/notes", {"text": "x" * 420_000}, claims=claims_for("admin", fpo=None))
    assert r.status == 413 and r.body["error"]["code"] == "item_too_large"
    assert r.body["error"]["details"][0]["field"] == "body" and target.calls == []


# ---- against moto's DynamoDB -----------------------------------------------------------------------
@pytest.fixture
def moto_store(monkeypatch):
    from agri_common.platform.aws import reset_clients

    for key in ("AWS_ENDPOINT_URL", "AWS_PROFILE"):
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "ap-south-1")
    reset_clients()
    with mock_aws():
        boto3.client("dynamodb").create_table(
            TableName="farm",
            BillingMode="PAY_PER_REQUEST",
            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
            AttributeDefinitions=[
                {"AttributeName": "pk", "AttributeType": "S"},
                {"AttributeName": "sk", "AttributeType": "S"},
            ],
        )
        yield DynamoTableStore("farm")
    reset_clients()


def test_on_moto_an_update_that_grows_an_item_past_the_limit_is_413_and_changes_nothing(moto_store):
    moto_store.transact([Put(padded(300_000))])
    with pytest.raises(PayloadTooLargeError):
        moto_store.transact([Update(("P#1", "META"), set={"more": "y" * 150_000})])
    stored = moto_store.get(("P#1", "META"))
    assert "more" not in stored and len(stored["blob"]) == 300_000 - item_size({"pk": "P#1", "sk": "META", "blob": ""})


def test_on_moto_an_oversize_put_is_refused_and_not_stored(moto_store):
    with pytest.raises(PayloadTooLargeError):
        moto_store.transact([Put(padded(MAX_ITEM_BYTES + 1))])
    assert moto_store.get(("P#1", "META")) is None


def test_a_plot_too_large_to_store_is_refused_by_the_real_route_and_nothing_is_stored(monkeypatch):
    """POST /farmers/{id}/plots with a 20,000-vertex ring: an 810 KB body (under the 1 MB body limit)
    whose plot item would take ~770 KB. Without the store guard: 201 on the fake, 500 on DynamoDB.
    (A vertex limit of the farmers domain, if it lands, refuses it earlier with its own 422.)"""
    import math

    from tests.unit.functions.farmers.world import World

    world = World(monkeypatch)
    try:
        fid = world.register()["farmer_id"]
        n = 20_000
        ring = [
            [75.8 + 0.001 * math.cos(2 * math.pi * i / n), 30.9 + 0.001 * math.sin(2 * math.pi * i / n)]
            for i in range(n)
        ]
        before = dict(world.store.items)
        r = world.add_plot(fid, {"type": "Feature", "geometry": {"type": "Polygon", "coordinates": [ring + ring[:1]]}})
        assert (r.status, r.body["error"]["code"]) in ((413, "item_too_large"), (422, "validation_error")), r.body
        assert world.store.items == before
    finally:
        World.uninstall()

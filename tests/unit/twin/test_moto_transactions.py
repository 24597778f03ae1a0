"""The twin's TransactWriteItems (infra/local/moto_ext.py) must behave exactly like moto's own:
same results, same cancellation reasons, all-or-nothing. Each scenario runs against moto's original
implementation and against ours, and both must end in the same state with the same error."""

from __future__ import annotations

import boto3
import pytest
from botocore.exceptions import ClientError
from moto import mock_aws
from moto.dynamodb.models import DynamoDBBackend

from infra.local import moto_ext

ORIGINAL = moto_ext._moto_method(DynamoDBBackend, "transact_write_items")  # moto's, even once install() ran
T = "twin-tx"


@pytest.fixture(params=["moto", "twin"])
def ddb(request, monkeypatch):
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    impl = ORIGINAL if request.param == "moto" else moto_ext.transact_write_items
    monkeypatch.setattr(DynamoDBBackend, "transact_write_items", impl)
    with mock_aws():
        client = boto3.client("dynamodb", region_name="ap-south-1")
        client.create_table(
            TableName=T,
            BillingMode="PAY_PER_REQUEST",
            AttributeDefinitions=[
                {"AttributeName": "pk", "AttributeType": "S"},
                {"AttributeName": "sk", "AttributeType": "S"},
            ],
            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
        )
        client.create_table(
            TableName=T + "-h",
            BillingMode="PAY_PER_REQUEST",
            AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
            KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        )
        for i in range(3):
            client.put_item(TableName=T, Item={"pk": {"S": "P"}, "sk": {"S": f"{i}"}, "n": {"N": "1"}})
        client.put_item(TableName=T + "-h", Item={"id": {"S": "h0"}, "n": {"N": "1"}})
        yield client


def state(client) -> dict:
    out = {}
    for table in (T, T + "-h"):
        items = client.scan(TableName=table)["Items"]
        out[table] = sorted(sorted((k, str(v)) for k, v in i.items()) for i in items)
    return out


def put(table, **attrs):
    return {
        "Put": {
            "TableName": table,
            "Item": {k: ({"N": str(v)} if isinstance(v, int) else {"S": v}) for k, v in attrs.items()},
        }
    }


def update(key, amount, expect=None):
    op = {
        "TableName": T,
        "Key": {"pk": {"S": "P"}, "sk": {"S": key}},
        "UpdateExpression": "SET n = n + :a",
        "ExpressionAttributeValues": {":a": {"N": str(amount)}},
    }
    if expect is not None:
        op["ConditionExpression"] = "n = :e"
        op["ExpressionAttributeValues"][":e"] = {"N": str(expect)}
    return {"Update": op}


def test_a_successful_transaction_applies_every_operation(ddb):
    ddb.transact_write_items(
        TransactItems=[
            put(T, pk="P", sk="new", n=7),
            update("0", 5),
            {"Delete": {"TableName": T, "Key": {"pk": {"S": "P"}, "sk": {"S": "1"}}}},
            put(T + "-h", id="h1", n=2),
        ]
    )
    items = {i["sk"]["S"]: int(i["n"]["N"]) for i in ddb.scan(TableName=T)["Items"]}
    assert items == {"0": 6, "2": 1, "new": 7}
    assert {i["id"]["S"] for i in ddb.scan(TableName=T + "-h")["Items"]} == {"h0", "h1"}


def test_a_failed_condition_undoes_the_operations_before_and_after_it(ddb):
    before = state(ddb)
    with pytest.raises(ClientError) as caught:
        ddb.transact_write_items(
            TransactItems=[
                put(T, pk="P", sk="new", n=7),
                update("0", 5),
                update("2", 1, expect=99),  # fails: n is 1
                {"Delete": {"TableName": T, "Key": {"pk": {"S": "P"}, "sk": {"S": "1"}}}},
                put(T + "-h", id="h0", n=9),
                put(T + "-h", id="h2", n=3),
            ]
        )
    assert caught.value.response["Error"]["Code"] == "TransactionCanceledException"
    codes = [r["Code"] for r in caught.value.response["CancellationReasons"]]
    assert codes == ["None", "None", "ConditionalCheckFailed", "None", "None", "None"]
    assert state(ddb) == before


def test_two_operations_on_one_item_are_refused_and_nothing_changes(ddb):
    before = state(ddb)
    with pytest.raises(ClientError) as caught:
        ddb.transact_write_items(TransactItems=[update("0", 1), put(T, pk="P", sk="x", n=1), update("0", 2)])
    assert caught.value.response["Error"]["Code"] == "ValidationException"
    assert state(ddb) == before


def test_a_condition_check_alone_writes_nothing(ddb):
    before = state(ddb)
    ddb.transact_write_items(
        TransactItems=[
            {
                "ConditionCheck": {
                    "TableName": T,
                    "Key": {"pk": {"S": "P"}, "sk": {"S": "0"}},
                    "ConditionExpression": "attribute_exists(pk)",
                }
            },
            put(T, pk="P", sk="y", n=4),
        ]
    )
    assert len(state(ddb)[T]) == len(before[T]) + 1
    with pytest.raises(ClientError):
        ddb.transact_write_items(
            TransactItems=[
                put(T, pk="P", sk="z", n=4),
                {
                    "ConditionCheck": {
                        "TableName": T,
                        "Key": {"pk": {"S": "P"}, "sk": {"S": "nope"}},
                        "ConditionExpression": "attribute_exists(pk)",
                    }
                },
            ]
        )
    assert "z" not in {i["sk"]["S"] for i in ddb.scan(TableName=T)["Items"]}


def test_install_replaces_moto_and_is_idempotent(monkeypatch):
    monkeypatch.setattr(DynamoDBBackend, "transact_write_items", ORIGINAL)
    monkeypatch.setattr(DynamoDBBackend, "_agri_fast_transactions", False, raising=False)
    moto_ext.install()
    moto_ext.install()
    assert DynamoDBBackend.transact_write_items is moto_ext.transact_write_items

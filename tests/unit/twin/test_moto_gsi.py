"""The twin's Query (infra/local/moto_ext.py) must answer exactly like moto's own, which walks the
whole table: each scenario runs against moto's original query and against ours on the same data,
and both transcripts (items, order, counts, LastEvaluatedKey, errors) must be equal, also after
every kind of write (the index maps must never serve stale items)."""

from __future__ import annotations

import boto3
import pytest
from botocore.exceptions import ClientError
from moto import mock_aws
from moto.dynamodb.models import DynamoDBBackend
from moto.dynamodb.models.table import Table

from infra.local import moto_ext

T = "twin-gsi"
ITEMS = 80
MOTO_PATCHED = ("query", "all_items", "put_item", "delete_item")


def s(v):
    return {"S": v}


def n(v):
    return {"N": str(v)}


def seed_item(i: int) -> dict:
    item = {"pk": s(f"P#{i % 10}"), "sk": s(f"S#{i:03d}"), "n": n(i % 17), "body": s("x" * (i % 5))}
    if i % 11:
        item["gpk"] = s("G#" + "abc"[i % 3])
    if i % 9:
        item["gsk"] = s(f"K#{(i * 7) % 13:02d}")  # repeats: ties are ordered by the table's keys
    if i % 5 == 0:
        item["sp"] = s("yes" if i % 10 else "also")
    return item


def make_table(client) -> None:
    client.create_table(
        TableName=T,
        BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=[
            {"AttributeName": a, "AttributeType": t}
            for a, t in (("pk", "S"), ("sk", "S"), ("gpk", "S"), ("gsk", "S"), ("sp", "S"), ("n", "N"))
        ],
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
        GlobalSecondaryIndexes=[
            {
                "IndexName": "gsi1",
                "Projection": {"ProjectionType": "ALL"},
                "KeySchema": [
                    {"AttributeName": "gpk", "KeyType": "HASH"},
                    {"AttributeName": "gsk", "KeyType": "RANGE"},
                ],
            },
            {
                "IndexName": "sparse",
                "Projection": {"ProjectionType": "ALL"},
                "KeySchema": [{"AttributeName": "sp", "KeyType": "HASH"}],
            },
            {
                "IndexName": "bynum",
                "Projection": {"ProjectionType": "KEYS_ONLY"},
                "KeySchema": [{"AttributeName": "gpk", "KeyType": "HASH"}, {"AttributeName": "n", "KeyType": "RANGE"}],
            },
        ],
    )
    for i in range(ITEMS):
        client.put_item(TableName=T, Item=seed_item(i))


def use(monkeypatch, mode: str) -> None:
    """moto: moto's own methods (even if another test installed ours); twin: our replacements."""
    if mode == "moto":
        for name in MOTO_PATCHED:
            monkeypatch.setattr(Table, name, moto_ext._moto_method(Table, name))
        monkeypatch.setattr(DynamoDBBackend, "update_item", moto_ext._moto_method(DynamoDBBackend, "update_item"))
    else:
        for cls, name, replacement in moto_ext.index_query_patches():
            monkeypatch.setattr(cls, name, replacement)


def transcript(monkeypatch, mode: str, scenario) -> list:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    with monkeypatch.context() as m:
        use(m, mode)
        with mock_aws():
            client = boto3.client("dynamodb", region_name="ap-south-1")
            make_table(client)
            return scenario(client)


def same_as_moto(monkeypatch, scenario) -> list:
    ours = transcript(monkeypatch, "twin", scenario)
    assert ours == transcript(monkeypatch, "moto", scenario)
    return ours


def answer(client, **params) -> tuple:
    try:
        r = client.query(TableName=T, **params)
    except ClientError as exc:
        return ("error", exc.response["Error"]["Code"], exc.response["Error"]["Message"])
    return (r.get("Items"), r["Count"], r["ScannedCount"], r.get("LastEvaluatedKey"))


def pages(client, **params) -> list:
    """Every page of a paginated query, each with its LastEvaluatedKey."""
    out, start = [], None
    while True:
        r = client.query(TableName=T, **params, **({"ExclusiveStartKey": start} if start else {}))
        out.append((r["Items"], r["Count"], r["ScannedCount"], r.get("LastEvaluatedKey")))
        if not (start := r.get("LastEvaluatedKey")):
            return out


def gsi1(value: str, cond: str = "", **values) -> dict:
    return {
        "IndexName": "gsi1",
        "KeyConditionExpression": "gpk = :h" + (f" AND {cond}" if cond else ""),
        "ExpressionAttributeValues": {":h": s(value), **values},
    }


def reads(client) -> list:
    """The queries asked again after every write."""
    return [answer(client, **gsi1(h)) for h in ("G#a", "G#b", "G#c", "G#none")] + [
        answer(
            client, IndexName="sparse", KeyConditionExpression="sp = :v", ExpressionAttributeValues={":v": s("yes")}
        ),
        answer(client, KeyConditionExpression="pk = :p", ExpressionAttributeValues={":p": s("P#3")}),
    ]


def test_hash_values_and_range_conditions(monkeypatch):
    def scenario(client):
        out = [answer(client, **gsi1(h)) for h in ("G#a", "G#b", "G#c", "G#none")]
        out += [
            answer(client, **gsi1("G#a", "begins_with(gsk, :p)", **{":p": s("K#0")})),
            answer(client, **gsi1("G#b", "gsk BETWEEN :lo AND :hi", **{":lo": s("K#03"), ":hi": s("K#08")})),
            answer(client, **gsi1("G#c", "gsk < :v", **{":v": s("K#05")})),
            answer(client, **gsi1("G#a", "gsk >= :v", **{":v": s("K#07")})),
            answer(
                client,
                IndexName="bynum",
                KeyConditionExpression="gpk = :h AND n > :v",
                ExpressionAttributeValues={":h": s("G#b"), ":v": n(9)},
            ),
        ]
        return out

    out = same_as_moto(monkeypatch, scenario)
    everything = out[:3]
    indexed = {i for i in range(ITEMS) if i % 11 and i % 9}  # gsi1 needs both key attributes
    assert sum(count for _, count, _, _ in everything) == len(indexed)
    assert all(item["gpk"] == s("G#a") and item["gsk"]["S"] >= "K#07" for item in out[7][0])
    assert out[3][1] == 0 and out[8][0] and all(set(i) == {"pk", "sk", "gpk", "n"} for i in out[8][0])


def test_descending_order_limit_and_pagination(monkeypatch):
    def scenario(client):
        return [
            pages(client, Limit=4, **gsi1("G#a")),
            pages(client, Limit=3, ScanIndexForward=False, **gsi1("G#b", "gsk > :v", **{":v": s("K#02")})),
            pages(
                client,
                Limit=5,
                ScanIndexForward=False,
                IndexName="bynum",
                KeyConditionExpression="gpk = :h",
                ExpressionAttributeValues={":h": s("G#c")},
            ),
            pages(
                client,
                Limit=2,
                KeyConditionExpression="pk = :p AND begins_with(sk, :s)",
                ExpressionAttributeValues={":p": s("P#4"), ":s": s("S#0")},
            ),
            answer(client, ScanIndexForward=False, **gsi1("G#a")),
        ]

    out = same_as_moto(monkeypatch, scenario)
    ascending = [i for page in out[0] for i in page[0]]
    assert len(out[0]) > 2 and ascending == answer_items_sorted(ascending)
    assert out[4][0] == ascending[::-1]


def answer_items_sorted(items: list) -> list:
    return sorted(items, key=lambda i: (i["gsk"]["S"], i["pk"]["S"], i["sk"]["S"]))


def test_filters_projections_count_and_sparse_indexes(monkeypatch):
    def scenario(client):
        return [
            answer(client, FilterExpression="n > :f", **gsi1("G#a", **{":f": n(8)})),
            pages(client, Limit=4, FilterExpression="n > :f", **gsi1("G#b", **{":f": n(8)})),
            answer(client, Select="COUNT", **gsi1("G#c")),
            answer(client, ProjectionExpression="sk, n", **gsi1("G#c")),
            answer(
                client, IndexName="sparse", KeyConditionExpression="sp = :v", ExpressionAttributeValues={":v": s("yes")}
            ),
            answer(
                client,
                IndexName="sparse",
                KeyConditionExpression="sp = :v",
                ScanIndexForward=False,
                ExpressionAttributeValues={":v": s("also")},
            ),
            answer(
                client, IndexName="nope", KeyConditionExpression="gpk = :h", ExpressionAttributeValues={":h": s("G#a")}
            ),
        ]

    out = same_as_moto(monkeypatch, scenario)
    assert out[0][1] < out[0][2]  # the filter dropped some of the scanned items
    assert out[2][0] is None and out[2][1] > 0
    assert {i["sk"]["S"] for i in out[4][0]} == {f"S#{i:03d}" for i in range(ITEMS) if i % 10 == 5}
    assert out[6][0] == "error"


def test_every_write_is_seen_by_the_next_query(monkeypatch):
    def key(i):
        return {"pk": s(f"P#{i % 10}"), "sk": s(f"S#{i:03d}")}

    def scenario(client):
        out = [reads(client)]
        client.put_item(TableName=T, Item={**key(500), "gpk": s("G#a"), "gsk": s("K#00"), "n": n(1)})
        out.append(reads(client))
        client.update_item(
            TableName=T,
            Key=key(1),
            UpdateExpression="SET gpk = :b, gsk = :k",  # G#b -> G#a
            ExpressionAttributeValues={":b": s("G#a"), ":k": s("K#99")},
        )
        client.update_item(TableName=T, Key=key(13), UpdateExpression="REMOVE gpk")  # leaves gsi1
        client.update_item(
            TableName=T,
            Key=key(3),
            UpdateExpression="SET sp = :y",  # joins the sparse index
            ExpressionAttributeValues={":y": s("yes")},
        )
        client.update_item(
            TableName=T,
            Key=key(600),
            UpdateExpression="SET gpk = :c, gsk = :k",  # upsert
            ExpressionAttributeValues={":c": s("G#c"), ":k": s("K#01")},
        )
        out.append(reads(client))
        client.delete_item(TableName=T, Key=key(2))
        client.delete_item(TableName=T, Key=key(23))
        out.append(reads(client))
        client.transact_write_items(
            TransactItems=[
                {"Put": {"TableName": T, "Item": {**key(700), "gpk": s("G#b"), "gsk": s("K#05"), "sp": s("yes")}}},
                {"Delete": {"TableName": T, "Key": key(4)}},
                {
                    "Update": {
                        "TableName": T,
                        "Key": key(7),
                        "UpdateExpression": "SET gpk = :a",
                        "ExpressionAttributeValues": {":a": s("G#c")},
                    }
                },
            ]
        )
        out.append(reads(client))
        with pytest.raises(ClientError):  # cancelled: nothing of it may show
            client.transact_write_items(
                TransactItems=[
                    {
                        "Update": {
                            "TableName": T,
                            "Key": key(8),
                            "UpdateExpression": "SET gpk = :a",
                            "ExpressionAttributeValues": {":a": s("G#a")},
                        }
                    },
                    {"Delete": {"TableName": T, "Key": key(10)}},
                    {
                        "ConditionCheck": {
                            "TableName": T,
                            "Key": key(999),
                            "ConditionExpression": "attribute_exists(pk)",
                        }
                    },
                ]
            )
        out.append(reads(client))
        client.batch_write_item(
            RequestItems={
                T: [
                    {"PutRequest": {"Item": {**key(800), "gpk": s("G#a"), "gsk": s("K#02")}}},
                    {"DeleteRequest": {"Key": key(5)}},
                    {"PutRequest": {"Item": {**key(33), "gpk": s("G#b"), "gsk": s("K#03")}}},
                ]
            }
        )  # overwrites, moves
        out.append(reads(client))
        return out

    out = same_as_moto(monkeypatch, scenario)
    changed = [before != after for before, after in zip(out, out[1:])]
    assert changed == [True, True, True, True, False, True]  # the cancelled transaction changed nothing


def test_queries_do_not_walk_the_table_until_it_changes(monkeypatch):
    """The only full walk is the one building an index map; a table query never walks."""
    walks = []
    moto_all_items = moto_ext._moto_method(Table, "all_items")

    def counting_all_items(self):
        walks.append(self.name)
        return moto_all_items(self)

    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setattr(Table, "all_items", counting_all_items)  # captured by the patches below as moto's
    for cls, name, replacement in moto_ext.index_query_patches():
        monkeypatch.setattr(cls, name, replacement)
    with mock_aws():
        client = boto3.client("dynamodb", region_name="ap-south-1")
        make_table(client)
        for h in ("G#a", "G#b", "G#c", "G#a"):
            answer(client, **gsi1(h))
            answer(client, KeyConditionExpression="pk = :p", ExpressionAttributeValues={":p": s("P#1")})
        assert walks == [T]
        answer(client, IndexName="sparse", KeyConditionExpression="sp = :v", ExpressionAttributeValues={":v": s("yes")})
        assert walks == [T, T]  # another hash-key attribute, another map
        client.update_item(
            TableName=T,
            Key={"pk": s("P#1"), "sk": s("S#001")},
            UpdateExpression="SET n = :n",
            ExpressionAttributeValues={":n": n(3)},
        )
        answer(client, **gsi1("G#a"))
        answer(client, **gsi1("G#b"))
        assert walks == [T, T, T]


def test_install_replaces_moto_and_is_idempotent(monkeypatch):
    for name in MOTO_PATCHED:
        monkeypatch.setattr(Table, name, moto_ext._moto_method(Table, name))
    monkeypatch.setattr(DynamoDBBackend, "update_item", moto_ext._moto_method(DynamoDBBackend, "update_item"))
    monkeypatch.setattr(Table, "_agri_index_queries", False, raising=False)
    moto_query = Table.query
    moto_ext._install_index_queries()
    ours = Table.query
    moto_ext._install_index_queries()
    assert Table.query is ours and ours is not moto_query and ours._agri_moto is moto_query
    assert moto_ext._moto_method(Table, "put_item") is Table.put_item._agri_moto

"""Benchmark of the twin's Query on moto (not a test; prints figures).

    .venv/bin/python bench/moto_index_bench.py [--items 50000] [--queries 200] [--per-key 20]

moto 5.2.5 answers every Query by walking and sorting the whole table; infra/local/moto_ext.py
hands moto's own query code only the queried partition (table) or the bucket of a per-table
index map (GSI), rebuilt after the table changes. On one table of ``--items`` items (``--per-key``
items per GSI hash value, like a farmer's plots) this times, on stock moto and on the twin's:

1. ``--queries`` GSI queries (random hash values, one page each);
2. ``--queries`` table queries (random partitions);
3. the twin's worst case: a write before every GSI query, so every query rebuilds the map.

Seeding goes straight to moto's backend (no HTTP); queries go through boto3 on moto in-process.
moto is an emulator: the figures compare designs, not DynamoDB's.
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import time
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
T = "bench-index"


@contextmanager
def implementation(accelerated: bool):
    """Swap moto's methods for the twin's (or back) for the duration of the block."""
    from moto.dynamodb.models import DynamoDBBackend
    from moto.dynamodb.models.table import Table

    from infra.local import moto_ext

    names = [(Table, n) for n in ("query", "all_items", "put_item", "delete_item")] + [(DynamoDBBackend, "update_item")]
    saved = {(cls, n): cls.__dict__[n] for cls, n in names}
    patches = (
        moto_ext.index_query_patches() if accelerated else [(cls, n, moto_ext._moto_method(cls, n)) for cls, n in names]
    )
    for cls, n, f in patches:
        setattr(cls, n, f)
    try:
        yield
    finally:
        for (cls, n), f in saved.items():
            setattr(cls, n, f)


def seed(client, items: int, per_key: int) -> None:
    from moto.core import DEFAULT_ACCOUNT_ID
    from moto.dynamodb.models import dynamodb_backends

    client.create_table(
        TableName=T,
        BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=[{"AttributeName": a, "AttributeType": "S"} for a in ("pk", "sk", "gpk", "gsk")],
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
        GlobalSecondaryIndexes=[
            {
                "IndexName": "gsi1",
                "Projection": {"ProjectionType": "ALL"},
                "KeySchema": [
                    {"AttributeName": "gpk", "KeyType": "HASH"},
                    {"AttributeName": "gsk", "KeyType": "RANGE"},
                ],
            }
        ],
    )
    table = dynamodb_backends[DEFAULT_ACCOUNT_ID]["ap-south-1"].get_table(T)
    for i in range(items):
        table.put_item(
            {
                "pk": {"S": f"P#{i // 3:07d}"},
                "sk": {"S": f"S#{i % 3}"},
                "gpk": {"S": f"F#{i // per_key:07d}"},
                "gsk": {"S": f"P#{i:07d}"},
                "area": {"N": str(i % 97)},
            }
        )


def timed(run, queries: int) -> float:
    t = time.perf_counter()
    for q in range(queries):
        run(q)
    return time.perf_counter() - t


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--items", type=int, default=50_000)
    p.add_argument("--queries", type=int, default=200)
    p.add_argument("--per-key", type=int, default=20)
    a = p.parse_args()
    os.environ.update(
        {"AWS_ACCESS_KEY_ID": "bench", "AWS_SECRET_ACCESS_KEY": "bench", "AWS_DEFAULT_REGION": "ap-south-1"}
    )
    os.environ.pop("AWS_ENDPOINT_URL", None)
    import boto3
    from moto import mock_aws

    with mock_aws():
        client = boto3.client("dynamodb", region_name="ap-south-1")
        t = time.perf_counter()
        seed(client, a.items, a.per_key)
        print(f"seeded {a.items:,} items ({a.per_key} per GSI hash value) in {time.perf_counter() - t:.1f} s")
        keys, partitions = a.items // a.per_key, a.items // 3

        def gsi(q: int) -> None:
            h = random.Random(q).randrange(keys)
            r = client.query(
                TableName=T,
                IndexName="gsi1",
                KeyConditionExpression="gpk = :h",
                ExpressionAttributeValues={":h": {"S": f"F#{h:07d}"}},
            )
            assert r["Count"] == min(a.per_key, a.items - h * a.per_key), r["Count"]

        def table(q: int) -> None:
            r = client.query(
                TableName=T,
                KeyConditionExpression="pk = :p",
                ExpressionAttributeValues={":p": {"S": f"P#{random.Random(q).randrange(partitions):07d}"}},
            )
            assert r["Count"] >= 1

        def write_then_gsi(q: int) -> None:
            client.put_item(
                TableName=T,
                Item={"pk": {"S": f"W#{q}"}, "sk": {"S": "S#0"}, "gpk": {"S": "F#write"}, "gsk": {"S": f"{q:07d}"}},
            )
            gsi(q)

        print(f"{'':<34}{'stock moto':>12}{'twin':>12}{'ratio':>9}")
        for label, run in (
            (f"{a.queries} GSI queries", gsi),
            (f"{a.queries} table queries", table),
            (f"{a.queries} x (put + GSI query)", write_then_gsi),
        ):
            with implementation(False):
                stock = timed(run, a.queries)
            with implementation(True):
                twin = timed(run, a.queries)
            print(f"{label:<34}{stock:>10.2f} s{twin:>10.2f} s{stock / twin:>8.1f}x", flush=True)


if __name__ == "__main__":
    main()

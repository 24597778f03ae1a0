"""Benchmark of the ledger (not a test; prints figures).

    .venv/bin/python bench/ledger_bench.py [--records 200] [--logic-records 5000] [--proofs 2000]

1. Appends per second: the writer issuing one run (one record per farmer) into the in-memory store
   of the unit tests (the writer's own cost: hashing, chaining, splitting), then into the ledger
   table on moto in-process (same keys and indexes as the stack's LedgerTable) with the writer's
   chunked transactions (appending.APPEND_CHUNK records each) and, as the naive baseline, one record
   per transaction; both on the twin's moto (``infra/local/moto_ext``: transactions with an
   item-level undo log) and the chunked one on stock moto 5.2.5 (which deep-copies the table once
   per item of every transaction). moto is an emulator: the figures compare designs, not DynamoDB's.
2. Merkle proofs for batches of 1,000 and 100,000 records: tree build time, proof length (steps
   and bytes as served: 32-byte hashes), average verification time per proof (``--proofs`` proofs).
3. Gas on the in-process EVM (py-evm via eth-tester, paris rules): registry deployment, one anchor
   transaction, gas per credit for a batch, and the naive baseline of one anchor per record.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import random
import sys
import time
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
for p in (ROOT, ROOT / "layers" / "common" / "python", ROOT / "layers" / "chain" / "python"):
    sys.path.insert(0, str(p))


def create_ledger_table(name: str) -> None:
    """The ledger table as the template defines it (keys and indexes), on moto."""
    import boto3

    from infra.storage import LEDGER_INDEXES

    attrs = {"pk", "sk", "g_seq", *(a for _, a in LEDGER_INDEXES)}
    boto3.client("dynamodb").create_table(
        TableName=name,
        BillingMode="PAY_PER_REQUEST",
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
        AttributeDefinitions=[{"AttributeName": a, "AttributeType": "S"} for a in sorted(attrs)],
        GlobalSecondaryIndexes=[
            {
                "IndexName": n,
                "Projection": {"ProjectionType": "ALL"},
                "KeySchema": [{"AttributeName": a, "KeyType": "HASH"}, {"AttributeName": "g_seq", "KeyType": "RANGE"}],
            }
            for n, a in LEDGER_INDEXES
        ],
    )


def _run(n: int, run_id: str):
    from functions.ledger import models as m

    return m.ApprovedRun(
        project_id="BENCH",
        run_id=run_id,
        vintage=2025,
        methodology_profile="awd-rice-v1",
        gwp="AR5",
        approved_by="bench",
        approved_at="2026-01-01T00:00:00Z",
        creditable_net_t=Decimal(n * 3),
        farmers=[{"farmer_id": f"F{i}", "owner_user_id": f"u{i}", "fpo_id": "FPO-1", "net_t": "3"} for i in range(n)],
    )


def bench_appends(records: int, logic_records: int) -> None:
    os.environ.update(AWS_ACCESS_KEY_ID="bench", AWS_SECRET_ACCESS_KEY="bench", AWS_DEFAULT_REGION="ap-south-1")
    os.environ.pop("AWS_ENDPOINT_URL", None)
    from moto import mock_aws

    from functions.ledger import appending
    from functions.ledger.dal import DynamoLedgerStore
    from functions.ledger.writer import LedgerWriter
    from tests.unit.functions.ledger.fakes import FakeLedgerStore

    class NoArtifacts:
        def put(self, key, data): ...
        def get(self, key): ...

    def issue(store, n, run_id) -> float:
        writer = LedgerWriter(store, NoArtifacts(), lambda: None, now=lambda: "2026-01-01T00:00:00Z")
        start = time.perf_counter()
        created = writer.issuer.issue(_run(n, run_id)).created
        return created / (time.perf_counter() - start)

    print("1. appends (one issuance run; salts, run claim, hashing and chaining included)")
    rate = issue(FakeLedgerStore(), logic_records, "RL")
    print(f"   writer logic alone (in-memory store, {logic_records} records): {rate:9.1f} records/s")
    from moto.dynamodb.models import DynamoDBBackend

    from infra.local import moto_ext

    stock = DynamoDBBackend.transact_write_items
    results = {}
    for label, chunk, impl in (
        ("chunked, twin moto", appending.APPEND_CHUNK, moto_ext.transact_write_items),
        ("naive, twin moto", 1, moto_ext.transact_write_items),
        ("chunked, stock moto", appending.APPEND_CHUNK, stock),
    ):
        appending.APPEND_CHUNK, saved = chunk, appending.APPEND_CHUNK
        DynamoDBBackend.transact_write_items = impl
        try:
            with mock_aws():
                create_ledger_table("bench-ledger")
                results[label] = issue(DynamoLedgerStore("bench-ledger"), records, f"R{chunk}")
        finally:
            appending.APPEND_CHUNK = saved
            DynamoDBBackend.transact_write_items = stock
        print(
            f"   moto in-process, {records} records, {chunk:>2} record(s) per transaction ({label}): "
            f"{results[label]:7.1f} records/s"
        )
    print(
        f"   chunked / naive on the twin's moto: {results['chunked, twin moto'] / results['naive, twin moto']:.1f}x; "
        f"twin moto / stock moto (chunked): {results['chunked, twin moto'] / results['chunked, stock moto']:.0f}x "
        "(stock moto deep-copies the table per transaction item, so its figure falls as the table grows)"
    )


def bench_proofs(proofs: int) -> None:
    from agri_common.ledger_crypto import merkle_proof, merkle_root, root_from_proof

    print("2. Merkle proofs (leaf = sha256(0x00||h), node = sha256(0x01||l||r), odd node promoted)")
    for n in (1_000, 100_000):
        hashes = [hashlib.sha256(str(i).encode()).hexdigest() for i in range(n)]
        start = time.perf_counter()
        root = merkle_root(hashes)
        build = time.perf_counter() - start
        rng = random.Random(7)
        picks = [rng.randrange(n) for _ in range(min(proofs, 200))]
        start = time.perf_counter()
        paths = [merkle_proof(hashes, i) for i in picks]
        make = (time.perf_counter() - start) / len(picks)
        start = time.perf_counter()
        for _ in range(max(1, proofs // len(picks))):
            for i, path in zip(picks, paths):
                assert root_from_proof(hashes[i], path) == root
        verify = (time.perf_counter() - start) / (max(1, proofs // len(picks)) * len(picks))
        steps = max(len(p) for p in paths)
        print(
            f"   {n:>7} records: root in {build * 1000:8.1f} ms; proof {steps} steps = {steps * 32} bytes of hashes "
            f"(JSON as served: ~{len(str(paths[0]))} chars); build one proof {make * 1000:.1f} ms; "
            f"verify {verify * 1e6:.1f} us"
        )


def bench_gas() -> None:
    from web3 import Web3

    from agri_chain import _in_process_client, reset_in_process_chain
    from agri_common.ledger_crypto import batch_key, merkle_root

    reset_in_process_chain()
    client = _in_process_client()
    w3: Web3 = client.w3
    deploy = w3.eth.get_transaction_receipt(w3.eth.get_block(1)["transactions"][0])["gasUsed"]
    print("3. gas on the in-process EVM (paris)")
    print(f"   registry deployment: {deploy} gas")
    credits_per_record = 3
    gas_of = {}
    for records in (1, 1_000, 100_000):
        root = merkle_root([hashlib.sha256(str(i).encode()).hexdigest() for i in range(records)])
        tx = client.send_anchor(batch_key(f"bench-{records}"), root, records)
        gas = gas_of[records] = client.receipt(tx).gas_used
        credits = records * credits_per_record
        print(
            f"   one anchor for a batch of {records:>6} records ({credits} credits): {gas} gas "
            f"= {gas / records:10.2f} gas/record, {gas / credits:9.2f} gas/credit"
        )
    naive = client.receipt(client.send_anchor(batch_key("naive-1"), "11" * 32, 1)).gas_used
    print(
        f"   naive baseline, one anchor per record: {naive} gas/record; one anchor per batch uses "
        f"{naive * 1000 / gas_of[1_000]:.0f}x less gas for 1,000 records, {naive * 100_000 / gas_of[100_000]:.0f}x "
        "for 100,000 (the writer batches at most 10,000 records)"
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--records", type=int, default=1000, help="records appended on moto")
    parser.add_argument("--logic-records", type=int, default=5_000, help="records appended to the in-memory store")
    parser.add_argument("--proofs", type=int, default=2000)
    args = parser.parse_args()
    bench_appends(args.records, args.logic_records)
    bench_proofs(args.proofs)
    bench_gas()


if __name__ == "__main__":
    main()

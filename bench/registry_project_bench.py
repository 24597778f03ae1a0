"""Benchmark of the public registry's project read (not a test; prints figures).

    .venv/bin/python bench/registry_project_bench.py [--records 20000] [--moto-records 2000] [--repeat 5]

One project of ``--records`` records (issuances, transfers, retirements, cancellations over two
vintages, sealed in one chain) beside another project's (one seq in ten), in anchored batches of
``--batch`` seqs, the last ``--waiting`` seqs waiting for anchoring. The records are written
straight to the store, as records written before the summary existed, so the first reads are the
registry's fallback: the naive walk of every record (the read before this change did the same).
Then the backfill recounts the project once, and the same read answers from the summary.
``GET /registry/projects/{id}`` (RegistryReader.project, default page of 20 anchors) is timed both
ways (median of ``--walk-repeat`` / ``--repeat`` reads), with the ledger store calls it makes, the
items they read (DynamoDB bills a read by the items it reads) and its peak Python memory
(tracemalloc, one more read), and the ratio walk / summary in the same run.

Two stores:

1. ``memory``: the unit tests' fake ledger store with sorted indexes, so a Query costs what it
   returns as on DynamoDB, and records kept as the table's items (each read parses its body);
2. ``moto``: the real DynamoLedgerStore on the twin's moto in-process (``--moto-records``, 0 to
   skip). moto answers every index Query by sorting the queried partition (the project's, here):
   each of the summary's one-item lookups costs moto O(records) and a walk O(records^2 / 200), so
   moto runs a smaller project; its items read are DynamoDB's, its times are an emulator's.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
import tracemalloc
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
for p in (ROOT, ROOT / "layers" / "common" / "python", ROOT / "layers" / "chain" / "python"):
    sys.path.insert(0, str(p))

TABLE = "bench-registry"
PROJECT = "BENCH"


def _table() -> None:
    from bench.ledger_bench import create_ledger_table  # ROOT is on sys.path: one spelling of the table

    create_ledger_table(TABLE)


def _body(seq: int, project: str) -> dict[str, Any]:
    kind_of = "cancellation" if seq % 100 == 5 else {1: "transfer", 2: "retirement"}.get(seq % 20, "issuance")
    vintage = 2025 if seq % 3 else 2026
    body: dict[str, Any] = {
        "scheme": "bench",
        "kind": kind_of,
        "record_id": f"{project}:{seq}",
        "project_id": project,
        "vintage": vintage,
        "series": f"AGM-{project}-{vintage}-R{seq % 7}",
        "quantity": 1 + seq % 5,
        "farmer_ref": f"{seq % 997:064x}",
        "recorded_at": "2026-01-01T00:00:00Z",
    }
    if kind_of == "issuance":
        body["methodology_profile"] = "awd-rice-v1" if seq % 2 else "dsr-v2"
    return body


def ledger(records: int, batch: int, waiting: int) -> tuple[list[dict[str, Any]], list[Any], int, str]:
    """The ledger table's record items (the project's ``records`` and one in ten of another project's,
    chained), the anchored batches of ``batch`` seqs but for the last ``waiting`` seqs, the head seq
    and hash."""
    from agri_common.ledger_crypto import GENESIS_HASH, seal
    from functions.ledger import items
    from functions.ledger import models as m

    out: list[dict[str, Any]] = []
    prev, seq, ours = GENESIS_HASH, 0, 0
    while ours < records:
        seq += 1
        project = "OTHER" if seq % 10 == 0 else PROJECT
        ours += project == PROJECT
        sealed = seal({**_body(seq, project), "seq": seq, "prev_hash": prev})
        prev = sealed["record_hash"]
        out.append(items.record_item(m.StoredRecord(body=sealed, owner_user_id="u", fpo_id="FPO-1")))
    batches = []
    anchored_to = seq - waiting
    for start in range(1, anchored_to + 1, batch):
        end = min(anchored_to, start + batch - 1)
        batches.append(
            m.Batch(
                batch_id=f"{start:012d}-{end:012d}",
                from_seq=start,
                to_seq=end,
                status="anchored",
                root="ab" * 32,
                tx_hash="0x" + "cd" * 32,
                block_number=100 + start,
                chain_id=1337,
                contract_address="0x" + "00" * 19 + "aa",
            )
        )
    return out, batches, seq, prev


def seed_moto(records: list[dict[str, Any]], batches: list[Any], head: int, head_hash: str) -> Any:
    from agri_common.platform.aws import dynamodb_table
    from functions.ledger import items
    from functions.ledger.dal import DynamoLedgerStore

    _table()
    with dynamodb_table(TABLE).batch_writer() as writer:
        for item in records:
            writer.put_item(Item=item)
        writer.put_item(Item=items.head_item(head, head_hash))
        for b in batches:
            writer.put_item(Item=items.batch_item(b))
        writer.put_item(Item={**items.CURSOR, "next_seq": batches[-1].to_seq + 1})
    return DynamoLedgerStore(TABLE)


def memory_store(records: list[dict[str, Any]], batches: list[Any], head: int, head_hash: str) -> Any:
    """The unit tests' fake ledger store with sorted indexes for the registry's reads (a Query costs
    what it returns, as on DynamoDB) and records kept as the table's items (parsed on every read)."""
    from bisect import bisect_left, bisect_right

    from functions.ledger import items
    from tests.unit.functions.ledger.fakes import FakeLedgerStore

    class IndexedStore(FakeLedgerStore):
        def __init__(self) -> None:
            super().__init__()
            self.items = {int(i["seq"]): i for i in records}
            self.by_project: dict[str, list[int]] = {}
            for seq, item in sorted(self.items.items()):
                self.by_project.setdefault(item["g_project"], []).append(seq)
            self.batches = {b.from_seq: b for b in batches}
            self.starts = sorted(self.batches)
            self.head_item = (head, head_hash)
            self.cursor = {"next_seq": batches[-1].to_seq + 1, "pending": None}

        def query_records(self, index, value, limit, cursor, filters):  # newest first, like DynamoLedgerStore
            assert index == "project_id" and not filters
            seqs = self.by_project.get(value, [])
            end = len(seqs) if cursor is None else bisect_left(seqs, cursor["seq"])
            page = seqs[max(0, end - limit) : end][::-1]
            nxt = {"seq": page[-1]} if end - limit > 0 and page else None
            return [items.record_from_item(self.items[s]) for s in page], nxt

        def project_seq_from(self, project_id, from_seq):
            seqs = self.by_project.get(project_id, [])
            i = bisect_left(seqs, from_seq)
            return seqs[i] if i < len(seqs) else None

        def count_project_records_from(self, project_id, from_seq, at_most):
            seqs = self.by_project.get(project_id, [])
            return min(len(seqs) - bisect_left(seqs, from_seq), at_most)

        def find_batch(self, seq):
            i = bisect_right(self.starts, seq) - 1
            found = self.batches[self.starts[i]] if i >= 0 else None
            return found.model_copy() if found is not None and found.to_seq >= seq else None

        def records_by_seq(self, from_seq, to_seq):
            return [items.record_from_item(self.items[s]) for s in range(from_seq, to_seq + 1) if s in self.items]

    return IndexedStore()


class Counting:
    """The ledger store, counting its calls and the items they read (a DynamoDB read's cost follows
    the items read: every record of a walk page, one item per small lookup, every item a COUNT
    query evaluates)."""

    def __init__(self, store: Any):
        self.store = store
        self.calls = 0
        self.items = 0

    def __getattr__(self, name: str) -> Any:
        target = getattr(self.store, name)

        def counted(*args: Any, **kwargs: Any) -> Any:
            self.calls += 1
            out = target(*args, **kwargs)
            if name == "query_records":
                self.items += len(out[0])
            elif name == "count_project_records_from":
                self.items += out
            elif out is not None:
                self.items += 1
            return out

        return counted


def measure(store: Any, repeat: int) -> tuple[float, float, int, int, Any]:
    """(median seconds of ``repeat`` project reads, peak MiB of one more read traced by tracemalloc,
    store calls and items read of one read, the answer). Timed reads run untraced: tracemalloc
    slows moto's Python many times over."""
    from functions.registry.logic import RegistryReader

    def read() -> tuple[Any, Counting]:
        counting = Counting(store)
        reader = RegistryReader(counting, None)  # type: ignore[arg-type]  # the project read uses no proof
        return reader.project(PROJECT), counting

    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        answer, counting = read()
        times.append(time.perf_counter() - t)
    tracemalloc.start()
    read()
    peak = tracemalloc.get_traced_memory()[1] / 2**20
    tracemalloc.stop()
    return statistics.median(times), peak, counting.calls, counting.items, answer


def run(label: str, store: Any, records: int, a: argparse.Namespace) -> bool:
    from functions.ledger import summary_backfill

    walk_s, walk_mib, walk_calls, walk_items, walked = measure(store, a.walk_repeat)
    assert walked.totals_from == "records"
    t = time.perf_counter()
    [done] = summary_backfill.rebuild(store, [PROJECT])
    backfill_s = time.perf_counter() - t
    sum_s, sum_mib, sum_calls, sum_items, summed = measure(store, a.repeat)
    assert summed.totals_from == "summary" and done.records == summed.records == records
    same = walked.model_dump(exclude={"totals_from"}) == summed.model_dump(exclude={"totals_from"})
    print(f"\n{label}: {records:,} records of {PROJECT}; answers equal: {same} (issued {summed.issued:,}, "
          f"retired {summed.retired:,}, cancelled {summed.cancelled:,}, {len(summed.anchors)} anchors on the page, "
          f"{summed.unanchored_records} records waiting)")  # fmt: skip
    print(f"{'GET /registry/projects/{id}':<30}{'median s':>10}{'peak MiB':>10}{'calls':>7}{'items read':>12}")
    print(f"{'walk (before the backfill)':<30}{walk_s:>10.4f}{walk_mib:>10.2f}{walk_calls:>7}{walk_items:>12,}")
    print(f"{'summary':<30}{sum_s:>10.4f}{sum_mib:>10.2f}{sum_calls:>7}{sum_items:>12,}")
    print(
        f"ratio walk / summary: {walk_s / sum_s:.0f}x time, {walk_mib / max(sum_mib, 1e-6):.0f}x memory, "
        f"{walk_items / max(sum_items, 1):.0f}x items read; backfill of the project (once): {backfill_s:.2f} s"
    )
    return same


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--records", type=int, default=20_000, help="the project's records on the in-memory store")
    p.add_argument("--moto-records", type=int, default=2_000, help="the project's records on moto (0: skip)")
    p.add_argument("--batch", type=int, default=1_000)
    p.add_argument("--waiting", type=int, default=100, help="seqs at the head not anchored yet")
    p.add_argument("--repeat", type=int, default=5, help="timed reads from the summary (median)")
    p.add_argument("--walk-repeat", type=int, default=3, help="timed reads by the walk (median)")
    a = p.parse_args()
    from agri_common.platform.observability import logger

    logger.setLevel("ERROR")  # the fallback's warning, once per walk
    same = run("memory", memory_store(*ledger(a.records, a.batch, a.waiting)), a.records, a)
    if a.moto_records:
        os.environ.update(AWS_ACCESS_KEY_ID="bench", AWS_SECRET_ACCESS_KEY="bench", AWS_DEFAULT_REGION="ap-south-1")
        os.environ.pop("AWS_ENDPOINT_URL", None)
        from moto import mock_aws

        from infra.local import moto_ext

        moto_ext.install()
        with mock_aws():
            store = seed_moto(*ledger(a.moto_records, a.batch, a.waiting))
            same = run("moto", store, a.moto_records, a) and same
    if not same:
        raise SystemExit("the walk and the summary disagree")


if __name__ == "__main__":
    main()

"""In-memory stand-ins for the ledger's data, artifacts, chain and writer gateway (no network).

The store keeps DynamoDB's semantics that the logic relies on: an append is all-or-nothing, fails
if a record id exists, if a block is not at the expected version, or if the head moved; it adds
to each project's summary in the same all-or-nothing step (as dal.py's transaction does), with
the same rules (functions/ledger/summary.py).
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from agri_chain import ChainUnavailable, OnChainAnchor, Receipt
from agri_common.ledger_crypto import GENESIS_HASH
from functions.ledger import models as m
from functions.ledger import summary
from functions.ledger.appending import APPEND_CHUNK
from functions.ledger.ports import MAX_TRANSACTION_ITEMS, Append, BlockChanged, HeadMoved, RecordExists
from functions.ledger.writer import LedgerWriter


class FakeLedgerStore:
    def __init__(self):
        self.head_item: tuple[int, str] = (0, GENESIS_HASH)
        self.records: dict[str, m.StoredRecord] = {}
        self.blocks: dict[tuple[str, int], m.CreditBlock] = {}
        self.batches: dict[int, m.Batch] = {}
        self.cursor: dict[str, Any] = {"next_seq": 1, "pending": None}
        self.salt_items: dict[str, str | None] = {}  # None: shredded at the farmer's erasure
        self.runs: dict[str, str] = {}
        self.summaries: dict[str, m.ProjectSummary] = {}
        self.transaction_sizes: list[int] = []  # items each committed append's transaction would hold
        self.index_reads = 0  # index items read by the project index's small queries (project_seq_from, counts)
        self.fail_append_after: int | None = None  # raise after this many successful appends
        self.appends = 0
        self.move_head_once = False  # simulate a concurrent writer once

    def head(self):
        return self.head_item

    def append(self, entries: Sequence[Append], expected_seq: int) -> None:
        if self.fail_append_after is not None and self.appends >= self.fail_append_after:
            raise RuntimeError("simulated crash while appending")
        if self.move_head_once:
            self.move_head_once = False
            raise HeadMoved()
        if any(e.record.record_id in self.records for e in entries):
            raise RecordExists()
        if any(e.salt is not None and e.salt[0] in self.salt_items for e in entries):
            raise RecordExists()  # another writer stored this farmer's salt first
        if any(i in self.records for e in entries for i in e.absent):
            raise RecordExists()  # the same client token, another kind of move
        for entry in entries:
            for block, version in entry.blocks:
                current = self.blocks.get((block.series, block.start))
                if version is None and current is not None:
                    raise BlockChanged()
                if version is not None and (
                    current is None or current.version != version or current.status != "active"
                ):
                    raise BlockChanged()
        if self.head_item[0] != expected_seq:
            raise HeadMoved()
        deltas = summary.deltas(e.record for e in entries)
        size = 1 + len(deltas) + sum(1 + (e.salt is not None) + len(e.absent) + len(e.blocks) for e in entries)
        if size > MAX_TRANSACTION_ITEMS or len(entries) > APPEND_CHUNK:
            raise ValueError(f"an append of {size} items exceeds DynamoDB's {MAX_TRANSACTION_ITEMS}")
        self.transaction_sizes.append(size)
        for project_id, delta in deltas.items():
            self.summaries[project_id] = summary.apply(self.summaries.get(project_id), delta)
        for entry in entries:
            self.records[entry.record.record_id] = copy.deepcopy(entry.record)
            if entry.salt is not None:
                self.salt_items[entry.salt[0]] = entry.salt[1]
            for block, _ in entry.blocks:
                self.blocks[(block.series, block.start)] = block.model_copy(deep=True)
        last = entries[-1].record.body
        self.head_item = (last["seq"], last["record_hash"])
        self.appends += 1

    def get_record(self, record_id):
        return copy.deepcopy(self.records.get(record_id))

    def get_records(self, record_ids):
        return {i: copy.deepcopy(self.records[i]) for i in record_ids if i in self.records}

    def records_by_seq(self, from_seq, to_seq):
        return sorted(
            (copy.deepcopy(r) for r in self.records.values() if from_seq <= r.seq <= to_seq), key=lambda r: r.seq
        )

    def query_records(self, index, value, limit, cursor, filters):
        def key(r: m.StoredRecord) -> Any:
            return {
                "chain": "LEDGER",
                "project_id": r.body["project_id"],
                "farmer_ref": r.body.get("farmer_ref"),
                "owner_user_id": r.owner_user_id,
                "fpo_id": r.fpo_id,
            }[index]

        rows = sorted((r for r in self.records.values() if key(r) == value), key=lambda r: -r.seq)
        rows = [r for r in rows if all(r.body.get(k) == v for k, v in filters.items())]
        # as DynamoDB's ExclusiveStartKey: a position (newest first), valid after that item left the index
        start = 0 if cursor is None else next((i for i, r in enumerate(rows) if r.seq < cursor["seq"]), len(rows))
        page = rows[start : start + limit]
        nxt = {"seq": page[-1].seq} if start + limit < len(rows) and page else None
        return [copy.deepcopy(r) for r in page], nxt

    def project_summary(self, project_id):
        found = self.summaries.get(project_id)
        return found.model_copy(deep=True) if found else None

    def put_project_summary(self, summary, expected_last_seq):
        current = self.summaries.get(summary.project_id)
        if (current is None) != (expected_last_seq is None):
            return False
        if current is not None and current.last_seq != expected_last_seq:
            return False
        self.summaries[summary.project_id] = summary.model_copy(deep=True)
        return True

    def project_seq_from(self, project_id, from_seq):
        self.index_reads += 1
        seqs = [r.seq for r in self.records.values() if r.body["project_id"] == project_id and r.seq >= from_seq]
        return min(seqs) if seqs else None

    def count_project_records_from(self, project_id, from_seq, at_most):
        count = sum(1 for r in self.records.values() if r.body["project_id"] == project_id and r.seq >= from_seq)
        self.index_reads += min(count, at_most)
        return min(count, at_most)

    def salts(self, farmer_ids):
        return {f: self.salt_items[f] for f in farmer_ids if f in self.salt_items}

    def claim_run(self, run_key, input_hash):
        return self.runs.setdefault(run_key, input_hash)

    def find_block(self, series, serial_number):
        found = [b for (s, start), b in self.blocks.items() if s == series and b.start <= serial_number <= b.end]
        return found[0].model_copy(deep=True) if found else None

    def blocks_between(self, series, start, end):
        return sorted(
            (b.model_copy(deep=True) for (s, first), b in self.blocks.items() if s == series and start <= first <= end),
            key=lambda b: b.start,
        )

    def unlink_owner(self, user_id, record_ids, blocks):
        """As DynamoDB: blocks, then records, each only while it still names ``user_id``."""
        self.unlinks = getattr(self, "unlinks", 0) + 1
        for b in blocks:
            current = self.blocks.get((b.series, b.start))
            if current is not None and current.owner_user_id == user_id:
                self.blocks[(b.series, b.start)] = current.model_copy(
                    update={"owner_user_id": None, "version": current.version + 1}
                )
        for record_id in record_ids:
            record = self.records.get(record_id)
            if record is not None and record.owner_user_id == user_id:
                self.records[record_id] = record.model_copy(update={"owner_user_id": None})

    def batch_cursor(self):
        pending = self.cursor["pending"]
        return self.cursor["next_seq"], (str(pending) if pending is not None else None)

    def create_batch(self, batch, expected_next_seq):
        if (
            self.cursor["next_seq"] != expected_next_seq
            or self.cursor["pending"] is not None
            or batch.from_seq in self.batches
        ):
            return False
        self.batches[batch.from_seq] = batch.model_copy()
        self.cursor = {"next_seq": batch.to_seq + 1, "pending": batch.from_seq}
        return True

    def get_batch(self, from_seq):
        b = self.batches.get(from_seq)
        return b.model_copy() if b else None

    def update_batch(self, batch, **changes):
        updated = m.Batch.model_validate({**self.batches[batch.from_seq].model_dump(), **changes})
        self.batches[batch.from_seq] = updated
        return updated.model_copy()

    def close_batch(self, batch):
        if self.cursor["pending"] == batch.from_seq:
            self.cursor["pending"] = None

    def list_batches(self, limit, cursor, *, status, conflicts_only):
        rows = sorted(self.batches.values(), key=lambda b: -b.from_seq)
        from agri_common.platform.pagination import invalid_token

        starts = [i + 1 for i, b in enumerate(rows) if isinstance(cursor, dict) and cursor == {"from_seq": b.from_seq}]
        if cursor is not None and not starts:
            raise invalid_token()  # the DynamoDB store checks the key's shape and partition (check_start_key)
        start = starts[0] if starts else 0
        page = rows[start : start + limit]
        nxt = {"from_seq": page[-1].from_seq} if start + limit < len(rows) and page else None
        page = [b for b in page if (status is None or b.status == status) and (not conflicts_only or b.conflicts)]
        return [b.model_copy(deep=True) for b in page], nxt

    def find_batch(self, seq):
        for b in self.batches.values():
            if b.from_seq <= seq <= b.to_seq:
                return b.model_copy()
        return None


class FakeArtifacts:
    def __init__(self):
        self.objects: dict[str, bytes] = {}
        self.puts = 0  # batch files written (the manifest beside them is not counted)
        self.manifest_puts = 0

    def put(self, key, data):
        if key.endswith("/MANIFEST.json"):
            self.manifest_puts += 1
        else:
            self.puts += 1
        self.objects[key] = bytes(data)

    def get(self, key):
        if key not in self.objects:
            raise NoSuchKey(key)
        return self.objects[key]


class NoSuchKey(Exception):
    """What boto3 raises for a missing S3 object (its ``response`` carries the error code)."""

    response = {"Error": {"Code": "NoSuchKey"}}


@dataclass
class _Tx:
    batch_key: bytes
    root: str
    count: int
    mined: bool
    dropped: bool = False


class FakeChain:
    """A registry on a pretend chain, with switches for outages, stuck and dropped transactions."""

    contract_address = "0x00000000000000000000000000000000000000aa"

    def __init__(self):
        self.txs: dict[str, _Tx] = {}
        self.roots: dict[bytes, tuple[str, int, int]] = {}
        self.block = 100
        self.down = 0  # the next N calls fail with ChainUnavailable
        self.auto_mine = True
        self.sent = 0

    @property
    def chain_id(self):
        return 1337

    def _call(self):
        if self.down:
            self.down -= 1
            raise ChainUnavailable("connection refused")

    def send_anchor(self, batch_key, root_hex, record_count):
        self._call()
        self.sent += 1
        tx = f"0x{self.sent:064x}"
        self.txs[tx] = _Tx(batch_key, root_hex, record_count, mined=False)
        if self.auto_mine:
            self.mine(tx)
        return tx

    def mine(self, tx_hash):
        tx = self.txs[tx_hash]
        self.block += 1
        tx.mined = True
        if tx.batch_key not in self.roots:
            self.roots[tx.batch_key] = (tx.root, tx.count, self.block)
            tx.status = 1
        else:
            tx.status = 0  # the contract refuses a second root for the same batch
        tx.block = self.block

    def receipt(self, tx_hash):
        self._call()
        tx = self.txs.get(tx_hash)
        if tx is None or not tx.mined:
            return None
        return Receipt(tx_hash=tx_hash, block_number=tx.block, status=tx.status, gas_used=46_000)

    def transaction_known(self, tx_hash):
        self._call()
        tx = self.txs.get(tx_hash)
        return tx is not None and not tx.dropped

    def anchored(self, batch_key):
        self._call()
        root, count, block = self.roots.get(batch_key, ("0" * 64, 0, 0))
        return OnChainAnchor(root=root, record_count=count, block_number=block)

    def anchor_transaction(self, batch_key, block_number):
        self._call()
        for h, tx in self.txs.items():
            if tx.batch_key == batch_key and tx.mined and tx.status == 1:
                return h
        return None


class DirectWriterGateway:
    """The API's gateway to the writer, calling it in-process through the writer's own entry code."""

    def __init__(self, writer: LedgerWriter):
        self.writer = writer
        self.events: list[m.WriterEvent] = []

    def submit(self, event):
        from functions.ledger.writer_client import writer_result
        from functions.ledger.writer_handler import handle

        self.events.append(event)
        return writer_result(handle(event.model_dump(mode="json", exclude_none=True), self.writer))

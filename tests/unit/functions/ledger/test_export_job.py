"""The daily ledger export (functions/ledger/export_job.py) on fakes: which records a day holds, the
file's lines and SHA-256, idempotent re-runs, and a different content for an exported day refused."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, date, datetime, timedelta

import pytest

from agri_common.ledger_crypto import GENESIS_HASH, seal
from functions.ledger import export_job
from functions.ledger import models as m

DAY = date(2026, 11, 26)
NOW = datetime(2026, 11, 27, 0, 30, tzinfo=UTC)
EVENT = {
    "version": "0",
    "id": "e",
    "detail-type": "Scheduled Event",
    "source": "aws.events",
    "time": "2026-11-27T00:30:00Z",
}


class Chain:
    """A ledger of sealed records at given times, and its batches."""

    def __init__(self, times: list[datetime]) -> None:
        self.records: list[m.StoredRecord] = []
        prev = GENESIS_HASH
        for seq, at in enumerate(times, start=1):
            body = seal(
                {"record_id": f"r{seq}", "seq": seq, "prev_hash": prev, "recorded_at": at.isoformat(), "amount": seq}
            )
            prev = body["record_hash"]
            self.records.append(m.StoredRecord(body=body, owner_user_id="u"))
        self.batch_list: list[m.Batch] = []
        self.reads = 0

    def head(self) -> tuple[int, str]:
        return (len(self.records), self.records[-1].body["record_hash"]) if self.records else (0, GENESIS_HASH)

    def records_by_seq(self, from_seq: int, to_seq: int) -> list[m.StoredRecord]:
        self.reads += 1
        return [r for r in self.records if from_seq <= r.seq <= to_seq]

    def batches(self) -> list[m.Batch]:
        return list(self.batch_list)


class Bucket:
    def __init__(self) -> None:
        self.objects: dict[str, bytes] = {}
        self.puts: list[str] = []

    def get(self, key: str) -> bytes | None:
        return self.objects.get(key)

    def put_new(self, key: str, data: bytes, content_type: str) -> None:
        assert key not in self.objects, "an object was replaced"
        self.puts.append(key)
        self.objects[key] = data


def at(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=UTC)


def lines(data: bytes) -> list[dict]:
    return [json.loads(line) for line in data.decode().splitlines()]


def chain_over_three_days() -> Chain:
    before, after = DAY - timedelta(days=1), DAY + timedelta(days=1)
    return Chain([at(before, 10), at(before, 23, 59), at(DAY, 0, 0), at(DAY, 12), at(DAY, 23, 59), at(after, 0, 1)])


def test_the_day_holds_its_records_in_seq_order_with_the_hashes_that_chain_the_files():
    chain = chain_over_three_days()
    chain.batch_list = [
        m.Batch(batch_id="1-2", from_seq=1, to_seq=2, status="anchored", anchored_at=at(DAY, 1).isoformat(), root="ab"),
        m.Batch(batch_id="3-5", from_seq=3, to_seq=5, status="pending"),
        m.Batch(
            batch_id="6-6",
            from_seq=6,
            to_seq=6,
            status="anchored",
            anchored_at=at(DAY + timedelta(days=1), 2).isoformat(),
        ),
    ]
    bucket = Bucket()
    out = export_job.export(EVENT, chain, bucket, now=lambda: NOW)
    assert out["day"] == "2026-11-26" and out["status"] == "written"
    assert out["key"] == "ledger/exports/daily/2026-11-26.jsonl"
    data = bucket.objects[out["key"]]
    assert hashlib.sha256(data).hexdigest() == out["sha256"]
    assert bucket.objects[out["key"] + ".sha256"] == f"{out['sha256']}  2026-11-26.jsonl\n".encode()
    header, *rest = lines(data)
    assert header == {
        "kind": "export",
        "day": "2026-11-26",
        "records": 3,
        "from_seq": 3,
        "to_seq": 5,
        "prev_hash": chain.records[1].body["record_hash"],  # the day before's last record
        "head": {"seq": 5, "hash": chain.records[4].body["record_hash"]},
    }
    records = [line["record"] for line in rest if line["kind"] == "record"]
    assert [r["seq"] for r in records] == [3, 4, 5]
    assert records[0]["prev_hash"] == header["prev_hash"]  # the chain continues across the files
    assert records == [chain.records[i].body for i in (2, 3, 4)]
    assert [a["batch_id"] for a in rest if a["kind"] == "anchor"] == ["1-2"]  # anchored that day only
    assert out["records"] == 3 and out["anchors"] == 1


def test_a_binary_search_finds_the_day_not_a_read_of_the_whole_chain():
    start = at(DAY - timedelta(days=30), 0)
    chain = Chain([start + timedelta(minutes=10 * i) for i in range(6000)])  # ~41 days
    out = export_job.export_day(chain, Bucket(), DAY, today=DAY + timedelta(days=1))
    assert out.records == 144  # one every 10 minutes
    assert chain.reads < 40


def test_an_empty_day_is_exported_with_no_range():
    chain = Chain([at(DAY - timedelta(days=2), 9)])
    bucket = Bucket()
    out = export_job.export_day(chain, bucket, DAY, today=DAY + timedelta(days=1))
    (header,) = lines(bucket.objects[out.key])
    assert header["records"] == 0 and header["from_seq"] is None
    assert header["head"] == {"seq": 1, "hash": chain.records[0].body["record_hash"]}
    assert lines(export_job.build_export(Chain([]), DAY)[0])[0]["prev_hash"] == GENESIS_HASH


def test_re_running_a_day_writes_nothing_new():
    chain, bucket = chain_over_three_days(), Bucket()
    first = export_job.export(EVENT, chain, bucket, now=lambda: NOW)
    puts = list(bucket.puts)
    again = export_job.export(EVENT, chain, bucket, now=lambda: NOW + timedelta(hours=5))
    assert again == {**first, "status": "unchanged"}
    assert bucket.puts == puts


def test_a_different_content_for_an_exported_day_is_an_error_and_the_stored_object_stays():
    chain, bucket = chain_over_three_days(), Bucket()
    out = export_job.export(EVENT, chain, bucket, now=lambda: NOW)
    stored = bucket.objects[out["key"]]
    chain.records[3] = m.StoredRecord(body={**chain.records[3].body, "amount": 999})  # the ledger changed?!
    with pytest.raises(export_job.ExportConflict, match="2026-11-26"):
        export_job.export(EVENT, chain, bucket, now=lambda: NOW)
    assert bucket.objects[out["key"]] == stored


def test_a_manual_run_names_its_day_and_a_day_not_over_is_refused():
    chain, bucket = chain_over_three_days(), Bucket()
    out = export_job.export({"day": "2026-11-25"}, chain, bucket, now=lambda: NOW)
    assert out["day"] == "2026-11-25" and out["records"] == 2
    with pytest.raises(export_job.DayNotOver):
        export_job.export({"day": "2026-11-27"}, chain, bucket, now=lambda: NOW)
    assert "ledger/exports/daily/2026-11-27.jsonl" not in bucket.objects

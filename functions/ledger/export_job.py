"""Scheduled job: the daily ledger export, one JSON-lines object per UTC day in the audit bucket.

``ledger/exports/daily/<YYYY-MM-DD>.jsonl`` (the audit bucket has Object Lock: kept for its
retention, never replaced) and beside it ``<YYYY-MM-DD>.jsonl.sha256`` (``sha256sum`` format). Lines,
each a canonical JSON object (sorted keys, no spaces):

1. ``{"kind": "export", "day", "from_seq", "to_seq", "records", "prev_hash", "head": {"seq", "hash"}}``:
   the day's records are the contiguous seq range from the first record recorded on or after the
   day's start to the last one recorded before the next day's start, so the daily files tile the
   chain without gap or overlap (``prev_hash`` is the last hash of the day before: check the chain
   across files); ``head`` is the chain head at the end of the day (the day's last record); an empty
   day has ``records`` 0 and no range;
2. ``{"kind": "record", "record": <the sealed record, as hashed>}`` per record, in seq order;
3. ``{"kind": "anchor", ...}`` per batch anchored on chain that day (``anchored_at`` in the day).

The day is the UTC day before the firing time (``time`` of the scheduled event), or ``day`` of a
manual invocation (a re-run or a back-fill); a day not yet over is refused. Re-running a day writes
nothing when the stored export has the same SHA-256 (``unchanged``); a different content for a day
already exported is an error (:class:`ExportConflict`: logged, metric ``LedgerExportConflict``,
which an alarm watches), never an overwrite.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, Literal, Protocol

from pydantic import BaseModel

from agri_common.ledger_crypto import GENESIS_HASH
from agri_common.platform.observability import logger
from agri_common.platform.schedule import ScheduledEvent, emit, scheduled_job
from agri_common.platform.settings import BaseSettingsModel, load_settings
from functions.ledger import models as m

JOB = "export_ledger"
PREFIX = "ledger/exports/daily/"
CONFLICT_METRIC = "LedgerExportConflict"


class ExportSettings(BaseSettingsModel):
    ledger_table: str
    audit_bucket: str


class ExportInput(ScheduledEvent):
    day: date | None = None  # a manual run: this UTC day instead of the one before the firing time


class ExportOutput(BaseModel):
    day: str
    key: str
    sha256: str
    records: int
    anchors: int
    status: Literal["written", "unchanged"]


class ExportConflict(RuntimeError):
    """A day already exported with another content: never overwritten."""


class DayNotOver(ValueError):
    pass


class LedgerSource(Protocol):
    def head(self) -> tuple[int, str]: ...

    def records_by_seq(self, from_seq: int, to_seq: int) -> list[m.StoredRecord]: ...

    def batches(self) -> list[m.Batch]: ...


class ExportBucket(Protocol):
    def get(self, key: str) -> bytes | None:
        """The object, None when absent."""

    def put_new(self, key: str, data: bytes, content_type: str) -> None:
        """Create the object; refuse (raise) if it exists."""


def export_key(day: date) -> str:
    return f"{PREFIX}{day.isoformat()}.jsonl"


def _line(value: dict[str, Any]) -> bytes:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode() + b"\n"


def _recorded(record: m.StoredRecord) -> datetime:
    text = str(record.body.get("recorded_at") or "")
    parsed = datetime.fromisoformat(text)
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def first_seq_at_or_after(source: LedgerSource, moment: datetime, head: int) -> int:
    """The first seq recorded at or after ``moment`` (``head + 1`` when none): a binary search over
    the chain, which is appended in time order (one record read per step)."""
    low, high = 1, head + 1
    while low < high:
        mid = (low + high) // 2
        (record,) = source.records_by_seq(mid, mid)
        if _recorded(record) < moment:
            low = mid + 1
        else:
            high = mid
    return low


def build_export(source: LedgerSource, day: date) -> tuple[bytes, int, int]:
    """(content, records, anchors) of ``day``'s export. Deterministic for a day that is over."""
    start = datetime.combine(day, time(0), tzinfo=UTC)
    end = start + timedelta(days=1)
    head, _ = source.head()
    first = first_seq_at_or_after(source, start, head)
    after = first_seq_at_or_after(source, end, head)
    records = source.records_by_seq(first, after - 1) if after > first else []
    prev_hash = GENESIS_HASH if first == 1 else source.records_by_seq(first - 1, first - 1)[0].body["record_hash"]
    header: dict[str, Any] = {
        "kind": "export",
        "day": day.isoformat(),
        "records": len(records),
        "from_seq": first if records else None,
        "to_seq": after - 1 if records else None,
        "prev_hash": prev_hash,
        "head": {"seq": after - 1, "hash": records[-1].body["record_hash"] if records else prev_hash},
    }
    anchors = sorted(
        (
            b
            for b in source.batches()
            if b.status == "anchored" and b.anchored_at and start <= _parse(b.anchored_at) < end
        ),
        key=lambda b: b.from_seq,
    )
    content = _line(header) + b"".join(_line({"kind": "record", "record": r.body}) for r in records)
    content += b"".join(_line({"kind": "anchor", **b.model_dump(mode="json")}) for b in anchors)
    return content, len(records), len(anchors)


def _parse(text: str) -> datetime:
    parsed = datetime.fromisoformat(text)
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def export_day(source: LedgerSource, bucket: ExportBucket, day: date, today: date) -> ExportOutput:
    if day >= today:
        raise DayNotOver(f"{day.isoformat()} is not over yet (today is {today.isoformat()} UTC)")
    content, records, anchors = build_export(source, day)
    digest = hashlib.sha256(content).hexdigest()
    key = export_key(day)
    stored = bucket.get(key)
    if stored is not None:
        stored_digest = hashlib.sha256(stored).hexdigest()
        if stored_digest != digest:
            logger.error(
                "ledger export differs from the stored one",
                extra={"day": day.isoformat(), "key": key, "stored_sha256": stored_digest, "sha256": digest},
            )
            emit(CONFLICT_METRIC, JOB)
            raise ExportConflict(
                f"the export of {day.isoformat()} differs from the stored one ({stored_digest} vs {digest}); "
                "the stored object is kept"
            )
        status: Literal["written", "unchanged"] = "unchanged"
    else:
        bucket.put_new(key, content, "application/x-ndjson")
        status = "written"
    checksum_key = f"{key}.sha256"
    checksum = f"{digest}  {key.rsplit('/', 1)[-1]}\n".encode()
    if bucket.get(checksum_key) is None:  # (a run cut off between the two puts completes it)
        bucket.put_new(checksum_key, checksum, "text/plain")
    return ExportOutput(day=day.isoformat(), key=key, sha256=digest, records=records, anchors=anchors, status=status)


class DynamoLedgerSource:
    def __init__(self, table: str):
        from functions.ledger.dal import DynamoLedgerStore

        self.store = DynamoLedgerStore(table)

    def head(self) -> tuple[int, str]:
        return self.store.head()

    def records_by_seq(self, from_seq: int, to_seq: int) -> list[m.StoredRecord]:
        return self.store.records_by_seq(from_seq, to_seq)

    def batches(self) -> list[m.Batch]:
        out: list[m.Batch] = []
        cursor = None
        while True:
            page, cursor = self.store.list_batches(100, cursor, status=None, conflicts_only=False)
            out.extend(page)
            if not cursor:
                return out


class S3ExportBucket:
    def __init__(self, bucket: str):
        self.bucket = bucket

    def _s3(self) -> Any:
        from agri_common.platform.aws import client

        return client("s3")

    def get(self, key: str) -> bytes | None:
        """The object, None when absent (404: the role may list ``ledger/exports/``, so S3 does not
        answer a missing key with 403)."""
        from botocore.exceptions import ClientError

        try:
            data: bytes = self._s3().get_object(Bucket=self.bucket, Key=key)["Body"].read()
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("NoSuchKey", "404"):
                return None
            raise
        return data

    def put_new(self, key: str, data: bytes, content_type: str) -> None:
        # IfNoneMatch: S3 refuses (412) if another run created the object meanwhile: never a replacement.
        self._s3().put_object(
            Bucket=self.bucket,
            Key=key,
            Body=data,
            ContentType=content_type,
            ChecksumAlgorithm="SHA256",
            IfNoneMatch="*",
        )


def _utc_now() -> datetime:
    return datetime.now(UTC)


@scheduled_job(JOB, ExportInput)
def export(
    event: ExportInput, source: LedgerSource, bucket: ExportBucket, *, now: Callable[[], datetime] = _utc_now
) -> ExportOutput:
    fired = event.fired_at(now)
    day = event.day or (fired.date() - timedelta(days=1))
    return export_day(source, bucket, day, today=now().date())


def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    settings = load_settings(ExportSettings)
    return export(event, DynamoLedgerSource(settings.ledger_table), S3ExportBucket(settings.audit_bucket))

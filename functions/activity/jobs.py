"""The activity log's two scheduled jobs (logic; their Lambda entry points are sweeper_handler and
export_handler):

- :func:`sweep`: append the event of every intent whose deadline has passed without one (the
  function died, or its final put failed). The deadline lies past the function's own timeout, so
  the request can no longer be running; the append is conditional, so a late real event and the
  sweeper's copy can never both land: exactly one event per event id.
- :func:`export_day`: one UTC day of events (``by_day``, oldest first) as JSON lines into the audit
  bucket (Object Lock), ``activity/<yyyy>/<mm>/<yyyy-mm-dd>.jsonl``.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any, Protocol

from agri_common.activity_table import ActivityEvent, ActivityStore, intent_bucket, stamp, time_key

SWEEP_LOOKBACK = dt.timedelta(minutes=30)  # the rule runs every 5 minutes: each intent is seen 6 times
MAX_LOOKBACK = dt.timedelta(days=2)  # the intents' TTL: older ones may be gone
EXPORT_PREFIX = "activity"
EXPORT_PAGE = 500


def sweep(store: ActivityStore, *, now: dt.datetime, lookback: dt.timedelta = SWEEP_LOOKBACK) -> dict[str, int]:
    lookback = min(lookback, MAX_LOOKBACK)
    low, high = stamp(now - lookback), stamp(now)
    buckets: list[str] = []
    hour = (now - lookback).replace(minute=0, second=0, microsecond=0)
    while hour <= now:
        buckets.append(intent_bucket(stamp(hour)))
        hour += dt.timedelta(hours=1)
    intents = [i for bucket in buckets for i in store.intents(bucket, low, high + "~")]
    due = [i for i in intents if i.deadline <= high]
    present = store.existing([i.event.event_id for i in due])
    appended = sum(1 for i in due if i.event.event_id not in present and store.append(i.event))
    return {"intents": len(due), "appended": appended}


class ObjectWriter(Protocol):
    def put(self, key: str, body: bytes, content_type: str) -> None: ...


class S3ObjectWriter:
    def __init__(self, bucket: str) -> None:
        self.bucket = bucket

    def put(self, key: str, body: bytes, content_type: str) -> None:
        from agri_common.platform.aws import put_verified_object

        put_verified_object(self.bucket, key, body, content_type)  # Object Lock requires the checksum


def day_events(store: ActivityStore, day: dt.date) -> list[ActivityEvent]:
    """Every event of ``day``, oldest first (Query pages of ``by_day``, newest first, reversed)."""
    out: list[ActivityEvent] = []
    before: str | None = None
    while True:
        batch = store.query("by_day", day.isoformat(), before=before, after=None, limit=EXPORT_PAGE)
        out += batch
        if len(batch) < EXPORT_PAGE:
            return out[::-1]
        before = time_key(batch[-1].at, batch[-1].event_id)


def export_key(day: dt.date) -> str:
    return f"{EXPORT_PREFIX}/{day:%Y}/{day:%m}/{day.isoformat()}.jsonl"


def export_day(store: ActivityStore, writer: ObjectWriter, day: dt.date) -> dict[str, Any]:
    events = day_events(store, day)
    body = "".join(json.dumps(e.public(), sort_keys=True, ensure_ascii=False) + "\n" for e in events)
    key = export_key(day)
    writer.put(key, body.encode("utf-8"), "application/x-ndjson")
    return {"day": day.isoformat(), "events": len(events), "key": key}

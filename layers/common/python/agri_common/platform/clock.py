"""Timestamps, UTC, as the stored formats write them: one function per format, named for what it
produces. They differ on purpose and must stay byte-identical (they are compared and sorted as text):

- :func:`utc_iso_micros_z` ``2025-03-01T10:00:00.123456Z``: the pipeline table (projects, runs,
  steps, tasks, decisions). Fixed width, so a sort key built from it orders by time.
- :func:`utc_iso_seconds_z` ``2025-03-01T10:00:00Z``: the credit ledger's records.
- :func:`utc_iso_seconds_offset` ``2025-03-01T10:00:00+00:00``: the farm table's records.
"""

from __future__ import annotations

import datetime as dt


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def utc_iso_micros_z() -> str:
    return _now().strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def utc_iso_seconds_z() -> str:
    return _now().strftime("%Y-%m-%dT%H:%M:%SZ")


def utc_iso_seconds_offset() -> str:
    return _now().isoformat(timespec="seconds")

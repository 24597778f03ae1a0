"""The three stored timestamp formats, each from its one function (agri_common.platform.clock)."""

from __future__ import annotations

import datetime as dt
import re

from agri_common.platform import clock


def test_each_format_is_the_one_its_records_store():
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z", clock.utc_iso_micros_z())
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", clock.utc_iso_seconds_z())
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+00:00", clock.utc_iso_seconds_offset())


def test_every_format_reads_back_as_utc():
    for stamp in (clock.utc_iso_micros_z(), clock.utc_iso_seconds_z(), clock.utc_iso_seconds_offset()):
        assert dt.datetime.fromisoformat(stamp.replace("Z", "+00:00")).utcoffset() == dt.timedelta(0)

"""Lambda entry point of the daily activity export (EventBridge, 00:30 UTC): functions/activity/jobs.export_day.

Input: ``{}`` (yesterday, UTC) or ``{"day": "2026-11-26"}`` (a re-export writes a new object version;
both stay under Object Lock).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from pydantic import BaseModel, ConfigDict

from agri_common.platform import activity
from agri_common.platform.observability import logger
from agri_common.platform.settings import BaseSettingsModel, load_settings
from functions.activity.jobs import S3ObjectWriter, export_day


class ExportSettings(BaseSettingsModel):
    audit_bucket: str


class ExportInput(BaseModel):
    model_config = ConfigDict(extra="ignore")

    day: dt.date | None = None


@logger.inject_lambda_context
def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    args = ExportInput.model_validate(event or {})
    day = args.day or (dt.datetime.now(dt.UTC).date() - dt.timedelta(days=1))
    result = export_day(activity.store(), S3ObjectWriter(load_settings(ExportSettings).audit_bucket), day)
    logger.info("activity export", extra=result)
    return result

"""Lambda entry point of the activity sweeper (EventBridge, every 5 minutes): functions/activity/jobs.sweep.

Input: ``{}``, or ``{"since_minutes": N}`` (at most two days) to catch up after an outage.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from agri_common.platform import activity
from agri_common.platform.observability import logger
from functions.activity.jobs import MAX_LOOKBACK, SWEEP_LOOKBACK, sweep


class SweepInput(BaseModel):
    model_config = ConfigDict(extra="ignore")  # EventBridge's own fields when the rule passes the event

    since_minutes: int = Field(int(SWEEP_LOOKBACK.total_seconds() // 60), ge=1, le=MAX_LOOKBACK.days * 1440)


@logger.inject_lambda_context
def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, int]:
    args = SweepInput.model_validate(event or {})
    result = sweep(activity.store(), now=dt.datetime.now(dt.UTC), lookback=dt.timedelta(minutes=args.since_minutes))
    logger.info("activity sweep", extra=result)
    return result

"""The scheduled auditor reminder (EventBridge rule, hourly): see reminder.py."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from agri_common.notify import notify_all
from agri_common.platform.observability import logger
from agri_common.platform.settings import BaseSettingsModel, load_settings
from functions.notifications.reminder import due_reminders


class ReminderSettings(BaseSettingsModel):
    pipeline_table: str


def _store() -> Any:
    from agri_common.single_table import DynamoTableStore

    return DynamoTableStore(load_settings(ReminderSettings).pipeline_table)


@logger.inject_lambda_context(clear_state=True)
def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    events = due_reminders(_store(), datetime.now(UTC))
    enqueued = notify_all(events)
    logger.info("auditor reminders", extra={"due": len(events), "enqueued": enqueued})
    return {"reminders": len(events), "enqueued": enqueued}

"""The auditor reminder (a scheduled job, hourly): every verification task still awaiting a decision
whose heartbeat lapses within :data:`REMIND_WITHIN` gets one ``auditor_heartbeat_lapsing`` event,
sent to the project's auditors through the notification port.

One reminder per task per window: the event id is ``heartbeat:<task_id>:<window start>``, so the
hourly runs inside the window enqueue the same event again and delivery tells each auditor once.
The window starts at the task's last heartbeat (``heartbeat_at``, recorded by the verification
routes when an auditor's opening of the task sends one), else when the task was stored. The lapse
is the state machine's heartbeat (infra/pipeline.py ``HEARTBEAT``; a test holds the two equal).
"""

from __future__ import annotations

import math
from datetime import datetime, timedelta
from typing import Any

from agri_common import pipeline_table
from agri_common.notify import NotificationEvent
from agri_common.single_table import TableStore

HEARTBEAT = timedelta(days=7)
REMIND_WITHIN = timedelta(hours=24)


def _parse(ts: str) -> datetime:
    return datetime.fromisoformat(ts.replace("Z", "+00:00"))


def _all(store: TableStore, pk: str, *, prefix: str = "") -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    start = None
    while True:
        page, start = store.query(pk, index=True, prefix=prefix, start=start)
        items.extend(page)
        if not start:
            return items


def due_reminders(store: TableStore, now: datetime) -> list[NotificationEvent]:
    events = []
    for project in _all(store, pipeline_table.ALL_PROJECTS_INDEX):
        project_id = str(project["project_id"])
        pending = _all(
            store, pipeline_table.project_tasks_index(project_id), prefix=pipeline_table.task_queue_prefix("pending")
        )
        for task in (pipeline_table.TaskRecord.from_item(i) for i in pending):
            started = task.heartbeat_at or task.created_at  # the last heartbeat, else the task's creation
            lapses = _parse(started) + HEARTBEAT
            if not now < lapses <= now + REMIND_WITHIN:
                continue
            events.append(
                NotificationEvent(
                    kind="auditor_heartbeat_lapsing",
                    event_id=f"heartbeat:{task.task_id}:{started}",  # one reminder per heartbeat window
                    occurred_at=now.strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
                    project_id=project_id,
                    run_id=task.run_id,
                    task_id=task.task_id,
                    values={"hours_left": math.ceil((lapses - now).total_seconds() / 3600)},
                )
            )
    return events

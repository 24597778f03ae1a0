"""The notification port: producers hand an event here and carry on (docs/decisions/0014).

A producer (a pipeline task, the ledger writer or its routes, the farmers membership flow, the
anchoring) never calls SNS or SES and never fails because of a notification: :func:`notify`
enqueues the event on the notification queue (SQS, ``NOTIFY_QUEUE_URL``) and returns whether it
did. Any failure to enqueue is logged and counted (metric ``NotificationsNotEnqueued``) and
swallowed. Delivery (recipients, preferences, language, in-app item, SMS, email, retries) is the
``functions/notifications`` delivery function's job, reading that queue.

``event_id`` is the idempotency key of delivery: the same event enqueued twice (a retried task, a
replayed route) gives one notification per recipient, so a producer builds it from what it is
about (``run_approved:<run_id>:a<attempt>``), never from a clock or a random value.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterable, Sequence
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

EventKind = Literal[
    "run_awaiting_auditor",
    "auditor_heartbeat_lapsing",
    "run_approved",
    "run_failed",
    "run_sent_back",
    "credits_issued",
    "credits_transferred",
    "credits_retired",
    "membership_requested",
    "membership_approved",
    "membership_rejected",
    "anchoring_stuck",
    "anchoring_conflict",
]
EVENT_KINDS: tuple[str, ...] = EventKind.__args__  # type: ignore[attr-defined]  # typing.Literal's members
QUEUE_ENV = "NOTIFY_QUEUE_URL"
SQS_BATCH = 10  # SendMessageBatch's limit
Scalar = str | int | float | bool


def _now() -> str:
    from agri_common.platform.clock import utc_iso_micros_z

    return utc_iso_micros_z()


class NotificationEvent(BaseModel):
    """What happened, and about what: the delivery function resolves who is told from these ids."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    kind: EventKind
    event_id: str = Field(min_length=1, max_length=300, pattern=r"^[A-Za-z0-9_.:@+-]+$")
    occurred_at: str = Field(default_factory=_now, description="UTC ISO-8601 of the action (notifications sort by it)")
    project_id: str | None = None
    run_id: str | None = None
    task_id: str | None = None
    fpo_id: str | None = None
    farmer_id: str | None = None
    user_ids: tuple[str, ...] = Field(default=(), description="Accounts (Cognito sub) told besides the resolved ones")
    values: dict[str, Scalar] = Field(default_factory=dict, description="Placeholders of the templates")


class NotWired(RuntimeError):
    """The function has no queue (a test or a tool running producer code): nothing to log but a line."""


def _sqs_send(bodies: Sequence[str]) -> None:
    from agri_common.platform.aws import client

    url = os.environ.get(QUEUE_ENV)
    if not url:
        raise NotWired(f"{QUEUE_ENV} is not set: this function is not wired to the notification queue")
    sqs = client("sqs")
    for start in range(0, len(bodies), SQS_BATCH):
        chunk = bodies[start : start + SQS_BATCH]
        resp = sqs.send_message_batch(
            QueueUrl=url, Entries=[{"Id": str(i), "MessageBody": body} for i, body in enumerate(chunk)]
        )
        if resp.get("Failed"):
            raise RuntimeError(f"SQS refused {len(resp['Failed'])} of {len(chunk)} messages: {resp['Failed'][:1]}")


# The transport: SQS, or a fake a test installs (use_transport). Called with JSON bodies.
_transport: Callable[[Sequence[str]], None] = _sqs_send


def use_transport(send: Callable[[Sequence[str]], None] | None) -> Callable[[Sequence[str]], None]:
    """Install ``send`` (None: SQS again); returns the previous transport (tests restore it)."""
    global _transport
    previous = _transport
    _transport = send or _sqs_send
    return previous


def notify(*events: NotificationEvent) -> bool:
    """Enqueue ``events``; True when all were enqueued. Never raises: a notification must not fail
    the action that caused it (the failure is logged with the events' ids and counted)."""
    return notify_all(events)


def notify_all(events: Iterable[NotificationEvent]) -> bool:
    batch = list(events)
    if not batch:
        return True
    try:
        _transport([e.model_dump_json() for e in batch])
        return True
    except Exception:  # deliberately broad: whatever breaks here must not reach the producer
        try:
            from agri_common.platform.observability import logger, metrics

            extra = {"event_ids": [e.event_id for e in batch][:20], "count": len(batch)}
            if isinstance(sys.exc_info()[1], NotWired):
                logger.warning("notification not enqueued: no queue configured", extra=extra)
            else:
                logger.exception("notification not enqueued", extra=extra)
            metrics.add_metric(name="NotificationsNotEnqueued", unit="Count", value=len(batch))
        except Exception:  # logging itself failed: still never the producer's problem
            pass
        return False

"""Delivery: one event from the queue -> for each recipient, their preferences, the text in their
language, the in-app item, then SMS and email per channel, each channel's status recorded.

Idempotent on redelivery: the recipient's item is written once per event (its id follows from the
event id and the recipient); a redelivery skips the channels already ``sent`` (or ``skipped``) and
sends only what failed. Any failed channel makes :meth:`Deliverer.deliver` raise
:class:`DeliveryFailed` after every recipient was tried, so the message returns to the queue
(partial batch failure) and is retried; after the queue's receive limit it lands in the DLQ.
"""

from __future__ import annotations

from typing import Protocol

from agri_common.notify import NotificationEvent
from agri_common.platform.observability import logger, metrics
from agri_common.sms import SmsSender, template_name
from functions.notifications.recipients import Contact, Recipients
from functions.notifications.store import (
    CHANNELS,
    Channel,
    NotificationRecord,
    NotificationStore,
    notification_id,
)
from functions.notifications.templates import DEFAULT_LANGUAGE, Rendered, render

DEFAULT_CHANNELS: tuple[Channel, ...] = CHANNELS  # without preferences: every channel the contact can receive
REF_FIELDS = ("project_id", "run_id", "task_id", "fpo_id", "farmer_id")


class EmailSender(Protocol):
    def send_email(self, address: str, subject: str, text: str) -> None: ...


class DeliveryFailed(Exception):
    """At least one channel of one recipient failed; the message is retried."""


class SesEmail:
    def __init__(self, sender: str):
        self.sender = sender

    def send_email(self, address: str, subject: str, text: str) -> None:
        from agri_common.platform.aws import client

        client("ses").send_email(
            Source=self.sender,
            Destination={"ToAddresses": [address]},
            Message={
                "Subject": {"Data": subject, "Charset": "UTF-8"},
                "Body": {"Text": {"Data": text, "Charset": "UTF-8"}},
            },
        )


class Deliverer:
    def __init__(
        self,
        store: NotificationStore,
        recipients: Recipients,
        sms: SmsSender,
        email: EmailSender | None,
    ):
        self.store = store
        self.recipients = recipients
        self.sms = sms
        self.email = email

    def deliver(self, event: NotificationEvent) -> list[NotificationRecord]:
        failed: list[str] = []
        out = []
        for contact in self.recipients.resolve(event):
            record, failures = self._deliver_to(event, contact)
            out.append(record)
            failed += [f"{contact.recipient}:{channel}" for channel in failures]
        if failed:
            metrics.add_metric(name="NotificationChannelFailures", unit="Count", value=len(failed))
            raise DeliveryFailed(f"event {event.event_id}: {len(failed)} channel(s) failed: {failed[:5]}")
        return out

    def _choices(self, contact: Contact) -> tuple[str, tuple[str, ...]]:
        prefs = self.store.preferences(contact.recipient) if contact.user_id else None
        if prefs is not None:
            return prefs.language, tuple(prefs.channels)
        return contact.language or DEFAULT_LANGUAGE, DEFAULT_CHANNELS

    def _deliver_to(self, event: NotificationEvent, contact: Contact) -> tuple[NotificationRecord, list[str]]:
        language, channels = self._choices(contact)
        refs = {f: str(v) for f in REF_FIELDS if (v := getattr(event, f)) is not None}
        text: Rendered = render(event.kind, language, {**refs, **event.values})
        record = self.store.add(
            NotificationRecord(
                recipient=contact.recipient,
                notification_id=notification_id(event.event_id, event.occurred_at, contact.recipient),
                event_id=event.event_id,
                event_kind=event.kind,
                language=text.language,
                title=text.title,
                body=text.body,
                sms=text.sms,
                created_at=event.occurred_at,
                in_app="in_app" in channels and contact.user_id is not None,
                refs=refs,
            )
        )
        failures = []
        for channel, address in (("sms", contact.phone), ("email", contact.email)):
            if channel not in channels or record.channels.get(channel) in ("sent", "skipped"):
                continue
            if not address or (channel == "email" and self.email is None):
                self.store.set_channel(record, channel, "skipped")
                continue
            try:
                if channel == "sms":
                    # the text's DLT template: its kind in the language it was rendered in (agri_common.sms)
                    self.sms.send(address, record.sms, template=template_name(record.event_kind, record.language))
                else:
                    assert self.email is not None
                    self.email.send_email(address, record.title, record.body)
            except Exception as exc:  # any provider error: recorded, retried by redelivery
                logger.warning(
                    "notification channel failed",
                    extra={"event_id": event.event_id, "channel": channel, "error": type(exc).__name__},
                )
                self.store.set_channel(record, channel, "failed")
                failures.append(channel)
                continue
            self.store.set_channel(record, channel, "sent")
        return record, failures

"""The notification items of the farm table: their one owner (records, keys, reads and writes).

Every recipient has one partition, ``NOTIFY#<recipient>``; a recipient is an account
(``u.<Cognito sub>``) or a farmer registered without one (``f.<farmer_id>``, told by SMS on the
phone of their profile). In it:

- ``PREFS``: the account's preferences (language, channels);
- ``N#<notification_id>``: an in-app notification (the inbox), on the index
  ``NOTIFY#<recipient>#UNREAD`` until it is read;
- ``D#<notification_id>``: a delivery without an in-app item (in-app switched off, or no account):
  what was sent, and each channel's status;
- ``E#<hash of the event id>``: the receipt of an event, naming the notification it became: written
  with it, on a condition, so a redelivered event is never told twice.

``notification_id`` is ``n<occurred_at digits>-<hash of event id and recipient>``: it sorts by
time (newest first is a descending Query) and is the same on every redelivery of the event, so
writing it with a condition is what makes delivery idempotent. :meth:`NotificationStore.erase`
removes a recipient's partition (personal-data erasure calls :func:`erase_user`).
"""

from __future__ import annotations

import hashlib
import re
from typing import Any, ClassVar, Literal

from pydantic import Field

from agri_common.single_table import Delete, Key, Put, Stored, TableStore, Update, WriteConflict, iter_chunks

Channel = Literal["in_app", "sms", "email"]
CHANNELS: tuple[Channel, ...] = ("in_app", "sms", "email")
ChannelStatus = Literal["sent", "failed", "skipped"]
NOTIFICATION_ID = r"^n[0-9]{8,20}-[0-9a-f]{16}$"
INBOX = "N#"
DELIVERY_ONLY = "D#"
PREFS = "PREFS"


def user_recipient(user_id: str) -> str:
    return f"u.{user_id}"


def farmer_recipient(farmer_id: str) -> str:
    return f"f.{farmer_id}"


def partition(recipient: str) -> str:
    return f"NOTIFY#{recipient}"


def unread_index(recipient: str) -> str:
    return f"NOTIFY#{recipient}#UNREAD"


def prefs_key(recipient: str) -> Key:
    return partition(recipient), PREFS


def notification_key(recipient: str, notification_id: str, *, in_app: bool = True) -> Key:
    return partition(recipient), f"{INBOX if in_app else DELIVERY_ONLY}{notification_id}"


def event_marker_key(recipient: str, event_id: str) -> Key:
    """The recipient's receipt of an event: which notification it became (idempotent delivery even
    when a retried producer stamps the same event with another time)."""
    return partition(recipient), f"E#{hashlib.sha256(event_id.encode()).hexdigest()[:32]}"


def notification_id(event_id: str, occurred_at: str, recipient: str) -> str:
    digits = re.sub(r"[^0-9]", "", occurred_at)[:20].ljust(8, "0")
    digest = hashlib.sha256(f"{event_id}\n{recipient}".encode()).hexdigest()[:16]
    return f"n{digits}-{digest}"


class PreferencesRecord(Stored):
    kind: ClassVar[str] = "notify_prefs"
    recipient: str = Field(exclude=True)
    language: str
    channels: list[Channel]
    updated_at: str

    def key(self) -> Key:
        return prefs_key(self.recipient)


class NotificationRecord(Stored):
    """One event told to one recipient: the text as rendered in their language, and per channel
    what happened (``sent``, ``failed`` -> retried by redelivery, ``skipped``: no contact)."""

    kind: ClassVar[str] = "notification"
    recipient: str
    notification_id: str
    event_id: str
    event_kind: str
    language: str
    title: str
    body: str
    sms: str
    created_at: str
    in_app: bool
    channels: dict[str, ChannelStatus] = Field(default_factory=dict)
    read_at: str | None = None
    refs: dict[str, str] = Field(default_factory=dict)  # the ids the event was about (project, run, ...)

    def key(self) -> Key:
        return notification_key(self.recipient, self.notification_id, in_app=self.in_app)

    def index(self) -> dict[str, str]:
        if not self.in_app or self.read_at:
            return {}
        return {"gsi1pk": unread_index(self.recipient), "gsi1sk": self.notification_id}


class EventMarker(Stored):
    kind: ClassVar[str] = "notify_event"
    recipient: str = Field(exclude=True)
    event_id: str
    notification_id: str
    in_app: bool

    def key(self) -> Key:
        return event_marker_key(self.recipient, self.event_id)


class NotificationStore:
    def __init__(self, store: TableStore):
        self.store = store

    # ---- preferences ----------------------------------------------------------------------------
    def preferences(self, recipient: str) -> PreferencesRecord | None:
        item = self.store.get(prefs_key(recipient))
        return None if item is None else PreferencesRecord.model_validate({**item, "recipient": recipient})

    def save_preferences(self, record: PreferencesRecord) -> None:
        self.store.transact([Put(record.to_item())])

    # ---- notifications --------------------------------------------------------------------------
    def get(self, recipient: str, nid: str, *, in_app: bool = True) -> NotificationRecord | None:
        return NotificationRecord.from_item(self.store.get(notification_key(recipient, nid, in_app=in_app)))

    def add(self, record: NotificationRecord) -> NotificationRecord:
        """Store ``record`` unless this event was already told to this recipient; the stored one
        either way (a redelivery continues with the channels still to send)."""
        marker = EventMarker(
            recipient=record.recipient,
            event_id=record.event_id,
            notification_id=record.notification_id,
            in_app=record.in_app,
        )
        try:
            self.store.transact([Put(marker.to_item(), if_absent=True), Put(record.to_item(), if_absent=True)])
            return record
        except WriteConflict:
            item = self.store.get(marker.key())
            if item is None:  # the record's own key was taken: the same event and recipient, told before
                existing = self.get(record.recipient, record.notification_id, in_app=record.in_app)
            else:
                first = EventMarker.model_validate({**item, "recipient": record.recipient})
                existing = self.get(record.recipient, first.notification_id, in_app=first.in_app)
            if existing is None:
                raise
            return existing

    def set_channel(self, record: NotificationRecord, channel: str, status: ChannelStatus) -> None:
        self.store.transact([Update(record.key(), set={f"channels.{channel}": status}, if_exists=True)])
        record.channels[channel] = status

    def page(
        self, recipient: str, *, unread: bool, limit: int, start: dict[str, Any] | None
    ) -> tuple[list[NotificationRecord], dict[str, Any] | None]:
        if unread:
            items, last = self.store.query(
                unread_index(recipient), index=True, limit=limit, start=start, newest_first=True
            )
        else:
            items, last = self.store.query(
                partition(recipient), prefix=INBOX, limit=limit, start=start, newest_first=True
            )
        return [NotificationRecord.from_item(i) for i in items[:limit]], last

    def mark_read(self, record: NotificationRecord, now: str) -> NotificationRecord:
        if record.read_at:
            return record
        self.store.transact([Update(record.key(), set={"read_at": now}, remove=("gsi1pk", "gsi1sk"), if_exists=True)])
        return record.model_copy(update={"read_at": now})

    def erase(self, recipient: str) -> int:
        """Delete every item of the recipient's partition (preferences and notifications)."""
        keys: list[Key] = []
        start: dict[str, Any] | None = None
        while True:
            items, start = self.store.query(partition(recipient), limit=500, start=start)
            keys.extend((i["pk"], i["sk"]) for i in items)
            if not start:
                break
        for chunk in iter_chunks(keys, 100):
            self.store.transact([Delete(k) for k in chunk])
        return len(keys)


def erase_user(user_id: str, *, store: NotificationStore) -> int:
    """Personal-data erasure: an account's notifications and preferences (the number of items)."""
    return store.erase(user_recipient(user_id))


def erase_farmer(farmer_id: str, *, store: NotificationStore) -> int:
    """Personal-data erasure: what was sent to a farmer without an account (SMS texts, statuses)."""
    return store.erase(farmer_recipient(farmer_id))

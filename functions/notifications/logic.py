"""The caller's own notifications and preferences. Nobody reads or marks anyone else's: every
read is in the caller's own partition, so another user's notification id answers exactly like an
id that does not exist (404 ``not_found``, same message)."""

from __future__ import annotations

from collections.abc import Callable

from agri_common.platform.errors import NotFoundError
from agri_common.platform.pagination import page_position, page_token
from agri_common.platform.principal import Principal
from functions.notifications import models as m
from functions.notifications.delivery import DEFAULT_CHANNELS
from functions.notifications.store import NotificationStore, PreferencesRecord, user_recipient
from functions.notifications.templates import DEFAULT_LANGUAGE

NOT_FOUND = "notification not found"


class NotificationService:
    def __init__(self, store: NotificationStore, *, now: Callable[[], str]):
        self.store = store
        self.now = now

    def list(self, caller: Principal, *, unread: bool, limit: int, next_token: str | None) -> m.NotificationPage:
        recipient = user_recipient(caller.user_id)
        scope = {"u": caller.user_id, "unread": unread}
        start = page_position(next_token, scope)
        records, last = self.store.page(recipient, unread=unread, limit=limit, start=start)
        return m.NotificationPage(items=[m.NotificationOut.of(r) for r in records], next_token=page_token(scope, last))

    def mark_read(self, caller: Principal, notification_id: str) -> m.NotificationOut:
        record = self.store.get(user_recipient(caller.user_id), notification_id)
        if record is None:
            raise NotFoundError(NOT_FOUND)
        return m.NotificationOut.of(self.store.mark_read(record, self.now()))

    def preferences(self, caller: Principal) -> m.PreferencesOut:
        record = self.store.preferences(user_recipient(caller.user_id))
        if record is None:
            return m.PreferencesOut(language=DEFAULT_LANGUAGE, channels=list(DEFAULT_CHANNELS))
        return m.PreferencesOut.of(record)

    def update_preferences(self, caller: Principal, body: m.PreferencesUpdate) -> m.PreferencesOut:
        current = self.preferences(caller)
        record = PreferencesRecord(
            recipient=user_recipient(caller.user_id),
            language=body.language if body.language is not None else current.language,
            channels=list(body.channels) if body.channels is not None else current.channels,
            updated_at=self.now(),
        )
        self.store.save_preferences(record)
        return m.PreferencesOut.of(record)

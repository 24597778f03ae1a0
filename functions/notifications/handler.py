"""Notification routes: the caller's in-app notifications and their delivery preferences.

Every authenticated role may call them, each about the caller only. Delivery itself is the
``delivery_handler`` function (the queue's consumer); the auditor reminder is ``reminder_handler``.
"""

from __future__ import annotations

from typing import Annotated

from aws_lambda_powertools.event_handler import Depends
from aws_lambda_powertools.event_handler.openapi.params import Path, Query

from agri_common.platform.activity import audited
from agri_common.platform.clock import utc_iso_micros_z
from agri_common.platform.principal import Principal
from agri_common.platform.resolver import PRIVATE, current_principal, make_handler, make_resolver
from agri_common.platform.revocation import revocation_store
from agri_common.platform.settings import BaseSettingsModel, load_settings
from functions.notifications import models as m
from functions.notifications.logic import NotificationService
from functions.notifications.store import NOTIFICATION_ID, NotificationStore

app = make_resolver()
TAGS = ["notifications"]
NotificationId = Annotated[str, Path(pattern=NOTIFICATION_ID)]


class NotificationSettings(BaseSettingsModel):
    farm_table: str


_revocation = revocation_store  # looked up per call by make_handler: tests swap it


def get_service() -> NotificationService:
    from agri_common.single_table import DynamoTableStore

    s = load_settings(NotificationSettings)
    return NotificationService(NotificationStore(DynamoTableStore(s.farm_table)), now=utc_iso_micros_z)


def get_principal() -> Principal:
    return current_principal(app)


Service = Annotated[NotificationService, Depends(get_service)]
Caller = Annotated[Principal, Depends(get_principal)]


@app.get("/notifications", tags=TAGS, security=PRIVATE, summary="My notifications, newest first, paginated")
def list_notifications(
    svc: Service,
    caller: Caller,
    unread: Annotated[bool, Query(description="Only those not read yet")] = False,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    next_token: Annotated[str | None, Query(max_length=4096)] = None,
) -> m.NotificationPage:
    return svc.list(caller, unread=unread, limit=limit, next_token=next_token)


@app.post(
    "/notifications/<notification_id>/read",
    tags=TAGS,
    security=PRIVATE,
    summary="Mark one of my notifications read (idempotent)",
    openapi_extensions=audited("notification.read", errors=[404]),
)
def mark_read(notification_id: NotificationId, svc: Service, caller: Caller) -> m.NotificationOut:
    return svc.mark_read(caller, notification_id)


@app.get("/me/preferences", tags=TAGS, security=PRIVATE, summary="My notification language and channels")
def get_preferences(svc: Service, caller: Caller) -> m.PreferencesOut:
    return svc.preferences(caller)


@app.put(
    "/me/preferences",
    tags=TAGS,
    security=PRIVATE,
    summary="Change my notification language and/or channels (fields left out keep their value)",
    openapi_extensions=audited("preferences.update"),
)
def put_preferences(body: m.PreferencesUpdate, svc: Service, caller: Caller) -> m.PreferencesOut:
    return svc.update_preferences(caller, body)


lambda_handler = make_handler(app, revocation=lambda: _revocation())  # looked up per call

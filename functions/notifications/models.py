"""Notification routes: bodies and answers (the stored items are in store.py)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from agri_common.platform.inputs import PartialUpdate
from functions.notifications import examples
from functions.notifications.store import Channel, NotificationRecord, PreferencesRecord

# The farmers' language list (functions/farmers/request_models.Language): a language without a
# template file gets English text.
Language = Literal["as", "bn", "en", "gu", "hi", "kn", "ml", "mr", "or", "pa", "ta", "te", "ur"]


class PreferencesUpdate(PartialUpdate):
    """Only the fields sent change; ``null`` is refused (leave a field out to keep it)."""

    model_config = ConfigDict(json_schema_extra={"examples": [examples.PUT_PREFERENCES]})
    language: Language | None = None
    channels: list[Channel] | None = Field(
        default=None, max_length=3, description="Where to be told: in_app, sms, email; [] for nothing"
    )

    @field_validator("channels")
    @classmethod
    def _unique(cls, value: list[Channel] | None) -> list[Channel] | None:
        if value is not None and len(set(value)) != len(value):
            raise ValueError("each channel at most once")
        return value


class PreferencesOut(BaseModel):
    language: str
    channels: list[Channel]
    updated_at: str | None = Field(default=None, description="null: never set (the defaults apply)")

    @classmethod
    def of(cls, record: PreferencesRecord) -> PreferencesOut:
        return cls(language=record.language, channels=list(record.channels), updated_at=record.updated_at)


class NotificationOut(BaseModel):
    notification_id: str
    kind: str
    title: str
    body: str
    language: str
    created_at: str
    read: bool
    read_at: str | None = None
    refs: dict[str, str] = Field(default_factory=dict, description="What it is about: project_id, run_id, ...")

    @classmethod
    def of(cls, r: NotificationRecord) -> NotificationOut:
        return cls(
            notification_id=r.notification_id,
            kind=r.event_kind,
            title=r.title,
            body=r.body,
            language=r.language,
            created_at=r.created_at,
            read=r.read_at is not None,
            read_at=r.read_at,
            refs=r.refs,
        )


class NotificationPage(BaseModel):
    items: list[NotificationOut]
    next_token: str | None = Field(default=None, description="Pass back as ?next_token= for the next page")

"""Bodies of the activity routes: the events as the API shows them, and a page of them."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field

ACTION = r"^[a-z_]{1,40}\.[a-z_]{1,40}$"
TARGET = r"^[a-z_]{1,40}:[A-Za-z0-9_.@+:-]{1,200}$"
ACTOR = r"^[A-Za-z0-9_.@+:-]{1,200}$"
MAX_LIMIT = 200
DEFAULT_LIMIT = 50
MAX_SPAN_DAYS = 92
DEFAULT_SPAN_DAYS = 30


class EventOut(BaseModel):
    event_id: str
    at: str = Field(description="UTC, microseconds: 2026-11-27T17:20:00.123456Z")
    source: Literal["api", "pipeline"]
    action: str = Field(description="<kind>.<verb>, e.g. farmer.register, pipeline.calculate")
    actor_id: str = Field(description="The caller's user id (sub); 'anonymous' on public routes; 'pipeline'")
    actor_role: str | None = None
    target_kind: str | None = None
    target_id: str | None = None
    fpo_id: str | None = None
    project_id: str | None = None
    request_id: str | None = Field(None, description="API Gateway's request id (the run id for pipeline steps)")
    outcome: str = Field(description="ok, the error code of a refusal, or interrupted (the function died first)")
    status: int | None = Field(None, description="The HTTP status answered (API events)")
    diff: dict[str, Any] | None = Field(
        None, description="fields: the changed field names; values: new values of non-personal fields only"
    )


class EventPage(BaseModel):
    events: list[EventOut]
    next_token: str | None = None

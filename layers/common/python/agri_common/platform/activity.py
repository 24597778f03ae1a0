"""The activity log's write side: one event per state-changing request and per pipeline step.

Written once, here, for everyone (docs/decisions/0013-activity-log.md):

- a route declares its action with ``openapi_extensions=audited("farmer.register")`` (every non-GET
  route must: tests/unit/test_activity_routes.py walks the route table). The action's prefix is the
  target's kind unless ``target=`` says otherwise;
- :func:`make_handler <agri_common.platform.resolver.make_handler>` calls :func:`begin_request` before
  anything else of a mutating request and :func:`finish_request` with the response, refusals included
  (outcome = the error code); the pipeline's ``@task`` does the same per step;
- a handler or logic function may add what only it knows with :func:`note` (target, FPO, project,
  changed fields); everything else is derived: the target id from the route's ``<kind>_id`` path
  parameter or the response's ``<kind>_id``, the FPO and project from path parameters, the body's
  top-level ``fpo_id``/``project_id``, or an FPO manager's own FPO; the diff from the body's field names.

Never lost: :func:`begin_request` first appends an *intent* (the event with outcome ``interrupted``)
keyed by the deadline after which the function cannot be running any more; :func:`finish_request`
appends the real event with a conditional put keyed by the event id. If the process dies in between,
or the final put fails, the sweeper appends the intent's event after the deadline (a conditional put
too: exactly one event either way). If the intent cannot be written, the request is refused with 503
before anything runs.

No personal data: a diff holds field *names*; a value only for the fields of :data:`VALUE_FIELDS`
(statuses, roles, vocabularies, numbers about a plot-season; never names, phone numbers, Aadhaar,
tokens, addresses or free text). Ids are stored: they are pseudonymous.
"""

from __future__ import annotations

import datetime as dt
import os
import uuid
from collections.abc import Mapping
from contextvars import ContextVar
from dataclasses import dataclass, field
from functools import cache
from typing import Any

from agri_common.activity_table import (
    ANONYMOUS,
    ActivityEvent,
    ActivityIntent,
    ActivityStore,
    DynamoActivityStore,
    stamp,
)

EXTENSION = "x-activity"
MUTATING = frozenset({"POST", "PUT", "PATCH", "DELETE"})
SAFETY_MARGIN = dt.timedelta(seconds=60)
DEFAULT_BUDGET_MS = 30_000
MAX_DIFF_FIELDS = 40
MAX_VALUE_CHARS = 40

# Fields whose values are never personal data: states, roles, vocabularies, dates and quantities of a
# plot-season, project parameters. Anything not listed is recorded by name only.
VALUE_FIELDS = frozenset(
    {
        "status",
        "role",
        "decision",
        "enabled",
        "version",
        "year",
        "season",
        "crop",
        "water_regime",
        "preseason_water",
        "residue_fate",
        "sowing_date",
        "harvest_date",
        "cultivation_days",
        "synthetic_n_kg_per_ha",
        "urea_kg_per_ha",
        "yield_t_per_ha",
        "declared_area_ha",
        "methodology",
        "profile",
        "gwp",
        "period",
        "crediting_start",
        "crediting_end",
        "quantity",
        "format",
        "content_type",
    }
)


def audited(action: str, *, target: str | None = None, errors: list[int] | None = None) -> dict[str, Any]:
    """A route's ``openapi_extensions``: its action name (``<kind>.<verb>``), ``target`` when the
    target's kind is not the action's prefix, and the route's extra error statuses (``x-errors``,
    infra/openapi.py)."""
    spec: dict[str, str] = {"action": action}
    if target:
        spec["target"] = target
    out: dict[str, Any] = {EXTENSION: spec}
    if errors:
        out["x-errors"] = errors
    return out


@dataclass
class Note:
    target: tuple[str, str] | None = None
    fpo_id: str | None = None
    project_id: str | None = None
    diff: dict[str, Any] | None = None


_note: ContextVar[Note | None] = ContextVar("activity_note", default=None)


def note(
    *,
    target: tuple[str, str] | None = None,
    fpo_id: str | None = None,
    project_id: str | None = None,
    changed: Mapping[str, Any] | None = None,
) -> None:
    """Tell the current request's event what only the handler knows. Outside a request: no effect."""
    current = _note.get()
    if current is None:
        return
    if target is not None:
        current.target = target
    if fpo_id:
        current.fpo_id = fpo_id
    if project_id:
        current.project_id = project_id
    if changed is not None:
        current.diff = diff_of(changed)


def diff_of(changed: Mapping[str, Any]) -> dict[str, Any]:
    """``{"fields": [names], "values": {name: value}}``: values only of :data:`VALUE_FIELDS`, and only
    short scalars (never a nested object, which could carry anything)."""
    names = sorted(str(k) for k in changed)[:MAX_DIFF_FIELDS]
    values = {
        k: v
        for k, v in changed.items()
        if k in VALUE_FIELDS
        and (isinstance(v, (bool, int, float)) or (isinstance(v, str) and len(v) <= MAX_VALUE_CHARS))
    }
    return {"fields": names, "values": values} if values else {"fields": names}


# ---- the store -------------------------------------------------------------------------------------
_override: list[ActivityStore] = []


def use_store(store: ActivityStore | None) -> None:
    """Tests: write to ``store`` (None: back to the table named by ``ACTIVITY_TABLE``)."""
    _override.clear()
    if store is not None:
        _override.append(store)


@cache
def _dynamo(table: str) -> DynamoActivityStore:
    return DynamoActivityStore(table)


def store() -> ActivityStore:
    if _override:
        return _override[0]
    table = os.environ.get("ACTIVITY_TABLE")
    if not table:
        raise RuntimeError("ACTIVITY_TABLE is not set: this function's construct must grant the activity table")
    return _dynamo(table)


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


# ---- one recording (a request or a step) ---------------------------------------------------------
@dataclass
class Recording:
    event: ActivityEvent
    note: Note
    route_params: dict[str, str] = field(default_factory=dict)
    target_kind: str | None = None
    body: dict[str, Any] | None = None
    token: Any = None


def begin(event: ActivityEvent, *, budget_ms: int, target_kind: str | None = None) -> Recording:
    """Append the intent of ``event`` (raises if that fails: the caller must not go on) and open the
    request-scoped note."""
    deadline = _now() + dt.timedelta(milliseconds=max(budget_ms, 0)) + SAFETY_MARGIN
    store().append_intent(ActivityIntent.for_event(event, deadline))
    current = Note()
    return Recording(event=event, note=current, target_kind=target_kind, token=_note.set(current))


def finish(recording: Recording, *, outcome: str, status: int | None = None) -> ActivityEvent:
    """Complete the event with the note and the outcome and append it. A failing put is logged and
    left to the sweeper (the intent is there); it never changes the response."""
    from agri_common.platform.observability import logger

    if recording.token is not None:
        _note.reset(recording.token)
        recording.token = None
    n = recording.note
    ev = recording.event
    update: dict[str, Any] = {"outcome": outcome, "status": status}
    if n.target is not None:
        update["target_kind"], update["target_id"] = n.target
    if n.fpo_id:
        update["fpo_id"] = n.fpo_id
    if n.project_id:
        update["project_id"] = n.project_id
    if n.diff is not None and outcome == "ok":
        update["diff"] = n.diff
    final = ev.model_copy(update=update)
    try:
        store().append(final)
    except Exception:
        logger.exception("activity event not written; the sweeper appends it from its intent")
    return final


# ---- the API hook ----------------------------------------------------------------------------------
def route_spec(app: Any, method: str, path: str) -> tuple[dict[str, str], dict[str, str]] | None:
    """The matched route's activity declaration and its path parameters, for a mutating method."""
    from urllib.parse import unquote

    if method not in MUTATING:
        return None
    for route in app._static_routes + app._dynamic_routes:
        if route.method != method:
            continue
        match = route.rule.match(path)
        if match:
            spec = (route.openapi_extensions or {}).get(EXTENSION)
            if not spec:  # CI refuses this (tests/unit/test_activity_routes.py); at run time it is still logged
                from agri_common.platform.observability import logger

                logger.warning("mutating route without an activity action", extra={"route": f"{method} {route.path}"})
                spec = {"action": f"unnamed.{method.lower()}", "target": "unnamed"}
            return dict(spec), {k: unquote(v) for k, v in match.groupdict().items()}
    return None


def _actor(claims: Mapping[str, Any] | None) -> tuple[str, str | None, str | None]:
    """(user id, role, FPO) from the authorizer's claims; anonymous without them."""
    if not claims:
        return ANONYMOUS, None, None
    from agri_common.platform.principal import principal_from_claims

    try:
        p = principal_from_claims(claims)
    except Exception:
        return str(claims.get("sub") or ANONYMOUS), None, None
    return p.user_id, p.role.value, p.fpo_id


def begin_request(app: Any, event: Mapping[str, Any], context: Any) -> Recording | None:
    """The recording of a mutating request (None for reads and unknown routes). Raises if the intent
    cannot be written."""
    method = str(event.get("httpMethod") or "").upper()
    request_context = event.get("requestContext") or {}
    path = str(event.get("path") or "")
    found = route_spec(app, method, path)
    if found is None:
        return None
    spec, params = found
    actor, role, actor_fpo = _actor((request_context.get("authorizer") or {}).get("claims"))
    request_id = str(request_context.get("requestId") or uuid.uuid4())
    target_kind = spec.get("target") or spec["action"].split(".", 1)[0]
    target_id = params.get(f"{target_kind}_id")
    ev = ActivityEvent(
        event_id=request_id,
        at=stamp(_now()),
        source="api",
        action=spec["action"],
        actor_id=actor,
        actor_role=role,
        target_kind=target_kind if target_id else None,
        target_id=target_id,
        # a manager acts for their FPO; a farmer's FPO claim is not membership (decision 0007): not used
        fpo_id=params.get("fpo_id") or (actor_fpo if role == "fpo_manager" else None),
        project_id=params.get("project_id"),
        request_id=request_id,
    )
    remaining = getattr(context, "get_remaining_time_in_millis", None)
    budget = remaining() if callable(remaining) else DEFAULT_BUDGET_MS
    recording = begin(ev, budget_ms=budget, target_kind=target_kind)
    recording.route_params = params
    return recording


def set_body(recording: Recording | None, parsed: Any) -> None:
    if recording is not None and isinstance(parsed, dict):
        recording.body = parsed


def finish_request(recording: Recording | None, response: Mapping[str, Any] | None) -> None:
    """Append the request's event from its response (status, error code, created id)."""
    if recording is None:
        return
    import json

    status = int((response or {}).get("statusCode") or 500)
    payload: Any = None
    try:
        payload = json.loads((response or {}).get("body") or "null")
    except (ValueError, TypeError):
        payload = None
    outcome = "ok"
    if status >= 400:
        error = payload.get("error") if isinstance(payload, dict) else None
        outcome = str(error.get("code")) if isinstance(error, dict) and error.get("code") else f"http_{status}"
    n, ev, body = recording.note, recording.event, recording.body or {}
    if outcome == "ok":
        kind = recording.target_kind
        if n.target is None and ev.target_id is None and kind and isinstance(payload, dict):
            created = payload.get(f"{kind}_id")
            if isinstance(created, str) and created:
                n.target = (kind, created)
        t_kind, t_id = n.target or (ev.target_kind, ev.target_id)
        if t_kind == "fpo" and t_id and not n.fpo_id and not ev.fpo_id:  # an FPO's own events are the FPO's
            n.fpo_id = t_id
        if t_kind == "project" and t_id and not n.project_id and not ev.project_id:
            n.project_id = t_id
        if not n.fpo_id and not ev.fpo_id and isinstance(body.get("fpo_id"), str):
            n.fpo_id = body["fpo_id"]
        if not n.project_id and not ev.project_id and isinstance(body.get("project_id"), str):
            n.project_id = body["project_id"]
        if n.diff is None and body:
            n.diff = diff_of(body)
    finish(recording, outcome=outcome, status=status)


def abandon(recording: Recording | None, exc: BaseException) -> None:
    """An exception escaped the resolver: the event says so (the intent would say ``interrupted``)."""
    if recording is not None:
        finish(recording, outcome="internal_error", status=500)


# ---- the pipeline hook -----------------------------------------------------------------------------
PIPELINE_ACTOR = "pipeline"
PIPELINE_BUDGET_MS = 900_000  # Lambda's longest timeout: a step cannot outlive it


def begin_step(step: str, *, run_id: str | None, project_id: str | None) -> Recording:
    """A pipeline step run: action ``pipeline.<step>``, target the run."""
    return begin_system(f"pipeline.{step}", target=("run", run_id) if run_id else None, project_id=project_id)


def begin_system(action: str, *, target: tuple[str, str] | None, project_id: str | None = None) -> Recording:
    """A step or scheduled job of ours (actor ``pipeline``), with a fresh event id per run."""
    ev = ActivityEvent(
        event_id=str(uuid.uuid4()),
        at=stamp(_now()),
        source="pipeline",
        action=action,
        actor_id=PIPELINE_ACTOR,
        actor_role="system",
        target_kind=target[0] if target else None,
        target_id=target[1] if target else None,
        project_id=project_id,
        request_id=target[1] if target and target[0] == "run" else None,
    )
    return begin(ev, budget_ms=PIPELINE_BUDGET_MS)

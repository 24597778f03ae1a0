"""Who may read which events, and the Queries that answer ``GET /activity`` (never a Scan).

Each caller reads a fixed set of index partitions, chosen by role before any filter:

- an admin: everything; ``actor=`` reads ``by_actor``, else ``target=`` reads ``by_target``, else the
  days of ``from``..``to`` on ``by_day`` (newest day first, one partition at a time);
- an auditor: ``by_project`` of each project they are assigned to (merged newest first);
- an FPO manager: ``by_fpo`` of their FPO;
- a farmer: ``by_actor`` of their own user id (what they did).

The other filters narrow those partitions; a filter outside the caller's scope just finds nothing, so
an event the caller may not see answers exactly like one that does not exist (an empty page). A page
reads at most :data:`MAX_READ` events; when that cap stops it, ``next_token`` continues from there.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from agri_common.activity_table import ActivityEvent, ActivityStore, IndexName, stamp, target_key, time_key
from agri_common.platform.errors import UnprocessableError
from agri_common.platform.pagination import invalid_token, page_position, page_token
from agri_common.platform.principal import Principal, Role
from functions.activity.models import DEFAULT_SPAN_DAYS, MAX_SPAN_DAYS

BATCH = 100
MAX_READ = 2000
POSITION = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z#[\x21-\x7e]{1,200}$")
Partition = tuple[IndexName, str]


@dataclass(frozen=True)
class Filters:
    actor: str | None = None
    target: str | None = None  # "<kind>:<id>"
    action: str | None = None
    start: dt.datetime = field(default_factory=lambda: dt.datetime.now(dt.UTC))
    end: dt.datetime = field(default_factory=lambda: dt.datetime.now(dt.UTC))
    raw: tuple[str | None, str | None] = (None, None)  # from and to as given (a default moves with the clock)

    def keep(self, event: ActivityEvent) -> bool:
        if self.actor is not None and event.actor_id != self.actor:
            return False
        if self.action is not None and event.action != self.action:
            return False
        if self.target is not None:
            kind, _, ident = self.target.partition(":")
            if (event.target_kind, event.target_id) != (kind, ident):
                return False
        return True

    def scope(self) -> dict[str, Any]:
        return {
            "actor": self.actor,
            "target": self.target,
            "action": self.action,
            "from": self.raw[0],
            "to": self.raw[1],
        }


def parse_time(value: str | None, *, name: str, end_of_day: bool) -> dt.datetime | None:
    """An ISO date (``2026-11-27``: the whole UTC day) or date-time with a UTC offset; 422 otherwise."""
    if value is None:
        return None
    try:
        if len(value) == 10:
            day = dt.date.fromisoformat(value)
            moment = dt.datetime.combine(day, dt.time.max if end_of_day else dt.time.min, tzinfo=dt.UTC)
            return moment
        moment = dt.datetime.fromisoformat(value)
    except ValueError:
        raise UnprocessableError(
            f"{name} must be an ISO date (2026-11-27) or date-time with an offset (2026-11-27T10:00:00Z)",
            code="invalid_date",
            details=[{"field": f"query.{name}", "issue": "not an ISO date or date-time", "type": "invalid_date"}],
        ) from None
    if moment.tzinfo is None:
        raise UnprocessableError(
            f"{name} needs a UTC offset (Z or +05:30)",
            code="invalid_date",
            details=[{"field": f"query.{name}", "issue": "date-time without an offset", "type": "invalid_date"}],
        )
    return moment.astimezone(dt.UTC)


def filters_from(
    *,
    actor: str | None,
    target: str | None,
    action: str | None,
    start: str | None,
    end: str | None,
    now: dt.datetime,
) -> Filters:
    upper = parse_time(end, name="to", end_of_day=True) or now
    lower = parse_time(start, name="from", end_of_day=False) or (upper - dt.timedelta(days=DEFAULT_SPAN_DAYS))
    if lower > upper:
        raise UnprocessableError(
            "from is after to",
            code="invalid_time_range",
            details=[{"field": "query.from", "issue": "after to", "type": "invalid_time_range"}],
        )
    if upper - lower > dt.timedelta(days=MAX_SPAN_DAYS):
        raise UnprocessableError(
            f"from..to spans more than {MAX_SPAN_DAYS} days: ask for a shorter range",
            code="invalid_time_range",
            details=[
                {
                    "field": "query.from",
                    "issue": f"more than {MAX_SPAN_DAYS} days before to",
                    "type": "invalid_time_range",
                }
            ],
        )
    return Filters(actor=actor, target=target, action=action, start=lower, end=upper, raw=(start, end))


@dataclass(frozen=True)
class Plan:
    partitions: list[Partition]
    disjoint: bool = False  # partitions hold disjoint, descending time ranges (days): read one at a time


def plan_for(caller: Principal, f: Filters, auditor_projects: Callable[[str], Iterable[str]]) -> Plan:
    if caller.role is Role.ADMIN:
        if f.actor:
            return Plan([("by_actor", f.actor)])
        if f.target:
            kind, _, ident = f.target.partition(":")
            return Plan([("by_target", target_key(kind, ident))])
        days: list[Partition] = []
        day = f.end.date()
        while day >= f.start.date():
            days.append(("by_day", day.isoformat()))
            day -= dt.timedelta(days=1)
        return Plan(days, disjoint=True)
    if caller.role is Role.AUDITOR:
        return Plan([("by_project", p) for p in sorted(auditor_projects(caller.user_id))])
    if caller.role is Role.FPO_MANAGER:
        return Plan([("by_fpo", caller.fpo_id)] if caller.fpo_id else [])
    return Plan([("by_actor", caller.user_id)])


def _checked_position(position: Any) -> tuple[str, str]:
    """(after, before) of a token: both time keys, after < before, at most the longest range apart."""
    if not isinstance(position, dict) or set(position) != {"after", "before"}:
        raise invalid_token()
    after, before = position["after"], position["before"]
    if not (isinstance(after, str) and isinstance(before, str) and POSITION.match(before)):
        raise invalid_token()
    if not re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z", after) or not after < before:
        raise invalid_token()
    start, end = (dt.datetime.strptime(t[:27], "%Y-%m-%dT%H:%M:%S.%fZ") for t in (after, before))
    if end - start > dt.timedelta(days=MAX_SPAN_DAYS + 1):
        raise invalid_token()
    return after, before


class ActivityReader:
    def __init__(self, store: ActivityStore, auditor_projects: Callable[[str], Iterable[str]]) -> None:
        self.store = store
        self.auditor_projects = auditor_projects

    def page(
        self, caller: Principal, f: Filters, *, limit: int, next_token: str | None
    ) -> tuple[list[ActivityEvent], str | None]:
        scope = {"caller": caller.user_id, "role": caller.role.value, **f.scope()}
        after = stamp(f.start)
        upper = stamp(f.end) + "~"  # "~" sorts after "#<event id>": events at exactly `to` are in
        position = page_position(next_token, scope)
        if position is not None:  # the first page's bounds (a default `to` is "now" of the first page)
            after, upper = _checked_position(position)
        plan = plan_for(caller, f, self.auditor_projects)
        events, last = self._merge(plan, before=upper, after=after, limit=limit, keep=f.keep)
        return events, page_token(scope, {"after": after, "before": last} if last else None)

    def _merge(
        self, plan: Plan, *, before: str, after: str, limit: int, keep: Callable[[ActivityEvent], bool]
    ) -> tuple[list[ActivityEvent], str | None]:
        """Up to ``limit`` kept events across the plan's partitions, newest first, and the position after
        the last one examined when the page stopped early (None when every partition is exhausted)."""
        partitions = [p for p in plan.partitions if not plan.disjoint or p[1] <= before[:10]]
        buffers: list[list[ActivityEvent]] = [[] for _ in partitions]
        cursors = [before] * len(partitions)
        exhausted = [False] * len(partitions)
        out: list[ActivityEvent] = []
        read = 0
        while True:
            active = range(len(partitions))
            if plan.disjoint:
                first = next((i for i in active if buffers[i] or not exhausted[i]), None)
                active = range(first, first + 1) if first is not None else range(0)
            for i in active:
                if not buffers[i] and not exhausted[i]:
                    index, value = partitions[i]
                    batch = self.store.query(index, value, before=cursors[i], after=after, limit=BATCH)
                    buffers[i] = batch
                    exhausted[i] = len(batch) < BATCH
                    if batch:
                        cursors[i] = time_key(batch[-1].at, batch[-1].event_id)
            heads = [i for i in active if buffers[i]]
            if not heads:
                if plan.disjoint and any(not e or b for e, b in zip(exhausted, buffers, strict=True)):
                    continue
                return out, None
            best = max(heads, key=lambda i: time_key(buffers[i][0].at, buffers[i][0].event_id))
            event = buffers[best].pop(0)
            read += 1
            if keep(event):
                out.append(event)
            if len(out) == limit or read >= MAX_READ:
                return out, time_key(event.at, event.event_id)

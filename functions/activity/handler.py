"""Activity routes: ``GET /activity``, the audit trail as each role may read it (functions/activity/logic.py).

Events are written by every other domain's entry point and by the pipeline's tasks
(agri_common.platform.activity); this domain only reads them (Query on the activity table's indexes)
and, for auditors, their project assignments (the pipeline table).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable
from typing import Annotated

from aws_lambda_powertools.event_handler import Depends
from aws_lambda_powertools.event_handler.openapi.params import Query

from agri_common.platform import activity
from agri_common.platform.principal import AuditScope, Principal, with_audit_scope
from agri_common.platform.resolver import PRIVATE, current_principal, make_handler, make_resolver
from agri_common.platform.revocation import revocation_store
from agri_common.project_access import assignments_from_env
from functions.activity import models as m
from functions.activity.logic import ActivityReader, filters_from

app = make_resolver()
TAGS = ["activity"]
_revocation = revocation_store  # looked up per call by make_handler: tests swap it

get_assignments = assignments_from_env


def get_principal(assignments: Annotated[Callable[[str], AuditScope], Depends(get_assignments)]) -> Principal:
    return with_audit_scope(current_principal(app), assignments)


def get_reader(assignments: Annotated[Callable[[str], AuditScope], Depends(get_assignments)]) -> ActivityReader:
    def projects(user_id: str) -> Iterable[str]:
        return assignments(user_id).project_ids

    return ActivityReader(activity.store(), projects)


Reader = Annotated[ActivityReader, Depends(get_reader)]
Caller = Annotated[Principal, Depends(get_principal)]


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


@app.get(
    "/activity",
    tags=TAGS,
    security=PRIVATE,
    summary="The activity log, newest first: admins all of it, auditors their projects', FPO managers their "
    "FPO's, farmers their own actions",
    description="Filters: `actor` (a user id), `target` (`<kind>:<id>`, e.g. `farmer:F-1A2B`), `action` "
    "(e.g. `farmer.register`), `from`/`to` (ISO date or date-time with an offset; a date is the whole UTC "
    f"day; default the last {m.DEFAULT_SPAN_DAYS} days, at most {m.MAX_SPAN_DAYS}). An event outside the "
    "caller's scope is never listed: a filter on it finds nothing, exactly like a filter on nothing.",
    openapi_extensions={"x-errors": [400, 422]},
)
def list_activity(
    reader: Reader,
    caller: Caller,
    actor: Annotated[str | None, Query(pattern=m.ACTOR)] = None,
    target: Annotated[str | None, Query(pattern=m.TARGET)] = None,
    action: Annotated[str | None, Query(pattern=m.ACTION)] = None,
    from_: Annotated[str | None, Query(alias="from", max_length=40)] = None,
    to: Annotated[str | None, Query(max_length=40)] = None,
    limit: Annotated[int, Query(ge=1, le=m.MAX_LIMIT)] = m.DEFAULT_LIMIT,
    next_token: Annotated[str | None, Query(max_length=2048)] = None,
) -> m.EventPage:
    filters = filters_from(actor=actor, target=target, action=action, start=from_, end=to, now=_now())
    events, token = reader.page(caller, filters, limit=limit, next_token=next_token)
    return m.EventPage(events=[m.EventOut.model_validate(e.public()) for e in events], next_token=token)


lambda_handler = make_handler(app, revocation=lambda: _revocation())

"""Project assignment reads for other domains: which projects an auditor may see, and what a
caller may see of a project's records.

Project assignment is what gives an auditor access (``Owned.assigned_auditors``, read from the
project item). Farmer data and the ledger scope an auditor's reads the same way::

    from agri_common.project_access import auditor_scope
    scope = auditor_scope(store, principal.user_id)  # one Query on gsi1, one BatchGetItem; no Scan

``store`` is a :class:`agri_common.single_table.DynamoTableStore` on the pipeline table
(``PIPELINE_TABLE``); the function then needs ``dynamodb:Query``/``GetItem`` on that table and its
index (``Storage.grant_pipeline_read``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from agri_common import pipeline_table
from agri_common.platform.errors import NotFoundError
from agri_common.platform.principal import AuditScope, Owned, Principal, Role, can_access
from agri_common.platform.settings import BaseSettingsModel


class AssignmentSettings(BaseSettingsModel):
    pipeline_table: str


def auditor_project_ids(store: Any, user_id: str) -> list[str]:
    items, _ = store.query(pipeline_table.auditor_projects_index(user_id), index=True)
    return sorted(item["project_id"] for item in items)


def fpo_project_ids(store: Any, fpo_id: str) -> list[str]:
    items, _ = store.query(pipeline_table.fpo_projects_index(fpo_id), index=True)
    return sorted(item["project_id"] for item in items)


def auditor_projects(store: Any, user_id: str) -> list[pipeline_table.ProjectRecord]:
    """The projects an auditor is assigned to: their assignments on gsi1 (one Query), kept only while
    the project item itself (consistent BatchGetItem) still lists them, since the index may lag."""
    ids = auditor_project_ids(store, user_id)
    found = store.batch_get([pipeline_table.project(i) for i in ids]) if ids else []
    return [p for p in map(pipeline_table.ProjectRecord.from_item, found) if user_id in p.auditors]


def auditor_scope(store: Any, user_id: str) -> AuditScope:
    """What an auditor may read, for ``agri_common.platform.principal.with_audit_scope``: one Query (their
    assignments on gsi1) and one BatchGetItem (those projects, consistent reads; 100 keys a call).

    A project counts only while its own item still lists the auditor, so removing the auditor
    from the project takes effect at once even while the (eventually consistent) index lags.
    """
    live = auditor_projects(store, user_id)
    if not live:
        return AuditScope()
    return AuditScope(
        project_ids=frozenset(p.project_id for p in live), fpo_ids=frozenset(f for p in live for f in p.fpo_ids)
    )


def assignments_from_env() -> Callable[[str], AuditScope]:
    """The Powertools dependency of the API domains that scope auditors: how an auditor's
    assignments are read (the pipeline table, ``$PIPELINE_TABLE``); called for auditors only.
    Tests override it per app (``app.dependency_overrides[handler.get_assignments]``)."""
    from agri_common.platform.settings import load_settings
    from agri_common.single_table import DynamoTableStore

    table = load_settings(AssignmentSettings).pipeline_table
    return lambda user_id: auditor_scope(DynamoTableStore(table), user_id)


# ---- what a caller may see of a project's records (projects and verification routes) -------------
RECORD_KINDS = ("project", "run", "task", "sample", "report")


def not_found(kind: str) -> NotFoundError:
    """The one 404 of a pipeline record of ``kind``. A record the caller may not see answers with
    exactly this error too (same status, code and message), so no route of projects or
    verification tells "not yours" from "does not exist"."""
    if kind not in RECORD_KINDS:
        raise ValueError(f"unknown record kind {kind!r}")
    return NotFoundError(f"{kind.capitalize()} not found")


def project_visible(caller: Principal, project: pipeline_table.ProjectRecord | None) -> bool:
    """Admin: every project; FPO manager: the projects covering their FPO; auditor: the projects
    whose item lists them (read consistently, so an unassignment counts at once)."""
    return project is not None and can_access(caller, project.owned_for(caller))


def visible_project(
    caller: Principal, project: pipeline_table.ProjectRecord | None, kind: str
) -> pipeline_table.ProjectRecord:
    """The project, when the caller may see it; else the not-found error of the record asked for."""
    if not project_visible(caller, project):
        raise not_found(kind)
    return project  # type: ignore[return-value]


def visible_projects(store: Any, caller: Principal) -> list[pipeline_table.ProjectRecord]:
    """Every project the caller may see (the list form of :func:`project_visible`, same predicate):
    admin: all (one Query); manager: their FPO's (gsi1 Query, then the items, consistent);
    auditor: their assignments (see :func:`auditor_projects`). Oldest first."""
    if caller.role is Role.ADMIN:
        items, _ = store.query(pipeline_table.ALL_PROJECTS_INDEX, index=True)
        found = [pipeline_table.ProjectRecord.from_item(i) for i in items]
    elif caller.role is Role.FPO_MANAGER and caller.fpo_id:
        ids = fpo_project_ids(store, caller.fpo_id)
        found = (
            [
                pipeline_table.ProjectRecord.from_item(i)
                for i in store.batch_get([pipeline_table.project(i) for i in ids])
            ]
            if ids
            else []
        )
    elif caller.role is Role.AUDITOR:
        found = auditor_projects(store, caller.user_id)
    else:
        found = []
    return sorted((p for p in found if project_visible(caller, p)), key=lambda p: (p.created_at, p.project_id))


def row_fpo(project: pipeline_table.ProjectRecord, row: dict[str, Any]) -> str | None:
    """The FPO a sample row or finding belongs to: its ``fpo_id``; a row stored before rows named
    their FPO belongs to the project's FPO when there is only one, else to no one (hidden from FPO
    managers: fail closed)."""
    return row.get("fpo_id") or (project.fpo_ids[0] if len(project.fpo_ids) == 1 else None)


def rows_visible(
    caller: Principal, project: pipeline_table.ProjectRecord, rows: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    """The rows of a visible project (sample plots, findings: farmer and plot ids, villages,
    centroids) the caller may read: admin and the project's auditors all of them, an FPO manager
    their own FPO's only (a project can cover several FPOs)."""
    auditors = frozenset(project.auditors)
    return [
        r
        for r in rows
        if can_access(
            caller, Owned(fpo_id=row_fpo(project, r), project_id=project.project_id, assigned_auditors=auditors)
        )
    ]

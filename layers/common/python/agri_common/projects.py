"""Project assignment reads for other domains: which projects an auditor may see, who audits a project.

Project assignment is what gives an auditor access (``Owned.assigned_auditors``). Farmer data
(issue #4) and the ledger (issue #6) can scope an auditor's reads the same way::

    from agri_common.projects import auditor_project_ids, project_auditors
    ids = auditor_project_ids(store, principal.user_id)      # Query on gsi1, no Scan
    Owned(fpo_id=..., assigned_auditors=frozenset(project_auditors(store, project_id)))

``store`` is a :class:`agri_common.farm.store.DynamoFarmStore` on the pipeline table
(``PIPELINE_TABLE``); the function then needs ``dynamodb:Query``/``GetItem`` on that table and its
index (``Storage.grant_pipeline_read``).
"""

from __future__ import annotations

from typing import Any

from agri_common import mrv


def auditor_project_ids(store: Any, user_id: str) -> list[str]:
    items, _ = store.query(mrv.auditor_projects_index(user_id), index=True)
    return sorted(item["project_id"] for item in items)


def fpo_project_ids(store: Any, fpo_id: str) -> list[str]:
    items, _ = store.query(mrv.fpo_projects_index(fpo_id), index=True)
    return sorted(item["project_id"] for item in items)


def project_auditors(store: Any, project_id: str) -> list[str]:
    record = mrv.ProjectRecord.from_item(store.get(mrv.project(project_id)))
    return sorted(record.auditors) if record else []

"""Project assignments for the auditor-access tests: projects are created and auditors assigned
through the real ProjectService (functions/projects) on the MRV in-memory store, so the items the
farmers, fpo and ledger domains read are the ones the projects domain writes."""

from __future__ import annotations

from typing import Any

from agri_common import pipeline_table
from agri_common.platform.principal import Principal, Role
from agri_common.project_access import auditor_scope
from functions.projects import models as pm
from functions.projects.logic import ProjectService
from tests.unit.fakes.mrv import FakeFpos, FakeStepFunctions, MemoryStore

ADMIN = Principal(user_id="admin-1", username="root", role=Role.ADMIN)
AUDITORS = {"audrey": "aud-1", "otto": "aud-2"}


class Directory:
    def auditor_user_id(self, username):
        return AUDITORS.get(username)


class Assignments:
    """Create projects, assign and unassign auditors; ``loader`` is what a domain's
    ``get_assignments`` dependency returns."""

    def __init__(self) -> None:
        self.store = MemoryStore()  # records its DynamoDB requests in .calls
        ids = iter(f"prj_{i:08x}" for i in range(1, 1000))
        self.projects = ProjectService(
            self.store,
            Directory(),
            FakeStepFunctions(),
            FakeFpos(),
            now=lambda: "2025-01-01T00:00:00Z",
            new_id=lambda: next(ids),
        )

    def project(self, *fpo_ids: str, crediting: tuple[str, str] = ("2024-06-01", "2030-05-31")) -> str:
        """A project over ``fpo_ids``; an FPO is in one project per crediting period, so a second
        project over the same FPO needs a ``crediting`` period after the first."""
        req = pm.CreateProjectRequest.model_validate(
            {
                "name": "Delta AWD",
                "fpo_ids": list(fpo_ids),
                "methodology": "vm0051",
                "profile": "vm0051",
                "crediting_start": crediting[0],
                "crediting_end": crediting[1],
            }
        )
        return self.projects.create(ADMIN, req).project_id

    def assign(self, project_id: str, username: str = "audrey") -> None:
        self.projects.assign_auditor(ADMIN, project_id, pm.AssignAuditorRequest(username=username))

    def unassign(self, project_id: str, username: str = "audrey", *, index_lags: bool = False) -> None:
        """Remove the auditor through the real service (``index_lags``: the deleted assignment item is
        put back, as the eventually consistent index may still list it for a moment)."""
        key = pipeline_table.project_auditor(project_id, AUDITORS[username])
        lagging = self.store.items.get(key)
        self.projects.unassign_auditor(ADMIN, project_id, username)
        if index_lags and lagging:
            self.store.items[key] = lagging

    def loader(self) -> Any:
        return lambda user_id: auditor_scope(self.store, user_id)

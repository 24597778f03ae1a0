"""Projects routes: carbon projects, auditor assignment, monitoring runs (start, status).

Admins create projects and assign (and unassign) auditors; admins and the project's FPO managers
start runs; assigned auditors read. Farmers have no project routes (403 before routing).
"""

from __future__ import annotations

from typing import Annotated

from aws_lambda_powertools.event_handler import Depends
from aws_lambda_powertools.event_handler.openapi.params import Path

from agri_common import pipeline_table
from agri_common.platform.activity import audited
from agri_common.platform.clock import utc_iso_micros_z
from agri_common.platform.principal import Principal, Role
from agri_common.platform.resolver import PRIVATE, current_principal, make_handler, make_resolver
from agri_common.platform.revocation import revocation_store
from agri_common.platform.settings import BaseSettingsModel, load_settings
from agri_common.platform.workflow import StepFunctionsWorkflow
from agri_common.single_table import DynamoTableStore
from functions.projects import models as m
from functions.projects.dal import CognitoAuditorDirectory, FarmFpoDirectory
from functions.projects.logic import ProjectService

app = make_resolver()
TAGS = ["projects"]
ProjectId = Annotated[str, Path(pattern=pipeline_table.PROJECT_ID)]
AuditorRef = Annotated[str, Path(pattern=m.USERNAME, description="The auditor's user id (sub) or username")]
RunId = Annotated[str, Path(pattern=pipeline_table.RUN_ID)]


class ProjectsSettings(BaseSettingsModel):
    pipeline_table: str
    farm_table: str
    state_machine_arn: str
    user_pool_id: str


_revocation = revocation_store  # looked up per call by make_handler: tests swap it


def get_service() -> ProjectService:
    s = load_settings(ProjectsSettings)
    return ProjectService(
        DynamoTableStore(s.pipeline_table),
        CognitoAuditorDirectory(s.user_pool_id),
        StepFunctionsWorkflow(s.state_machine_arn),
        FarmFpoDirectory(s.farm_table),
        now=utc_iso_micros_z,
    )


def get_principal() -> Principal:
    return current_principal(app)


Service = Annotated[ProjectService, Depends(get_service)]
Caller = Annotated[Principal, Depends(get_principal)]


@app.post(
    "/projects",
    status_code=201,
    tags=TAGS,
    security=PRIVATE,
    summary="Create a carbon project (admin)",
    openapi_extensions=audited("project.create", errors=[409]),
)
def create_project(body: m.CreateProjectRequest, svc: Service, caller: Caller) -> m.ProjectOut:
    return svc.create(caller, body)


@app.get("/projects", tags=TAGS, security=PRIVATE, summary="Projects the caller may see")
def list_projects(svc: Service, caller: Caller) -> m.ProjectList:
    return svc.list(caller)


@app.get("/projects/<project_id>", tags=TAGS, security=PRIVATE, summary="One project")
def get_project(project_id: ProjectId, svc: Service, caller: Caller) -> m.ProjectOut:
    return svc.get(caller, project_id)


@app.post(
    "/projects/<project_id>/auditors",
    tags=TAGS,
    security=PRIVATE,
    summary="Assign an auditor (admin; idempotent)",
    openapi_extensions=audited("project.assign_auditor"),
)
def assign_auditor(project_id: ProjectId, body: m.AssignAuditorRequest, svc: Service, caller: Caller) -> m.ProjectOut:
    return svc.assign_auditor(caller, project_id, body)


@app.delete(
    "/projects/<project_id>/auditors/<username_or_id>",
    tags=TAGS,
    security=PRIVATE,
    summary="Unassign an auditor (admin; idempotent: 200 with the project as it is when the auditor is "
    "not assigned, 404 when the project does not exist)",
    openapi_extensions=audited("project.unassign_auditor"),
)
def unassign_auditor(project_id: ProjectId, username_or_id: AuditorRef, svc: Service, caller: Caller) -> m.ProjectOut:
    """The auditor loses the project's tasks, samples, reports, farm data and ledger records with
    their next request (every domain checks the project item, not a cached scope)."""
    return svc.unassign_auditor(caller, project_id, username_or_id)


@app.post(
    "/projects/<project_id>/runs",
    status_code=202,
    tags=TAGS,
    security=PRIVATE,
    summary="Start a monitoring run for a period (admin or the project's FPO manager)",
    openapi_extensions=audited("run.start", errors=[409]),
)
def start_run(project_id: ProjectId, body: m.StartRunRequest, svc: Service, caller: Caller) -> m.RunOut:
    return svc.start_run(caller, project_id, body)


@app.get("/projects/<project_id>/runs", tags=TAGS, security=PRIVATE, summary="Runs of a project")
def list_runs(project_id: ProjectId, svc: Service, caller: Caller) -> m.RunList:
    return svc.list_runs(caller, project_id)


@app.get(
    "/projects/<project_id>/runs/<run_id>",
    tags=TAGS,
    security=PRIVATE,
    summary="A run: status, each step, and its Step Functions execution",
)
def get_run(project_id: ProjectId, run_id: RunId, svc: Service, caller: Caller) -> m.RunOut:
    return svc.get_run(caller, project_id, run_id)


lambda_handler = make_handler(app, roles=[Role.ADMIN, Role.FPO_MANAGER, Role.AUDITOR], revocation=lambda: _revocation())

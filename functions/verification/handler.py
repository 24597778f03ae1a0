"""Verification routes: the auditor's queue, a task (findings, sample with plot locations,
checklist), the decision, samples, report downloads, and remote-sensing observation ingestion."""

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
from functions.verification import models as m
from functions.verification.dal import S3Presigner, S3Reader
from functions.verification.logic import VerificationService

app = make_resolver()
TAGS = ["verification"]
TaskId = Annotated[str, Path(pattern=pipeline_table.TASK_ID)]
RunId = Annotated[str, Path(pattern=pipeline_table.RUN_ID)]
ReportId = Annotated[str, Path(pattern=pipeline_table.REPORT_ID)]


class VerificationSettings(BaseSettingsModel):
    pipeline_table: str
    pipeline_bucket: str
    audit_bucket: str
    state_machine_arn: str


_revocation = revocation_store  # looked up per call by make_handler: tests swap it


def get_service() -> VerificationService:
    s = load_settings(VerificationSettings)
    return VerificationService(
        DynamoTableStore(s.pipeline_table),
        S3Reader(s.pipeline_bucket),
        S3Presigner(s.audit_bucket),
        StepFunctionsWorkflow(s.state_machine_arn),
        now=utc_iso_micros_z,
    )


def get_principal() -> Principal:
    return current_principal(app)


Service = Annotated[VerificationService, Depends(get_service)]
Caller = Annotated[Principal, Depends(get_principal)]


@app.get(
    "/verification/tasks",
    tags=TAGS,
    security=PRIVATE,
    summary="Pending verification tasks of the projects the caller may see (admin: all; auditor: "
    "assigned; FPO manager: their FPO's): the tasks GET /verification/tasks/{task_id} opens",
)
def list_tasks(svc: Service, caller: Caller) -> m.TaskList:
    return svc.queue(caller)


@app.get(
    "/verification/tasks/<task_id>",
    tags=TAGS,
    security=PRIVATE,
    summary="A task: run summary, findings, the field sample with plot locations, the checklist "
    "(an FPO manager reads their own FPO's rows only)",
)
def get_task(task_id: TaskId, svc: Service, caller: Caller) -> m.TaskDetail:
    return svc.get_task(caller, task_id)


@app.post(
    "/verification/tasks/<task_id>/decision",
    tags=TAGS,
    security=PRIVATE,
    summary="Approve, reject or request corrections (an assigned auditor, once)",
    openapi_extensions=audited("task.decide", errors=[409]),
)
def decide(task_id: TaskId, body: m.DecisionRequest, svc: Service, caller: Caller) -> m.DecisionOut:
    return svc.decide(caller, task_id, body)


@app.get(
    "/verification/samples/<run_id>",
    tags=TAGS,
    security=PRIVATE,
    summary="The field-visit sample of a run (an FPO manager reads their own FPO's plots and strata only)",
)
def get_sample(run_id: RunId, svc: Service, caller: Caller) -> m.SampleOut:
    return svc.sample(caller, run_id)


@app.get(
    "/verification/reports/<report_id>",
    tags=TAGS,
    security=PRIVATE,
    summary="A report: SHA-256 and presigned download URLs of its PDF and Excel files (a verification "
    "report lists every FPO's rows: an FPO manager gets it only when the project is their FPO's alone)",
)
def get_report(report_id: ReportId, svc: Service, caller: Caller) -> m.ReportOut:
    return svc.report(caller, report_id)


@app.post(
    "/verification/observations",
    tags=TAGS,
    security=PRIVATE,
    summary="Ingest per-plot flooded-day observations (admin; idempotent per plot, season, source)",
    openapi_extensions=audited("observation.ingest"),
)
def ingest_observations(body: m.ObservationBatch, svc: Service, caller: Caller) -> m.ObservationResult:
    return svc.ingest(caller, body)


lambda_handler = make_handler(app, roles=[Role.ADMIN, Role.AUDITOR, Role.FPO_MANAGER], revocation=lambda: _revocation())

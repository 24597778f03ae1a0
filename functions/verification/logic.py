"""Verification rules: the auditor's queue, tasks, one decision per task, samples, reports,
remote-sensing observations.

Who reads what (docs/verification-access.md): a task, its sample and its reports are readable by
whoever may see the task's project: admins (every project), the project's assigned auditors and
the managers of the project's FPOs; farmers have no verification route (403). The queue
(``GET /verification/tasks``) lists the pending tasks of exactly those projects, so it and
``GET /verification/tasks/{id}`` agree for every role. A project covers several FPOs: an FPO
manager reads their own FPO's rows only (sample plots and strata, findings, the auditor's
plot findings) and the verification report (which holds every FPO's rows) only when every FPO of
the project is theirs. Only an assigned auditor decides (a decision is their attestation);
admins read everything but do not decide.

Not yours answers exactly like does not exist: one 404 per record kind
(``agri_common.project_access.not_found``: "Task not found", "Sample not found", "Report not found"),
whichever of the two it is. Deciding is a conditional update ``pending -> decided`` (409 on
a second decision), then the execution resumes: SendTaskSuccess (approve; the output is the
approved-run payload for the ledger step) or SendTaskFailure (reject / request corrections).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from functools import cache
from pathlib import Path
from typing import Any, Literal, Protocol

from agri_common import pipeline_table
from agri_common.platform import activity
from agri_common.platform.errors import ConflictError, Detail, UnprocessableError
from agri_common.platform.observability import logger
from agri_common.platform.principal import Principal, Role, require_role
from agri_common.project_access import not_found, row_fpo, rows_visible, visible_project, visible_projects
from agri_common.single_table import Update, WriteConflict
from functions.verification import models as m

CHECKLISTS = Path(__file__).with_name("checklists")
URL_EXPIRY_S = 300


@cache
def checklist(methodology: str) -> dict[str, Any]:
    template: dict[str, Any] = json.loads((CHECKLISTS / f"{methodology}.json").read_text())
    return template


class Objects(Protocol):
    def get(self, key: str) -> bytes: ...


class Presigner(Protocol):
    def url(self, key: str, expires_in: int) -> str: ...


class Workflow(Protocol):
    def send_success(self, token: str, output: dict[str, Any]) -> None: ...
    def send_failure(self, token: str, error: str, cause: str) -> None: ...
    def heartbeat(self, token: str) -> None: ...


def validate_checklist(template: dict[str, Any], answers: dict[str, m.ChecklistAnswer]) -> None:
    ids = [item["id"] for item in template["items"]]
    details: list[Detail] = [
        {"field": f"body.checklist.{i}", "issue": "not answered", "type": "missing"} for i in ids if i not in answers
    ]
    details += [
        {"field": f"body.checklist.{k}", "issue": "not an item of this checklist", "type": "extra_forbidden"}
        for k in answers
        if k not in ids
    ]
    details += [
        {"field": f"body.checklist.{k}.note", "issue": "a failed item needs its deviation explained", "type": "missing"}
        for k, a in answers.items()
        if a.answer == "fail" and not (a.note or "").strip()
    ]
    if details:
        raise UnprocessableError("The checklist is incomplete", details=details)


def reads_every_fpo(caller: Principal, project: pipeline_table.ProjectRecord) -> bool:
    """Whether the caller may read the rows of every FPO of the project (admin, its auditors; a
    manager when the project covers their FPO alone): the verification report lists them all."""
    fpos = [{"fpo_id": f} for f in project.fpo_ids]
    return len(rows_visible(caller, project, fpos)) == len(fpos)


def scoped_sample(caller: Principal, project: pipeline_table.ProjectRecord, sample: dict[str, Any]) -> dict[str, Any]:
    """The sample as the caller may read it: the plots (farmer and plot ids, villages, centroids)
    of FPOs they may see; the strata with a member of such an FPO (``fpo_ids`` narrowed to them).
    Design figures (seed, size, population) are the project's and stay."""
    plots = rows_visible(caller, project, sample.get("plots") or [])
    strata = []
    for stratum in sample.get("strata") or []:
        ids = stratum.get("fpo_ids") or []  # absent from samples drawn before strata named their FPOs
        visible = rows_visible(caller, project, [{"fpo_id": f} for f in ids] or [{}])
        if visible:
            strata.append({**stratum, "fpo_ids": [r["fpo_id"] for r in visible]} if ids else stratum)
    return {**sample, "plots": plots, "strata": strata}


def scoped_decision(
    caller: Principal,
    project: pipeline_table.ProjectRecord,
    decision: dict[str, Any] | None,
    rows: list[dict[str, Any]],
) -> dict[str, Any] | None:
    """The decision as the caller may read it: the auditor's findings about a plot are shown when the
    plot's FPO is visible to the caller (the plot's FPO known from the run's findings and sample; a
    plot known from neither is attributed as ``row_fpo`` does, fail closed); findings without a plot
    (about the whole run), the reason and the checklist are the project's."""
    if not decision or not decision.get("findings"):
        return decision
    plot_fpo = {r["plot_id"]: row_fpo(project, r) for r in rows if r.get("plot_id")}
    kept = [
        f
        for f in decision["findings"]
        if not f.get("plot_id") or rows_visible(caller, project, [{"fpo_id": plot_fpo.get(f["plot_id"])}])
    ]
    return {**decision, "findings": kept}


class VerificationService:
    def __init__(self, store: Any, objects: Objects, presigner: Presigner, workflow: Workflow, now: Callable[[], str]):
        self.store, self.objects, self.presigner, self.workflow, self.now = store, objects, presigner, workflow, now

    # ---- access ------------------------------------------------------------------------------
    def _project(self, caller: Principal, project_id: str, kind: str) -> pipeline_table.ProjectRecord:
        """The project when the caller may see it, else the 404 of the record asked for (``kind``)."""
        return visible_project(
            caller, pipeline_table.ProjectRecord.from_item(self.store.get(pipeline_table.project(project_id))), kind
        )

    def _task(self, caller: Principal, task_id: str) -> tuple[pipeline_table.TaskRecord, pipeline_table.ProjectRecord]:
        task = (
            pipeline_table.TaskRecord.from_item(self.store.get(pipeline_table.task(task_id)))
            if pipeline_table.valid(pipeline_table.TASK_ID, task_id)
            else None
        )
        if task is None:
            raise not_found("task")
        return task, self._project(caller, task.project_id, "task")

    # ---- queue and tasks ---------------------------------------------------------------------
    def queue(self, caller: Principal) -> m.TaskList:
        """The pending tasks of every project the caller may see: the same projects whose tasks
        ``get_task`` opens (admin: all; auditor: assigned, read consistently so an unassignment
        counts at once; FPO manager: the projects covering their FPO)."""
        require_role(caller, Role.AUDITOR, Role.ADMIN, Role.FPO_MANAGER)
        tasks = []
        for project in visible_projects(self.store, caller):
            items, _ = self.store.query(
                pipeline_table.project_tasks_index(project.project_id),
                index=True,
                prefix=pipeline_table.task_queue_prefix("pending"),
            )
            tasks += [pipeline_table.TaskRecord.from_item(i) for i in items]
        return m.TaskList(items=[self._summary(t) for t in sorted(tasks, key=lambda t: (t.created_at, t.task_id))])

    @staticmethod
    def _summary(t: pipeline_table.TaskRecord) -> m.TaskSummary:
        return m.TaskSummary(**t.model_dump(include=set(m.TaskSummary.model_fields)))

    def _heartbeat_sent(self, task: pipeline_table.TaskRecord) -> None:
        """When the heartbeat was sent: the auditor reminder (functions/notifications) counts from it."""
        from agri_common.single_table import Update, WriteConflict

        try:
            self.store.transact([Update(task.key(), set={"heartbeat_at": self.now()}, expect={"status": "pending"})])
        except WriteConflict:
            pass  # decided or closed meanwhile: no reminder is due anyway

    def get_task(self, caller: Principal, task_id: str) -> m.TaskDetail:
        task, project = self._task(caller, task_id)
        if task.status == "pending" and caller.role is Role.AUDITOR:
            try:  # an auditor working on the task keeps the execution's heartbeat alive
                self.workflow.heartbeat(task.task_token)
            except ConflictError:
                logger.info("heartbeat refused: the execution no longer waits", extra={"task_id": task_id})
            else:
                self._heartbeat_sent(task)
        findings = json.loads(self.objects.get(task.findings_key))
        sample = json.loads(self.objects.get(task.sample_key))
        decision = scoped_decision(caller, project, task.decision, findings + sample.get("plots", []))
        return m.TaskDetail(
            **self._summary(task).model_dump(),
            summary=task.summary,
            findings=rows_visible(caller, project, findings),
            sample=scoped_sample(caller, project, sample),
            checklist=checklist(project.methodology),
            report_ids=self._report_ids(caller, project, task),
            decision=decision,
        )

    @staticmethod
    def _report_ids(
        caller: Principal, project: pipeline_table.ProjectRecord, task: pipeline_table.TaskRecord
    ) -> list[str]:
        return [
            r
            for r in task.report_ids
            if pipeline_table.task_of_report(r)[1] != "verification" or reads_every_fpo(caller, project)
        ]

    def decide(self, caller: Principal, task_id: str, req: m.DecisionRequest) -> m.DecisionOut:
        require_role(caller, Role.AUDITOR)
        task, project = self._task(caller, task_id)
        activity.note(project_id=project.project_id)  # after the visibility check: the auditor's view of it
        template = checklist(project.methodology)
        validate_checklist(template, req.checklist)
        if task.status == "closed":
            raise ConflictError(
                "The run no longer waits for this decision (it failed or timed out)", code="task_closed"
            )
        if task.status != "pending":
            raise ConflictError("This task has already been decided", code="already_decided")
        decided_at = self.now()
        # The verification report prints the auditor by name and each item with the question asked
        # (recorded here: a template may be reworded later).
        questions = {i["id"]: i["text"] for i in template["items"]}
        decision = {
            "decision": req.decision,
            "reason": req.reason,
            "decided_by": caller.user_id,
            "decided_by_name": caller.name,
            "decided_by_username": caller.username,
            "decided_at": decided_at,
            "findings": [f.model_dump() for f in req.findings],
            "checklist": {k: {**v.model_dump(), "question": questions[k]} for k, v in req.checklist.items()},
            "checklist_order": [i["id"] for i in template["items"]],
            "checklist_template": {k: template.get(k) for k in ("id", "title", "version")},
        }
        try:
            self.store.transact(
                [
                    Update(
                        task.key(), set={**task.moved_to("decided"), "decision": decision}, expect={"status": "pending"}
                    )
                ]
            )
        except WriteConflict as exc:
            raise ConflictError("This task has already been decided", code="already_decided") from exc
        if req.decision == "approve":
            # Small on purpose (256 KB limit): the ledger step reads the decision from the task item.
            self.workflow.send_success(task.task_token, {"task_id": task_id, "decided_by": caller.user_id})
        else:
            error = "Rejected" if req.decision == "reject" else "CorrectionsRequested"
            self.workflow.send_failure(
                task.task_token, error, json.dumps({"reason": req.reason, "decided_by": caller.user_id})
            )
        logger.info("verification decided", extra={"task_id": task_id, "decision": req.decision})
        return m.DecisionOut(task_id=task_id, decision=req.decision, status="decided")

    # ---- samples and reports -----------------------------------------------------------------
    def sample(self, caller: Principal, run_id: str) -> m.SampleOut:
        if not pipeline_table.valid(pipeline_table.RUN_ID, run_id):
            raise not_found("sample")
        project = self._project(caller, pipeline_table.project_of_run(run_id), "sample")
        item = self.store.get(pipeline_table.sample(run_id))
        if item is None:
            raise not_found("sample")
        sample = json.loads(self.objects.get(item["object_key"]))
        return m.SampleOut(run_id=run_id, sample=scoped_sample(caller, project, sample))

    def report(self, caller: Principal, report_id: str) -> m.ReportOut:
        record = (
            pipeline_table.ReportRecord.from_item(self.store.get(pipeline_table.report(report_id)))
            if pipeline_table.valid(pipeline_table.REPORT_ID, report_id)
            else None
        )
        if record is None:
            raise not_found("report")
        project = self._project(caller, record.project_id, "report")
        if record.report_kind == "verification" and not reads_every_fpo(caller, project):
            raise not_found("report")  # it lists every FPO's sample plots and findings
        formats: tuple[tuple[Literal["pdf", "xlsx"], str, str], ...] = (
            ("pdf", record.pdf_key, record.pdf_sha256),
            ("xlsx", record.xlsx_key, record.xlsx_sha256),
        )
        files = [
            m.ReportFile(format=fmt, sha256=sha, url=self.presigner.url(key, URL_EXPIRY_S), expires_in=URL_EXPIRY_S)
            for fmt, key, sha in formats
        ]
        return m.ReportOut(
            report_id=report_id,
            run_id=record.run_id,
            kind=record.report_kind,
            created_at=record.created_at,
            files=files,
        )

    # ---- observations ------------------------------------------------------------------------
    def ingest(self, caller: Principal, batch: m.ObservationBatch) -> m.ObservationResult:
        """Idempotent per (plot, season, source): the source's attribute is overwritten."""
        require_role(caller, Role.ADMIN)
        from agri_common.single_table import iter_chunks

        merged: dict[
            pipeline_table.Key, dict[str, Any]
        ] = {}  # one operation per item: a transaction may not touch an item twice
        for o in batch.observations:
            values = merged.setdefault(
                pipeline_table.observation(o.plot_id, o.season_key),
                pipeline_table.observation_item(o.plot_id, o.season_key),
            )
            values[pipeline_table.observation_source(o.source)] = {
                **o.model_dump(mode="json", exclude={"plot_id", "season_key", "source"}),
                "ingested_by": caller.user_id,
                "ingested_at": self.now(),
            }
        for group in iter_chunks(list(merged.items()), 25):
            self.store.transact([Update(key, set=values) for key, values in group])
        return m.ObservationResult(stored=len(batch.observations))

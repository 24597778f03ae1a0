"""Verification rules: the auditor's queue, tasks, one decision per task, samples, reports,
remote-sensing observations.

Access: an auditor sees the tasks, samples and reports of projects assigned to them (404 for
others: existence does not leak); admins read everything but do not decide (a decision is the
assigned auditor's attestation). Deciding is a conditional update ``pending -> decided`` (409 on
a second decision), then the execution resumes: SendTaskSuccess (approve; the output is the
approved-run payload for the ledger step) or SendTaskFailure (reject / request corrections).
"""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path
from typing import Any, Callable, Protocol

from agri_common import mrv
from agri_common.errors import ConflictError, ForbiddenError, NotFoundError, UnprocessableError
from agri_common.farm.store import Update, WriteConflict
from agri_common.observability import logger
from agri_common.principal import Principal, Role, ensure_can_access, require_role

from functions.verification import models as m

CHECKLISTS = Path(__file__).with_name("checklists")
URL_EXPIRY_S = 300


@lru_cache(maxsize=None)
def checklist(methodology: str) -> dict:
    return json.loads((CHECKLISTS / f"{methodology}.json").read_text())


class Objects(Protocol):
    def get(self, key: str) -> bytes: ...


class Presigner(Protocol):
    def url(self, key: str, expires_in: int) -> str: ...


class Workflow(Protocol):
    def send_success(self, token: str, output: dict) -> None: ...
    def send_failure(self, token: str, error: str, cause: str) -> None: ...
    def heartbeat(self, token: str) -> None: ...


def validate_checklist(template: dict, answers: dict[str, m.ChecklistAnswer]) -> None:
    ids = [item["id"] for item in template["items"]]
    details = [{"field": f"body.checklist.{i}", "issue": "not answered", "type": "missing"} for i in ids if i not in answers]
    details += [{"field": f"body.checklist.{k}", "issue": "not an item of this checklist", "type": "extra_forbidden"}
                for k in answers if k not in ids]
    details += [{"field": f"body.checklist.{k}.note", "issue": "a failed item needs its deviation explained", "type": "missing"}
                for k, a in answers.items() if a.answer == "fail" and not (a.note or "").strip()]
    if details:
        raise UnprocessableError("The checklist is incomplete", details=details)


class VerificationService:
    def __init__(self, store: Any, objects: Objects, presigner: Presigner, workflow: Workflow, now: Callable[[], str]):
        self.store, self.objects, self.presigner, self.workflow, self.now = store, objects, presigner, workflow, now

    # ---- access ------------------------------------------------------------------------------
    def _project(self, caller: Principal, project_id: str) -> mrv.ProjectRecord:
        record = mrv.ProjectRecord.from_item(self.store.get(mrv.project(project_id)))
        ensure_can_access(caller, record.owned_for(caller) if record else None, what="Record")
        return record

    def _task(self, caller: Principal, task_id: str) -> tuple[mrv.TaskRecord, mrv.ProjectRecord]:
        task = mrv.TaskRecord.from_item(self.store.get(mrv.task(task_id))) if mrv.valid(mrv.TASK_ID, task_id) else None
        if task is None:
            raise NotFoundError("Task not found")
        return task, self._project(caller, task.project_id)

    # ---- queue and tasks ---------------------------------------------------------------------
    def queue(self, caller: Principal) -> m.TaskList:
        require_role(caller, Role.AUDITOR, Role.ADMIN)
        if caller.role is Role.ADMIN:
            items, _ = self.store.query(mrv.ALL_PROJECTS_INDEX, index=True)
            project_ids = [i["project_id"] for i in items]
        else:  # the projects whose item still lists the auditor: the index may lag an unassignment
            from agri_common.projects import auditor_scope

            project_ids = sorted(auditor_scope(self.store, caller.user_id).project_ids)
        tasks = []
        for pid in project_ids:
            items, _ = self.store.query(mrv.project_tasks_index(pid), index=True, prefix="pending#")
            tasks += [mrv.TaskRecord.from_item(i) for i in items]
        return m.TaskList(items=[self._summary(t) for t in sorted(tasks, key=lambda t: t.created_at)])

    @staticmethod
    def _summary(t: mrv.TaskRecord) -> m.TaskSummary:
        return m.TaskSummary(**t.model_dump(include=set(m.TaskSummary.model_fields)))

    def get_task(self, caller: Principal, task_id: str) -> m.TaskDetail:
        task, project = self._task(caller, task_id)
        if task.status == "pending" and caller.role is Role.AUDITOR:
            try:  # an auditor working on the task keeps the execution's heartbeat alive
                self.workflow.heartbeat(task.task_token)
            except ConflictError:
                logger.info("heartbeat refused: the execution no longer waits", extra={"task_id": task_id})
        findings = json.loads(self.objects.get(task.findings_key))
        sample = json.loads(self.objects.get(task.sample_key))
        return m.TaskDetail(**self._summary(task).model_dump(), summary=task.summary, findings=findings, sample=sample,
                            checklist=checklist(project.methodology), report_ids=task.report_ids, decision=task.decision)

    def decide(self, caller: Principal, task_id: str, req: m.DecisionRequest) -> m.DecisionOut:
        require_role(caller, Role.AUDITOR)
        task, project = self._task(caller, task_id)
        validate_checklist(checklist(project.methodology), req.checklist)
        if task.status == "closed":
            raise ConflictError("The run no longer waits for this decision (it failed or timed out)", code="task_closed")
        if task.status != "pending":
            raise ConflictError("This task has already been decided", code="already_decided")
        decided_at = self.now()
        decision = {"decision": req.decision, "reason": req.reason, "decided_by": caller.user_id,
                    "decided_at": decided_at, "findings": [f.model_dump() for f in req.findings],
                    "checklist": {k: v.model_dump() for k, v in req.checklist.items()}}
        try:
            self.store.transact([Update(task.key(), set={"status": "decided", "decision": decision,
                                                         "gsi1sk": f"decided#{task.created_at}#{task.task_id}"},
                                        expect={"status": "pending"})])
        except WriteConflict as exc:
            raise ConflictError("This task has already been decided", code="already_decided") from exc
        if req.decision == "approve":
            # Small on purpose (256 KB limit): the ledger step reads the decision from the task item.
            self.workflow.send_success(task.task_token, {"task_id": task_id, "decided_by": caller.user_id})
        else:
            error = "Rejected" if req.decision == "reject" else "CorrectionsRequested"
            self.workflow.send_failure(task.task_token, error, json.dumps({"reason": req.reason, "decided_by": caller.user_id}))
        logger.info("verification decided", extra={"task_id": task_id, "decision": req.decision})
        return m.DecisionOut(task_id=task_id, decision=req.decision, status="decided")

    # ---- samples and reports -----------------------------------------------------------------
    def sample(self, caller: Principal, run_id: str) -> m.SampleOut:
        if not mrv.valid(mrv.RUN_ID, run_id):
            raise NotFoundError("Sample not found")
        self._project(caller, mrv.project_of_run(run_id))
        item = self.store.get(mrv.sample(run_id))
        if item is None:
            raise NotFoundError("Sample not found")
        return m.SampleOut(run_id=run_id, sample=json.loads(self.objects.get(item["object_key"])))

    def report(self, caller: Principal, report_id: str) -> m.ReportOut:
        record = mrv.ReportRecord.from_item(self.store.get(mrv.report(report_id))) if mrv.valid(mrv.REPORT_ID, report_id) else None
        if record is None:
            raise NotFoundError("Report not found")
        self._project(caller, record.project_id)
        files = [m.ReportFile(format=fmt, sha256=sha, url=self.presigner.url(key, URL_EXPIRY_S), expires_in=URL_EXPIRY_S)
                 for fmt, key, sha in (("pdf", record.pdf_key, record.pdf_sha256), ("xlsx", record.xlsx_key, record.xlsx_sha256))]
        return m.ReportOut(report_id=report_id, run_id=record.run_id, kind=record.report_kind, created_at=record.created_at,
                           files=files)

    # ---- observations ------------------------------------------------------------------------
    def ingest(self, caller: Principal, batch: m.ObservationBatch) -> m.ObservationResult:
        """Idempotent per (plot, season, source): the source's attribute is overwritten."""
        require_role(caller, Role.ADMIN)
        from agri_common.farm.store import iter_chunks

        merged: dict[mrv.Key, dict] = {}  # one operation per item: a transaction may not touch an item twice
        for o in batch.observations:
            values = merged.setdefault(mrv.observation(o.plot_id, o.season_key),
                                       {"kind": "observation", "plot_id": o.plot_id, "season_key": o.season_key})
            values[f"src_{o.source}"] = {**o.model_dump(mode="json", exclude={"plot_id", "season_key", "source"}),
                                         "ingested_by": caller.user_id, "ingested_at": self.now()}
        for group in iter_chunks(list(merged.items()), 25):
            self.store.transact([Update(key, set=values) for key, values in group])
        return m.ObservationResult(stored=len(batch.observations))

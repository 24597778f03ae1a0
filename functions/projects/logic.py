"""Project and run rules: who may create, read, assign and start; one run per (project, period).

No boto3 here: the item store (agri_common.single_table contract), the auditor directory and the
workflow engine arrive through the small protocols below.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Sequence
from typing import Any, Protocol

from agri_common import pipeline_table
from agri_common.platform.errors import AppError, ConflictError, UnprocessableError
from agri_common.platform.observability import logger
from agri_common.platform.principal import Principal, Role, require_role
from agri_common.project_access import not_found, visible_project
from agri_common.single_table import Delete, Put, TableStore, Txn, Update, commit
from functions.projects import models as m


class AuditorDirectory(Protocol):
    def auditor_user_id(self, username: str) -> str | None:
        """The user id (sub) of ``username`` if it holds the auditor role, else None."""


class FpoDirectory(Protocol):
    def existing(self, fpo_ids: Sequence[str]) -> set[str]:
        """The ids among ``fpo_ids`` that name a registered FPO (the farm table)."""


class Workflow(Protocol):
    def start(self, name: str, payload: dict[str, Any]) -> str: ...
    def describe(self, execution_arn: str) -> dict[str, Any]: ...


def crediting_years_overlap(start_a: str, end_a: str, start_b: str, end_b: str) -> bool:
    """Crediting periods compared by year: a run's period is a year or a season of one, so two
    projects sharing a calendar year could both run it."""
    return start_a[:4] <= end_b[:4] and start_b[:4] <= end_a[:4]


def project_out(p: pipeline_table.ProjectRecord) -> m.ProjectOut:
    return m.ProjectOut(**p.model_dump(include=set(m.ProjectOut.model_fields)))


def run_out(
    run: pipeline_table.RunRecord, steps: list[pipeline_table.StepRecord], execution_status: str | None = None
) -> m.RunOut:
    order = {name: i for i, name in enumerate(pipeline_table.STEPS)}
    return m.RunOut(
        **run.model_dump(exclude={"started_by"}),
        execution_status=execution_status,
        steps=[
            m.StepOut(**s.model_dump(include=set(m.StepOut.model_fields)))
            for s in sorted(steps, key=lambda s: order.get(s.step, 99))
        ],
    )


class ProjectService:
    def __init__(
        self,
        store: TableStore,
        directory: AuditorDirectory,
        workflow: Workflow,
        fpos: FpoDirectory,
        now: Callable[[], str],
        new_id: Callable[[], str] = lambda: f"prj_{secrets.token_hex(4)}",
    ):
        self.store, self.directory, self.workflow, self.fpos = store, directory, workflow, fpos
        self.now, self.new_id = now, new_id

    # ---- projects ----------------------------------------------------------------------------
    def create(self, caller: Principal, req: m.CreateProjectRequest) -> m.ProjectOut:
        """Create a project over registered FPOs. An FPO belongs to one project per crediting
        *year* (runs are years or seasons of a year): a second project whose crediting years overlap
        is refused (409), so no plot-season can be counted by two projects (double counting). Each
        FPO's membership item lists its projects' crediting periods and moves (versioned) in the
        same transaction, so two concurrent creations cannot both pass the check."""
        require_role(caller, Role.ADMIN)
        missing = sorted(set(req.fpo_ids) - self.fpos.existing(req.fpo_ids))
        if missing:
            raise UnprocessableError(
                f"No FPO {', '.join(missing)}",
                code="unknown_fpo",
                details=[
                    {"field": "body.fpo_ids", "issue": f"not a registered FPO: {fpo}", "type": "unknown_fpo"}
                    for fpo in missing
                ],
            )
        record = pipeline_table.ProjectRecord(
            project_id=self.new_id(), created_by=caller.user_id, created_at=self.now(), **req.model_dump(mode="json")
        )
        item = record.to_item()
        item.pop("auditors", None)  # a string set, created by the first assignment (ADD)

        def build() -> tuple[Txn, None]:
            txn = Txn().add(Put(item, if_absent=True), on_fail=ConflictError("Project id collision; retry"))
            for fpo in record.fpo_ids:
                # The FPO's membership item (consistent read) lists its projects' crediting periods:
                # the index may lag a concurrent creation, this item cannot (its version guards it).
                member = self.store.get(pipeline_table.fpo_membership(fpo)) or {}
                periods = dict(member.get("projects") or {}) if "projects" in member else self._fpo_periods(fpo)
                clash = next(
                    (
                        pid
                        for pid, (start, end) in sorted(periods.items())
                        if crediting_years_overlap(start, end, record.crediting_start, record.crediting_end)
                    ),
                    None,
                )
                if clash is not None:
                    start, end = periods[clash]
                    raise ConflictError(
                        f"FPO {fpo} is already in project {clash} for crediting years that overlap ({start} to {end}): "
                        "a plot-season may be credited once",
                        code="fpo_in_project",
                        details=[{"field": "body.fpo_ids", "issue": f"{fpo} in {clash}", "type": "fpo_in_project"}],
                    )
                version = int(member.get("version", 0))
                periods[record.project_id] = [record.crediting_start, record.crediting_end]
                txn.add(
                    Update(
                        pipeline_table.fpo_membership(fpo),
                        set={"version": version + 1, "kind": "fpo_membership", "projects": periods},
                        expect={"version": version},
                    ),
                    race=True,
                )
                txn.add(Put(pipeline_table.ProjectFpoRecord(project_id=record.project_id, fpo_id=fpo).to_item()))
            return txn, None

        commit(self.store, build)
        return project_out(record)

    def _fpo_periods(self, fpo_id: str) -> dict[str, list[str]]:
        """An FPO's projects and crediting periods from the index, for a membership item written
        before it listed them (or not yet written); the creation then writes the full list."""
        from agri_common.project_access import fpo_project_ids

        found = self.store.batch_get([pipeline_table.project(pid) for pid in fpo_project_ids(self.store, fpo_id)])
        return {
            r.project_id: [r.crediting_start, r.crediting_end]
            for r in map(pipeline_table.ProjectRecord.from_item, found)
        }

    def load(self, caller: Principal, project_id: str) -> pipeline_table.ProjectRecord:
        """The project if the caller may see it (admin; manager of one of its FPOs; assigned auditor),
        else 404 "Project not found", the same whether it does not exist or is not the caller's."""
        record = (
            pipeline_table.ProjectRecord.from_item(self.store.get(pipeline_table.project(project_id)))
            if pipeline_table.valid(pipeline_table.PROJECT_ID, project_id)
            else None
        )
        return visible_project(caller, record, "project")

    def get(self, caller: Principal, project_id: str) -> m.ProjectOut:
        return project_out(self.load(caller, project_id))

    def list(self, caller: Principal) -> m.ProjectList:
        """Exactly the projects ``load`` lets the caller read (agri_common.project_access.visible_projects:
        the same predicate), oldest first."""
        from agri_common.project_access import visible_projects

        return m.ProjectList(items=[project_out(r) for r in visible_projects(self.store, caller)])

    def assign_auditor(self, caller: Principal, project_id: str, req: m.AssignAuditorRequest) -> m.ProjectOut:
        require_role(caller, Role.ADMIN)
        self.load(caller, project_id)
        user_id = self.directory.auditor_user_id(req.username)
        if user_id is None:
            raise UnprocessableError(
                "The user does not exist or does not hold the auditor role",
                code="not_an_auditor",
                details=[{"field": "body.username", "issue": "not an auditor", "type": "not_an_auditor"}],
            )
        assignment = pipeline_table.AuditorAssignmentRecord(
            project_id=project_id,
            user_id=user_id,
            username=req.username,
            assigned_by=caller.user_id,
            assigned_at=self.now(),
        )
        txn = (
            Txn()
            .add(Put(assignment.to_item()))
            .add(Update(pipeline_table.project(project_id), add={"auditors": {user_id}}, if_exists=True))
        )
        commit(self.store, lambda: (txn, None))  # idempotent: same item, set union
        return self.get(caller, project_id)

    def unassign_auditor(self, caller: Principal, project_id: str, username_or_id: str) -> m.ProjectOut:
        """Take an auditor off a project: the assignment item and the project's ``auditors`` element go
        in one transaction. Access checks read the project item (consistent), so the auditor loses
        the project with their next request, while the index may still list the deleted item.

        Idempotent: someone not assigned leaves the project as it is (200); an unknown project is 404.
        The auditor is named by user id (as the project lists them) or by the username they were
        assigned with; the directory is asked only when neither matches (a username typed in another
        case), so an auditor whose account is gone or lost the role can still be removed by id.
        """
        require_role(caller, Role.ADMIN)
        project = self.load(caller, project_id)
        pk, prefix = pipeline_table.project_auditor(project_id, "")
        items, _ = self.store.query(pk, prefix=prefix)
        by_name = {i.get("username"): i["sk"].removeprefix(prefix) for i in items}
        assigned = set(project.auditors) | set(by_name.values())
        user_id = username_or_id if username_or_id in assigned else by_name.get(username_or_id)
        if user_id is None:
            user_id = self.directory.auditor_user_id(username_or_id)
        if user_id not in assigned:
            return project_out(project)
        txn = (
            Txn()
            .add(Delete(pipeline_table.project_auditor(project_id, user_id)))
            .add(Update(pipeline_table.project(project_id), delete={"auditors": {user_id}}, if_exists=True))
        )
        commit(self.store, lambda: (txn, None))
        logger.info("auditor unassigned", extra={"project_id": project_id, "user_id": user_id})
        return self.get(caller, project_id)

    # ---- runs --------------------------------------------------------------------------------
    def start_run(self, caller: Principal, project_id: str, req: m.StartRunRequest) -> m.RunOut:
        """Start (or restart after a failure / correction request) the run of a period.

        The run id is the (project, period) pair, so a second start finds the first run: refused
        (409) while it runs or once decided; a failed run restarts as attempt + 1, guarded by the
        stored attempt number (two concurrent restarts cannot both win). Stored chunk results of
        earlier attempts are reused by the pipeline, not recomputed.
        """
        require_role(caller, Role.ADMIN, Role.FPO_MANAGER)
        project = self.load(caller, project_id)
        rid = pipeline_table.run_id(project_id, req.period)
        year = req.period[:4]
        if not project.crediting_start[:4] <= year <= project.crediting_end[:4]:
            raise UnprocessableError(
                f"Period {req.period} is outside the crediting period ({project.crediting_start} to {project.crediting_end})",
                code="outside_crediting_period",
                details=[
                    {
                        "field": "body.period",
                        "issue": "outside the crediting period",
                        "type": "outside_crediting_period",
                    }
                ],
            )
        now = self.now()

        def year_runs() -> tuple[Txn, pipeline_table.RunRecord | None]:
            """The project's runs of the year (this run among them, if it exists: one consistent Query).
            Refuse a period overlapping another of them ("2025" and "2025-kharif") unless that run was
            rejected; guard the check with the project-year counter."""
            counter = self.store.get(pipeline_table.project_year(project_id, year))
            items, _ = self.store.query(
                pipeline_table.project(project_id)[0],
                prefix=f"{pipeline_table.RUN_PREFIX}{pipeline_table.run_id(project_id, year)}",
            )
            runs = [pipeline_table.RunRecord.from_item(i) for i in items]
            for other in runs:
                if (
                    other.run_id != rid
                    and pipeline_table.periods_overlap(other.period, req.period)
                    and other.status != "rejected"
                ):
                    raise ConflictError(
                        f"Run {other.run_id} ({other.status}) covers an overlapping period: a plot-season "
                        "may be credited once",
                        code="period_overlaps",
                        details=[
                            {"field": "body.period", "issue": f"overlaps {other.period}", "type": "period_overlaps"}
                        ],
                    )
            version = int((counter or {}).get("version", 0))
            guard = Txn().add(
                Update(
                    pipeline_table.project_year(project_id, year),
                    set={"version": version + 1, "kind": "project_year"},
                    expect={"version": version},
                ),
                race=True,
            )
            return guard, next((r for r in runs if r.run_id == rid), None)

        def build() -> tuple[Txn, pipeline_table.RunRecord]:
            guard, existing = year_runs()
            if existing is None:
                run = pipeline_table.RunRecord(
                    project_id=project_id,
                    run_id=rid,
                    period=req.period,
                    status="running",
                    attempt=1,
                    started_by=caller.user_id,
                    started_at=now,
                    updated_at=now,
                )
                return guard.add(Put(run.to_item(), if_absent=True), race=True), run
            if existing.status not in pipeline_table.RESTARTABLE:
                raise ConflictError(f"Run {rid} already exists with status {existing.status}", code="run_exists")
            generation = existing.generation + (1 if existing.status == "corrections_requested" else 0)
            run = existing.model_copy(
                update={
                    "status": "running",
                    "attempt": existing.attempt + 1,
                    "error": None,
                    "generation": generation,
                    "execution_arn": None,
                    "task_id": None,
                    "outcome": None,
                    "started_by": caller.user_id,
                    "updated_at": now,
                }
            )
            values = {k: v for k, v in run.to_item().items() if k not in ("pk", "sk")}
            cleared = tuple(k for k in ("error", "execution_arn", "task_id", "outcome") if k not in values)
            return guard.add(
                Update(
                    run.key(),
                    set=values,
                    remove=cleared,
                    expect={"attempt": existing.attempt, "status": existing.status},
                ),
                race=True,
            ), run

        run = commit(self.store, build)
        name = pipeline_table.execution_name(rid, run.attempt)
        try:
            arn = self.workflow.start(
                name,
                {
                    "project_id": project_id,
                    "run_id": rid,
                    "attempt": run.attempt,
                    "period": req.period,
                    "generation": run.generation,
                },
            )
        except AppError as exc:
            logger.warning("start_execution failed", extra={"run_id": rid, "error": exc.message})
            self.store.transact(
                [
                    Update(
                        run.key(),
                        set={
                            "status": "failed",
                            "updated_at": self.now(),
                            "error": {"step": "start", "cause": exc.message},
                        },
                    )
                ]
            )
            raise
        self.store.transact([Update(run.key(), set={"execution_arn": arn}, expect={"attempt": run.attempt})])
        run = run.model_copy(update={"execution_arn": arn})
        logger.info("run started", extra={"run_id": rid, "attempt": run.attempt, "project_id": project.project_id})
        return run_out(run, [])

    def get_run(self, caller: Principal, project_id: str, run_id: str) -> m.RunOut:
        self.load(caller, project_id)
        run = (
            pipeline_table.RunRecord.from_item(self.store.get(pipeline_table.run(project_id, run_id)))
            if pipeline_table.valid(pipeline_table.RUN_ID, run_id)
            else None
        )
        if run is None:
            raise not_found("run")
        steps, _ = self.store.query(pipeline_table.step(run_id, "")[0], prefix=pipeline_table.STEP_PREFIX)
        status = None
        if run.execution_arn:
            try:
                status = self.workflow.describe(run.execution_arn).get("status")
            except AppError:
                status = "UNKNOWN"
        records = [pipeline_table.StepRecord.from_item(s) for s in steps]
        return run_out(run, [s for s in records if s.attempt == run.attempt or s.status == "skipped"], status)

    def list_runs(self, caller: Principal, project_id: str) -> m.RunList:
        self.load(caller, project_id)
        items, _ = self.store.query(pipeline_table.project(project_id)[0], prefix=pipeline_table.RUN_PREFIX)
        return m.RunList(items=[run_out(pipeline_table.RunRecord.from_item(i), []) for i in items])

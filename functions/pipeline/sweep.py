"""Scheduled job: the stuck-run sweeper. Fails monitoring runs that can no longer finish by themselves.

A run is open while its status is ``running`` or ``awaiting_auditor``; only its state machine moves
it on (``outcome``). The sweeper fails an open run, with a cause ``GET /projects/{id}/runs/{run}``
shows in ``error``, when (:func:`decide`):

- ``ExecutionLost``: the run names no execution ``START_GRACE`` after it was started (the start was
  never recorded), or its execution no longer exists (e.g. deleted with its state machine);
- ``ExecutionEnded``: its execution ended (succeeded, failed, timed out, aborted) without the
  run's outcome being recorded (RecordFailure itself failed, or the execution was stopped by hand);
- ``RunStalled``: status ``running``, the execution still running, and no progress (the run's
  ``updated_at``, its steps' starts and ends in this attempt) for more than ``SWEEP_STALL_HOURS``
  (default 6: the longest task, 900 s, with its retries is well under an hour);
- ``DecisionOverdue``: status ``awaiting_auditor``, the execution still running past the wait's
  own timeout (30 days, infra/pipeline.py ``DECISION_TIMEOUT``) plus ``START_GRACE``: Step Functions
  should have failed it already.

A running execution is stopped first (``StopExecution``, error ``RunStuck``), then the run is failed
as RecordFailure fails it (open steps closed, a pending verification task taken out of the
auditors' queue: :func:`functions.pipeline.outcome.record_failure`), so it can be restarted.
Idempotent: a failed run is no longer open, so a second sweep leaves it alone. Each run is swept on
its own: an error on one is logged, counted (``SweepErrors``) and reported, and the sweep goes on.
Runs are found without a Scan: the projects through the index of every project, then each
project's runs (one Query each).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from pydantic import BaseModel, Field

from agri_common import pipeline_table
from agri_common.platform import activity
from agri_common.platform.observability import logger
from agri_common.platform.schedule import ScheduledEvent, emit, scheduled_job
from agri_common.platform.settings import BaseSettingsModel, load_settings
from functions.pipeline import core
from functions.pipeline.models import OutcomeInput, TaskError
from functions.pipeline.outcome import record_failure

JOB = "sweep_runs"
OPEN = ("running", "awaiting_auditor")
ENDED = ("SUCCEEDED", "FAILED", "TIMED_OUT", "ABORTED")
START_GRACE = timedelta(minutes=15)
DECISION_TIMEOUT = timedelta(days=30)  # infra/pipeline.py DECISION_TIMEOUT
STOP_ERROR = "RunStuck"


class SweepSettings(BaseSettingsModel):
    sweep_stall_hours: float = Field(6.0, gt=0, description="a running run without progress this long is stalled")


class SweepInput(ScheduledEvent):
    pass


class SweptRun(BaseModel):
    project_id: str
    run_id: str
    error: str
    cause: str
    step: str
    stopped: bool


class SweepError(BaseModel):
    project_id: str
    run_id: str
    error: str


class SweepOutput(BaseModel):
    checked: int = 0
    failed: list[SweptRun] = Field(default_factory=list)
    errors: list[SweepError] = Field(default_factory=list)


class Executions(Protocol):
    def status(self, execution_arn: str) -> str | None:
        """The execution's status (RUNNING, SUCCEEDED...), None when it does not exist."""

    def stop(self, execution_arn: str, error: str, cause: str) -> None: ...


class StepFunctionsExecutions:
    def _sfn(self) -> Any:
        from agri_common.platform.aws import client

        return client("stepfunctions")

    def status(self, execution_arn: str) -> str | None:
        from botocore.exceptions import ClientError

        try:
            return str(self._sfn().describe_execution(executionArn=execution_arn)["status"])
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("ExecutionDoesNotExist", "StateMachineDoesNotExist"):
                return None
            raise

    def stop(self, execution_arn: str, error: str, cause: str) -> None:
        self._sfn().stop_execution(executionArn=execution_arn, error=error, cause=cause[:32000])


@dataclass(frozen=True)
class Verdict:
    error: str
    cause: str
    stop: bool  # the execution still runs: stop it first


def _time(text: str | None) -> datetime | None:
    if not text:
        return None
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def last_progress(run: pipeline_table.RunRecord, steps: list[pipeline_table.StepRecord]) -> datetime | None:
    """The latest sign of life of this attempt: the run's update, its steps' starts and ends."""
    times = [_time(run.updated_at), _time(run.started_at)]
    for s in steps:
        if s.attempt == run.attempt:
            times += [_time(s.started_at), _time(s.finished_at)]
    known = [t for t in times if t is not None]
    return max(known) if known else None


def decide(
    run: pipeline_table.RunRecord,
    execution_status: str | None,
    progress: datetime | None,
    now: datetime,
    stall: timedelta,
) -> Verdict | None:
    """Whether the sweeper fails this run, and why (see the module doc). Pure: no I/O."""
    if run.status not in OPEN:
        return None
    started = _time(run.started_at)
    if not run.execution_arn:
        if started is not None and now - started > START_GRACE:
            return Verdict("ExecutionLost", "the run's Step Functions execution was never recorded", stop=False)
        return None
    if execution_status is None:
        return Verdict("ExecutionLost", "the run's Step Functions execution no longer exists", stop=False)
    if execution_status in ENDED:
        return Verdict(
            "ExecutionEnded",
            f"the run's Step Functions execution ended ({execution_status}) without recording an outcome",
            stop=False,
        )
    if execution_status != "RUNNING" or progress is None:
        return None
    idle = now - progress
    if run.status == "running" and idle > stall:
        return Verdict(
            "RunStalled",
            f"no progress for more than {stall.total_seconds() / 3600:g} hours (last at {progress.isoformat()})",
            stop=True,
        )
    if run.status == "awaiting_auditor" and idle > DECISION_TIMEOUT + START_GRACE:
        return Verdict(
            "DecisionOverdue", "the auditor's wait outlived its 30-day timeout and was still running", stop=True
        )
    return None


def open_runs(store: Any) -> Iterator[pipeline_table.RunRecord]:
    """Every open run: the projects through their index, then each project's runs (no Scan)."""
    start = None
    while True:
        projects, start = store.query(pipeline_table.ALL_PROJECTS_INDEX, index=True, limit=100, start=start)
        for item in projects:
            pid = item.get("project_id")
            if not isinstance(pid, str):
                continue
            runs, _ = store.query(pipeline_table.project(pid)[0], prefix=pipeline_table.RUN_PREFIX)
            for run_item in runs:
                run = pipeline_table.RunRecord.from_item(run_item)
                if run is not None and run.status in OPEN:
                    yield run
        if not start:
            return


def sweep_run(
    ctx: core.Context, executions: Executions, run: pipeline_table.RunRecord, now: datetime, stall: timedelta
) -> SweptRun | None:
    steps_items, _ = ctx.store.query(pipeline_table.step(run.run_id, "")[0], prefix=pipeline_table.STEP_PREFIX)
    steps = [s for s in (pipeline_table.StepRecord.from_item(i) for i in steps_items) if s is not None]
    status = executions.status(run.execution_arn) if run.execution_arn else None
    verdict = decide(run, status, last_progress(run, steps), now, stall)
    if verdict is None:
        return None
    # one activity event per run the sweeper fails (its intent first: if that cannot be written, nothing is done)
    recording = activity.begin_system("pipeline.sweep", target=("run", run.run_id), project_id=run.project_id)
    try:
        step = _fail(ctx, executions, run, verdict)
    except Exception as exc:
        activity.finish(recording, outcome=type(exc).__name__)
        raise
    activity.finish(recording, outcome="ok")
    logger.warning(
        "stuck run failed", extra={"run_id": run.run_id, "project_id": run.project_id, "error": verdict.error}
    )
    return SweptRun(
        project_id=run.project_id,
        run_id=run.run_id,
        error=verdict.error,
        cause=verdict.cause,
        step=step,
        stopped=verdict.stop,
    )


def _fail(ctx: core.Context, executions: Executions, run: pipeline_table.RunRecord, verdict: Verdict) -> Any:
    """Stop the execution if it still runs, then fail the run as the state machine's failure step does."""
    if verdict.stop and run.execution_arn:
        executions.stop(run.execution_arn, STOP_ERROR, f"{verdict.error}: {verdict.cause}")
    info = {"error": verdict.error, "cause": verdict.cause, "detected_by": "stuck-run sweeper"}
    outcome = OutcomeInput(
        project_id=run.project_id,
        run_id=run.run_id,
        attempt=run.attempt,
        period=run.period,
        generation=run.generation,
        error=TaskError(error=verdict.error, cause=verdict.cause),
    )
    return record_failure(ctx, outcome, info)


def _utc_now() -> datetime:
    return datetime.now(UTC)


@scheduled_job(JOB, SweepInput)
def sweep(
    event: SweepInput,
    ctx: core.Context,
    executions: Executions,
    *,
    stall_hours: float | None = None,
    now: Callable[[], datetime] = _utc_now,
) -> SweepOutput:
    stall = timedelta(hours=stall_hours if stall_hours is not None else load_settings(SweepSettings).sweep_stall_hours)
    at = now()
    out = SweepOutput()
    for run in open_runs(ctx.store):
        out.checked += 1
        try:
            swept = sweep_run(ctx, executions, run, at, stall)
        except Exception as exc:  # one bad run never stops the sweep of the others
            logger.exception("sweeping a run failed", extra={"run_id": run.run_id, "project_id": run.project_id})
            out.errors.append(
                SweepError(project_id=run.project_id, run_id=run.run_id, error=f"{type(exc).__name__}: {exc}"[:500])
            )
            continue
        if swept is not None:
            out.failed.append(swept)
    if out.failed:
        emit("StuckRunsFailed", JOB, len(out.failed))
    if out.errors:
        emit("SweepErrors", JOB, len(out.errors))
    return out


def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return sweep(event, core.default_context(), StepFunctionsExecutions())

"""The run's outcome, written by the last state of every path: approved (after the writer's last
page: its answer is ``issued``),
rejected or corrections requested (the auditor's SendTaskFailure), or failed (any step's error
after its retries, with the cause). The run is then visible in that state; a failed run (or one
sent back for corrections) can be restarted."""

from __future__ import annotations

import json
from typing import Any, Literal

from agri_common import pipeline_table
from agri_common.notify import NotificationEvent, Scalar, notify
from agri_common.single_table import Put, Update
from functions.pipeline import core
from functions.pipeline.models import OutcomeInput, OutcomeOutput, TaskError
from functions.pipeline.task import task

AUDITOR_ERRORS: dict[str, Literal["rejected", "corrections_requested"]] = {
    "Rejected": "rejected",
    "CorrectionsRequested": "corrections_requested",
}


def _cause(error: TaskError | None) -> dict[str, Any]:
    error = error or TaskError()
    cause = error.cause
    try:
        parsed = json.loads(cause) if isinstance(cause, str) else cause
    except ValueError:
        parsed = cause
    if isinstance(parsed, dict) and "errorMessage" in parsed:
        parsed = {"type": parsed.get("errorType"), "message": parsed.get("errorMessage")}
    return {"error": error.error, "cause": parsed}


@task("outcome", OutcomeInput)
def record_outcome(run: OutcomeInput, ctx: core.Context) -> OutcomeOutput:
    error = run.error
    if run.issued is not None and error is None:
        answer = run.issued.body or run.issued.model_dump()  # the writer's last answer: {"ok", "result", "error"}
        if not answer.get("ok"):
            ctx.store.transact(
                [
                    Update(
                        pipeline_table.step(run.run_id, "ledger"), set={"status": "failed", "finished_at": ctx.clock()}
                    )
                ]
            )
            ctx.set_run(
                run, status="failed", error={"step": "ledger", "error": "LedgerRefused", "cause": answer.get("error")}
            )
            _tell(run, "run_failed", step="ledger")
            return OutcomeOutput(status="failed", step="ledger")
        result = answer.get("result") or {}
        ctx.set_run(
            run,
            status="approved",
            outcome={"decision": "approved", "ledger": result, "decided_by": (run.decision or {}).get("decided_by")},
        )
        _tell(run, "run_approved")
        return OutcomeOutput(status="approved")
    info = _cause(error)
    if info["error"] in AUDITOR_ERRORS:
        status = AUDITOR_ERRORS[info["error"]]
        with ctx.step(run, "outcome") as detail:
            detail.update(status=status)
        # The decision itself is read from the task item: the token's error cause is only a copy
        # (and moto's emulator drops the cause of SendTaskFailure).
        task_record = pipeline_table.TaskRecord.from_item(
            ctx.store.get(pipeline_table.task(pipeline_table.task_id(run.run_id, run.attempt)))
        )
        decision = (task_record.decision if task_record else None) or {}
        ctx.set_run(
            run,
            status=status,
            outcome={
                "decision": status,
                "reason": decision.get("reason") or info["cause"],
                "decided_by": decision.get("decided_by"),
                "decided_at": decision.get("decided_at"),
            },
        )
        _tell(run, "run_sent_back", decision=status, reason=str(decision.get("reason") or "-"))
        return OutcomeOutput(status=status)
    step = record_failure(ctx, run, info)
    _tell(run, "run_failed", step=step)
    return OutcomeOutput(status="failed", step=step)


def _tell(run: OutcomeInput, kind: Literal["run_approved", "run_failed", "run_sent_back"], **values: Scalar) -> None:
    """Hand the outcome to the notification port (never fails the task; one event per attempt)."""
    notify(
        NotificationEvent(
            kind=kind,
            event_id=f"{kind}:{run.run_id}:a{run.attempt}",
            project_id=run.project_id,
            run_id=run.run_id,
            values=values,
        )
    )


def record_failure(ctx: core.Context, run: OutcomeInput, info: dict[str, Any]) -> str:
    """Fail the run and its open steps; return the failed step.

    The state machine names it (``error.step``: the step of the state whose Catch led here), so a
    step that failed before writing its own record (an invalid payload, a crash before its first
    write, a timeout) is still named, and its record is written now. Without a name (an execution
    started before the state machine named steps) the step is inferred from the step records."""
    named = run.error.step if run.error else None
    steps, _ = ctx.store.query(pipeline_table.step(run.run_id, "")[0], prefix=pipeline_table.STEP_PREFIX)
    running = [s for s in steps if s.get("attempt") == run.attempt and s.get("status") in ("running", "failed")]
    # the step that started last is the one that failed (or was cut off): no later step starts after it
    failed_step = (
        max(running, key=lambda s: (s.get("started_at") or "", s["status"] == "failed"))["step"]
        if running
        else "unknown"
    )
    closed = close_pending_task(ctx, run)  # a failed run leaves nothing in the auditors' queue
    if named:
        failed_step = named
    elif closed:
        failed_step = "await_decision"  # the wait lapsed (heartbeat / timeout) or its token was failed
    elif run.ledger is not None and (
        run.issued is None or "next_farmer" not in run.issued.model_fields_set or run.issued.next_farmer is not None
    ):
        # the approved run was stored (the state holds its reference) and pages remained (none
        # answered yet, or a numeric next_farmer), then a page failed after its retries: the ledger
        # step (closed when the run was stored) failed. After the last page it did not.
        failed_step = "ledger"

    for s in running:
        if s["status"] == "running":
            ctx.store.transact(
                [
                    Update(
                        pipeline_table.step(run.run_id, s["step"]),
                        set={
                            "status": "failed",
                            "finished_at": ctx.clock(),
                            "detail": {**s.get("detail", {}), "cause": info},
                        },
                    )
                ]
            )
    if failed_step != "unknown":
        mark_failed(ctx, run, failed_step, next((s for s in steps if s["step"] == failed_step), None), info)
    ctx.set_run(run, status="failed", error={"step": failed_step, **info})
    return failed_step


def mark_failed(
    ctx: core.Context, run: core.RunInput, step: str, item: dict[str, Any] | None, info: dict[str, Any]
) -> None:
    """The failed step's record ends failed in this attempt, with the cause: written when the step
    failed before writing it (or the record is an earlier attempt's); a record this attempt closed
    as succeeded (the ledger step, closed when the approved run was stored, then a page of the
    writer failed; the auditor's wait, stored, then lapsed) is marked failed; a record the step
    itself failed, or that was running (failed above), keeps its own cause."""
    if item is None or item.get("attempt") != run.attempt:
        now = ctx.clock()
        ctx.store.transact(
            [
                Put(
                    pipeline_table.StepRecord(
                        run_id=run.run_id,
                        step=step,
                        attempt=run.attempt,
                        status="failed",
                        started_at=now,
                        finished_at=now,
                        detail={"cause": info},
                    ).to_item()
                )
            ]
        )
    elif item.get("status") == "succeeded":
        ctx.store.transact(
            [
                Update(
                    pipeline_table.step(run.run_id, step),
                    set={"status": "failed", "finished_at": ctx.clock(), "detail.cause": info},
                )
            ]
        )


def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return record_outcome(event, core.default_context())


def close_pending_task(ctx: core.Context, run: core.RunInput) -> bool:
    """Take a still-pending verification task of this attempt out of the auditors' queue."""
    from agri_common.single_table import WriteConflict

    task = pipeline_table.TaskRecord.from_item(
        ctx.store.get(pipeline_table.task(pipeline_table.task_id(run.run_id, run.attempt)))
    )
    if task is None or task.status != "pending":
        return False
    try:
        ctx.store.transact([Update(task.key(), set=task.moved_to("closed"), expect={"status": "pending"})])
    except WriteConflict:
        return False  # decided meanwhile
    return True

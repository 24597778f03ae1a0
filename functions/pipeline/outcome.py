"""The run's outcome, written by the last state of every path: approved (after the writer's last
page: its answer is ``issued``),
rejected or corrections requested (the auditor's SendTaskFailure), or failed (any step's error
after its retries, with the cause). The run is then visible in that state; a failed run (or one
sent back for corrections) can be restarted."""

from __future__ import annotations

import json
from typing import Any

from agri_common import pipeline_table
from agri_common.single_table import Update

from functions.pipeline import core

AUDITOR_ERRORS = {"Rejected": "rejected", "CorrectionsRequested": "corrections_requested"}


def _cause(error: dict | None) -> dict:
    error = error or {}
    cause = error.get("Cause")
    try:
        parsed = json.loads(cause) if isinstance(cause, str) else cause
    except ValueError:
        parsed = cause
    if isinstance(parsed, dict) and "errorMessage" in parsed:
        parsed = {"type": parsed.get("errorType"), "message": parsed.get("errorMessage")}
    return {"error": error.get("Error"), "cause": parsed}


def record_outcome(event: dict, ctx: core.Context) -> dict:
    run = core.RunInput.model_validate(event)
    error = event.get("error")
    if event.get("issued") is not None and error is None:
        answer = event["issued"].get("body") or event["issued"]  # the writer's last answer: {"ok", "result", "error"}
        if not answer.get("ok"):
            ctx.store.transact([Update(pipeline_table.step(run.run_id, "ledger"), set={"status": "failed", "finished_at": ctx.clock()})])
            ctx.set_run(run, status="failed", error={"step": "ledger", "error": "LedgerRefused", "cause": answer.get("error")})
            return {"status": "failed", "step": "ledger"}
        result = answer.get("result") or {}
        ctx.set_run(run, status="approved", outcome={"decision": "approved", "ledger": result,
                                                     "decided_by": (event.get("decision") or {}).get("decided_by")})
        return {"status": "approved"}
    info = _cause(error)
    if info["error"] in AUDITOR_ERRORS:
        status = AUDITOR_ERRORS[info["error"]]
        with ctx.step(run, "outcome") as detail:
            detail.update(status=status)
        # The decision itself is read from the task item: the token's error cause is only a copy
        # (and moto's emulator drops the cause of SendTaskFailure).
        task = pipeline_table.TaskRecord.from_item(ctx.store.get(pipeline_table.task(pipeline_table.task_id(run.run_id, run.attempt))))
        decision = (task.decision if task else None) or {}
        ctx.set_run(run, status=status, outcome={"decision": status, "reason": decision.get("reason") or info["cause"],
                                                 "decided_by": decision.get("decided_by"),
                                                 "decided_at": decision.get("decided_at")})
        return {"status": status}
    steps, _ = ctx.store.query(pipeline_table.step(run.run_id, "")[0], prefix=pipeline_table.STEP_PREFIX)
    running = [s for s in steps if s.get("attempt") == run.attempt and s.get("status") in ("running", "failed")]
    # the step that started last is the one that failed (or was cut off): no later step starts after it
    failed_step = max(running, key=lambda s: (s.get("started_at") or "", s["status"] == "failed"))["step"] if running else "unknown"
    if close_pending_task(ctx, run):
        failed_step = "await_decision"  # the wait lapsed (heartbeat / timeout) or its token was failed
    elif event.get("ledger") is not None and (event.get("issued") or {}).get("next_farmer", 0) is not None:
        # the approved run was stored (the state holds its reference) and pages remained (none
        # answered yet, or a numeric next_farmer), then a page failed after its retries: the ledger
        # step (closed when the run was stored) failed. After the last page it did not.
        failed_step = "ledger"
        running = [s for s in running if s["step"] != "ledger"]
        ctx.store.transact([Update(pipeline_table.step(run.run_id, "ledger"), set={"status": "failed", "finished_at": ctx.clock(),
                                                                        "detail.cause": info})])
    for s in running:
        if s["status"] == "running":
            ctx.store.transact([Update(pipeline_table.step(run.run_id, s["step"]), set={"status": "failed", "finished_at": ctx.clock(),
                                                                             "detail": {**s.get("detail", {}), "cause": info}})])
    ctx.set_run(run, status="failed", error={"step": failed_step, **info})
    return {"status": "failed", "step": failed_step}


def lambda_handler(event: dict, context: Any) -> dict:
    return record_outcome(event, core.default_context())


def close_pending_task(ctx: core.Context, run: core.RunInput) -> bool:
    """Take a still-pending verification task of this attempt out of the auditors' queue."""
    from agri_common.single_table import WriteConflict

    task = pipeline_table.TaskRecord.from_item(ctx.store.get(pipeline_table.task(pipeline_table.task_id(run.run_id, run.attempt))))
    if task is None or task.status != "pending":
        return False
    try:
        ctx.store.transact([Update(task.key(), set=task.moved_to("closed"),
                                   expect={"status": "pending"})])
    except WriteConflict:
        return False  # decided meanwhile
    return True

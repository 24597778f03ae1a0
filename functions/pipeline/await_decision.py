"""Await the auditor: invoked with ``.waitForTaskToken``; stores the verification task (with the
token) for the auditors' queue and returns. The execution waits until the decision route answers
the token (SendTaskSuccess / SendTaskFailure), a heartbeat lapses or the task times out.

Idempotent: a retry of this state (new token) updates the pending task's token; a decided task
is never reopened.
"""

from __future__ import annotations

from typing import Any

from agri_common import pipeline_table
from agri_common.notify import NotificationEvent, notify
from agri_common.single_table import Put, Update, WriteConflict
from functions.pipeline import core
from functions.pipeline.models import AwaitInput, AwaitOutput
from functions.pipeline.task import task


@task("await_decision", AwaitInput)
def await_decision(run: AwaitInput, ctx: core.Context) -> AwaitOutput:
    token = run.task_token
    with ctx.step(run, "await_decision") as detail:
        project = ctx.project(run)
        tid = pipeline_table.task_id(run.run_id, run.attempt)
        task = pipeline_table.TaskRecord(
            task_id=tid,
            project_id=run.project_id,
            run_id=run.run_id,
            attempt=run.attempt,
            status="pending",
            task_token=token,
            methodology=project.methodology,
            findings_key=run.verify.findings_key,
            sample_key=run.verify.sample_key,
            finding_counts=run.verify.counts.model_dump(),
            summary=run.summary,
            report_ids=list(run.reports.report_ids if run.reports else []),
            created_at=ctx.clock(),
        )
        try:
            ctx.store.transact([Put(task.to_item(), if_absent=True)])
        except WriteConflict:
            ctx.store.transact([Update(task.key(), set={"task_token": token}, expect={"status": "pending"})])
        run_item = pipeline_table.RunRecord.from_item(ctx.store.get(pipeline_table.run(run.project_id, run.run_id)))
        if run_item and run_item.summary:
            ctx.store.transact([Update(task.key(), set={"summary": run_item.summary})])
        ctx.set_run(run, status="awaiting_auditor", task_id=tid)
        detail.update(task_id=tid)
    notify(
        NotificationEvent(
            kind="run_awaiting_auditor",
            event_id=f"run_awaiting_auditor:{tid}",
            project_id=run.project_id,
            run_id=run.run_id,
            task_id=tid,
        )
    )
    return AwaitOutput(task_id=tid)


def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return await_decision(event, core.default_context())

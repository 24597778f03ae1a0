"""The pipeline task decorator (functions/pipeline/task.py): typed input, a named refusal of a bad
payload, the run id as correlation id, one metric per step run, the output as JSON; and the
outcome naming the step the state machine passes on with the error."""

from __future__ import annotations

import copy
import io
import json

import pytest

from agri_common import pipeline_table
from functions.pipeline import (
    aggregate,
    approved_run,
    await_decision,
    basis,
    calculate,
    core,
    outcome,
    plan,
    reports,
    sample_draw,
)
from functions.pipeline.models import ChunkInput, ChunkOutput, OutcomeOutput, RunInput
from functions.pipeline.task import FAILED, SUCCEEDED, InvalidTaskInput, task
from tests.unit.fakes.mrv import pipeline_context
from tests.unit.functions.pipeline.test_steps import PID, RID, RUN, Source, Uploader


@pytest.fixture
def ctx():
    return pipeline_context(PID, RID)


@pytest.fixture
def out(capsys, monkeypatch):
    """What Powertools wrote, parsed: its JSON log lines (its handler's stream, bound when the
    logger was created, is swapped for a buffer here) and its EMF metric documents (printed)."""
    from agri_common.platform.observability import logger

    stream = io.StringIO()
    monkeypatch.setattr(logger.registered_handler, "stream", stream)

    def read() -> list[dict]:
        text = stream.getvalue() + capsys.readouterr().out
        stream.seek(0)
        stream.truncate()
        return [json.loads(line) for line in text.splitlines() if line.startswith("{")]

    return read


def metrics(lines: list[dict]) -> list[tuple[str, str, str, str]]:
    """(namespace, metric name, service, step) of every EMF document."""
    out = []
    for doc in lines:
        for directive in doc.get("_aws", {}).get("CloudWatchMetrics", []):
            assert directive["Dimensions"] == [["service", "step"]]
            out += [(directive["Namespace"], m["Name"], doc["service"], doc["step"]) for m in directive["Metrics"]]
    return out


@task("demo_step", ChunkInput)
def demo(run: ChunkInput, ctx: object, *, crash: bool = False) -> ChunkOutput:
    from agri_common.platform.observability import logger

    logger.info("inside the step")
    if crash:
        raise RuntimeError("container killed midway")
    return ChunkOutput(index=run.index, reused=False)


# ---- the decorator ---------------------------------------------------------------------------
def test_a_step_validates_its_input_and_returns_its_output_as_json(out):
    assert demo({**RUN, "index": 3, "unrelated": {"x": 1}}, None) == {"index": 3, "reused": False}
    assert demo(ChunkInput(**RUN, index=4), None) == {"index": 4, "reused": False}  # the model itself is taken as is
    lines = out()
    inside = [line for line in lines if line.get("message") == "inside the step"]
    assert len(inside) == 2 and all(line["correlation_id"] == RID for line in inside)
    assert {(line["step"], line["project_id"], line["attempt"]) for line in inside} == {("demo_step", PID, 1)}
    assert metrics(lines) == [("AgriMrv", SUCCEEDED, "agri-mrv", "demo_step")] * 2


def test_the_log_context_does_not_outlive_the_step(out):
    from agri_common.platform.observability import logger

    demo({**RUN, "index": 0}, None)
    logger.info("after the step")
    after = next(line for line in out() if line.get("message") == "after the step")
    assert "correlation_id" not in after and "step" not in after and "run_id" not in after


@pytest.mark.parametrize(
    "event, field",
    [
        ({k: v for k, v in RUN.items() if k != "run_id"}, "run_id"),
        ({**RUN, "index": "two"}, "index"),
        ({**RUN, "index": -1}, "index"),
        ({**RUN, "attempt": None, "index": 1}, "attempt"),
        (None, "(payload)"),
        (["not", "a", "state"], "(payload)"),
    ],
)
def test_a_bad_payload_fails_the_step_by_name_never_with_a_key_error(event, field, out):
    with pytest.raises(InvalidTaskInput) as caught:
        demo(event, None)
    assert caught.value.step == "demo_step"
    assert str(caught.value).startswith("step demo_step: invalid task input (")
    assert field in {e["field"] for e in caught.value.errors}
    lines = out()
    assert not any(line.get("message") == "inside the step" for line in lines)  # the task never ran
    refused = next(line for line in lines if line.get("message") == "pipeline step refused its input")
    assert refused["level"] == "ERROR" and refused["step"] == "demo_step"
    assert metrics(lines) == [("AgriMrv", FAILED, "agri-mrv", "demo_step")]


def test_a_crash_is_logged_and_counted_for_its_step_and_keeps_its_error_type(out):
    """The exception is re-raised as it is: its class name is the errorType the state machine's
    Retry matches (ClientError...)."""
    with pytest.raises(RuntimeError, match="container killed midway"):
        demo({**RUN, "index": 2}, None, crash=True)
    lines = out()
    failed = next(line for line in lines if line.get("message") == "pipeline step failed")
    assert failed["level"] == "ERROR" and failed["step"] == "demo_step" and failed["correlation_id"] == RID
    assert "container killed midway" in failed["exception"] and failed["exception_name"] == "RuntimeError"
    assert metrics(lines) == [("AgriMrv", FAILED, "agri-mrv", "demo_step")]


def test_none_fields_are_left_out_of_the_output():
    @task("outcome_like", RunInput)
    def decide(run: RunInput) -> OutcomeOutput:
        return OutcomeOutput(status="approved")

    assert decide(RUN) == {"status": "approved"}


# ---- every task of the pipeline -------------------------------------------------------------
TASKS = {
    "plan": lambda e, ctx: plan.plan(e, ctx, Source(), chunk_units=4),
    "calculate": lambda e, ctx: calculate.calculate(e, ctx, Source()),
    "conservative_choice": lambda e, ctx: aggregate.choose(e, ctx),
    "conservative_basis": lambda e, ctx: basis.basis(e, ctx),
    "aggregate": lambda e, ctx: aggregate.aggregate(e, ctx),
    "verify": lambda e, ctx: sample_draw.verify(e, ctx),
    "reports": lambda e, ctx: reports.monitoring_report(e, ctx, Uploader()),
    "verification_report": lambda e, ctx: reports.verification_report(e, ctx, Uploader()),
    "await_decision": lambda e, ctx: await_decision.await_decision(e, ctx),
    "ledger": lambda e, ctx: approved_run.prepare(e, ctx, lambda key, data: None),
    "outcome": lambda e, ctx: outcome.record_outcome(e, ctx),
}


@pytest.mark.parametrize("step", sorted(TASKS))
@pytest.mark.parametrize("payload", [{}, {**RUN, "attempt": "first"}, {**RUN, "generation": 0}, {**RUN, "run_id": 7}])
def test_every_task_refuses_a_payload_it_cannot_read_by_name_and_stores_nothing(step, payload, ctx):
    before_items, before_objects = copy.deepcopy(ctx.store.items), dict(ctx.objects.objects)
    with pytest.raises(InvalidTaskInput, match=f"^step {step}: invalid task input"):
        TASKS[step](payload, ctx)
    assert ctx.store.items == before_items and ctx.objects.objects == before_objects


# ---- the step travels with the error ----------------------------------------------------------
def test_a_step_that_crashed_before_writing_its_record_is_named_from_the_error(ctx):
    """Reports failed before its first write (no step record): the state machine's "Reports failed"
    state put ``step`` into the error; before, the run said ``"unknown"``."""
    ctx.store.items[pipeline_table.step(RID, "verify")] = pipeline_table.StepRecord(
        run_id=RID, step="verify", attempt=1, status="succeeded", started_at="t"
    ).to_item()
    cause = json.dumps({"errorType": "KeyError", "errorMessage": "'chunk_count'"})
    error = {"Error": "KeyError", "Cause": cause, "step": "reports"}
    assert outcome.record_outcome({**RUN, "error": error}, ctx) == {"status": "failed", "step": "reports"}
    run = ctx.store.get(pipeline_table.run(PID, RID))
    assert run["status"] == "failed" and run["error"]["step"] == "reports"
    assert run["error"]["cause"] == {"type": "KeyError", "message": "'chunk_count'"}
    step = ctx.store.get(pipeline_table.step(RID, "reports"))  # written now, so the run's steps show where it stopped
    assert (step["status"], step["attempt"], step["detail"]["cause"]["error"]) == ("failed", 1, "KeyError")
    assert ctx.store.get(pipeline_table.step(RID, "verify"))["status"] == "succeeded"


def test_the_named_step_wins_over_the_step_records(ctx):
    """A step still running from the calculate Map, then ChooseFactors timed out: the error names it."""
    ctx.store.items[pipeline_table.step(RID, "calculate")] = pipeline_table.StepRecord(
        run_id=RID, step="calculate", attempt=1, status="running", started_at="2025-01-01T00:00:01Z"
    ).to_item()
    error = {"Error": "States.Timeout", "step": "conservative_choice"}
    assert outcome.record_outcome({**RUN, "error": error}, ctx)["step"] == "conservative_choice"
    assert ctx.store.get(pipeline_table.step(RID, "calculate"))["status"] == "failed"
    assert ctx.store.get(pipeline_table.step(RID, "conservative_choice"))["status"] == "failed"


def test_a_named_step_recorded_by_an_earlier_attempt_gets_this_attempts_failure(ctx):
    ctx.store.items[pipeline_table.run(PID, RID)]["attempt"] = 2
    ctx.store.items[pipeline_table.step(RID, "plan")] = pipeline_table.StepRecord(
        run_id=RID, step="plan", attempt=1, status="succeeded", started_at="t"
    ).to_item()
    assert (
        outcome.record_outcome({**RUN, "attempt": 2, "error": {"Error": "ValueError", "step": "plan"}}, ctx)["step"]
        == "plan"
    )
    step = ctx.store.get(pipeline_table.step(RID, "plan"))
    assert (step["status"], step["attempt"]) == ("failed", 2)


def test_run_input_is_the_shared_one():
    assert core.RunInput is RunInput


# ---- the activity log: one event per step run ----------------------------------------------------
def test_each_step_run_appends_one_event_after_an_intent(activity_log):
    demo({**RUN, "index": 1}, None)
    with pytest.raises(RuntimeError):
        demo({**RUN, "index": 2}, None, crash=True)
    with pytest.raises(InvalidTaskInput):
        demo({**RUN, "index": "two"}, None)
    ok, crashed, refused = activity_log.all()
    assert [e.outcome for e in (ok, crashed, refused)] == ["ok", "RuntimeError", "InvalidTaskInput"]
    for event in (ok, crashed, refused):
        assert event.action == "pipeline.demo_step" and event.source == "pipeline"
        assert (event.target_kind, event.target_id, event.project_id) == ("run", RID, PID)
        assert event.actor_id == "pipeline"
    assert len({e.event_id for e in activity_log.all()}) == 3  # each run of a step is its own event
    assert sorted(i.event.event_id for i in activity_log.intent_items.values()) == sorted(
        e.event_id for e in activity_log.all()
    )


@pytest.mark.parametrize("step", sorted(TASKS))
def test_every_task_of_the_pipeline_writes_one_event_per_run(step, ctx, activity_log):
    with pytest.raises(InvalidTaskInput):
        TASKS[step]({}, ctx)
    [event] = activity_log.all()
    assert event.action.startswith("pipeline.") and event.outcome == "InvalidTaskInput"


def test_a_step_whose_intent_cannot_be_written_does_not_run(activity_log, monkeypatch, out):
    def down(intent):
        raise ConnectionError("injected: the activity table is unreachable")

    monkeypatch.setattr(activity_log, "append_intent", down)
    with pytest.raises(ConnectionError):
        demo({**RUN, "index": 1}, None)
    assert not any(line.get("message") == "inside the step" for line in out())
    assert activity_log.all() == []

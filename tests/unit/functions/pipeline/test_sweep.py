"""The stuck-run sweeper (functions/pipeline/sweep.py) on in-memory fakes: which runs it fails and
why, what it records on the run, that it is idempotent and that one bad run does not stop it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from agri_common import pipeline_table
from functions.pipeline import core, sweep
from tests.unit.fakes.mrv import MemoryObjects, MemoryStore

NOW = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)
STALL = timedelta(hours=6)
EVENT = {"version": "0", "id": "e-1", "detail-type": "Scheduled Event", "source": "aws.events", "detail": {}}


def iso(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


class Executions:
    """Step Functions as the sweeper sees it: arn -> status (absent: does not exist)."""

    def __init__(self, statuses: dict[str, str] | None = None, broken: set[str] | None = None) -> None:
        self.statuses = dict(statuses or {})
        self.broken = broken or set()
        self.stopped: list[tuple[str, str, str]] = []

    def status(self, execution_arn: str) -> str | None:
        if execution_arn in self.broken:
            raise RuntimeError("throttled")
        return self.statuses.get(execution_arn)

    def stop(self, execution_arn: str, error: str, cause: str) -> None:
        self.stopped.append((execution_arn, error, cause))
        self.statuses[execution_arn] = "ABORTED"


def arn(run_id: str) -> str:
    return f"arn:aws:states:ap-south-1:123456789012:execution:Mrv:{run_id}_a1"


def seed(store, n: int, *, status: str = "running", updated: datetime, execution: bool = True, project="a") -> str:
    pid = f"prj_{project * 8}"[:12]
    project_record = pipeline_table.ProjectRecord(
        project_id=pid,
        name="P",
        fpo_ids=["FPO-1"],
        methodology="vm0051",
        profile="vm0051",
        gwp="AR5",
        region="south_asia",
        climate="wet",
        crediting_start="2024-06-01",
        crediting_end="2030-05-31",
        draws=10,
        created_by="a",
        created_at=iso(NOW - timedelta(days=60)),
    )
    store.items[project_record.key()] = {**project_record.to_item(), **project_record.index()}
    rid = pipeline_table.run_id(pid, f"{2020 + n}")
    run = pipeline_table.RunRecord(
        project_id=pid,
        run_id=rid,
        period=f"{2020 + n}",
        status=status,
        attempt=1,
        execution_arn=arn(rid) if execution else None,
        started_by="m",
        started_at=iso(updated),
        updated_at=iso(updated),
    )
    store.items[run.key()] = run.to_item()
    return rid


def context(store) -> core.Context:
    return core.Context(store=store, objects=MemoryObjects(), clock=lambda: iso(NOW))


def stored_run(store, rid: str) -> pipeline_table.RunRecord:
    run = pipeline_table.RunRecord.from_item(store.get(pipeline_table.run(rid[:12], rid)))
    assert run is not None
    return run


def run_sweep(store, executions) -> dict:
    return sweep.sweep(EVENT, context(store), executions, stall_hours=6, now=lambda: NOW)


# ---- the decision ------------------------------------------------------------------------------
def _run(status: str = "running", *, execution: bool = True, started: datetime = NOW) -> pipeline_table.RunRecord:
    return pipeline_table.RunRecord(
        project_id="prj_aaaaaaaa",
        run_id="prj_aaaaaaaa_2025",
        period="2025",
        status=status,
        attempt=1,
        execution_arn="arn:x" if execution else None,
        started_by="m",
        started_at=iso(started),
        updated_at=iso(started),
    )


@pytest.mark.parametrize("status", ["approved", "rejected", "corrections_requested", "failed"])
def test_closed_runs_are_never_touched(status):
    assert sweep.decide(_run(status), "FAILED", NOW - timedelta(days=90), NOW, STALL) is None


@pytest.mark.parametrize("ended", ["SUCCEEDED", "FAILED", "TIMED_OUT", "ABORTED"])
def test_an_open_run_whose_execution_ended_fails(ended):
    verdict = sweep.decide(_run(), ended, NOW, NOW, STALL)
    assert verdict is not None and verdict.error == "ExecutionEnded" and ended in verdict.cause
    assert not verdict.stop


def test_a_lost_execution_fails_the_run_and_a_missing_one_only_after_the_grace():
    assert sweep.decide(_run(), None, NOW, NOW, STALL).error == "ExecutionLost"
    fresh = _run(execution=False, started=NOW - timedelta(minutes=5))
    assert sweep.decide(fresh, None, None, NOW, STALL) is None  # the start may still be recording its arn
    old = _run(execution=False, started=NOW - timedelta(minutes=16))
    assert sweep.decide(old, None, None, NOW, STALL).error == "ExecutionLost"


def test_a_running_run_stalls_after_the_limit_and_not_before():
    assert sweep.decide(_run(), "RUNNING", NOW - timedelta(hours=5, minutes=59), NOW, STALL) is None
    verdict = sweep.decide(_run(), "RUNNING", NOW - timedelta(hours=6, minutes=1), NOW, STALL)
    assert verdict is not None and verdict.error == "RunStalled" and verdict.stop


def test_an_auditor_wait_is_overdue_only_past_its_own_timeout():
    waiting = _run("awaiting_auditor")
    assert sweep.decide(waiting, "RUNNING", NOW - timedelta(days=29), NOW, STALL) is None  # auditors take days
    verdict = sweep.decide(waiting, "RUNNING", NOW - timedelta(days=30, hours=1), NOW, STALL)
    assert verdict is not None and verdict.error == "DecisionOverdue" and verdict.stop


def test_progress_is_the_latest_step_of_this_attempt():
    run = _run(started=NOW - timedelta(hours=10))
    steps = [
        pipeline_table.StepRecord(
            run_id=run.run_id, step="plan", attempt=1, status="succeeded", started_at=iso(NOW - timedelta(hours=9))
        ),
        pipeline_table.StepRecord(
            run_id=run.run_id, step="calculate", attempt=1, status="running", started_at=iso(NOW - timedelta(hours=1))
        ),
        pipeline_table.StepRecord(  # an older attempt's step says nothing of this one
            run_id=run.run_id, step="verify", attempt=0, status="running", started_at=iso(NOW)
        ),
    ]
    assert sweep.last_progress(run, steps) == NOW - timedelta(hours=1)


# ---- the sweep -----------------------------------------------------------------------------------
def test_the_sweep_fails_stuck_runs_records_the_cause_and_leaves_healthy_ones(activity_log):
    store = MemoryStore()
    ended = seed(store, 1, updated=NOW - timedelta(hours=1))
    stalled = seed(store, 2, updated=NOW - timedelta(hours=7))
    healthy = seed(store, 3, updated=NOW - timedelta(hours=1))
    done = seed(store, 4, status="approved", updated=NOW - timedelta(days=3))
    executions = Executions({arn(ended): "FAILED", arn(stalled): "RUNNING", arn(healthy): "RUNNING"})

    out = run_sweep(store, executions)

    assert out["checked"] == 3  # the approved run is not open
    assert {r["run_id"]: r["error"] for r in out["failed"]} == {ended: "ExecutionEnded", stalled: "RunStalled"}
    assert executions.stopped == [(arn(stalled), "RunStuck", executions.stopped[0][2])]
    assert "RunStalled" in executions.stopped[0][2]
    for rid, error in ((ended, "ExecutionEnded"), (stalled, "RunStalled")):
        run = stored_run(store, rid)
        assert run.status == "failed"
        assert run.error is not None and run.error["error"] == error and run.error["detected_by"] == "stuck-run sweeper"
        assert run.error["cause"]
    assert stored_run(store, healthy).status == "running"
    assert stored_run(store, done).status == "approved"
    # one activity event per failed run, by the system, on the run (the intent and the final event share the id)
    swept = [e for e in activity_log.all() if e.action == "pipeline.sweep" and e.outcome == "ok"]
    assert sorted((e.target_kind, e.target_id, e.actor_role) for e in swept) == sorted(
        [("run", ended, "system"), ("run", stalled, "system")]
    )


def test_a_second_sweep_changes_nothing():
    store = MemoryStore()
    rid = seed(store, 1, updated=NOW - timedelta(hours=7))
    executions = Executions({arn(rid): "RUNNING"})
    assert len(run_sweep(store, executions)["failed"]) == 1
    first = dict(store.get(pipeline_table.run(rid[:12], rid)))
    again = run_sweep(store, executions)
    assert again == {"checked": 0, "failed": [], "errors": []}
    assert store.get(pipeline_table.run(rid[:12], rid)) == first
    assert len(executions.stopped) == 1


def test_one_bad_run_does_not_stop_the_sweep_of_the_others(activity_log):
    store = MemoryStore()
    bad = seed(store, 1, updated=NOW - timedelta(hours=7), project="a")
    good = seed(store, 2, updated=NOW - timedelta(hours=7), project="b")
    executions = Executions({arn(good): "FAILED"}, broken={arn(bad)})
    out = run_sweep(store, executions)
    assert [r["run_id"] for r in out["failed"]] == [good]
    assert [(e["run_id"], e["error"]) for e in out["errors"]] == [(bad, "RuntimeError: throttled")]
    outcomes = {e.target_id: e.outcome for e in activity_log.all() if e.action == "pipeline.sweep"}
    assert outcomes == {good: "ok"}  # the bad run could not even be read: nothing changed, no event
    assert stored_run(store, bad).status == "running"  # untouched: the next sweep tries again
    assert stored_run(store, good).status == "failed"


def test_a_failed_wait_leaves_nothing_in_the_auditors_queue():
    store = MemoryStore()
    rid = seed(store, 1, status="awaiting_auditor", updated=NOW - timedelta(days=31))
    task = pipeline_table.TaskRecord(
        task_id=pipeline_table.task_id(rid, 1),
        project_id=rid[:12],
        run_id=rid,
        attempt=1,
        status="pending",
        task_token="tok",
        methodology="vm0051",
        findings_key="f",
        sample_key="s",
        created_at=iso(NOW - timedelta(days=31)),
    )
    store.items[task.key()] = {**task.to_item(), **task.index()}
    out = run_sweep(store, Executions({arn(rid): "RUNNING"}))
    assert [(r["error"], r["step"]) for r in out["failed"]] == [("DecisionOverdue", "await_decision")]
    closed = pipeline_table.TaskRecord.from_item(store.get(task.key()))
    assert closed is not None and closed.status == "closed"


def test_an_unreadable_event_is_refused():
    from agri_common.platform.schedule import InvalidJobInput

    with pytest.raises(InvalidJobInput, match="sweep_runs"):
        sweep.sweep({"time": "not a time"}, context(MemoryStore()), Executions(), stall_hours=6)

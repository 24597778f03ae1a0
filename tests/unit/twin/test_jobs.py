"""The twin's scheduler (infra/local/jobs.py): rules read from a template, schedules parsed as
EventBridge reads them, the event it sends, the control endpoint, and the background thread."""

from __future__ import annotations

import json
import threading
from datetime import UTC, datetime, timedelta

import pytest

from infra.local.jobs import (
    Cron,
    Rate,
    Scheduler,
    find_rule,
    parse_schedule,
    scheduled_rules,
    short_name,
)

TEMPLATE = {
    "Resources": {
        "JobsSweepRunsFunction1A2B3C4D": {"Type": "AWS::Lambda::Function", "Properties": {}},
        "LedgerWriterFunction35ACEF6A": {"Type": "AWS::Lambda::Function", "Properties": {}},
        "JobsSweepRunsScheduleAB12CD34": {
            "Type": "AWS::Events::Rule",
            "Properties": {
                "ScheduleExpression": "rate(15 minutes)",
                "Description": "sweep",
                "Targets": [{"Arn": {"Fn::GetAtt": ["JobsSweepRunsFunction1A2B3C4D", "Arn"]}, "Id": "Target0"}],
            },
        },
        "LedgerAnchorSchedule0F1E2D3C": {
            "Type": "AWS::Events::Rule",
            "Properties": {
                "ScheduleExpression": "cron(30 0 * * ? *)",
                "Targets": [
                    {
                        "Arn": {"Fn::GetAtt": ["LedgerWriterFunction35ACEF6A", "Arn"]},
                        "Id": "Target0",
                        "Input": '{"command":"anchor"}',
                    }
                ],
            },
        },
        "SomePatternRule11111111": {"Type": "AWS::Events::Rule", "Properties": {"EventPattern": {"source": ["x"]}}},
        "DisabledSchedule22222222": {
            "Type": "AWS::Events::Rule",
            "Properties": {
                "ScheduleExpression": "rate(1 day)",
                "State": "DISABLED",
                "Targets": [{"Arn": {"Fn::GetAtt": ["LedgerWriterFunction35ACEF6A", "Arn"]}, "Id": "T"}],
            },
        },
    }
}
T0 = datetime(2026, 11, 27, 10, 7, 30, tzinfo=UTC)


def test_every_rule_with_a_schedule_is_read_with_its_targets_and_input():
    rules = scheduled_rules(TEMPLATE)
    assert set(rules) == {"jobs-sweep-runs", "ledger-anchor", "disabled"}  # not the event-pattern rule
    assert rules["jobs-sweep-runs"].targets[0].function_logical_id == "JobsSweepRunsFunction1A2B3C4D"
    assert rules["jobs-sweep-runs"].targets[0].input is None
    assert rules["ledger-anchor"].targets[0].input == {"command": "anchor"}
    assert not rules["disabled"].enabled


def test_short_names_and_finding_a_rule():
    assert short_name("JobsExportLedgerSchedule9A8B7C6D") == "jobs-export-ledger"
    rules = scheduled_rules(TEMPLATE)
    assert find_rule(rules, "sweep").logical_id == "JobsSweepRunsScheduleAB12CD34"
    assert find_rule(rules, "LedgerAnchorSchedule0F1E2D3C").name == "ledger-anchor"
    with pytest.raises(KeyError, match="no scheduled rule"):
        find_rule(rules, "nothing")
    with pytest.raises(KeyError, match="several"):
        find_rule(rules, "e")


def test_rates_and_crons_fire_when_eventbridge_would():
    rate = parse_schedule("rate(15 minutes)")
    assert rate == Rate(timedelta(minutes=15))
    assert rate.next_after(T0, T0) == T0 + timedelta(minutes=15)
    assert rate.next_after(T0 + timedelta(minutes=15), T0) == T0 + timedelta(minutes=30)
    assert parse_schedule("rate(1 day)") == Rate(timedelta(days=1))
    daily = parse_schedule("cron(30 0 * * ? *)")
    assert isinstance(daily, Cron)
    assert daily.next_after(T0) == datetime(2026, 11, 28, 0, 30, tzinfo=UTC)
    weekdays = parse_schedule("cron(0/20 8-9 ? * MON-FRI *)")  # 2026-11-28 is a Saturday
    assert weekdays.next_after(datetime(2026, 11, 27, 9, 45, tzinfo=UTC)) == datetime(2026, 11, 30, 8, 0, tzinfo=UTC)
    assert weekdays.next_after(datetime(2026, 11, 27, 8, 0, tzinfo=UTC)) == datetime(2026, 11, 27, 8, 20, tzinfo=UTC)
    first_of_month = parse_schedule("cron(0 6 1 * ? *)")
    assert first_of_month.next_after(T0) == datetime(2026, 12, 1, 6, 0, tzinfo=UTC)
    for bad in ("rate(5 fortnights)", "cron(0 6 L * ? *)", "cron(0 6 * *)", "every 5 minutes"):
        with pytest.raises(ValueError):
            parse_schedule(bad)


def _scheduler(calls: list, clock=lambda: T0, poll: float = 30.0) -> Scheduler:
    def invoke(lid):
        def run(event):
            calls.append((lid, event))
            if lid == "LedgerWriterFunction35ACEF6A" and event.get("boom"):
                raise RuntimeError("writer down")
            return {"ok": True, "lid": lid}

        return run

    rules = scheduled_rules(TEMPLATE)
    fns = {"JobsSweepRunsFunction1A2B3C4D": invoke("JobsSweepRunsFunction1A2B3C4D")}
    fns["LedgerWriterFunction35ACEF6A"] = invoke("LedgerWriterFunction35ACEF6A")
    return Scheduler(
        rules,
        fns,
        region="ap-south-1",
        rule_names={"JobsSweepRunsScheduleAB12CD34": "sweep-rule"},
        clock=clock,
        poll_seconds=poll,
    )


def test_firing_sends_eventbridges_scheduled_event_or_the_targets_input():
    calls: list = []
    fired = _scheduler(calls).fire("sweep")
    ((lid, event),) = calls
    assert lid == "JobsSweepRunsFunction1A2B3C4D"
    assert event["detail-type"] == "Scheduled Event" and event["source"] == "aws.events" and event["version"] == "0"
    assert event["time"] == "2026-11-27T10:07:30Z" and event["detail"] == {}
    assert event["resources"] == ["arn:aws:events:ap-south-1:123456789012:rule/sweep-rule"]
    assert fired["targets"] == [{"function": lid, "result": {"ok": True, "lid": lid}}]
    calls.clear()
    _scheduler(calls).fire("anchor")
    assert calls == [("LedgerWriterFunction35ACEF6A", {"command": "anchor"})]


def test_the_control_endpoint_lists_fires_and_reports_errors():
    calls: list = []
    scheduler = _scheduler(calls)
    assert scheduler.control("GET", "/health") is None  # not ours: the API answers
    status, _, body = scheduler.control("GET", "/_twin/jobs")
    assert status == 200 and {r["name"] for r in json.loads(body)["rules"]} == {
        "jobs-sweep-runs",
        "ledger-anchor",
        "disabled",
    }
    status, _, body = scheduler.control("POST", "/_twin/jobs/ledger-anchor/%7B%22boom%22%3A%20true%7D")
    answer = json.loads(body)
    assert status == 200 and answer["targets"][0]["error"]["errorMessage"] == "writer down"
    assert calls[-1] == ("LedgerWriterFunction35ACEF6A", {"boom": True})
    assert scheduler.control("POST", "/_twin/jobs/nothing")[0] == 404
    assert scheduler.control("DELETE", "/_twin/jobs/sweep")[0] == 405
    assert [h["rule"] for h in json.loads(scheduler.control("GET", "/_twin/jobs")[2])["history"]] == ["ledger-anchor"]


def test_the_thread_fires_enabled_rules_on_the_clock_only():
    now = [T0]
    lock = threading.Lock()

    def clock():
        with lock:
            now[0] += timedelta(minutes=5)  # each look at the clock: five minutes later
            return now[0]

    calls: list = []
    done = threading.Event()
    scheduler = _scheduler(calls, clock, poll=0.01)
    original = scheduler.fire

    def fire(name, input_override=None):
        out = original(name, input_override)
        if len([c for c in calls if c[0] == "JobsSweepRunsFunction1A2B3C4D"]) >= 2:
            done.set()
        return out

    scheduler.fire = fire  # type: ignore[method-assign]
    scheduler.start()
    try:
        assert done.wait(10)
    finally:
        scheduler.stop()
    sweeps = [c for c in calls if c[0] == "JobsSweepRunsFunction1A2B3C4D"]
    assert len(sweeps) >= 2
    assert all(e["detail-type"] == "Scheduled Event" for _, e in sweeps)
    assert not [c for c in calls if c[1] == {} or c[0] == "DisabledSchedule22222222"]


@pytest.mark.parametrize(("argv", "scheduled"), [([], True), (["--no-schedules"], False)])
def test_the_command_turns_the_timer_off_on_request(monkeypatch, argv, scheduled):
    import signal

    import infra.local.twin as twin_module
    from infra.local import __main__ as twin_main
    from tests.unit.twin.test_listen_host import FakeTwin

    monkeypatch.setattr(twin_module, "LocalTwin", FakeTwin)
    FakeTwin.made.clear()
    handlers = signal.getsignal(signal.SIGINT), signal.getsignal(signal.SIGTERM)
    try:
        assert twin_main.main([*argv, "--port", "8124"]) == 0
    finally:
        signal.signal(signal.SIGINT, handlers[0])
        signal.signal(signal.SIGTERM, handlers[1])
    assert FakeTwin.made[0]["schedules"] is scheduled

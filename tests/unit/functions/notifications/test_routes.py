"""The routes through the real entry point: my notifications only, newest first, paginated with
tamper-proof tokens, unread filter, mark read; preferences with PartialUpdate rules."""

from datetime import UTC, datetime, timedelta

import pytest

from agri_common import pipeline_table
from agri_common.single_table import Put
from functions.notifications import handler
from functions.notifications.logic import NotificationService
from functions.notifications.reminder import HEARTBEAT, due_reminders
from functions.notifications.store import NotificationRecord, NotificationStore, notification_id
from tests.unit.fakes.farm import InMemoryFarmStore
from tests.unit.functions.conftest import call, claims_for

ME = claims_for("farmer", user="me-1", username="me")
OTHER = claims_for("farmer", user="other-1", username="other")


@pytest.fixture
def store(revocations, monkeypatch):
    s = NotificationStore(InMemoryFarmStore())
    handler.app.dependency_overrides[handler.get_service] = lambda: NotificationService(s, now=lambda: "T-READ")
    monkeypatch.setattr(handler, "_revocation", lambda: revocations)
    yield s
    handler.app.dependency_overrides.clear()


def seed(store, user_id, n):
    ids = []
    for i in range(n):
        at = f"2026-11-27T10:00:{i:02d}.000000Z"
        nid = notification_id(f"e{i}", at, f"u.{user_id}")
        store.add(
            NotificationRecord(
                recipient=f"u.{user_id}",
                notification_id=nid,
                event_id=f"e{i}",
                event_kind="run_failed",
                language="en",
                title=f"t{i}",
                body="b",
                sms="s",
                created_at=at,
                in_app=True,
            )
        )
        ids.append(nid)
    return ids


def read(nid, claims=ME):
    return call(
        handler,
        "POST",
        f"/notifications/{nid}/read",
        claims=claims,
        resource="/notifications/{notification_id}/read",
        params={"notification_id": nid},
    )


def listing(query="", claims=ME):
    return call(handler, "GET", "/notifications", claims=claims, query=query)


def test_my_notifications_newest_first_paginated(store):
    seed(store, "me-1", 5)
    seed(store, "other-1", 2)
    first = listing("limit=3")
    assert first.status == 200, first.body
    assert [i["title"] for i in first.body["items"]] == ["t4", "t3", "t2"]
    second = listing(f"limit=3&next_token={first.body['next_token']}")
    assert [i["title"] for i in second.body["items"]] == ["t1", "t0"]


def test_a_token_of_another_user_or_filter_is_refused(store):
    seed(store, "me-1", 3)
    token = listing("limit=1").body["next_token"]
    assert listing(f"limit=1&next_token={token}", claims=OTHER).status == 400
    r = listing(f"limit=1&unread=true&next_token={token}")
    assert r.status == 400 and r.body["error"]["code"] == "invalid_next_token"


def test_mark_read_and_the_unread_filter(store):
    ids = seed(store, "me-1", 3)
    r = read(ids[1])
    assert r.status == 200 and r.body["read"] is True and r.body["read_at"] == "T-READ"
    assert read(ids[1]).body["read_at"] == "T-READ"  # idempotent
    unread = listing("unread=true").body["items"]
    assert [i["title"] for i in unread] == ["t2", "t0"]
    assert len(listing().body["items"]) == 3


def test_someone_elses_notification_answers_exactly_like_a_missing_one(store):
    (theirs,) = seed(store, "other-1", 1)
    missing = notification_id("nope", "2026-11-27T10:00:00Z", "u.me-1")
    a, b = read(theirs), read(missing)
    assert a.status == b.status == 404
    assert {k: v for k, v in a.body["error"].items() if k != "request_id"} == {
        k: v for k, v in b.body["error"].items() if k != "request_id"
    }
    assert store.get("u.other-1", theirs).read_at is None


def test_preferences_default_then_partial_update(store):
    r = call(handler, "GET", "/me/preferences", claims=ME)
    assert r.status == 200 and r.body == {"language": "en", "channels": ["in_app", "sms", "email"], "updated_at": None}
    r = call(handler, "PUT", "/me/preferences", {"language": "hi"}, claims=ME)
    assert r.status == 200 and r.body["language"] == "hi" and r.body["channels"] == ["in_app", "sms", "email"]
    r = call(handler, "PUT", "/me/preferences", {"channels": ["sms"]}, claims=ME)
    assert r.body["language"] == "hi" and r.body["channels"] == ["sms"]
    assert call(handler, "GET", "/me/preferences", claims=OTHER).body["language"] == "en"


@pytest.mark.parametrize(
    "body",
    [
        {"language": None},
        {"channels": None},
        {"language": "xx"},
        {"channels": ["sms", "sms"]},
        {"channels": ["fax"]},
        {"language": "hi", "extra": 1},
    ],
)
def test_bad_preferences_are_refused_and_store_nothing(store, body):
    r = call(handler, "PUT", "/me/preferences", body, claims=ME)
    assert r.status == 422 and "error" in r.body
    assert store.preferences("u.me-1") is None


def test_unauthenticated_callers_are_refused(store):
    assert call(handler, "GET", "/notifications").status == 401


# ---- the reminder job ---------------------------------------------------------------------------
def test_reminders_for_tasks_whose_heartbeat_lapses_within_the_window():
    pipeline = InMemoryFarmStore()
    now = datetime(2026, 11, 27, 12, tzinfo=UTC)

    def task(run, age, status="pending", heartbeat_age=None):
        created = (now - age).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        beat = (now - heartbeat_age).strftime("%Y-%m-%dT%H:%M:%S.%fZ") if heartbeat_age else None
        return pipeline_table.TaskRecord(
            task_id=pipeline_table.task_id(run, 1),
            project_id="prj_0000abcd",
            run_id=run,
            attempt=1,
            status=status,
            task_token="tok",
            methodology="vm0042",
            findings_key="f",
            sample_key="s",
            created_at=created,
            heartbeat_at=beat,
        )

    project = pipeline_table.ProjectRecord(
        project_id="prj_0000abcd",
        name="P",
        fpo_ids=["FPO-1"],
        methodology="vm0042",
        profile="vm0042",
        gwp="AR5",
        region="x",
        climate="y",
        crediting_start="2025-06-01",
        crediting_end="2030-05-31",
        created_by="adm",
        created_at="2026-01-01T00:00:00.000000Z",
    )
    pipeline.transact(
        [
            Put(project.to_item()),
            Put(task("prj_0000abcd_2025_kharif", HEARTBEAT - timedelta(hours=5)).to_item()),  # lapses in 5 h
            Put(task("prj_0000abcd_2025_rabi", timedelta(days=1)).to_item()),  # lapses in 6 days
            Put(task("prj_0000abcd_2024_kharif", HEARTBEAT - timedelta(hours=1), "decided").to_item()),
            Put(task("prj_0000abcd_2024_rabi", HEARTBEAT + timedelta(hours=1)).to_item()),  # lapsed already
            # as old as the first, but an auditor opened it two days ago: its heartbeat lapses in 5 days
            Put(
                task(
                    "prj_0000abcd_2023_kharif", HEARTBEAT - timedelta(hours=5), heartbeat_age=timedelta(days=2)
                ).to_item()
            ),
        ]
    )
    (event,) = due_reminders(pipeline, now)
    assert event.kind == "auditor_heartbeat_lapsing" and event.task_id == "prj_0000abcd_2025_kharif_a1"
    assert event.values == {"hours_left": 5}
    # the next hourly run, same window: the same event id (delivery tells each auditor once)
    (again,) = due_reminders(pipeline, now + timedelta(hours=1))
    assert again.event_id == event.event_id


def test_the_reminders_heartbeat_is_the_state_machines():
    from infra.pipeline import HEARTBEAT as STATE_MACHINE_HEARTBEAT

    assert HEARTBEAT.total_seconds() == STATE_MACHINE_HEARTBEAT.to_seconds()


def test_the_reminder_function_enqueues_what_is_due(monkeypatch):
    from agri_common import notify as port
    from functions.notifications import reminder_handler
    from infra.local.lambdas import LambdaContext

    due = [
        port.NotificationEvent(kind="auditor_heartbeat_lapsing", event_id="heartbeat:t1:x", task_id="t1"),
        port.NotificationEvent(kind="auditor_heartbeat_lapsing", event_id="heartbeat:t2:x", task_id="t2"),
    ]
    monkeypatch.setattr(reminder_handler, "_store", lambda: "store")
    monkeypatch.setattr(reminder_handler, "due_reminders", lambda store, now: due if store == "store" else [])
    bodies: list[str] = []
    previous = port.use_transport(bodies.extend)
    try:
        ctx = LambdaContext(
            function_name="reminder",
            memory_limit_in_mb=256,
            invoked_function_arn="arn:x",
            aws_request_id="r",
            timeout_s=60,
        )
        out = reminder_handler.lambda_handler({"source": "aws.events"}, ctx)
    finally:
        port.use_transport(previous)
    assert out == {"reminders": 2, "enqueued": True}
    assert [port.NotificationEvent.model_validate_json(b).task_id for b in bodies] == ["t1", "t2"]

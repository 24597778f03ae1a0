"""The activity log on moto, with the table provisioned from the synthesized template: the never-lost
guarantee under injected failures (a dead function, a failing final put, an unwritable intent), the
sweeper, the daily export into the Object Lock bucket, and GET /activity's Queries."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from agri_common.activity_table import INTERRUPTED, ActivityEvent, DynamoActivityStore, stamp
from agri_common.platform import activity
from agri_common.platform.revocation import InMemoryRevocationStore
from functions.activity.jobs import export_key, sweep
from tests.unit.functions.conftest import call, claims_for

ADMIN = claims_for("admin", user="adm", fpo=None)
LATER = dt.timedelta(minutes=3)  # past every intent's deadline (10 s budget + 60 s margin)


@pytest.fixture
def env(aws, function_env, monkeypatch):
    function_env("fpo")
    function_env("activity-sweeper")
    table = function_env("activity")["ACTIVITY_TABLE"]
    activity.use_store(None)  # the real table named by ACTIVITY_TABLE
    import functions.fpo.handler as fpo

    monkeypatch.setattr(fpo, "_revocation", InMemoryRevocationStore)
    return DynamoActivityStore(table)


@pytest.fixture(autouse=True)
def no_scan(aws):
    import boto3

    calls: list[str] = []
    hook = lambda model, **_: calls.append(model.name)
    events = boto3._get_default_session().events
    events.register("before-call.dynamodb", hook)
    yield calls
    events.unregister("before-call.dynamodb", hook)
    assert "Scan" not in calls


def _fpo_exists(aws, fpo_id: str) -> bool:
    from agri_common.farm_table import keys
    from agri_common.platform.settings import load_settings
    from agri_common.single_table import DynamoTableStore
    from functions.fpo.handler import FpoSettings

    return DynamoTableStore(load_settings(FpoSettings).farm_table).get(keys.fpo(fpo_id)) is not None


def _create_fpo(fpo_id: str):
    import functions.fpo.handler as fpo

    return call(fpo, "POST", "/fpos", {"fpo_id": fpo_id, "name": "Ek", "state": "Punjab"}, claims=ADMIN)


def _events(store: DynamoActivityStore) -> list[ActivityEvent]:
    today = dt.datetime.now(dt.UTC).date().isoformat()
    return store.query("by_day", today, before=None, after=None, limit=100)


def test_one_event_per_request_in_the_table(env):
    r = _create_fpo("FPO-77")
    assert r.status == 201
    refused = _create_fpo("FPO-77")
    assert refused.status == 409
    created, conflict = sorted(_events(env), key=lambda e: e.at)
    assert (created.action, created.target_kind, created.target_id, created.outcome) == (
        "fpo.create",
        "fpo",
        "FPO-77",
        "ok",
    )
    assert (
        conflict.outcome == refused.body["error"]["code"] and conflict.request_id == refused.body["error"]["request_id"]
    )
    assert sweep(env, now=dt.datetime.now(dt.UTC) + LATER) == {"intents": 2, "appended": 0}
    assert len(_events(env)) == 2


def test_a_function_that_dies_after_the_change_leaves_an_intent_the_sweeper_turns_into_the_event(env, monkeypatch, aws):
    monkeypatch.setattr(activity, "finish", lambda *a, **k: None)  # the process is gone before the event
    assert _create_fpo("FPO-78").status == 201
    assert _fpo_exists(aws, "FPO-78") and _events(env) == []
    assert sweep(env, now=dt.datetime.now(dt.UTC)) == {"intents": 0, "appended": 0}  # still possibly running
    assert sweep(env, now=dt.datetime.now(dt.UTC) + LATER) == {"intents": 1, "appended": 1}
    [event] = _events(env)
    assert event.action == "fpo.create" and event.outcome == INTERRUPTED and event.actor_id == "adm"
    assert sweep(env, now=dt.datetime.now(dt.UTC) + LATER) == {"intents": 1, "appended": 0}  # never twice
    assert env.append(event.model_copy(update={"outcome": "ok"})) is False  # nothing overwrites it
    assert _events(env)[0].outcome == INTERRUPTED


def test_a_failing_final_put_is_covered_by_the_intent(env, monkeypatch, aws):
    real, broken = DynamoActivityStore.append, [True]

    def fail(self, event):
        if broken:
            raise ConnectionError("injected: DynamoDB unreachable for the event")
        return real(self, event)

    monkeypatch.setattr(DynamoActivityStore, "append", fail)
    assert _create_fpo("FPO-79").status == 201  # the response does not depend on the event
    broken.clear()  # the outage is over when the sweeper runs
    assert _events(env) == []
    assert sweep(env, now=dt.datetime.now(dt.UTC) + LATER)["appended"] == 1
    assert [e.outcome for e in _events(env)] == [INTERRUPTED]


def test_without_its_intent_a_request_is_refused_and_changes_nothing(env, monkeypatch, aws):
    from botocore.exceptions import ClientError

    def busy(self, intent):
        raise ClientError({"Error": {"Code": "ProvisionedThroughputExceededException", "Message": "x"}}, "PutItem")

    monkeypatch.setattr(DynamoActivityStore, "append_intent", busy)
    r = _create_fpo("FPO-80")
    assert r.status == 503 and r.body["error"]["code"] == "service_unavailable"
    assert not _fpo_exists(aws, "FPO-80")


def test_export_writes_one_day_oldest_first_under_object_lock(env, aws, function_env):
    import boto3

    from functions.activity import export_handler
    from infra.local.lambdas import LambdaContext

    bucket = function_env("activity-export")["AUDIT_BUCKET"]
    day = dt.date(2026, 11, 26)
    for n, when in enumerate(
        ["2026-11-25T23:59:59", "2026-11-26T00:00:01", "2026-11-26T12:00:00", "2026-11-27T00:00:00"]
    ):
        at = stamp(dt.datetime.fromisoformat(when).replace(tzinfo=dt.UTC))
        env.append(ActivityEvent(event_id=f"ev-{n}", at=at, source="api", action="fpo.create", actor_id="adm"))
    out = export_handler.lambda_handler({"day": "2026-11-26"}, LambdaContext("x", 128, "arn", "r", timeout_s=60))
    assert out == {"day": "2026-11-26", "events": 2, "key": export_key(day)}
    s3 = boto3.client("s3")
    obj = s3.get_object(Bucket=bucket, Key="activity/2026/11/2026-11-26.jsonl")
    lines = [json.loads(line) for line in obj["Body"].read().decode().splitlines()]
    assert [line["event_id"] for line in lines] == ["ev-1", "ev-2"]
    assert "pk" not in lines[0] and "g_day" not in lines[0]
    assert s3.get_object_lock_configuration(Bucket=bucket)["ObjectLockConfiguration"]["ObjectLockEnabled"] == "Enabled"


def test_get_activity_pages_with_queries_on_the_indexes(env, no_scan):
    import functions.activity.handler as handler

    for n in range(5):
        assert _create_fpo(f"FPO-9{n}").status == 201
    no_scan.clear()
    seen, token = [], None
    while True:
        q = "limit=2" + (f"&next_token={token}" if token else "")
        r = call(handler, "GET", "/activity", claims=ADMIN, query=q)
        assert r.status == 200, r.body
        seen += [e["target_id"] for e in r.body["events"]]
        token = r.body["next_token"]
        if not token:
            break
    assert seen == [f"FPO-9{n}" for n in reversed(range(5))]
    assert set(no_scan) <= {"Query", "BatchGetItem", "GetItem"} and "Query" in no_scan
    r = call(handler, "GET", "/activity", claims=ADMIN, query="target=fpo:FPO-92")
    assert [e["target_id"] for e in r.body["events"]] == ["FPO-92"]

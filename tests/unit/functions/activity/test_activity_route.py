"""GET /activity through its Lambda entry point, on the in-memory activity store: who sees what,
filters, pagination, refusals."""

from __future__ import annotations

import datetime as dt

import pytest

from agri_common.activity_table import ActivityEvent, stamp
from agri_common.platform.principal import AuditScope
from agri_common.platform.revocation import InMemoryRevocationStore
from functions.activity import handler
from tests.unit.functions.conftest import call, claims_for

ADMIN = claims_for("admin", user="adm", fpo=None)
MANAGER_1 = claims_for("fpo_manager", user="mgr-1", fpo="FPO-1")
MANAGER_2 = claims_for("fpo_manager", user="mgr-2", fpo="FPO-2")
AUDITOR = claims_for("auditor", user="aud-1", fpo=None)
FARMER = claims_for("farmer", user="far-1", fpo="FPO-1")
NOW = dt.datetime.now(dt.UTC)


def _event(n: int, **kw) -> ActivityEvent:
    at = stamp(NOW - dt.timedelta(minutes=60 - n))
    base = {"event_id": f"e-{n:02d}", "at": at, "source": "api", "action": "farmer.update", "actor_id": "mgr-1"}
    return ActivityEvent(**{**base, **kw})


@pytest.fixture
def seeded(activity_log, monkeypatch):
    monkeypatch.setattr(handler, "_revocation", InMemoryRevocationStore)
    handler.app.dependency_overrides[handler.get_assignments] = lambda: (
        lambda user_id: AuditScope(project_ids=frozenset({"P-1"}) if user_id == "aud-1" else frozenset())
    )
    events = [
        _event(1, fpo_id="FPO-1", target_kind="farmer", target_id="F-1"),
        _event(2, fpo_id="FPO-1", actor_id="far-1", actor_role="farmer", target_kind="farmer", target_id="F-1"),
        _event(3, fpo_id="FPO-2", actor_id="mgr-2", target_kind="farmer", target_id="F-9"),
        _event(4, project_id="P-1", actor_id="adm", action="run.start", target_kind="run", target_id="R-1"),
        _event(5, project_id="P-2", actor_id="adm", action="run.start", target_kind="run", target_id="R-2"),
        _event(6, project_id="P-1", source="pipeline", actor_id="pipeline", action="pipeline.plan"),
    ]
    for e in events:
        activity_log.append(e)
    yield activity_log
    handler.app.dependency_overrides.clear()


def ids(claims, query: str = "") -> list[str]:
    r = call(handler, "GET", "/activity", claims=claims, query=query)
    assert r.status == 200, r.body
    return [e["event_id"] for e in r.body["events"]]


def test_each_role_sees_its_scope_newest_first(seeded):
    assert ids(ADMIN) == ["e-06", "e-05", "e-04", "e-03", "e-02", "e-01"]
    assert ids(MANAGER_1) == ["e-02", "e-01"]
    assert ids(MANAGER_2) == ["e-03"]
    assert ids(AUDITOR) == ["e-06", "e-04"]
    assert ids(FARMER) == ["e-02"]


def test_reads_write_no_event(seeded):
    before = len(seeded.all())
    ids(ADMIN)
    assert len(seeded.all()) == before


def test_filters_narrow_within_the_scope(seeded):
    assert ids(ADMIN, "actor=adm") == ["e-05", "e-04"]
    assert ids(ADMIN, "target=farmer:F-1") == ["e-02", "e-01"]
    assert ids(ADMIN, "action=run.start") == ["e-05", "e-04"]
    assert ids(MANAGER_1, "actor=far-1") == ["e-02"]
    assert ids(AUDITOR, "action=pipeline.plan") == ["e-06"]


def test_what_a_caller_may_not_see_answers_like_what_does_not_exist(seeded):
    hidden = call(handler, "GET", "/activity", claims=MANAGER_1, query="target=farmer:F-9")
    missing = call(handler, "GET", "/activity", claims=MANAGER_1, query="target=farmer:F-NOPE")
    assert hidden.status == missing.status == 200
    assert hidden.body == missing.body == {"events": [], "next_token": None}
    assert ids(AUDITOR, "target=run:R-2") == [] == ids(AUDITOR, "target=run:R-404")
    assert ids(FARMER, "actor=mgr-1") == []


def test_pages_cover_everything_once(seeded):
    seen, token, pages = [], None, 0
    while True:
        query = "limit=2" + (f"&next_token={token}" if token else "")
        r = call(handler, "GET", "/activity", claims=ADMIN, query=query)
        assert r.status == 200
        seen += [e["event_id"] for e in r.body["events"]]
        token, pages = r.body["next_token"], pages + 1
        if not token:
            break
    assert seen == ["e-06", "e-05", "e-04", "e-03", "e-02", "e-01"] and pages >= 3


def test_auditor_pages_merge_their_projects(seeded):
    r = call(handler, "GET", "/activity", claims=AUDITOR, query="limit=1")
    assert [e["event_id"] for e in r.body["events"]] == ["e-06"]
    r2 = call(handler, "GET", "/activity", claims=AUDITOR, query=f"limit=1&next_token={r.body['next_token']}")
    assert [e["event_id"] for e in r2.body["events"]] == ["e-04"]


@pytest.mark.parametrize(
    ("query", "status", "code"),
    [
        ("from=yesterday", 422, "invalid_date"),
        ("from=2026-11-27T10:00:00", 422, "invalid_date"),
        ("from=2026-11-27&to=2026-11-01", 422, "invalid_time_range"),
        ("from=2025-01-01&to=2026-01-01", 422, "invalid_time_range"),
        ("limit=0", 422, "validation_error"),
        ("limit=201", 422, "validation_error"),
        ("target=farmer", 422, "validation_error"),
        ("action=DROP TABLE", 422, "validation_error"),
        ("next_token=not-a-token", 400, "invalid_next_token"),
    ],
)
def test_bad_filters_are_4xx(seeded, query, status, code):
    r = call(handler, "GET", "/activity", claims=ADMIN, query=query)
    assert r.status == status and r.body["error"]["code"] == code, r.body


def test_tokens_are_bound_to_their_query_and_caller(seeded):
    from agri_common.platform.pagination import encode_token

    r = call(handler, "GET", "/activity", claims=ADMIN, query="limit=2")
    token = r.body["next_token"]
    other_filter = call(handler, "GET", "/activity", claims=ADMIN, query=f"limit=2&actor=adm&next_token={token}")
    assert other_filter.status == 400 and other_filter.body["error"]["code"] == "invalid_next_token"
    other_caller = call(handler, "GET", "/activity", claims=MANAGER_1, query=f"limit=2&next_token={token}")
    assert other_caller.status == 400
    from agri_common.platform.pagination import decode_token

    scope, good = decode_token(token)["q"], decode_token(token)["k"]
    for position in [
        "2026-01-01T00:00:00.000000Z#x",  # not the token's shape
        {**good, "before": "garbage"},
        {**good, "after": 7},
        {**good, "after": "2999-01-01T00:00:00.000000Z"},  # after the position
        {**good, "after": "2000-01-01T00:00:00.000000Z"},  # wider than any allowed range
        {**good, "extra": 1},
    ]:
        forged = encode_token({"q": scope, "k": position})
        r = call(handler, "GET", "/activity", claims=ADMIN, query=f"limit=2&next_token={forged}")
        assert r.status == 400 and r.body["error"]["code"] == "invalid_next_token", position


def test_dates_bound_the_range(seeded, activity_log):
    old = stamp(NOW - dt.timedelta(days=3))
    activity_log.append(ActivityEvent(event_id="e-old", at=old, source="api", action="fpo.create", actor_id="adm"))
    day = (NOW - dt.timedelta(days=3)).date().isoformat()
    assert ids(ADMIN, f"from={day}&to={day}") == ["e-old"]
    assert "e-old" not in ids(ADMIN, f"from={NOW.date().isoformat()}")

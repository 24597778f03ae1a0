"""The twin's API key enforcement (infra/local/api_keys.py) with a fake key lookup and fake clocks."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from infra.local.api_keys import ApiKeyGate, FoundKey, PlanLimits, period_start, usage_plans
from infra.local.front import ApiFront, TokenBucket
from infra.local.template import GatewayResponse, RouteSpec

TRIAL = PlanLimits("PlanTrial", "agri-mrv-dev-trial", rate=1.0, burst=2, quota_limit=3, quota_period="DAY")
NOON = datetime(2026, 3, 4, 12, tzinfo=UTC).timestamp()


class Keys:
    def __init__(self):
        self.keys: dict[str, FoundKey] = {}

    def find(self, value: str) -> FoundKey | None:
        return self.keys.get(value)


class Clock:
    def __init__(self, now: float):
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def keys():
    k = Keys()
    k.keys["good"] = FoundKey("k1", True, frozenset({"plan-1"}))
    k.keys["other"] = FoundKey("k2", True, frozenset({"plan-1"}))
    k.keys["disabled"] = FoundKey("k3", False, frozenset({"plan-1"}))
    k.keys["planless"] = FoundKey("k4", True, frozenset({"plan-of-another-api"}))
    return k


def gate(keys, plan=TRIAL, wall=NOON, mono=0.0):
    wall_clock, mono_clock = Clock(wall), Clock(mono)
    return ApiKeyGate({"plan-1": plan}, keys, clock=wall_clock, monotonic=mono_clock), wall_clock, mono_clock


@pytest.mark.parametrize("headers", [{}, {"x-api-key": ""}, {"x-api-key": "nope"}, {"x-api-key": "disabled"}])
def test_missing_unknown_and_disabled_keys_are_refused(keys, headers):
    g, *_ = gate(keys)
    assert g.check(headers) == "INVALID_API_KEY"


def test_a_key_in_no_plan_of_this_api_is_refused(keys):
    g, *_ = gate(keys)
    assert g.check({"x-api-key": "planless"}) == "INVALID_API_KEY"


def test_the_header_name_is_case_insensitive(keys):
    g, *_ = gate(keys)
    assert g.check({"X-API-Key": "good"}) is None


def test_past_the_burst_a_key_is_throttled_until_tokens_refill(keys):
    plan = PlanLimits("P", "p", rate=1.0, burst=2, quota_limit=None)
    g, _, mono = gate(keys, plan)
    assert [g.check({"x-api-key": "good"}) for _ in range(3)] == [None, None, "THROTTLED"]
    assert g.check({"x-api-key": "other"}) is None  # per key, not shared
    mono.now += 1.0  # one token back at 1 request/s
    assert g.check({"x-api-key": "good"}) is None
    assert g.check({"x-api-key": "good"}) == "THROTTLED"


def test_past_the_quota_a_key_gets_quota_exceeded_until_the_next_period(keys):
    plan = PlanLimits("P", "p", rate=100.0, burst=100, quota_limit=3, quota_period="DAY")
    g, wall, _ = gate(keys, plan)
    assert [g.check({"x-api-key": "good"}) for _ in range(4)] == [None, None, None, "QUOTA_EXCEEDED"]
    assert g.usage("k1") == 3
    assert g.check({"x-api-key": "other"}) is None  # another key has its own quota
    wall.now += 12 * 3600  # midnight UTC: a new day
    assert g.check({"x-api-key": "good"}) is None


def test_a_throttled_request_does_not_count_towards_the_quota(keys):
    plan = PlanLimits("P", "p", rate=1.0, burst=1, quota_limit=2)
    g, _, mono = gate(keys, plan)
    assert g.check({"x-api-key": "good"}) is None
    assert g.check({"x-api-key": "good"}) == "THROTTLED"
    mono.now += 1.0
    assert g.check({"x-api-key": "good"}) is None  # the second counted request
    mono.now += 1.0
    assert g.check({"x-api-key": "good"}) == "QUOTA_EXCEEDED"


def test_quota_periods_start_on_the_utc_day_monday_and_first_of_month():
    wednesday = datetime(2026, 3, 4, 23, 59, tzinfo=UTC).timestamp()
    assert period_start("DAY", wednesday) == "DAY:2026-03-04"
    assert period_start("WEEK", wednesday) == "WEEK:2026-03-02"
    assert period_start("MONTH", wednesday) == "MONTH:2026-03-01"


def test_usage_plans_are_read_from_the_template():
    template = {
        "Resources": {
            "PlanTrial": {
                "Type": "AWS::ApiGateway::UsagePlan",
                "Properties": {
                    "UsagePlanName": "agri-mrv-dev-trial",
                    "Throttle": {"RateLimit": 20, "BurstLimit": 40},
                    "Quota": {"Limit": 20, "Period": "WEEK"},
                },
            }
        }
    }
    assert usage_plans(template) == [PlanLimits("PlanTrial", "agri-mrv-dev-trial", 20.0, 40, 20, "WEEK")]


class Fn:
    def __init__(self):
        self.calls = 0

    def invoke(self, event):
        self.calls += 1
        return {"statusCode": 200, "body": "{}"}


ENVELOPE = '{"error": {"code": "CODE", "message": $context.error.messageString, "request_id": "$context.requestId"}}'


def front(keys, fn, plan=TRIAL):
    route = RouteSpec("GET", "/registry/credits/{serial}", "RegistryFn", None, api_key_required=True)
    responses = {
        t: GatewayResponse(status=s, template=ENVELOPE.replace("CODE", c), headers={})
        for t, s, c in (("INVALID_API_KEY", 403, "invalid_api_key"), ("QUOTA_EXCEEDED", 429, "quota_exceeded"))
    }
    g, *_ = gate(keys, plan)
    return ApiFront([route], {"RegistryFn": fn}, {}, responses, TokenBucket(None, None), "dev", api_keys=g)


def test_the_front_refuses_before_the_function_runs(keys):
    fn = Fn()
    f = front(keys, fn, PlanLimits("P", "p", rate=100.0, burst=100, quota_limit=1))
    r = f.handle("GET", "/registry/credits/AGM-P1-2025-R1-000000001", {}, b"")
    assert r.status == 403 and json.loads(r.body)["error"] == {
        **json.loads(r.body)["error"],
        "code": "invalid_api_key",
        "message": "Forbidden",
    }
    assert fn.calls == 0
    ok = f.handle("GET", "/registry/credits/AGM-P1-2025-R1-000000001", {"x-api-key": "good"}, b"")
    assert ok.status == 200 and fn.calls == 1
    over = f.handle("GET", "/registry/credits/AGM-P1-2025-R1-000000001", {"x-api-key": "good"}, b"")
    assert over.status == 429 and json.loads(over.body)["error"]["code"] == "quota_exceeded"
    assert json.loads(over.body)["error"]["message"] == "Limit Exceeded" and fn.calls == 1


def test_a_front_without_a_gate_refuses_every_key_route(keys):
    fn = Fn()
    route = RouteSpec("GET", "/registry/projects/{project_id}", "RegistryFn", None, api_key_required=True)
    f = ApiFront([route], {"RegistryFn": fn}, {}, {}, TokenBucket(None, None), "dev")
    r = f.handle("GET", "/registry/projects/P1", {"x-api-key": "good"}, b"")
    assert r.status == 403 and json.loads(r.body) == {"message": "Forbidden"} and fn.calls == 0

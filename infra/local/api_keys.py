"""API keys and usage plans in the local twin, as API Gateway enforces them on a method with
``ApiKeyRequired`` (the public registry view).

The usage plans come from the template (``AWS::ApiGateway::UsagePlan``: throttle and quota); the
provisioner creates each in moto's API Gateway, so the admin function (functions/admin/gateway.py)
finds them by name and adds the keys it creates, as on AWS. Per request on such a method:

- no ``x-api-key`` header, a value that is no key, a disabled or deleted key, or a key in none of
  the template's plans: ``INVALID_API_KEY`` (403 ``Forbidden``);
- past the key's plan throttle (a token bucket per key: rate, burst): ``THROTTLED`` (429
  ``Too Many Requests``); a throttled request does not count towards the quota;
- past the key's plan quota in the current period (UTC day, ISO week from Monday, calendar
  month): ``QUOTA_EXCEEDED`` (429 ``Limit Exceeded``).

Keys are looked up in moto on every request, so a deleted key is refused from the next request
(API Gateway may take a few seconds). Counters live in memory: a restart of the twin resets them.
``functions/`` knows nothing of this; the front calls :meth:`ApiKeyGate.check` before the handler.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from infra.local.front import TokenBucket
from infra.local.template import resources_of

HEADER = "x-api-key"


@dataclass(frozen=True)
class PlanLimits:
    logical_id: str
    name: str
    rate: float | None
    burst: int | None
    quota_limit: int | None
    quota_period: str = "DAY"


def usage_plans(template: dict[str, Any]) -> list[PlanLimits]:
    """The template's usage plans with their throttle and quota."""
    plans = []
    for lid, res in resources_of(template, "AWS::ApiGateway::UsagePlan"):
        props = res.get("Properties", {})
        throttle, quota = props.get("Throttle") or {}, props.get("Quota") or {}
        plans.append(
            PlanLimits(
                logical_id=lid,
                name=str(props.get("UsagePlanName") or lid),
                rate=float(throttle["RateLimit"]) if "RateLimit" in throttle else None,
                burst=int(throttle["BurstLimit"]) if "BurstLimit" in throttle else None,
                quota_limit=int(quota["Limit"]) if "Limit" in quota else None,
                quota_period=str(quota.get("Period", "DAY")),
            )
        )
    return plans


def period_start(period: str, now: float) -> str:
    """The start of the quota period holding ``now`` (UTC), as a key for the counters."""
    day = datetime.fromtimestamp(now, tz=UTC).date()
    if period == "WEEK":
        day -= timedelta(days=day.weekday())
    elif period == "MONTH":
        day = day.replace(day=1)
    return f"{period}:{day.isoformat()}"


@dataclass(frozen=True)
class FoundKey:
    key_id: str
    enabled: bool
    plan_ids: frozenset[str]


class KeyLookup(Protocol):
    def find(self, value: str) -> FoundKey | None: ...


class MotoKeyLookup:
    """Keys and their plans, read from moto's API Gateway (where the admin function writes them)."""

    def __init__(self, plan_ids: list[str], client: Callable[[], Any] | None = None):
        self.plan_ids = plan_ids
        self._client = client or (lambda: __import__("boto3").client("apigateway"))

    def find(self, value: str) -> FoundKey | None:
        api = self._client()
        kwargs: dict[str, Any] = {"includeValues": True, "limit": 500}
        while True:
            resp = api.get_api_keys(**kwargs)
            key = next((k for k in resp.get("items", []) if k.get("value") == value), None)
            if key is not None or not resp.get("position"):
                break
            kwargs["position"] = resp["position"]
        if key is None:
            return None
        plans = frozenset(
            plan_id
            for plan_id in self.plan_ids
            if any(k["id"] == key["id"] for k in api.get_usage_plan_keys(usagePlanId=plan_id).get("items", []))
        )
        return FoundKey(key_id=str(key["id"]), enabled=bool(key.get("enabled")), plan_ids=plans)


class ApiKeyGate:
    """Per key: its plan's token bucket and quota counter."""

    def __init__(
        self,
        plans: dict[str, PlanLimits],  # usage plan id (in moto) -> limits
        lookup: KeyLookup,
        *,
        clock: Callable[[], float] = time.time,
        monotonic: Callable[[], float] = time.monotonic,
    ):
        self.plans = plans
        self.lookup = lookup
        self.clock = clock
        self.monotonic = monotonic
        self._buckets: dict[tuple[str, str], TokenBucket] = {}
        self._used: dict[tuple[str, str, str], int] = {}
        self._lock = threading.Lock()

    def check(self, headers: dict[str, str]) -> str | None:
        """None to let the request through, else the gateway response type that refuses it."""
        value = next((v for k, v in headers.items() if k.lower() == HEADER), "")
        found = self.lookup.find(value) if value else None
        plan_id = next((p for p in sorted(found.plan_ids) if p in self.plans), None) if found else None
        if found is None or not found.enabled or plan_id is None:
            return "INVALID_API_KEY"
        plan = self.plans[plan_id]
        with self._lock:
            bucket = self._buckets.get((found.key_id, plan_id))
            if bucket is None:
                bucket = self._buckets[(found.key_id, plan_id)] = TokenBucket(
                    plan.rate, plan.burst, clock=self.monotonic
                )
        if not bucket.take():
            return "THROTTLED"
        if plan.quota_limit is None:
            return None
        counter = (found.key_id, plan_id, period_start(plan.quota_period, self.clock()))
        with self._lock:
            used = self._used.get(counter, 0)
            if used >= plan.quota_limit:
                return "QUOTA_EXCEEDED"
            self._used[counter] = used + 1
        return None

    def usage(self, key_id: str) -> int:
        """Requests counted for ``key_id`` in its current periods (for tests and the twin's log)."""
        with self._lock:
            return sum(
                n
                for (k, plan_id, period), n in self._used.items()
                if k == key_id and period == period_start(self.plans[plan_id].quota_period, self.clock())
            )

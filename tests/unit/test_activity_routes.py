"""Every state-changing route of every API domain writes exactly one activity event per request.

Walks the route table (each domain's resolver, the same source as infra/routes.py and the OpenAPI
document), so a new POST/PUT/PATCH/DELETE route without ``openapi_extensions=audited(...)`` fails here,
and calls each one through its real Lambda entry point: whatever the outcome (a 422 for the empty
body, a refusal, a failure of the empty AWS behind it), one intent and one event, keyed by the
request id, with the route's action and the response's outcome.
"""

from __future__ import annotations

import importlib
import json
import re

import pytest
from moto import mock_aws

from agri_common.platform.activity import EXTENSION, MUTATING
from agri_common.platform.revocation import InMemoryRevocationStore
from infra.domains import API_DOMAINS
from infra.local.front import proxy_event
from infra.local.lambdas import LambdaContext
from tests.unit.functions.conftest import claims_for

ACTION = re.compile(r"^[a-z_]+\.[a-z_]+$")


def mutating_routes():
    out = []
    for domain in API_DOMAINS:
        module = importlib.import_module(domain.module)
        app = module.app
        for route in app._static_routes + app._dynamic_routes:
            if route.method in MUTATING:
                out.append((domain.module, route.method, route.path, route.openapi_extensions or {}))
    return sorted(out, key=lambda r: (r[0], r[2], r[1]))


ROUTES = mutating_routes()


def test_the_walk_finds_every_mutating_route():
    assert len(ROUTES) >= 40  # the 40 of this change; a domain that stopped loading would shrink it
    assert {r[1] for r in ROUTES} == {"POST", "PUT", "PATCH", "DELETE"}


@pytest.mark.parametrize(("module", "method", "path", "ext"), ROUTES, ids=[f"{r[1]} {r[2]}" for r in ROUTES])
def test_every_mutating_route_declares_an_action(module, method, path, ext):
    spec = ext.get(EXTENSION)
    assert spec, f"{method} {path}: add openapi_extensions=audited('<kind>.<verb>') to the route"
    assert ACTION.match(spec["action"]), spec


def test_action_names_are_unique():
    actions = [r[3][EXTENSION]["action"] for r in ROUTES]
    assert len(actions) == len(set(actions))


def _concrete(path: str) -> str:
    return re.sub(r"<([a-z_]+)>", lambda m: f"X-{m.group(1)}", path)


@pytest.fixture
def aws(monkeypatch):
    monkeypatch.setenv("AWS_DEFAULT_REGION", "ap-south-1")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    from agri_common.platform.aws import reset_clients

    reset_clients()
    with mock_aws():
        yield
    reset_clients()


@pytest.mark.parametrize("role", ["admin", "farmer"])
@pytest.mark.parametrize(("module", "method", "path", "ext"), ROUTES, ids=[f"{r[1]} {r[2]}" for r in ROUTES])
def test_one_event_per_request_whatever_the_outcome(module, method, path, ext, role, aws, activity_log, monkeypatch):
    handler = importlib.import_module(module)
    monkeypatch.setattr(handler, "_revocation", InMemoryRevocationStore, raising=False)
    concrete = _concrete(path)
    request_id = f"req-{role}-{method}-{concrete}"
    event = proxy_event(
        path,
        method,
        concrete,
        body=b"{}",
        headers={"content-type": "application/json"},
        claims=claims_for(role, user=f"u-{role}"),
        request_id=request_id,
    )
    ctx = LambdaContext("t", 128, "arn:aws:lambda:x:1:function:t", "aws-req", timeout_s=10)
    response = handler.lambda_handler(event, ctx)

    events = activity_log.all()
    assert [e.event_id for e in events] == [request_id]
    [ev] = events
    assert ev.action == ext[EXTENSION]["action"]
    assert ev.actor_id == f"u-{role}" and ev.actor_role == role
    assert ev.status == response["statusCode"]
    if response["statusCode"] < 400:
        assert ev.outcome == "ok"
    else:
        assert ev.outcome == json.loads(response["body"])["error"]["code"]
    assert len(activity_log.intent_items) == 1  # the intent came first, keyed by the same event
    [intent] = activity_log.intent_items.values()
    assert intent.event.event_id == request_id and intent.event.outcome == "interrupted"


def test_reads_write_no_event(aws, activity_log, monkeypatch):
    handler = importlib.import_module("functions.projects.handler")
    monkeypatch.setattr(handler, "_revocation", InMemoryRevocationStore)
    event = proxy_event("/projects", "GET", "/projects", claims=claims_for("farmer"))
    handler.lambda_handler(event, LambdaContext("t", 128, "arn", "r", timeout_s=10))
    assert activity_log.all() == [] and activity_log.intent_items == {}


def test_a_route_without_an_action_is_still_recorded_never_refused(activity_log):
    """CI refuses such a route (above); at run time, a route merged without one still answers and is
    still logged, under ``unnamed.<method>``."""
    from agri_common.platform.resolver import make_handler, make_resolver

    app = make_resolver()

    @app.post("/things")
    def create() -> dict:
        return {"thing_id": "T-1"}

    ctx = LambdaContext("t", 128, "arn:aws:lambda:x:1:function:t", "r", timeout_s=10)
    r = make_handler(app)(
        proxy_event("/things", "POST", "/things", body=b"{}", headers={"content-type": "application/json"}), ctx
    )
    assert r["statusCode"] == 200
    [event] = activity_log.all()
    assert (event.action, event.outcome, event.actor_id) == ("unnamed.post", "ok", "anonymous")

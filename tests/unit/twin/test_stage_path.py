"""The twin's front answers at its root and under the stage prefix (``/dev/...``, as the execute-api
URL on AWS), and tells the function the path the client sent (``requestContext.path``)."""

from __future__ import annotations

import json

import pytest

from infra.local.front import ApiFront, TokenBucket
from infra.local.template import gateway_responses, route_specs
from tests.unit.twin.test_front_http import FULL


class Echo:
    def invoke(self, event):
        ctx = event["requestContext"]
        out = {"path": event["path"], "sent": ctx["path"], "stage": ctx["stage"], "params": event["pathParameters"]}
        return {"statusCode": 200, "body": json.dumps(out)}


@pytest.fixture
def front() -> ApiFront:
    return ApiFront(
        route_specs(FULL),
        {"AdminFn": Echo(), "MeFn": Echo()},
        {},
        gateway_responses(FULL),
        TokenBucket(None, None),
        "dev",
    )


@pytest.mark.parametrize("sent", ["/admin/users/me", "/dev/admin/users/me"])
def test_a_route_answers_at_the_root_and_under_the_stage(front, sent):
    r = front.handle("GET", sent + "?x=1", {}, b"")
    assert r.status == 200
    assert json.loads(r.body) == {"path": "/admin/users/me", "sent": sent, "stage": "dev", "params": None}


@pytest.mark.parametrize("sent", ["/prod/admin/users/me", "/devx/admin/users/me", "/dev", "/dev/"])
def test_another_prefix_is_not_the_stage(front, sent):
    r = front.handle("GET", sent, {}, b"")
    assert r.status == 404 and json.loads(r.body)["error"]["code"] == "route_not_found"

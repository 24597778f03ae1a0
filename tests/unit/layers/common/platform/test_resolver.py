"""The error envelope and pre-routing checks every function shares."""

import json

import pytest
from pydantic import BaseModel

from agri_common.platform.errors import ConflictError
from agri_common.platform.principal import Role
from agri_common.platform.resolver import PRIVATE, current_principal, make_handler, make_resolver
from agri_common.platform.revocation import InMemoryRevocationStore
from functions.health import handler as health
from tests.unit.functions.conftest import call, claims_for

app = make_resolver()
store = InMemoryRevocationStore()


class Thing(BaseModel):
    name: str
    count: int


@app.post("/things", security=PRIVATE)
def create_thing(body: Thing) -> dict:
    if body.name == "dup":
        raise ConflictError("exists", code="thing_exists")
    if body.name == "boom":
        raise RuntimeError("secret internals")
    return {"by": current_principal(app).username, "count": body.count}


class Module:
    lambda_handler = staticmethod(
        make_handler(app, roles=[Role.ADMIN, Role.FPO_MANAGER], revocation=lambda: store, max_body_bytes=200)
    )


ADMIN = claims_for("admin", fpo=None)


def test_ok_path_sees_the_principal():
    r = call(Module, "POST", "/things", {"name": "a", "count": 2}, claims=ADMIN)
    assert r.status == 200 and r.body == {"by": "ravi", "count": 2}


def test_malformed_json_is_400():
    r = call(Module, "POST", "/things", "{not json", claims=ADMIN)
    assert r.status == 400 and r.body["error"]["code"] == "malformed_json"


def test_wrong_types_and_missing_fields_are_422_with_each_field():
    r = call(Module, "POST", "/things", {"count": "many"}, claims=ADMIN)
    assert r.status == 422
    assert sorted(d["field"] for d in r.body["error"]["details"]) == ["body.count", "body.name"]


def test_body_that_is_not_an_object_is_422():
    r = call(Module, "POST", "/things", [1, 2], claims=ADMIN)
    assert r.status == 422


def test_oversize_body_is_413():
    r = call(Module, "POST", "/things", {"name": "x" * 300, "count": 1}, claims=ADMIN)
    assert r.status == 413 and r.body["error"]["code"] == "payload_too_large"


def test_domain_error_maps_to_status_and_code():
    r = call(Module, "POST", "/things", {"name": "dup", "count": 1}, claims=ADMIN)
    assert r.status == 409 and r.body["error"] == {
        "code": "thing_exists",
        "message": "exists",
        "request_id": r.body["error"]["request_id"],
    }


def test_unexpected_error_is_500_without_internals():
    r = call(Module, "POST", "/things", {"name": "boom", "count": 1}, claims=ADMIN)
    assert r.status == 500 and r.body["error"]["code"] == "internal_error"
    assert "secret" not in json.dumps(r.body)


def test_unknown_route_uses_the_envelope():
    r = call(Module, "GET", "/nope", claims=ADMIN)
    assert r.status == 404 and r.body["error"]["code"] == "route_not_found"


def test_role_outside_the_function_is_403_before_the_body_is_read():
    r = call(Module, "POST", "/things", "{not json", claims=claims_for("farmer"))
    assert r.status == 403 and r.body["error"]["code"] == "role_forbidden"


def test_revoked_session_is_401():
    caller = claims_for("admin", user="a-9", fpo=None)
    store.revoke_user_tokens("a-9", before=int(caller["iat"]))
    r = call(Module, "POST", "/things", {"name": "a", "count": 1}, claims=caller)
    assert r.status == 401 and r.body["error"]["code"] == "token_revoked"


def test_health_is_public_and_says_ok():
    r = call(health, "GET", "/health")
    assert r.status == 200 and r.body["status"] == "ok"


@pytest.mark.parametrize(
    "origin, expected", [("https://app.example.org", "https://app.example.org"), ("https://evil.example", None)]
)
def test_cors_only_for_configured_origins(monkeypatch, origin, expected):
    monkeypatch.setenv("CORS_ORIGINS", "https://app.example.org,https://m.example.org")
    local = make_resolver()

    @local.get("/x")
    def x() -> dict:
        return {}

    from infra.local.front import proxy_event
    from infra.local.lambdas import LambdaContext

    event = proxy_event("/x", "GET", "/x", headers={"origin": origin})
    resp = make_handler(local)(event, LambdaContext("t", 128, "arn", "r", 3))
    got = (resp.get("multiValueHeaders") or {}).get("Access-Control-Allow-Origin") or (resp.get("headers") or {}).get(
        "Access-Control-Allow-Origin"
    )
    got = got[0] if isinstance(got, list) else got
    assert got == expected

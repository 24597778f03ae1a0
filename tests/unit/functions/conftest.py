"""Unit tests call the real Lambda entry points with API Gateway proxy events and fake services."""

from __future__ import annotations

import json
from types import SimpleNamespace

import pytest

from agri_common.platform.revocation import InMemoryRevocationStore
from infra.local.front import proxy_event
from infra.local.lambdas import LambdaContext
from tests.unit.fakes.idp import FakeIdp


def claims_for(
    role: str, user: str = "u-1", username: str = "ravi", fpo: str | None = "FPO-1", iat: int = 1_700_000_000
):
    c = {
        "sub": user,
        "cognito:username": username,
        "cognito:groups": role,
        "token_use": "id",
        "iat": str(iat),
        "exp": str(iat + 1800),
        "jti": f"j-{user}",
        "origin_jti": f"o-{user}",
    }
    if fpo:
        c["custom:fpo_id"] = fpo
    return c


def call(
    module, method: str, path: str, body=None, claims=None, resource: str | None = None, params=None, query: str = ""
):
    raw = body if isinstance(body, (bytes, str)) else (json.dumps(body) if body is not None else "")
    event = proxy_event(
        resource or path,
        method,
        path,
        query=query,
        body=raw.encode() if isinstance(raw, str) else raw,
        headers={"content-type": "application/json"},
        params=params,
        claims=claims,
    )
    ctx = LambdaContext(
        function_name="test",
        memory_limit_in_mb=128,
        invoked_function_arn="arn:aws:lambda:x:1:function:test",
        aws_request_id="req-1",
        timeout_s=10,
    )
    resp = module.lambda_handler(event, ctx)
    return SimpleNamespace(
        status=resp["statusCode"],
        body=json.loads(resp["body"]) if resp.get("body") else None,
        headers=resp.get("headers") or {},
    )


@pytest.fixture
def idp():
    return FakeIdp()


@pytest.fixture
def revocations():
    return InMemoryRevocationStore()

"""How a route's declared security becomes its API Gateway authorization (infra/routes.py)."""

from __future__ import annotations

import pytest

from infra.api import needs_preflight
from infra.routes import Route, routes_from_schema


def schema(security) -> dict:
    op = {"operationId": "op"} if security is None else {"operationId": "op", "security": security}
    return {"paths": {"/x": {"get": op}}}


@pytest.mark.parametrize(
    "security, public, api_key",
    [
        (None, True, False),
        ([], True, False),
        ([{"CognitoUserPool": []}], False, False),
        ([{"ApiKey": []}], True, True),
    ],
)
def test_the_declared_scheme_decides_authorizer_and_api_key(security, public, api_key):
    (route,) = routes_from_schema(schema(security))
    assert (route.public, route.api_key) == (public, api_key)


def test_an_unknown_scheme_fails_instead_of_making_the_route_public():
    with pytest.raises(ValueError, match="unknown security schemes"):
        routes_from_schema(schema([{"BasicAuth": []}]))


def test_a_route_cannot_take_both_a_token_and_a_key():
    with pytest.raises(ValueError, match="not both"):
        routes_from_schema(schema([{"CognitoUserPool": [], "ApiKey": []}]))


def test_api_key_gets_are_preflighted_public_gets_are_not():
    assert needs_preflight(Route("/registry/credits/{serial}", "GET", public=True, api_key=True))
    assert not needs_preflight(Route("/health", "GET", public=True))

"""The committed OpenAPI document is generated from the handlers and must not drift."""

import json

from infra.openapi import SPEC_PATH, generate, render
from infra.routes import HTTP_METHODS


def test_committed_spec_matches_the_code():
    assert SPEC_PATH.read_text(encoding="utf-8") == render(generate()), "run: python -m infra.openapi --write"


def test_every_operation_documents_its_errors_with_the_envelope():
    spec = json.loads(SPEC_PATH.read_text())
    for path, item in spec["paths"].items():
        for method in HTTP_METHODS:
            op = item.get(method)
            if op is None:
                continue
            codes = set(op["responses"])
            assert {"429", "500"} <= codes, (method, path)
            if {"CognitoUserPool": []} in op.get("security", []):
                assert {"401", "403"} <= codes, (method, path)
            if {"ApiKey": []} in op.get("security", []):
                assert {"403", "429"} <= codes and "401" not in codes, (method, path)
            if op.get("requestBody"):
                assert {"400", "422"} <= codes, (method, path)
                assert op["responses"]["422"]["content"]["application/json"]["schema"] == {
                    "$ref": "#/components/schemas/ErrorEnvelope"
                }
    assert "HTTPValidationError" not in spec["components"]["schemas"]


def test_private_operations_name_the_cognito_scheme():
    spec = json.loads(SPEC_PATH.read_text())
    scheme = spec["components"]["securitySchemes"]["CognitoUserPool"]
    assert scheme["in"] == "header" and scheme["name"] == "Authorization"
    assert spec["paths"]["/auth/me"]["get"]["security"] == [{"CognitoUserPool": []}]
    assert "security" not in spec["paths"]["/auth/login"]["post"]


def test_registry_operations_require_an_api_key_and_document_its_refusals():
    spec = json.loads(SPEC_PATH.read_text())
    scheme = spec["components"]["securitySchemes"]["ApiKey"]
    assert (scheme["type"], scheme["in"], scheme["name"]) == ("apiKey", "header", "x-api-key")
    registry = [(m, p, op) for m, p, op in _operations(spec) if p.startswith("/registry/")]
    assert {(m, p) for m, p, _ in registry} == {
        ("get", "/registry/credits/{serial}"),
        ("get", "/registry/projects/{project_id}"),
    }
    for method, path, op in registry:
        assert op["security"] == [{"ApiKey": []}], (method, path)
        assert "invalid_api_key" in op["responses"]["403"]["description"]
        assert "quota_exceeded" in op["responses"]["429"]["description"]
        assert "404" in op["responses"] and "401" not in op["responses"]
    for path, item in spec["paths"].items():  # no other operation takes an API key
        for method in HTTP_METHODS:
            if method in item and not path.startswith("/registry/"):
                assert {"ApiKey": []} not in item[method].get("security", []), (method, path)


def _operations(spec):
    for path, item in spec["paths"].items():
        for method in HTTP_METHODS:
            if method in item:
                yield method, path, item[method]


def test_the_shared_request_path_statuses_are_documented_by_rule():
    spec = json.loads(SPEC_PATH.read_text())
    for method, path, op in _operations(spec):
        codes = set(op["responses"])
        assert "413" in codes, (method, path)
        if op.get("requestBody"):
            assert {"400", "415", "422"} <= codes, (method, path)  # malformed/invalid encoding, media type
        if any(p["in"] == "query" and p["name"] == "next_token" for p in op.get("parameters", [])):
            assert "400" in codes, (method, path)  # invalid_next_token
        if {"CognitoUserPool": []} in op.get("security", []) and (
            op.get("requestBody") or any(p["in"] == "path" for p in op.get("parameters", []))
        ):
            assert "404" in codes, (method, path)  # an id the caller may not see


def test_the_cognito_flows_and_declared_conflicts_are_documented():
    spec = json.loads(SPEC_PATH.read_text())
    responses = {(m.upper(), p): set(op["responses"]) for m, p, op in _operations(spec)}
    assert "401" in responses[("POST", "/auth/login")] and "401" in responses[("POST", "/auth/refresh")]
    assert "404" in responses[("POST", "/auth/confirm-registration")]
    for move in ("transfer", "retire", "cancel"):
        assert "404" in responses[("POST", f"/credits/{move}")]
    for key in (
        ("POST", "/admin/users"),
        ("POST", "/admin/users/{username}/disable"),
        ("PUT", "/admin/users/{username}/role"),
    ):
        assert "409" in responses[key], key
    assert "415" not in responses[("GET", "/health")] and "401" not in responses[("GET", "/health")]


def test_rules_apply_to_a_new_operation_by_its_shape():
    from infra.openapi import _errors_for

    paged = {"security": [{"CognitoUserPool": []}], "parameters": [{"in": "query", "name": "next_token"}]}
    assert _errors_for(paged) == [400, 401, 403, 413, 422, 429, 500, 503]
    body = {"security": [{"CognitoUserPool": []}], "requestBody": {"content": {}}, "x-errors": [409]}
    assert _errors_for(body) == [400, 401, 403, 404, 409, 413, 415, 422, 429, 500, 503]
    assert _errors_for({}) == [413, 429, 500, 503]


def test_phone_fields_document_the_pattern_their_validator_accepts():
    import random
    import re

    from functions.farmers.models import indian_mobile
    from infra.openapi import INDIAN_MOBILE

    spec = json.loads(SPEC_PATH.read_text())
    schemas = spec["components"]["schemas"]
    assert schemas["RegisterFarmerRequest"]["properties"]["phone"]["pattern"] == INDIAN_MOBILE
    assert INDIAN_MOBILE in json.dumps(schemas["PatchFarmerRequest"]["properties"]["phone"])
    rng = random.Random(7)
    samples = ["+91 98123 45678", "09812345678", "919812345678", "5812345678", "9198765432", "0000000000"]
    samples += [
        rng.choice(["", "+91", "0", "91 "]) + "".join(rng.choice("0123456789 -") for _ in range(rng.randint(8, 13)))
        for _ in range(3000)
    ]
    for text in samples:
        try:
            indian_mobile(text)
            accepted = True
        except ValueError:
            accepted = False
        assert accepted == bool(re.search(INDIAN_MOBILE, text)), text


def test_plot_geometries_document_the_polygon_shapes_the_server_accepts():
    import jsonschema_rs

    spec = json.loads(SPEC_PATH.read_text())
    geometry = spec["components"]["schemas"]["PlotFeature"]["properties"]["geometry"]
    check = jsonschema_rs.validator_for(geometry)
    ring = [[77.0, 28.0], [77.001, 28.0], [77.001, 28.001], [77.0, 28.0]]
    assert check.is_valid({"type": "Polygon", "coordinates": [ring]})
    assert check.is_valid({"type": "MultiPolygon", "coordinates": [[ring], [ring]]})
    assert not check.is_valid({"type": "Point", "coordinates": [77.0, 28.0]})
    assert not check.is_valid({"type": "Polygon", "coordinates": [ring[:3]]})  # fewer than 4 positions
    assert not check.is_valid({"type": "Polygon", "coordinates": [[[28.0, 77.0]] * 4]})  # latitude first: not India
    assert not check.is_valid({"type": "Polygon"})

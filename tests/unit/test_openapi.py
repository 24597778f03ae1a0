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
            if op.get("security"):
                assert {"401", "403"} <= codes, (method, path)
            if op.get("requestBody"):
                assert {"400", "422"} <= codes, (method, path)
                assert op["responses"]["422"]["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/ErrorEnvelope"}
    assert "HTTPValidationError" not in spec["components"]["schemas"]


def test_private_operations_name_the_cognito_scheme():
    spec = json.loads(SPEC_PATH.read_text())
    scheme = spec["components"]["securitySchemes"]["CognitoUserPool"]
    assert scheme["in"] == "header" and scheme["name"] == "Authorization"
    assert spec["paths"]["/auth/me"]["get"]["security"] == [{"CognitoUserPool": []}]
    assert "security" not in spec["paths"]["/auth/login"]["post"]

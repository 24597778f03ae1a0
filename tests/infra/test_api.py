"""The REST API: routes equal the handlers' route tables, authorization, stage settings, errors."""

from __future__ import annotations

import json
import re

import pytest

from infra.domains import API_DOMAINS
from infra.routes import load_routes
from tests.infra.cfn import api_methods, domain_functions, integration_function, only, resources

# Every route reachable without a token. Adding a public route means adding it here, on purpose.
PUBLIC_ROUTES = {
    ("GET", "/health"),
    ("GET", "/openapi.json"),
    ("GET", "/docs"),
    ("GET", "/docs/{name}"),
    ("POST", "/auth/register"),
    ("POST", "/auth/confirm-registration"),
    ("POST", "/auth/login"),
    ("POST", "/auth/challenge"),
    ("POST", "/auth/mfa/verify"),  # the MFA_SETUP session is its credential (decision 0015)
    ("POST", "/auth/refresh"),
    ("POST", "/auth/forgot-password"),
    ("POST", "/auth/confirm-forgot-password"),
    # The public registry view: no token, but API Gateway requires an API key (tests/infra/test_registry.py).
    ("GET", "/registry/credits/{serial}"),
    ("GET", "/registry/projects/{project_id}"),
}


@pytest.fixture(scope="module")
def routes_by_domain():
    return {d.name: load_routes(d.module) for d in API_DOMAINS}


@pytest.fixture(scope="module")
def methods(template):
    """API methods except CORS preflight."""
    return {k: v for k, v in api_methods(template).items() if k[0] != "OPTIONS"}


def test_methods_equal_the_handlers_route_tables(methods, routes_by_domain):
    declared = [(r.method, r.path) for routes in routes_by_domain.values() for r in routes]
    assert len(declared) == len(set(declared)), "a route is declared by two domains"
    assert set(methods) == set(declared)


def test_each_method_invokes_its_domain_function(template, methods, routes_by_domain):
    function_domain = {lid: name for name, (lid, _) in domain_functions(template).items()}
    for domain, routes in routes_by_domain.items():
        for route in routes:
            method = methods[(route.method, route.path)]
            assert method["Integration"]["Type"] == "AWS_PROXY"
            assert function_domain[integration_function(method)] == domain, (route, domain)


def test_only_allow_listed_routes_are_public(template, methods):
    authorizer_lid, authorizer = only(template, "AWS::ApiGateway::Authorizer")
    public = {key for key, m in methods.items() if m["AuthorizationType"] == "NONE"}
    assert public == PUBLIC_ROUTES, f"unexpected public: {public - PUBLIC_ROUTES}, missing: {PUBLIC_ROUTES - public}"
    for key, method in methods.items():
        if key not in PUBLIC_ROUTES:
            assert method["AuthorizationType"] == "COGNITO_USER_POOLS", key
            assert method["AuthorizerId"] == {"Ref": authorizer_lid}, key


def test_template_matches_each_routes_public_flag(methods, routes_by_domain):
    for routes in routes_by_domain.values():
        for route in routes:
            assert (methods[(route.method, route.path)]["AuthorizationType"] == "NONE") is route.public, route


MEMBERSHIP_ROUTES = {  # docs/decisions/0007: private, served by the farmers function (it owns farmer items)
    ("POST", "/fpos/{fpo_id}/members/{farmer_id}/approve"),
    ("POST", "/fpos/{fpo_id}/members/{farmer_id}/reject"),
    ("POST", "/fpos/{fpo_id}/invitations"),
    ("POST", "/farmers/{farmer_id}/join"),
    ("POST", "/fpos/{fpo_id}/members/{farmer_id}/remove"),
    ("POST", "/farmers/{farmer_id}/membership-request"),
}


def test_membership_routes_are_private_farmers_routes(methods, routes_by_domain):
    assert MEMBERSHIP_ROUTES <= {(r.method, r.path) for r in routes_by_domain["farmers"]}
    for key in MEMBERSHIP_ROUTES:
        assert methods[key]["AuthorizationType"] == "COGNITO_USER_POOLS", key


def test_authorizer_reads_id_tokens_from_authorization_header(template):
    pool_lid, _ = only(template, "AWS::Cognito::UserPool")
    props = only(template, "AWS::ApiGateway::Authorizer")[1]["Properties"]
    assert props["Type"] == "COGNITO_USER_POOLS"
    assert props["IdentitySource"] == "method.request.header.Authorization"
    assert props["ProviderARNs"] == [{"Fn::GetAtt": [pool_lid, "Arn"]}]


def test_preflight_methods_allow_the_stage_origins(template):
    preflights = [m for (verb, _), m in api_methods(template).items() if verb == "OPTIONS"]
    assert preflights
    for method in preflights:
        assert method["AuthorizationType"] == "NONE" and method["Integration"]["Type"] == "MOCK"
        text = json.dumps(method["Integration"])
        for origin in ("http://localhost:3000", "http://localhost:5173"):
            assert origin in text


def test_preflights_only_where_a_browser_sends_one(template, routes_by_domain):
    """OPTIONS on every path with a private or non-GET route, and nowhere else: not on the root, not
    on path segments without routes, not on public GETs (simple requests: no preflight)."""
    from infra.api import needs_preflight

    routes = [r for rs in routes_by_domain.values() for r in rs]
    preflighted = {path for (verb, path) in api_methods(template) if verb == "OPTIONS"}
    assert preflighted == {r.path for r in routes if needs_preflight(r)}
    assert not preflighted & {"/", "/health", "/openapi.json", "/fpos/{fpo_id}/members"}
    assert {"/auth/login", "/farmers", "/fpos/{fpo_id}/reports"} <= preflighted


def test_one_invoke_permission_per_function_scoped_to_this_api(template, routes_by_domain):
    """Not one per method, and no test-invoke permission: each API function may be invoked by API
    Gateway for this REST API only (any stage, method and path of it)."""
    (api_lid, _), functions = only(template, "AWS::ApiGateway::RestApi"), domain_functions(template)
    from_api = [
        p["Properties"]
        for p in resources(template, "AWS::Lambda::Permission").values()
        if p["Properties"]["Principal"] == "apigateway.amazonaws.com"
    ]
    invoked = sorted(p["FunctionName"]["Fn::GetAtt"][0] for p in from_api)
    assert invoked == sorted(functions[d][0] for d in routes_by_domain)  # one each, API domains only
    for permission in from_api:
        assert permission["Action"] == "lambda:InvokeFunction"
        parts = permission["SourceArn"]["Fn::Join"][1]
        assert {"Ref": api_lid} in parts and parts[-1] == "/*/*/*", parts
        assert "test-invoke-stage" not in json.dumps(parts)


def test_stage_throttling_logging_tracing(template):
    stage = only(template, "AWS::ApiGateway::Stage")[1]["Properties"]
    assert stage["StageName"] == "dev"
    assert stage["TracingEnabled"] is True
    settings = {s["HttpMethod"]: s for s in stage["MethodSettings"]}["*"]
    assert settings["ResourcePath"] == "/*"
    assert (settings["ThrottlingRateLimit"], settings["ThrottlingBurstLimit"]) == (20, 40)
    assert settings["LoggingLevel"] == "INFO"
    assert settings["DataTraceEnabled"] is False
    access = stage["AccessLogSetting"]
    refs = re.findall(r'"Ref": "([A-Za-z0-9]+)"', json.dumps(access["DestinationArn"]))
    assert [template["Resources"][r]["Type"] for r in refs if r in template["Resources"]] == ["AWS::Logs::LogGroup"]
    fields = json.loads(access["Format"])
    assert fields["requestId"] == "$context.requestId" and "status" in fields
    only(template, "AWS::ApiGateway::Account")  # execution logs need the account's CloudWatch role


@pytest.mark.parametrize(
    "response_type,status,code",
    [
        ("UNAUTHORIZED", "401", "unauthorized"),
        ("ACCESS_DENIED", "403", "forbidden"),
        ("MISSING_AUTHENTICATION_TOKEN", "404", "route_not_found"),
        ("THROTTLED", "429", "too_many_requests"),
        ("REQUEST_TOO_LARGE", "413", "payload_too_large"),
        ("DEFAULT_4XX", None, "bad_request"),
        ("DEFAULT_5XX", None, "internal_error"),
    ],
)
def test_gateway_errors_use_the_envelope(template, response_type, status, code):
    responses = {
        r["Properties"]["ResponseType"]: r["Properties"]
        for r in resources(template, "AWS::ApiGateway::GatewayResponse").values()
    }
    props = responses[response_type]
    assert props.get("StatusCode") == status
    body = props["ResponseTemplates"]["application/json"]
    # Render the VTL variables as API Gateway would, then parse: the body must be valid JSON.
    rendered = json.loads(
        body.replace("$context.error.messageString", '"Unauthorized"').replace("$context.requestId", "req-1")
    )
    assert rendered == {"error": {"code": code, "message": "Unauthorized", "request_id": "req-1"}}
    assert "gatewayresponse.header.Access-Control-Allow-Origin" in props["ResponseParameters"]


def test_outputs(synthesized):
    """The data stack names the pool and client (as the single stack did); the app stack the API URL
    (the pipeline stack, between them, has only the values the app stack reads)."""
    data, pipeline, app = (s.template for s in synthesized.stacks)
    assert not [name for name in pipeline.get("Outputs", {}) if not name.startswith("PublishOutput")]
    assert {"UserPoolId", "UserPoolClientId"} <= set(data["Outputs"]) and "ApiUrl" not in data["Outputs"]
    pool_lid, _ = only(data, "AWS::Cognito::UserPool")
    assert data["Outputs"]["UserPoolId"]["Value"] == {"Ref": pool_lid}
    assert re.search(r"execute-api", json.dumps(app["Outputs"]["ApiUrl"]["Value"]))

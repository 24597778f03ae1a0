"""The public registry view and integrator API keys in the template: methods that require a key,
usage plans with throttle and quota on the stage, gateway responses, least-privilege IAM."""

from __future__ import annotations

import json

from infra.config import DEFAULT_API_PLANS
from tests.infra.cfn import (
    actions,
    api_methods,
    as_list,
    domain_functions,
    only,
    resources,
    role_of,
    role_statements,
)

REGISTRY_ROUTES = {("GET", "/registry/credits/{serial}"), ("GET", "/registry/projects/{project_id}")}
KEY_ROUTES = {("POST", "/admin/api-keys"), ("GET", "/admin/api-keys"), ("DELETE", "/admin/api-keys/{key_id}")}


def test_only_the_registry_methods_require_an_api_key_and_they_have_no_authorizer(template):
    methods = {k: v for k, v in api_methods(template).items() if k[0] != "OPTIONS"}
    keyed = {key for key, m in methods.items() if m.get("ApiKeyRequired")}
    assert keyed == REGISTRY_ROUTES
    for key in REGISTRY_ROUTES:
        assert methods[key]["AuthorizationType"] == "NONE" and "AuthorizerId" not in methods[key]
    for key in KEY_ROUTES:  # managing keys is an admin's, with a Cognito token
        assert methods[key]["AuthorizationType"] == "COGNITO_USER_POOLS" and not methods[key].get("ApiKeyRequired")


def test_browsers_may_send_the_api_key_header(template):
    preflights = {path: m for (verb, path), m in api_methods(template).items() if verb == "OPTIONS"}
    for _, path in REGISTRY_ROUTES:
        headers = json.dumps(preflights[path]["Integration"])
        assert "X-Api-Key" in headers, path


def _plans(template) -> dict[str, dict]:
    return {
        r["Properties"]["UsagePlanName"]: r["Properties"]
        for r in resources(template, "AWS::ApiGateway::UsagePlan").values()
    }


def test_dev_usage_plans_throttle_and_cap_each_key_on_the_stage(template):
    plans = _plans(template)
    assert set(plans) == {"agri-mrv-dev-trial", "agri-mrv-dev-standard"}
    api_lid = only(template, "AWS::ApiGateway::RestApi")[0]
    stage_lid = only(template, "AWS::ApiGateway::Stage")[0]
    for props in plans.values():
        assert props["ApiStages"] == [{"ApiId": {"Ref": api_lid}, "Stage": {"Ref": stage_lid}, "Throttle": {}}]
    trial = plans["agri-mrv-dev-trial"]
    assert trial["Quota"] == {"Limit": 20, "Period": "DAY"}  # small in dev: the e2e test reaches it
    assert trial["Throttle"] == {"BurstLimit": 40, "RateLimit": 20}
    assert plans["agri-mrv-dev-standard"]["Quota"] == {"Limit": 10000, "Period": "DAY"}


def test_prod_usage_plans_are_the_default_tiers(prod_template):
    plans = _plans(prod_template)
    assert set(plans) == {f"agri-mrv-prod-{name}" for name in DEFAULT_API_PLANS}
    for name, plan in DEFAULT_API_PLANS.items():
        props = plans[f"agri-mrv-prod-{name}"]
        assert props["Quota"] == {"Limit": plan.quota_limit, "Period": plan.quota_period}
        assert props["Throttle"] == {"BurstLimit": plan.burst_limit, "RateLimit": plan.rate_limit}


def test_a_plan_throttle_stays_within_the_stage_throttle(template, prod_template):
    for t in (template, prod_template):
        stage = only(t, "AWS::ApiGateway::Stage")[1]["Properties"]
        (setting,) = [s for s in stage["MethodSettings"] if s["HttpMethod"] == "*"]
        for props in _plans(t).values():
            assert props["Throttle"]["RateLimit"] <= setting["ThrottlingRateLimit"]
            assert props["Throttle"]["BurstLimit"] <= setting["ThrottlingBurstLimit"]


def test_key_refusals_answer_the_error_envelope(template):
    responses = {
        r["Properties"]["ResponseType"]: r["Properties"]
        for r in resources(template, "AWS::ApiGateway::GatewayResponse").values()
    }
    for rtype, status, code in (
        ("INVALID_API_KEY", "403", "invalid_api_key"),
        ("QUOTA_EXCEEDED", "429", "quota_exceeded"),
    ):
        assert responses[rtype]["StatusCode"] == status
        assert f'"code": "{code}"' in responses[rtype]["ResponseTemplates"]["application/json"]


def _apigateway_statements(template, role_lid: str) -> list[dict]:
    return [
        s for s in role_statements(template, role_lid) if any(a.startswith("apigateway:") for a in as_list(s["Action"]))
    ]


def _arn_tail(resource) -> str:
    """The path after ``apigateway:<region>::`` of an ARN built with Fn::Join, plan refs as <Ref>."""
    parts = resource["Fn::Join"][1]
    text = "".join(p if isinstance(p, str) else f"<{p.get('Ref', '?')}>" for p in parts)
    prefix = "arn:<AWS::Partition>:apigateway:<AWS::Region>::"
    assert text.startswith(prefix), text  # this account's region only
    return text.removeprefix(prefix)


def test_admin_may_manage_keys_of_this_apis_plans_only(template):
    functions = domain_functions(template)
    role = role_of(functions["admin"][1])
    plan_lids = sorted(resources(template, "AWS::ApiGateway::UsagePlan"))
    granted = {
        (frozenset(as_list(s["Action"])), _arn_tail(r))
        for s in _apigateway_statements(template, role)
        for r in as_list(s["Resource"])
    }
    expected = {
        (frozenset({"apigateway:GET"}), "/usageplans"),
        (frozenset({"apigateway:POST"}), "/apikeys"),
        (frozenset({"apigateway:GET", "apigateway:DELETE"}), "/apikeys/*"),
        *((frozenset({"apigateway:GET", "apigateway:POST"}), f"/usageplans/<{lid}>/keys") for lid in plan_lids),
    }
    assert granted == expected
    # no other function may touch API Gateway
    for name, (_, fn) in functions.items():
        if name != "admin":
            assert not _apigateway_statements(template, role_of(fn)), name


def test_admin_function_finds_plans_by_name_and_does_not_depend_on_them(template):
    functions = domain_functions(template)
    lid, fn = functions["admin"]
    env = fn["Properties"]["Environment"]["Variables"]
    assert env["USAGE_PLANS"] == "standard=agri-mrv-dev-standard,trial=agri-mrv-dev-trial"
    # the plans depend on the stage, which depends on the methods, which depend on this function
    assert "ApiPlan" not in json.dumps(fn)
    assert not any("ApiPlan" in d for d in as_list(template["Resources"][lid].get("DependsOn", [])))


def test_registry_reads_the_ledger_and_nothing_else(template):
    _, fn = domain_functions(template)["registry"]
    statements = role_statements(template, role_of(fn))
    granted = {a for a in actions(statements) if not a.startswith(("logs:", "xray:"))}
    assert granted == {"dynamodb:GetItem", "dynamodb:BatchGetItem", "dynamodb:Query", "s3:GetObject"}
    ledger_lid = next(
        lid
        for lid, t in resources(template, "AWS::DynamoDB::Table").items()
        if t.get("Metadata", {}).get("agri:resource") == "ledger"
    )
    for statement in statements:
        if any(a.startswith("dynamodb:") for a in as_list(statement["Action"])):
            assert ledger_lid in json.dumps(statement["Resource"]), statement
        if "s3:GetObject" in as_list(statement["Action"]):
            assert "/ledger/*" in json.dumps(statement["Resource"]), statement
    env = fn["Properties"]["Environment"]["Variables"]
    assert {"LEDGER_TABLE", "AUDIT_BUCKET"} <= set(env)
    assert "REVOCATION_TABLE" not in env and "PIPELINE_TABLE" not in env and "USER_POOL_ID" not in env

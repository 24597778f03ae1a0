"""Integrator API keys against moto's API Gateway, with the usage plans provisioned from the
template as the twin does: the admin service's key lifecycle, and the twin's key lookup."""

from __future__ import annotations

import boto3
import pytest

from agri_common.platform.errors import ConflictError, NotFoundError, UnprocessableError
from agri_common.platform.principal import Principal, Role
from functions.admin import models as m
from functions.admin.api_keys import ApiKeyService, parse_plans
from functions.admin.gateway import ApiGatewayKeys
from infra.local.api_keys import ApiKeyGate, MotoKeyLookup, usage_plans

ADMIN = Principal(user_id="admin-sub", username="demo-admin", role=Role.ADMIN)


@pytest.fixture
def service(aws, function_env):
    env = function_env("admin")
    return ApiKeyService(ApiGatewayKeys(), parse_plans(env["USAGE_PLANS"]))


def request(name: str = "registry-sync", plan: str = "trial") -> m.CreateApiKeyRequest:
    return m.CreateApiKeyRequest(name=name, owner="Example Registry", contact="ops@registry.example", plan=plan)


def test_the_template_plans_exist_in_moto_with_their_limits(aws, synthesized):
    plans = {p["name"]: p for p in boto3.client("apigateway").get_usage_plans()["items"]}
    assert set(plans) == {"agri-mrv-dev-trial", "agri-mrv-dev-standard"}
    trial = plans["agri-mrv-dev-trial"]
    assert (trial["quota"]["limit"], trial["quota"]["period"]) == (20, "DAY")
    assert (trial["throttle"]["rateLimit"], trial["throttle"]["burstLimit"]) == (20, 40)
    assert {p.name for p in usage_plans(synthesized.template)} == set(plans)


def test_create_list_delete_a_key(service):
    created = service.create(ADMIN, request())
    assert created.value and created.plan == "trial" and created.enabled
    assert (created.owner, created.contact, created.created_by) == (
        "Example Registry",
        "ops@registry.example",
        "demo-admin",
    )
    listed = service.list().items
    assert [k.key_id for k in listed] == [created.key_id]
    assert "value" not in listed[0].model_dump()  # never shown again
    trial_id = service.plans["trial"]
    assert created.key_id in {
        k["id"] for k in boto3.client("apigateway").get_usage_plan_keys(usagePlanId=trial_id)["items"]
    }
    deleted = service.delete(created.key_id)
    assert deleted.key_id == created.key_id and deleted.enabled is False
    assert service.list().items == []
    with pytest.raises(NotFoundError):
        service.delete(created.key_id)  # gone: 404, not a silent success


def test_a_second_key_with_the_same_name_is_a_conflict_and_stores_nothing(service):
    service.create(ADMIN, request())
    with pytest.raises(ConflictError) as exc:
        service.create(ADMIN, request(plan="standard"))
    assert exc.value.code == "api_key_exists"
    assert len(service.list().items) == 1
    assert len(boto3.client("apigateway").get_api_keys()["items"]) == 1


def test_an_unknown_plan_is_a_422_naming_the_field_and_stores_nothing(service):
    with pytest.raises(UnprocessableError) as exc:
        service.create(ADMIN, request(plan="gold"))
    assert exc.value.details[0]["field"] == "body.plan"
    assert boto3.client("apigateway").get_api_keys()["items"] == []


def test_a_key_outside_this_apis_plans_is_not_found(service):
    other = boto3.client("apigateway").create_api_key(name="someone-else", enabled=True)
    with pytest.raises(NotFoundError):
        service.delete(other["id"])
    assert boto3.client("apigateway").get_api_key(apiKey=other["id"])["id"] == other["id"]  # untouched
    assert service.list().items == []


def test_the_twins_gate_finds_keys_by_value_and_refuses_deleted_ones(service, aws, synthesized):
    plans = {aws.provisioner.usage_plans[p.logical_id]: p for p in usage_plans(synthesized.template)}
    gate = ApiKeyGate(plans, MotoKeyLookup(sorted(plans)))
    created = service.create(ADMIN, request())
    assert gate.check({"X-Api-Key": created.value}) is None
    assert gate.check({}) == "INVALID_API_KEY"
    assert gate.check({"x-api-key": "not-a-key"}) == "INVALID_API_KEY"
    service.delete(created.key_id)
    assert gate.check({"x-api-key": created.value}) == "INVALID_API_KEY"

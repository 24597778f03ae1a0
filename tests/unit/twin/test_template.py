"""The local twin reads everything from the template: check the readers on small templates."""

import json

import pytest

from infra.local.front import ApiFront, TokenBucket, rest_authorizer_claims
from infra.local.lambdas import merged_environment
from infra.local.template import Resolver, RouteSpec, gateway_responses, route_specs


def test_intrinsics_resolve_against_provisioned_names():
    r = Resolver("ap-south-1", "AgriMrv-dev")
    r.refs["Table"] = "agri-table"
    r.attrs["Pool"] = {"Arn": "arn:aws:cognito-idp:ap-south-1:123456789012:userpool/ap-south-1_abc"}
    assert r.resolve({"Ref": "Table"}) == "agri-table"
    assert r.resolve({"Fn::GetAtt": ["Pool", "Arn"]}).endswith("userpool/ap-south-1_abc")
    assert (
        r.resolve({"Fn::Join": ["", ["arn:", {"Ref": "AWS::Partition"}, ":x:", {"Ref": "AWS::Region"}]]})
        == "arn:aws:x:ap-south-1"
    )
    assert r.resolve({"Fn::Sub": "${Table}/${AWS::AccountId}/${Pool.Arn}"}).startswith("agri-table/123456789012/arn:")
    assert r.resolve({"Fn::Select": [1, {"Fn::Split": ["/", "a/b/c"]}]}) == "b"
    with pytest.raises(KeyError):
        r.resolve({"Fn::GetAtt": ["Missing", "Arn"]})


TEMPLATE = {
    "Resources": {
        "Admin": {
            "Type": "AWS::ApiGateway::Resource",
            "Properties": {"ParentId": {"Fn::GetAtt": ["Api", "RootResourceId"]}, "PathPart": "admin"},
        },
        "Users": {
            "Type": "AWS::ApiGateway::Resource",
            "Properties": {"ParentId": {"Ref": "Admin"}, "PathPart": "users"},
        },
        "User": {
            "Type": "AWS::ApiGateway::Resource",
            "Properties": {"ParentId": {"Ref": "Users"}, "PathPart": "{username}"},
        },
        "Me": {"Type": "AWS::ApiGateway::Resource", "Properties": {"ParentId": {"Ref": "Users"}, "PathPart": "me"}},
        "GetUser": {
            "Type": "AWS::ApiGateway::Method",
            "Properties": {
                "HttpMethod": "GET",
                "ResourceId": {"Ref": "User"},
                "AuthorizationType": "COGNITO_USER_POOLS",
                "AuthorizerId": {"Ref": "Authz"},
                "Integration": {
                    "Type": "AWS_PROXY",
                    "Uri": {"Fn::Join": ["", ["arn:", {"Fn::GetAtt": ["AdminFn", "Arn"]}, "/invocations"]]},
                },
            },
        },
        "GetMe": {
            "Type": "AWS::ApiGateway::Method",
            "Properties": {
                "HttpMethod": "GET",
                "ResourceId": {"Ref": "Me"},
                "AuthorizationType": "NONE",
                "Integration": {"Type": "AWS_PROXY", "Uri": {"Fn::Join": ["", [{"Fn::GetAtt": ["MeFn", "Arn"]}]]}},
            },
        },
        "Unauth": {
            "Type": "AWS::ApiGateway::GatewayResponse",
            "Properties": {
                "ResponseType": "UNAUTHORIZED",
                "StatusCode": "401",
                "ResponseParameters": {"gatewayresponse.header.Access-Control-Allow-Origin": "'*'"},
                "ResponseTemplates": {
                    "application/json": '{"error":{"code":"unauthorized","message":$context.error.messageString,"request_id":"$context.requestId"}}'
                },
            },
        },
    }
}


def test_routes_come_from_the_resource_tree_with_their_authorizer_and_function():
    routes = {(r.method, r.resource_path): r for r in route_specs(TEMPLATE)}
    assert routes[("GET", "/admin/users/{username}")].authorizer_logical_id == "Authz"
    assert routes[("GET", "/admin/users/{username}")].function_logical_id == "AdminFn"
    assert routes[("GET", "/admin/users/me")].authorizer_logical_id is None


def test_static_segment_wins_over_a_parameter():
    front = ApiFront(route_specs(TEMPLATE), {}, {}, {}, TokenBucket(None, None), "dev")
    route, params, _ = front.match("GET", "/admin/users/me")
    assert route.function_logical_id == "MeFn" and params == {}
    route, params, _ = front.match("GET", "/admin/users/asha")
    assert route.function_logical_id == "AdminFn" and params == {"username": "asha"}
    assert front.match("GET", "/admin/users/a/b")[0] is None


def test_gateway_errors_render_the_template_envelope():
    front = ApiFront([], {}, {}, gateway_responses(TEMPLATE), TokenBucket(None, None), "dev")
    resp = front.gateway_error("UNAUTHORIZED", "Unauthorized", "req-9")
    assert resp.status == 401 and resp.headers["Access-Control-Allow-Origin"] == "*"
    assert json.loads(resp.body) == {
        "error": {"code": "unauthorized", "message": "Unauthorized", "request_id": "req-9"}
    }


def test_private_route_without_token_never_reaches_the_function():
    calls = []

    class Fn:
        def invoke(self, event):
            calls.append(event)
            return {"statusCode": 200, "body": "{}"}

    front = ApiFront(
        route_specs(TEMPLATE),
        {"AdminFn": Fn(), "MeFn": Fn()},
        {},
        gateway_responses(TEMPLATE),
        TokenBucket(None, None),
        "dev",
    )
    assert front.handle("GET", "/admin/users/asha", {}, b"").status == 401
    assert calls == []
    assert front.handle("GET", "/admin/users/me?x=1", {}, b"").status == 200
    assert calls[0]["queryStringParameters"] == {"x": "1"} and calls[0]["requestContext"]["stage"] == "dev"


def test_authorizer_claims_are_rendered_like_api_gateway_rest():
    out = rest_authorizer_claims({"cognito:groups": ["admin", "auditor"], "iat": 1700000000, "sub": "s"})
    assert out == {"cognito:groups": "admin,auditor", "iat": "Tue Nov 14 22:13:20 UTC 2023", "sub": "s"}


def test_functions_sharing_a_process_must_agree_on_shared_variables():
    assert merged_environment({"a": {"T": "x", "A": 1}, "b": {"T": "x"}}) == {"T": "x", "A": "1"}
    with pytest.raises(ValueError, match="disagree on T"):
        merged_environment({"a": {"T": "x"}, "b": {"T": "y"}})


def test_throttle_bucket_refuses_beyond_burst():
    bucket = TokenBucket(rate=0.0001, burst=2)
    assert [bucket.take() for _ in range(3)] == [True, True, False]
    assert all(TokenBucket(None, None).take() for _ in range(100))


def test_route_regex_escapes_literal_characters():
    assert RouteSpec("GET", "/openapi.json", "F", None).regex.match("/openapi.json")
    assert not RouteSpec("GET", "/openapi.json", "F", None).regex.match("/openapiXjson")


def test_secrets_are_provisioned_with_generated_values(monkeypatch):
    import boto3
    from moto import mock_aws

    from infra.local.provision import Provisioner

    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "t")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "t")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "ap-south-1")
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    template = {
        "Resources": {
            "Key": {
                "Type": "AWS::SecretsManager::Secret",
                "Properties": {
                    "GenerateSecretString": {
                        "PasswordLength": 40,
                        "ExcludePunctuation": True,
                        "SecretStringTemplate": '{"kind":"hmac"}',
                        "GenerateStringKey": "key",
                    }
                },
            }
        }
    }
    with mock_aws():
        r = Resolver("ap-south-1", "AgriMrv-dev")
        Provisioner(template, r).run()
        value = json.loads(
            boto3.client("secretsmanager", region_name="ap-south-1").get_secret_value(SecretId=r.ref("Key"))[
                "SecretString"
            ]
        )
    assert value["kind"] == "hmac" and len(value["key"]) == 40 and value["key"].isalnum()

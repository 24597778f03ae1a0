"""Plain-dict helpers over a synthesized CloudFormation template (shared by the infra tests)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

DOMAIN_KEY = "agri:domain"


def as_list(value: Any) -> list:
    return value if isinstance(value, list) else [value]


def resources(template: dict, resource_type: str) -> dict[str, dict]:
    return {lid: r for lid, r in template["Resources"].items() if r["Type"] == resource_type}


def only(template: dict, resource_type: str) -> tuple[str, dict]:
    found = resources(template, resource_type)
    assert len(found) == 1, f"expected one {resource_type}, found {sorted(found)}"
    return next(iter(found.items()))


def domain_functions(template: dict) -> dict[str, tuple[str, dict]]:
    """domain name -> (logical id, resource) of the functions tagged with ``agri:domain``."""
    out: dict[str, tuple[str, dict]] = {}
    for lid, res in resources(template, "AWS::Lambda::Function").items():
        name = res.get("Metadata", {}).get(DOMAIN_KEY)
        if name is not None:
            assert name not in out, f"two functions claim domain {name}"
            out[name] = (lid, res)
    return out


def role_of(function: dict) -> str:
    role = function["Properties"]["Role"]
    assert "Fn::GetAtt" in role, role
    return role["Fn::GetAtt"][0]


def role_statements(template: dict, role_lid: str) -> list[dict]:
    """Every identity-policy statement attached to a role (inline and AWS::IAM::Policy)."""
    role = template["Resources"][role_lid]
    statements = [s for p in role["Properties"].get("Policies", []) for s in p["PolicyDocument"]["Statement"]]
    for policy in resources(template, "AWS::IAM::Policy").values():
        if {"Ref": role_lid} in policy["Properties"].get("Roles", []):
            statements.extend(policy["Properties"]["PolicyDocument"]["Statement"])
    return statements


def all_identity_statements(template: dict) -> Iterator[tuple[str, dict]]:
    """(owner logical id, statement) for every IAM role's inline policy and every AWS::IAM::Policy."""
    for lid, role in resources(template, "AWS::IAM::Role").items():
        for policy in role["Properties"].get("Policies", []):
            for statement in policy["PolicyDocument"]["Statement"]:
                yield lid, statement
    for lid, policy in resources(template, "AWS::IAM::Policy").items():
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]:
            yield lid, statement


def actions(statements: list[dict]) -> set[str]:
    return {a for s in statements if s["Effect"] == "Allow" for a in as_list(s["Action"])}


def _resource_path(template: dict, ref: dict) -> str:
    if "Fn::GetAtt" in ref and ref["Fn::GetAtt"][1] == "RootResourceId":
        return ""
    resource = template["Resources"][ref["Ref"]]["Properties"]
    return _resource_path(template, resource["ParentId"]) + "/" + resource["PathPart"]


def api_methods(template: dict) -> dict[tuple[str, str], dict]:
    """(HTTP method, path) -> AWS::ApiGateway::Method properties, paths rebuilt from the tree."""
    out = {}
    for res in resources(template, "AWS::ApiGateway::Method").values():
        props = res["Properties"]
        key = (props["HttpMethod"], _resource_path(template, props["ResourceId"]) or "/")
        assert key not in out, f"{key} defined twice"
        out[key] = props
    return out


def integration_function(method: dict) -> str:
    """Logical id of the Lambda function a proxy integration invokes."""
    uri = method["Integration"]["Uri"]
    parts = uri["Fn::Join"][1]
    targets = [p["Fn::GetAtt"][0] for p in parts if isinstance(p, dict) and "Fn::GetAtt" in p]
    assert len(targets) == 1, uri
    return targets[0]

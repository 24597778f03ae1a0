"""Read what the local twin needs out of the synthesized CloudFormation template.

The twin never keeps its own list of routes, functions or resources: everything comes from the
template that `cdk deploy` would deploy. Intrinsic functions are resolved against the physical
names and ARNs the twin gave each resource.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Callable

ACCOUNT_ID = "123456789012"


class Resolver:
    """Resolves Ref / Fn::GetAtt / Fn::Join / Fn::Sub / Fn::Select against provisioned resources."""

    def __init__(self, region: str, stack_name: str):
        self.region = region
        self.stack_name = stack_name
        self.refs: dict[str, Any] = {}
        self.attrs: dict[str, dict[str, Any]] = {}

    def pseudo(self, name: str) -> Any:
        return {
            "AWS::Region": self.region, "AWS::AccountId": ACCOUNT_ID, "AWS::Partition": "aws",
            "AWS::URLSuffix": "amazonaws.com", "AWS::StackName": self.stack_name, "AWS::NoValue": None,
        }.get(name)

    def ref(self, logical_id: str) -> Any:
        if logical_id.startswith("AWS::"):
            return self.pseudo(logical_id)
        return self.refs.get(logical_id, logical_id)

    def get_att(self, logical_id: str, attr: str) -> Any:
        try:
            return self.attrs[logical_id][attr]
        except KeyError:
            raise KeyError(f"The local twin has no attribute {attr} for {logical_id}") from None

    def resolve(self, value: Any) -> Any:
        if isinstance(value, list):
            return [self.resolve(v) for v in value]
        if not isinstance(value, dict):
            return value
        if len(value) == 1:
            (key, arg), = value.items()
            if key == "Ref":
                return self.ref(arg)
            if key == "Fn::GetAtt":
                logical, attr = arg if isinstance(arg, list) else arg.split(".", 1)
                return self.get_att(logical, attr)
            if key == "Fn::Join":
                sep, parts = arg
                return sep.join(str(self.resolve(p)) for p in self.resolve(parts))
            if key == "Fn::Select":
                index, items = arg
                return self.resolve(items)[int(self.resolve(index))]
            if key == "Fn::Split":
                sep, text = arg
                return str(self.resolve(text)).split(sep)
            if key == "Fn::Sub":
                text, variables = (arg, {}) if isinstance(arg, str) else arg
                return self._sub(text, {k: self.resolve(v) for k, v in variables.items()})
        return {k: self.resolve(v) for k, v in value.items()}

    def _sub(self, text: str, variables: dict[str, Any]) -> str:
        def repl(match: re.Match) -> str:
            name = match.group(1)
            if name in variables:
                return str(variables[name])
            if "." in name:
                logical, attr = name.split(".", 1)
                return str(self.get_att(logical, attr))
            return str(self.ref(name))

        return re.sub(r"\$\{([^}!]+)\}", repl, text)


@dataclass
class FunctionSpec:
    logical_id: str
    domain: str
    handler: str  # e.g. functions.auth.handler.lambda_handler
    environment: dict[str, Any]
    memory_mb: int = 128
    timeout_s: int = 3


@dataclass
class RouteSpec:
    method: str
    resource_path: str  # e.g. /admin/users/{username}
    function_logical_id: str | None
    authorizer_logical_id: str | None  # a Cognito authorizer, or None for public routes
    options_headers: dict[str, str] = field(default_factory=dict)

    @property
    def regex(self) -> re.Pattern:
        pattern = re.sub(r"\\\{([^}+]+)\\\+\\\}", r"(?P<\1>.+)", re.escape(self.resource_path))
        pattern = re.sub(r"\\\{([^}]+)\\\}", r"(?P<\1>[^/]+)", pattern)
        return re.compile(f"^{pattern}$")


def resources_of(template: dict, *types: str) -> list[tuple[str, dict]]:
    return [(lid, res) for lid, res in template.get("Resources", {}).items() if res.get("Type") in types]


def function_specs(template: dict) -> dict[str, FunctionSpec]:
    """Our functions: Lambda resources tagged with ``agri:domain`` metadata (CDK helpers are not ours)."""
    specs = {}
    for lid, res in resources_of(template, "AWS::Lambda::Function"):
        domain = (res.get("Metadata") or {}).get("agri:domain")
        if not domain:
            continue
        props = res["Properties"]
        specs[lid] = FunctionSpec(
            logical_id=lid, domain=domain, handler=props["Handler"],
            environment=(props.get("Environment") or {}).get("Variables", {}),
            memory_mb=int(props.get("MemorySize", 128)), timeout_s=int(props.get("Timeout", 3)),
        )
    return specs


def _resource_paths(template: dict) -> dict[str, str]:
    """Logical id of every API Gateway resource -> its full path."""
    raw = dict(resources_of(template, "AWS::ApiGateway::Resource"))
    paths: dict[str, str] = {}

    def path_of(lid: str) -> str:
        if lid in paths:
            return paths[lid]
        props = raw[lid]["Properties"]
        parent = props["ParentId"]
        parent_path = path_of(parent["Ref"]) if "Ref" in parent else ""
        paths[lid] = f"{parent_path}/{props['PathPart']}"
        return paths[lid]

    for lid in raw:
        path_of(lid)
    return paths


def _integration_function(integration: dict) -> str | None:
    """The logical id of the Lambda function behind an AWS_PROXY integration URI."""
    found: list[str] = []

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            if "Fn::GetAtt" in node:
                target = node["Fn::GetAtt"]
                found.append(target[0] if isinstance(target, list) else target.split(".")[0])
            for v in node.values():
                walk(v)
        elif isinstance(node, list):
            for v in node:
                walk(v)

    walk(integration.get("Uri"))
    return found[0] if found else None


def route_specs(template: dict) -> list[RouteSpec]:
    paths = _resource_paths(template)
    routes = []
    for _lid, res in resources_of(template, "AWS::ApiGateway::Method"):
        props = res["Properties"]
        resource = props["ResourceId"]
        path = paths[resource["Ref"]] if isinstance(resource, dict) and "Ref" in resource else "/"
        method = props["HttpMethod"]
        authorizer = None
        if props.get("AuthorizationType") == "COGNITO_USER_POOLS":
            authorizer = props["AuthorizerId"]["Ref"]
        integration = props.get("Integration") or {}
        options_headers = {}
        if method == "OPTIONS":
            for resp in integration.get("IntegrationResponses", []):
                for key, value in (resp.get("ResponseParameters") or {}).items():
                    if isinstance(value, str):
                        options_headers[key.rsplit(".", 1)[-1]] = value.strip("'")
        routes.append(RouteSpec(method=method, resource_path=path, authorizer_logical_id=authorizer,
                                function_logical_id=_integration_function(integration) if method != "OPTIONS" else None,
                                options_headers=options_headers))
    # Static segments win over parameters, as in API Gateway.
    return sorted(routes, key=lambda r: (r.resource_path.count("{"), -len(r.resource_path)))


@dataclass
class GatewayResponse:
    status: int | None
    template: str | None
    headers: dict[str, str]


def gateway_responses(template: dict) -> dict[str, GatewayResponse]:
    out = {}
    for _lid, res in resources_of(template, "AWS::ApiGateway::GatewayResponse"):
        props = res["Properties"]
        templates = props.get("ResponseTemplates") or {}
        headers = {k.rsplit(".", 1)[-1]: str(v).strip("'") for k, v in (props.get("ResponseParameters") or {}).items()
                   if isinstance(v, str)}
        out[props["ResponseType"]] = GatewayResponse(
            status=int(props["StatusCode"]) if props.get("StatusCode") else None,
            template=templates.get("application/json"), headers=headers)
    return out


def authorizers(template: dict) -> dict[str, dict]:
    return {lid: res["Properties"] for lid, res in resources_of(template, "AWS::ApiGateway::Authorizer")}


def stage_throttle(template: dict) -> tuple[float | None, int | None]:
    """(rate per second, burst) from the deployment stage's method settings, if any."""
    for _lid, res in resources_of(template, "AWS::ApiGateway::Stage"):
        for setting in res["Properties"].get("MethodSettings", []) or []:
            if setting.get("HttpMethod") == "*" and setting.get("ResourcePath") == "/*":
                rate, burst = setting.get("ThrottlingRateLimit"), setting.get("ThrottlingBurstLimit")
                return (float(rate) if rate is not None else None, int(burst) if burst is not None else None)
    return None, None


def stage_name(template: dict) -> str:
    for _lid, res in resources_of(template, "AWS::ApiGateway::Stage"):
        return res["Properties"].get("StageName", "prod")
    return "prod"


def apply_in_order(template: dict, order: list[str], handlers: dict[str, Callable[[str, dict], None]]) -> None:
    for rtype in order:
        for lid, res in resources_of(template, rtype):
            handlers[rtype](lid, res)

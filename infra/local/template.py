"""Read what the local twin needs out of the synthesized CloudFormation template.

The app deploys as several stacks (docs/stacks.md): :func:`merge_stacks` joins them into one
template, their cross-stack references resolved, and :func:`load_app_template` reads a cloud
assembly or a template file into that form.

The twin never keeps its own list of routes, functions or resources: everything comes from the
template that `cdk deploy` would deploy. Intrinsic functions are resolved against the physical
names and ARNs the twin gave each resource.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

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
            "AWS::Region": self.region,
            "AWS::AccountId": ACCOUNT_ID,
            "AWS::Partition": "aws",
            "AWS::URLSuffix": "amazonaws.com",
            "AWS::StackName": self.stack_name,
            "AWS::NoValue": None,
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
            ((key, arg),) = value.items()
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
        def repl(match: re.Match[str]) -> str:
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
    api_key_required: bool = False  # ApiKeyRequired: an API key of a usage plan (infra/local/api_keys.py)
    content_handling: str | None = None  # the integration's ContentHandling (our CORS preflight mocks)

    @property
    def regex(self) -> re.Pattern[str]:
        pattern = re.sub(r"\\\{([^}+]+)\\\+\\\}", r"(?P<\1>.+)", re.escape(self.resource_path))
        pattern = re.sub(r"\\\{([^}]+)\\\}", r"(?P<\1>[^/]+)", pattern)
        return re.compile(f"^{pattern}$")


def resources_of(template: dict[str, Any], *types: str) -> list[tuple[str, dict[str, Any]]]:
    return [(lid, res) for lid, res in template.get("Resources", {}).items() if res.get("Type") in types]


def function_specs(template: dict[str, Any]) -> dict[str, FunctionSpec]:
    """Our functions: Lambda resources tagged with ``agri:domain`` metadata (CDK helpers are not ours)."""
    specs = {}
    for lid, res in resources_of(template, "AWS::Lambda::Function"):
        domain = (res.get("Metadata") or {}).get("agri:domain")
        if not domain:
            continue
        props = res["Properties"]
        specs[lid] = FunctionSpec(
            logical_id=lid,
            domain=domain,
            handler=props["Handler"],
            environment=(props.get("Environment") or {}).get("Variables", {}),
            memory_mb=int(props.get("MemorySize", 128)),
            timeout_s=int(props.get("Timeout", 3)),
        )
    return specs


def _resource_paths(template: dict[str, Any]) -> dict[str, str]:
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


def _integration_function(integration: dict[str, Any]) -> str | None:
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


def route_specs(template: dict[str, Any]) -> list[RouteSpec]:
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
        routes.append(
            RouteSpec(
                method=method,
                resource_path=path,
                authorizer_logical_id=authorizer,
                function_logical_id=_integration_function(integration) if method != "OPTIONS" else None,
                options_headers=options_headers,
                api_key_required=bool(props.get("ApiKeyRequired")),
                content_handling=integration.get("ContentHandling"),
            )
        )
    # Static segments win over parameters, as in API Gateway.
    return sorted(routes, key=lambda r: (r.resource_path.count("{"), -len(r.resource_path)))


@dataclass
class GatewayResponse:
    status: int | None
    template: str | None
    headers: dict[str, str]


def gateway_responses(template: dict[str, Any]) -> dict[str, GatewayResponse]:
    out = {}
    for _lid, res in resources_of(template, "AWS::ApiGateway::GatewayResponse"):
        props = res["Properties"]
        templates = props.get("ResponseTemplates") or {}
        headers = {
            k.rsplit(".", 1)[-1]: str(v).strip("'")
            for k, v in (props.get("ResponseParameters") or {}).items()
            if isinstance(v, str)
        }
        out[props["ResponseType"]] = GatewayResponse(
            status=int(props["StatusCode"]) if props.get("StatusCode") else None,
            template=templates.get("application/json"),
            headers=headers,
        )
    return out


def authorizers(template: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {lid: res["Properties"] for lid, res in resources_of(template, "AWS::ApiGateway::Authorizer")}


def stage_throttle(template: dict[str, Any]) -> tuple[float | None, int | None]:
    """(rate per second, burst) from the deployment stage's method settings, if any."""
    for _lid, res in resources_of(template, "AWS::ApiGateway::Stage"):
        for setting in res["Properties"].get("MethodSettings", []) or []:
            if setting.get("HttpMethod") == "*" and setting.get("ResourcePath") == "/*":
                rate, burst = setting.get("ThrottlingRateLimit"), setting.get("ThrottlingBurstLimit")
                return (float(rate) if rate is not None else None, int(burst) if burst is not None else None)
    return None, None


def stage_name(template: dict[str, Any]) -> str:
    for _lid, res in resources_of(template, "AWS::ApiGateway::Stage"):
        return str(res["Properties"].get("StageName", "prod"))
    return "prod"


def apply_in_order(
    template: dict[str, Any], order: list[str], handlers: dict[str, Callable[[str, dict[str, Any]], None]]
) -> None:
    for rtype in order:
        for lid, res in resources_of(template, rtype):
            handlers[rtype](lid, res)


# ---- an app of several stacks -> one template --------------------------------------------------
CROSS_STACK_INTRINSICS = ("Fn::GetStackOutput", "Fn::ImportValue")
_UNMERGED_TYPES = ("AWS::CDK::Metadata",)  # CDK's per-stack analytics resource: same logical id in each


def _stack_output_ref(arg: Any) -> tuple[str, str]:
    """(stack name, output name) of a ``Fn::GetStackOutput`` argument."""
    if isinstance(arg, dict):
        return str(arg["StackName"]), str(arg["OutputName"])
    stack, output = arg[0], arg[1]
    return str(stack), str(output)


def merge_stacks(stacks: list[tuple[str, dict[str, Any]]]) -> dict[str, Any]:
    """One template with the resources and outputs of every stack, cross-stack references resolved.

    ``stacks`` are (stack name, template) in deployment order. A ``Fn::GetStackOutput`` (CDK's weak
    reference) or ``Fn::ImportValue`` (a strong one, via the producer's ``Export``) is replaced by
    the producing output's own ``Value``, which refers to the producer's resources by logical id, as
    CloudFormation resolves it. The result is what the local twin provisions and runs: the same
    resources as the deployed stacks, nothing added. A reference to an output or export that no
    stack of the app declares, or a logical id defined by two stacks, fails here rather than as a
    wrong name at run time. Each resource keeps the name of its stack in ``Metadata["agri:stack"]``.
    """
    outputs: dict[tuple[str, str], Any] = {}
    exports: dict[str, Any] = {}
    for name, template in stacks:
        for output_name, output in (template.get("Outputs") or {}).items():
            outputs[(name, output_name)] = output["Value"]
            export = (output.get("Export") or {}).get("Name")
            if isinstance(export, str):
                exports[export] = output["Value"]

    def resolve(node: Any, stack: str) -> Any:
        if isinstance(node, list):
            return [resolve(v, stack) for v in node]
        if not isinstance(node, dict):
            return node
        if len(node) == 1:
            ((key, arg),) = node.items()
            if key == "Fn::GetStackOutput":
                ref = _stack_output_ref(resolve(arg, stack))
                if ref not in outputs:
                    raise ValueError(f"{stack} reads output {ref[1]} of stack {ref[0]}, which the app does not declare")
                return resolve(outputs[ref], ref[0])
            if key == "Fn::ImportValue":
                export = resolve(arg, stack)
                if not isinstance(export, str) or export not in exports:
                    raise ValueError(f"{stack} imports {export!r}, which no stack of the app exports")
                return resolve(exports[export], stack)
        return {k: resolve(v, stack) for k, v in node.items()}

    merged: dict[str, Any] = {"Resources": {}, "Outputs": {}, "Metadata": {"agri:stacks": [n for n, _ in stacks]}}
    owner: dict[str, str] = {}
    for name, template in stacks:
        for lid, resource in (template.get("Resources") or {}).items():
            if resource.get("Type") in _UNMERGED_TYPES:
                continue
            if lid in owner:
                raise ValueError(f"logical id {lid} is defined by both {owner[lid]} and {name}")
            owner[lid] = name
            copy = resolve(resource, name)
            copy["Metadata"] = {**(copy.get("Metadata") or {}), "agri:stack": name}
            merged["Resources"][lid] = copy
        for output_name, output in (template.get("Outputs") or {}).items():
            merged["Outputs"].setdefault(output_name, resolve(output, name))
    return merged


def dependency_order(dependencies: Mapping[str, Sequence[str]]) -> list[str]:
    """Ids ordered so that each comes after the ids it depends on (as ``cdk deploy --all`` deploys
    stacks); ties keep the mapping's order. Dependencies outside the mapping are ignored."""
    ordered: list[str] = []
    visiting: set[str] = set()

    def visit(item: str) -> None:
        if item in ordered:
            return
        if item in visiting:
            raise ValueError(f"dependency cycle through {item}")
        visiting.add(item)
        for dep in dependencies[item]:
            if dep in dependencies:
                visit(dep)
        visiting.discard(item)
        ordered.append(item)

    for item in dependencies:
        visit(item)
    return ordered


def assembly_stacks(directory: Path) -> list[tuple[str, dict[str, Any]]]:
    """(stack name, template) of every stack of a cloud assembly (``cdk.out``), in deployment order."""
    manifest = json.loads((directory / "manifest.json").read_text(encoding="utf-8"))
    artifacts = {
        aid: a for aid, a in (manifest.get("artifacts") or {}).items() if a.get("type") == "aws:cloudformation:stack"
    }
    if not artifacts:
        raise ValueError(f"{directory} is a cloud assembly without stacks")
    order = dependency_order({aid: a.get("dependencies") or [] for aid, a in artifacts.items()})
    out = []
    for aid in order:
        props = artifacts[aid].get("properties") or {}
        template = json.loads((directory / props["templateFile"]).read_text(encoding="utf-8"))
        out.append((str(props.get("stackName") or artifacts[aid].get("displayName") or aid), template))
    return out


def load_app_template(path: Path) -> dict[str, Any]:
    """What ``python -m infra.local --template PATH`` runs: a cloud assembly directory (``cdk.out``
    of ``npx cdk synth``: all its stacks, merged), or a template file: the merged app template that
    ``infra.synth.synth`` writes beside the assembly, or a single stack that references no other."""
    if path.is_dir():
        return merge_stacks(assembly_stacks(path))
    template: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    if not _has_cross_stack_reference(template):
        return template
    try:
        return merge_stacks([(path.name.split(".")[0], template)])
    except ValueError as error:
        raise ValueError(
            f"{path} reads another stack's outputs ({error}): pass the cloud assembly directory "
            "(e.g. cdk.out) to run every stack of the app"
        ) from None


def _has_cross_stack_reference(node: Any) -> bool:
    if isinstance(node, dict):
        return any(k in CROSS_STACK_INTRINSICS or _has_cross_stack_reference(v) for k, v in node.items())
    if isinstance(node, list):
        return any(_has_cross_stack_reference(v) for v in node)
    return False

"""The app's stacks, split by lifecycle, and the limits nothing local enforces.

- the data stack (``AgriMrv-<stage>``) holds the stateful resources and no code; every stateful
  resource of the single pre-split stack keeps its logical id (pre_split_logical_ids.json);
- the pipeline stack (``AgriMrv-<stage>-pipeline``) holds the layers, the MRV state machine and its
  tasks, the ledger writer and the scheduled jobs; it depends on the data stack only;
- the app stack (``AgriMrv-<stage>-app``) holds the API and its functions and depends on both;
- every read across stacks is a weak reference (``Fn::GetStackOutput``: no exports, so no "export in
  use"), and only ever from a later stack to an earlier one (data <- pipeline <- app);
- every stack stays at or under 400 resources (80 % of CloudFormation's 500), and the other hard
  limits hold: IAM inline policy size per role, Lambda environment size, layers per function,
  unzipped function plus layers, API Gateway resources per REST API, state machine definition size.

The figures are printed in the run's terminal summary ("stack budget"), with or without ``-s``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.infra.cfn import domain_functions, resources

RESOURCE_BUDGET = 400  # CloudFormation refuses more than 500 resources per stack; we stop at 80 %
IAM_INLINE_POLICY_CHARS = 10_240  # per role, all inline policies together, whitespace not counted
LAMBDA_ENVIRONMENT_BYTES = 4 * 1024
LAYERS_PER_FUNCTION = 5
UNZIPPED_FUNCTION_BYTES = 250 * 1024 * 1024  # function code plus all its layers
API_RESOURCES_PER_REST_API = 300  # default quota, root included
STATE_MACHINE_DEFINITION_BYTES = 1024 * 1024

# What the data stack may hold: data, identity, secrets (and the role Cognito assumes to send SMS).
DATA_TYPES = {
    "AWS::DynamoDB::Table",
    "AWS::S3::Bucket",
    "AWS::S3::BucketPolicy",
    "AWS::Cognito::UserPool",
    "AWS::Cognito::UserPoolClient",
    "AWS::Cognito::UserPoolGroup",
    "AWS::SecretsManager::Secret",
    "AWS::KMS::Key",
    "AWS::KMS::Alias",
}
PRE_SPLIT = json.loads(Path(__file__).with_name("pre_split_logical_ids.json").read_text(encoding="utf-8"))
STAGES = ("dev", "prod")


@pytest.fixture(scope="module", params=STAGES)
def app(request):
    """(stage, Synthesized) of each stage: dev bundled (the session's), prod without the pip step."""
    fixture = "synthesized" if request.param == "dev" else "prod_synthesized"
    return request.param, request.getfixturevalue(fixture)


def _manifest(synthesized) -> dict:
    return json.loads((synthesized.outdir / "manifest.json").read_text(encoding="utf-8"))


def _stack_artifacts(synthesized) -> dict[str, dict]:
    return {aid: a for aid, a in _manifest(synthesized)["artifacts"].items() if a["type"] == "aws:cloudformation:stack"}


def test_three_stacks_in_deployment_order(app):
    stage, synthesized = app
    data, pipeline, app_stack = f"AgriMrv-{stage}", f"AgriMrv-{stage}-pipeline", f"AgriMrv-{stage}-app"
    assert [s.name for s in synthesized.stacks] == [data, pipeline, app_stack]
    artifacts = _stack_artifacts(synthesized)
    assert set(artifacts) == {data, pipeline, app_stack}
    # What `cdk deploy --all` orders by: data <- pipeline <- app, never the reverse.

    def on_stacks(name: str) -> set[str]:  # (an artifact also depends on its assets)
        return {d for d in artifacts[name].get("dependencies", []) if d in artifacts}

    assert on_stacks(data) == set()
    assert on_stacks(pipeline) == {data}
    assert on_stacks(app_stack) == {data, pipeline}


def _types(stack) -> dict[str, int]:
    counts: dict[str, int] = {}
    for res in stack.resources().values():
        counts[res["Type"]] = counts.get(res["Type"], 0) + 1
    return counts


def _domains(stack) -> set[str]:
    return {
        (r.get("Metadata") or {}).get("agri:domain", "")
        for r in stack.resources("AWS::Lambda::Function").values()
        if (r.get("Metadata") or {}).get("agri:domain")
    }


def test_the_pipeline_stack_holds_the_layers_state_machine_writer_and_schedules(app):
    """The split of docs/stacks.md: the API stack keeps only the API and its functions."""
    _, synthesized = app
    _, pipeline, app_stack = synthesized.stacks
    in_pipeline, in_app = _types(pipeline), _types(app_stack)
    assert in_pipeline["AWS::StepFunctions::StateMachine"] == 1
    assert in_pipeline["AWS::Lambda::LayerVersion"] >= 4
    assert in_pipeline["AWS::Events::Rule"] >= 1
    for kind in ("AWS::StepFunctions::StateMachine", "AWS::Lambda::LayerVersion", "AWS::Events::Rule"):
        assert kind not in in_app, kind
    assert "AWS::ApiGateway::RestApi" not in in_pipeline and in_app["AWS::ApiGateway::RestApi"] == 1
    pipeline_domains, app_domains = _domains(pipeline), _domains(app_stack)
    assert "ledger-writer" in pipeline_domains and "ledger-writer" not in app_domains
    assert {d for d in pipeline_domains if d.startswith("pipeline-")} >= {"pipeline-plan", "pipeline-outcome"}
    assert app_domains >= {"health", "projects", "verification", "ledger"}
    assert not {d for d in app_domains if d.startswith("pipeline-")}


def test_the_data_stack_holds_data_and_no_code(app):
    _, synthesized = app
    data = synthesized.stacks[0]
    for lid, res in data.resources().items():
        if res["Type"] == "AWS::IAM::Role":  # only the role Cognito assumes to text codes
            (statement,) = res["Properties"]["AssumeRolePolicyDocument"]["Statement"]
            assert statement["Principal"] == {"Service": "cognito-idp.amazonaws.com"}, lid
            continue
        assert res["Type"] in DATA_TYPES, (lid, res["Type"])  # so: no Lambda, no custom resource


def test_the_pipeline_and_app_stacks_hold_no_stateful_resource(app):
    _, synthesized = app
    for stack in synthesized.stacks[1:]:
        found = {lid: r["Type"] for lid, r in stack.resources().items() if r["Type"] in DATA_TYPES}
        assert not found, stack.name


# Properties that fix a resource's physical name: a copy of it in another stack would collide with it.
FIXED_NAMES = {
    "AWS::Lambda::Function": "FunctionName",
    "AWS::Lambda::LayerVersion": "LayerName",
    "AWS::IAM::Role": "RoleName",
    "AWS::IAM::Policy": None,  # inline in its role: its PolicyName is not a physical name
    "AWS::Logs::LogGroup": "LogGroupName",
    "AWS::StepFunctions::StateMachine": "StateMachineName",
    "AWS::Events::Rule": "Name",
    "AWS::ApiGateway::RestApi": None,  # Name is a label; the id is generated
}


def test_stateless_stacks_fix_no_physical_name(app):
    """Moving a stateless resource between stacks (docs/stacks.md, the pipeline split) creates the new
    copy before the old one is deleted; a fixed name would make the creation fail."""
    _, synthesized = app
    fixed = []
    for stack in synthesized.stacks[1:]:
        for lid, res in stack.resources().items():
            prop = FIXED_NAMES.get(res["Type"])
            if prop and prop in res.get("Properties", {}):
                fixed.append((stack.name, lid, prop))
    assert not fixed


def test_stateful_resources_keep_their_pre_split_logical_ids(app):
    """Same stack name, same logical ids: deploying the split updates these in place (docs/stacks.md)."""
    stage, synthesized = app
    data = synthesized.stacks[0]
    assert data.name == f"AgriMrv-{stage}"  # the name of the single stack before the split
    pinned = PRE_SPLIT[stage]
    assert pinned
    kept = {lid: res["Type"] for lid, res in data.resources().items() if lid in pinned}
    assert kept == pinned


def test_prod_data_stack_is_termination_protected_and_retains_everything(prod_synthesized):
    artifacts = _stack_artifacts(prod_synthesized)
    assert artifacts["AgriMrv-prod"]["properties"].get("terminationProtection") is True
    assert not artifacts["AgriMrv-prod-app"]["properties"].get("terminationProtection")
    assert not artifacts["AgriMrv-prod-pipeline"]["properties"].get("terminationProtection")
    for lid, res in prod_synthesized.stacks[0].resources().items():
        assert (res.get("DeletionPolicy"), res.get("UpdateReplacePolicy")) == ("Retain", "Retain"), lid


def test_dev_data_stack_may_be_destroyed(synthesized):
    assert not _stack_artifacts(synthesized)["AgriMrv-dev"]["properties"].get("terminationProtection")


def _intrinsics(node: Any, name: str) -> list[Any]:
    found = []
    if isinstance(node, dict):
        for key, value in node.items():
            if key == name:
                found.append(value)
            found.extend(_intrinsics(value, name))
    elif isinstance(node, list):
        for value in node:
            found.extend(_intrinsics(value, name))
    return found


def test_cross_stack_references_are_weak_and_name_declared_outputs(app):
    """``Fn::GetStackOutput`` only: no Export/ImportValue pair, so changing or removing a resource
    another stack reads never meets CloudFormation's "export in use" refusal. For every pair of
    stacks: a stack reads only stacks deployed before it (data <- pipeline <- app), each read names
    an output the producer declares, and no stack exports anything."""
    _, synthesized = app
    stacks = synthesized.stacks
    by_name = {s.name: s for s in stacks}
    readers: dict[tuple[str, str], int] = {}
    for position, stack in enumerate(stacks):
        assert not _intrinsics(stack.template, "Fn::ImportValue"), stack.name
        assert not [o for o in stack.template.get("Outputs", {}).values() if "Export" in o], stack.name
        earlier = {s.name for s in stacks[:position]}
        for read in _intrinsics(stack.template, "Fn::GetStackOutput"):
            producer = read["StackName"]
            assert producer in earlier, (stack.name, read)  # never a later stack, never itself
            assert read["OutputName"] in by_name[producer].template["Outputs"], (stack.name, read)
            readers[(stack.name, producer)] = readers.get((stack.name, producer), 0) + 1
    data, pipeline, app_stack = (s.name for s in stacks)
    # Every expected pair really reads: pipeline and app read the data stack, app reads the pipeline.
    assert set(readers) == {(pipeline, data), (app_stack, data), (app_stack, pipeline)}, readers
    assert not _intrinsics(stacks[0].template, "Fn::GetStackOutput")  # the data stack reads nothing back


def test_the_app_stack_reads_the_state_machine_writer_and_layers_from_the_pipeline_stack(app):
    """What the API needs of the pipeline stack arrives as weak references: the state machine ARN
    (start, describe, task tokens), the ledger writer (its name and invoke permission), the layers."""
    stage, synthesized = app
    pipeline, app_stack = synthesized.stack(f"AgriMrv-{stage}-pipeline"), synthesized.stack(f"AgriMrv-{stage}-app")
    read = {
        r["OutputName"]
        for r in _intrinsics(app_stack.template, "Fn::GetStackOutput")
        if r["StackName"] == pipeline.name
    }
    values = json.dumps([pipeline.template["Outputs"][name]["Value"] for name in read])
    (machine,) = pipeline.resources("AWS::StepFunctions::StateMachine")
    assert machine in values
    writer = next(
        lid
        for lid, r in pipeline.resources("AWS::Lambda::Function").items()
        if r["Metadata"].get("agri:domain") == "ledger-writer"
    )
    assert writer in values
    layers = {r["Metadata"]["agri:layer"]: lid for lid, r in pipeline.resources("AWS::Lambda::LayerVersion").items()}
    for name in ("common", "export", "geo"):  # the API domains' layers (infra/domains.py)
        assert layers[name] in values, name
    assert layers["carbon_engine"] not in values  # the engine runs in the pipeline only


def test_resource_budget(app, budget_report):
    stage, synthesized = app
    over = []
    for stack in synthesized.stacks:
        count = len(stack.resources())
        budget_report.append(
            f"{stack.name:<22} {count:>4} resources  budget {RESOURCE_BUDGET}  "
            f"headroom {RESOURCE_BUDGET - count:>4}  (CloudFormation limit 500: {500 - count} left)"
        )
        print(budget_report[-1])
        if count > RESOURCE_BUDGET:
            over.append((stack.name, count))
    assert not over, f"over the {RESOURCE_BUDGET}-resource budget: {over}; split a stack (docs/stacks.md)"


# ---- the other hard limits -------------------------------------------------------------------------
# Sizes are measured on the merged template with every reference replaced by a string at least as
# long as what CloudFormation puts there (names it generates, ARNs in the longest partition).
REF_CHARS = 128
ATTRIBUTE_CHARS = 200
PSEUDO = {
    "AWS::Region": "ap-southeast-2",
    "AWS::AccountId": "123456789012",
    "AWS::Partition": "aws-us-gov",
    "AWS::URLSuffix": "amazonaws.com.cn",
    "AWS::StackName": "AgriMrv-stage-app",
    "AWS::NoValue": "",
}


def rendered(node: Any) -> Any:
    """``node`` with its intrinsics replaced by worst-case strings (see above)."""
    if isinstance(node, list):
        return [rendered(v) for v in node]
    if not isinstance(node, dict):
        return node
    if len(node) == 1:
        ((key, arg),) = node.items()
        if key == "Ref":
            return PSEUDO.get(arg, "r" * REF_CHARS)
        if key == "Fn::GetAtt":
            return "a" * ATTRIBUTE_CHARS
        if key == "Fn::Join":
            return str(arg[0]).join(str(rendered(p)) for p in rendered(arg[1]))
        if key == "Fn::Sub":
            text = arg if isinstance(arg, str) else arg[0]
            return text.replace("${", "").replace("}", "") + "s" * REF_CHARS * text.count("${")
        if key.startswith("Fn::"):
            return json.dumps(node)
    return {k: rendered(v) for k, v in node.items()}


def compact_size(value: Any) -> int:
    return len(json.dumps(rendered(value), separators=(",", ":")))


def _record(report: list[str], stage: str, what: str, worst: tuple[str, int], limit: int) -> None:
    name, size = worst
    report.append(f"{stage:<5} {what:<44} max {size:>9}  limit {limit:>9}  headroom {limit - size:>9}  ({name})")
    print(report[-1])


def test_iam_inline_policies_per_role_fit(app, budget_report):
    stage, synthesized = app
    template = synthesized.template
    sizes: dict[str, int] = {}
    for lid, role in resources(template, "AWS::IAM::Role").items():
        sizes[lid] = sum(compact_size(p["PolicyDocument"]) for p in role["Properties"].get("Policies", []))
    for policy in resources(template, "AWS::IAM::Policy").values():
        for role in policy["Properties"].get("Roles", []):
            sizes[role["Ref"]] += compact_size(policy["Properties"]["PolicyDocument"])
    worst = max(sizes.items(), key=lambda kv: kv[1])
    _record(budget_report, stage, "IAM inline policies per role (chars)", worst, IAM_INLINE_POLICY_CHARS)
    assert worst[1] <= IAM_INLINE_POLICY_CHARS


def test_lambda_environment_and_layers_fit(app, budget_report):
    stage, synthesized = app
    functions = resources(synthesized.template, "AWS::Lambda::Function")
    env = {
        lid: compact_size((f["Properties"].get("Environment") or {}).get("Variables", {}))
        for lid, f in functions.items()
    }
    layers = {lid: len(f["Properties"].get("Layers", [])) for lid, f in functions.items()}
    _record(
        budget_report,
        stage,
        "Lambda environment (bytes)",
        max(env.items(), key=lambda kv: kv[1]),
        LAMBDA_ENVIRONMENT_BYTES,
    )
    _record(budget_report, stage, "layers per function", max(layers.items(), key=lambda kv: kv[1]), LAYERS_PER_FUNCTION)
    assert max(env.values()) <= LAMBDA_ENVIRONMENT_BYTES
    assert max(layers.values()) <= LAYERS_PER_FUNCTION


def test_api_gateway_resources_per_rest_api_fit(app, budget_report):
    stage, synthesized = app
    template = synthesized.template
    apis = resources(template, "AWS::ApiGateway::RestApi")
    assert apis
    for api in apis:
        count = 1 + sum(
            1
            for r in resources(template, "AWS::ApiGateway::Resource").values()
            if r["Properties"]["RestApiId"] == {"Ref": api}
        )  # + the root resource
        _record(budget_report, stage, "API Gateway resources per REST API", (api, count), API_RESOURCES_PER_REST_API)
        assert count <= API_RESOURCES_PER_REST_API


def test_state_machine_definitions_fit(app, budget_report):
    stage, synthesized = app
    machines = resources(synthesized.template, "AWS::StepFunctions::StateMachine")
    assert machines
    for lid, machine in machines.items():
        props = machine["Properties"]
        definition = rendered(props.get("DefinitionString", props.get("Definition")))
        size = len(definition.encode() if isinstance(definition, str) else json.dumps(definition).encode())
        _record(budget_report, stage, "state machine definition (bytes)", (lid, size), STATE_MACHINE_DEFINITION_BYTES)
        assert size <= STATE_MACHINE_DEFINITION_BYTES


def _tree_bytes(root: Path) -> int:
    return sum(p.stat().st_size for p in root.rglob("*") if p.is_file())


def test_unzipped_function_plus_layers_fit(synthesized, budget_report):
    """Measured on the bundled dev assembly (the layers' wheels installed): what Lambda unpacks."""
    template = synthesized.template
    layer_bytes = {
        lid: _tree_bytes(synthesized.asset_path(lid)) for lid in resources(template, "AWS::Lambda::LayerVersion")
    }
    sizes = {}
    for name, (lid, function) in domain_functions(template).items():
        own = _tree_bytes(synthesized.asset_path(lid))
        sizes[name] = own + sum(layer_bytes[ref["Ref"]] for ref in function["Properties"].get("Layers", []))
    assert sizes and all(sizes.values())
    _record(
        budget_report,
        "dev",
        "unzipped function + layers (bytes)",
        max(sizes.items(), key=lambda kv: kv[1]),
        UNZIPPED_FUNCTION_BYTES,
    )
    assert max(sizes.values()) <= UNZIPPED_FUNCTION_BYTES

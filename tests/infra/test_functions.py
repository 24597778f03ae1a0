"""Lambda functions: one per domain, own role and log group, least-privilege IAM, small assets."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import pytest

from infra.domains import API_DOMAINS
from infra.function import RUNTIME
from tests.infra.cfn import (
    actions,
    all_identity_statements,
    as_list,
    domain_functions,
    only,
    resources,
    role_of,
    role_statements,
)

MAX_ASSET_BYTES = 1024 * 1024
XRAY = {"xray:PutTraceSegments", "xray:PutTelemetryRecords"}
# Statements that may use Resource "*", because AWS offers no resource-level permission for them:
WILDCARD_RESOURCE_ALLOWED = (
    frozenset(XRAY),  # active tracing of every function
    frozenset({"sns:Publish"}),  # Cognito's SMS role: texts go to phone numbers, which have no ARN
    # The MRV state machine's role (CDK's logging + tracing): CloudWatch Logs vended log delivery and
    # X-Ray sampling offer no resource-level permissions.
    frozenset(
        {
            "logs:CreateLogDelivery",
            "logs:DeleteLogDelivery",
            "logs:DescribeLogGroups",
            "logs:DescribeResourcePolicies",
            "logs:GetLogDelivery",
            "logs:ListLogDeliveries",
            "logs:PutResourcePolicy",
            "logs:UpdateLogDelivery",
            "xray:GetSamplingRules",
            "xray:GetSamplingTargets",
            *XRAY,
        }
    ),
)
AUTH_COGNITO = {
    "cognito-idp:AdminAddUserToGroup",
    "cognito-idp:AdminDeleteUser",
    "cognito-idp:AdminListGroupsForUser",
    "cognito-idp:DescribeUserPoolClient",  # the confidential app client's secret (decision 0023)
}
ADMIN_COGNITO = {
    f"cognito-idp:{a}"
    for a in (
        "AdminCreateUser",
        "AdminGetUser",
        "AdminDeleteUser",
        "ListUsers",
        "ListUsersInGroup",
        "AdminListGroupsForUser",
        "AdminAddUserToGroup",
        "AdminRemoveUserFromGroup",
        "AdminDisableUser",
        "AdminEnableUser",
        "AdminUpdateUserAttributes",
        "AdminUserGlobalSignOut",
    )
}
BASE_ENV = {
    "POWERTOOLS_SERVICE_NAME",
    "POWERTOOLS_METRICS_NAMESPACE",
    "POWERTOOLS_LOG_LEVEL",
    "STAGE",
    "CORS_ORIGINS",
    "APP_VERSION",
}


@pytest.fixture(scope="module")
def functions(template):
    return domain_functions(template)


@pytest.fixture(scope="module")
def pool_arn(template):
    return {"Fn::GetAtt": [only(template, "AWS::Cognito::UserPool")[0], "Arn"]}


def _statements(template, functions, name):
    return role_statements(template, role_of(functions[name][1]))


def test_one_function_per_domain(functions):
    """One function per API domain; the others are a domain's second entry point (``<domain>-<entry>``,
    e.g. ledger-writer) or one MRV pipeline task or pipeline job each (``pipeline-<task>``)."""
    from infra.jobs import PIPELINE_JOBS
    from infra.pipeline import TASKS

    api = {d.name for d in API_DOMAINS}
    assert api <= set(functions)
    for label in set(functions) - api:
        domain, _, entry = label.partition("-")
        assert (domain in api and entry) or (domain == "pipeline" and entry in {*TASKS, *PIPELINE_JOBS}), label
    assert {f"pipeline-{t}" for t in TASKS} <= set(functions)


@pytest.mark.parametrize("domain", API_DOMAINS, ids=lambda d: d.name)
def test_function_settings(template, functions, domain):
    lid, function = functions[domain.name]
    props = function["Properties"]
    assert props["Handler"] == domain.handler
    assert props["Runtime"] == RUNTIME.name
    assert props["Architectures"] == ["x86_64"]
    assert (props["MemorySize"], props["Timeout"]) == (domain.memory_mb, domain.timeout_s)
    assert props["TracingConfig"] == {"Mode": "Active"}
    layer_names = [template["Resources"][ref["Ref"]]["Metadata"]["agri:layer"] for ref in props["Layers"]]
    assert layer_names == list(domain.layers)
    log_group = template["Resources"][props["LoggingConfig"]["LogGroup"]["Ref"]]
    assert log_group["Type"] == "AWS::Logs::LogGroup" and log_group["Properties"]["RetentionInDays"] == 14
    assert BASE_ENV <= set(props["Environment"]["Variables"])


def test_each_function_has_its_own_role_without_managed_policies(template, functions):
    roles = [role_of(f) for _, f in functions.values()]
    assert len(set(roles)) == len(roles)
    for role_lid in roles:
        role = template["Resources"][role_lid]["Properties"]
        assert "ManagedPolicyArns" not in role, role_lid
        (statement,) = role["AssumeRolePolicyDocument"]["Statement"]
        assert statement["Principal"] == {"Service": "lambda.amazonaws.com"}


def test_functions_write_logs_only_to_their_own_log_group(template, functions):
    for name, (_, function) in functions.items():
        own = function["Properties"]["LoggingConfig"]["LogGroup"]["Ref"]
        for statement in _statements(template, functions, name):
            if any(a.startswith("logs:") for a in as_list(statement["Action"])):
                assert statement["Resource"] == {"Fn::GetAtt": [own, "Arn"]}, name


def test_no_wildcard_actions_or_resources_beyond_the_allowed(template):
    checked = 0
    for owner, statement in all_identity_statements(template):
        acts = as_list(statement["Action"])
        assert "*" not in acts and not any(a.endswith(":*") for a in acts), (owner, statement)
        if "*" in as_list(statement.get("Resource", [])):
            assert frozenset(acts) in WILDCARD_RESOURCE_ALLOWED, (owner, statement)
        checked += 1
    assert checked


def test_cognito_actions_are_scoped_to_the_pool(template, pool_arn):
    for owner, statement in all_identity_statements(template):
        if any(a.startswith("cognito-idp:") for a in as_list(statement["Action"])):
            assert as_list(statement["Resource"]) == [pool_arn], owner


def test_auth_permissions(template, functions):
    granted = actions(_statements(template, functions, "auth"))
    assert {a for a in granted if a.startswith("cognito-idp:")} == AUTH_COGNITO
    assert {a for a in granted if a.startswith("dynamodb:")} == {
        "dynamodb:BatchGetItem",
        "dynamodb:GetItem",
        "dynamodb:PutItem",
        "dynamodb:UpdateItem",
        "dynamodb:DeleteItem",
    }


def test_auth_updates_and_deletes_only_mfa_sessions(template, functions):
    """TOTP enrolment sessions share the revocation table: updating and deleting are limited to their
    ``mfa#`` keys, so the auth function cannot lift a revocation (decision 0015)."""
    (table_lid,) = [
        lid
        for lid, t in resources(template, "AWS::DynamoDB::Table").items()
        if t.get("Metadata", {}).get("agri:resource") == "revocation"
    ]
    writes = [
        s
        for s in _statements(template, functions, "auth")
        if {"dynamodb:UpdateItem", "dynamodb:DeleteItem"} & set(as_list(s["Action"]))
    ]
    assert len(writes) == 1
    (statement,) = writes
    assert set(as_list(statement["Action"])) == {"dynamodb:UpdateItem", "dynamodb:DeleteItem"}
    assert as_list(statement["Resource"]) == [{"Fn::GetAtt": [table_lid, "Arn"]}]
    assert statement["Condition"] == {"ForAllValues:StringLike": {"dynamodb:LeadingKeys": ["mfa#*"]}}


def test_admin_permissions(template, functions):
    granted = actions(_statements(template, functions, "admin"))
    assert {a for a in granted if a.startswith("cognito-idp:")} == ADMIN_COGNITO
    assert {a for a in granted if a.startswith("dynamodb:")} == {
        "dynamodb:BatchGetItem",
        "dynamodb:GetItem",
        "dynamodb:PutItem",
    }


@pytest.mark.parametrize("name", ["health", "docs"])
def test_public_only_functions_have_no_data_access(template, functions, name):
    granted = actions(_statements(template, functions, name))
    assert granted == {"logs:CreateLogStream", "logs:PutLogEvents", *XRAY}
    assert "REVOCATION_TABLE" not in functions[name][1]["Properties"]["Environment"]["Variables"]


def test_environment_references_resources_not_names(template, functions):
    (table_lid,) = [
        lid
        for lid, t in resources(template, "AWS::DynamoDB::Table").items()
        if t.get("Metadata", {}).get("agri:resource") == "revocation"
    ]
    pool_lid = only(template, "AWS::Cognito::UserPool")[0]
    client_lid = only(template, "AWS::Cognito::UserPoolClient")[0]
    env = {name: f["Properties"]["Environment"]["Variables"] for name, (_, f) in functions.items()}
    for name in ("auth", "admin"):
        assert env[name]["REVOCATION_TABLE"] == {"Ref": table_lid}
        assert env[name]["USER_POOL_ID"] == {"Ref": pool_lid}
    assert env["auth"]["USER_POOL_CLIENT_ID"] == {"Ref": client_lid}
    assert "USER_POOL_CLIENT_ID" not in env["admin"]
    assert env["health"]["CORS_ORIGINS"] == "http://localhost:3000,http://localhost:5173"


def _files(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*") if p.is_file())


def _zip_size(root: Path) -> int:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in _files(root):
            archive.write(path, path.relative_to(root))
    return buffer.tell()


@pytest.mark.parametrize("domain", API_DOMAINS, ids=lambda d: d.name)
def test_function_asset_holds_only_its_domain_and_is_small(synthesized, functions, domain):
    from infra.bundling import SHARED_CODE

    root = synthesized.asset_path(functions[domain.name][0])
    relative = [p.relative_to(root).as_posix() for p in _files(root)]
    assert "functions/__init__.py" in relative and f"functions/{domain.name}/handler.py" in relative
    folders = (domain.name, *SHARED_CODE.get(domain.name, ()))  # the registry reads with functions/ledger's code
    assert all(
        r == "functions/__init__.py" or any(r.startswith(f"functions/{f}/") for f in folders) for r in relative
    ), relative
    assert not any("__pycache__" in r or r.endswith(".pyc") for r in relative)
    assert sum(p.stat().st_size for p in _files(root)) < MAX_ASSET_BYTES
    assert _zip_size(root) < MAX_ASSET_BYTES


def test_common_layer_has_our_package_and_wheels_for_the_runtime(synthesized, template):
    (lid,) = [
        lid
        for lid, r in resources(template, "AWS::Lambda::LayerVersion").items()
        if r["Metadata"]["agri:layer"] == "common"
    ]
    python = synthesized.asset_path(lid) / "python"
    assert (python / "agri_common" / "platform" / "resolver.py").is_file()
    assert (python / "aws_lambda_powertools").is_dir()
    abi = RUNTIME.name.removeprefix("python").replace(".", "")
    binaries = list((python / "pydantic_core").glob("*.so"))
    assert binaries and all(f"cpython-{abi}-x86_64-linux-gnu" in b.name for b in binaries), binaries
    assert not list(python.rglob("__pycache__"))


def test_docs_asset_bundles_swagger_ui_gzipped(synthesized, functions):
    """Swagger UI is served by the docs function on AWS as on the twin: its files ride in the
    function's own asset (gzipped, so the asset stays small), byte-identical to the pinned npm
    package once decompressed, and the handler prefers them to node_modules."""
    import gzip

    from functions.docs import assets

    root = synthesized.asset_path(functions["docs"][0])
    bundled = root / "functions" / "docs" / assets.BUNDLED_DIR.name
    assert sorted(p.name for p in bundled.iterdir()) == sorted(f"{name}.gz" for name in assets.FILES)
    for name in assets.FILES:
        assert gzip.decompress((bundled / f"{name}.gz").read_bytes()) == (assets.SOURCE_DIR / name).read_bytes()
    assert (root / "functions" / "docs" / "assets.py").is_file()
    # the OpenAPI document: gzipped instead of plain, the committed bytes once decompressed
    packed = root / "functions" / "docs" / "openapi.json.gz"
    assert gzip.decompress(packed.read_bytes()) == assets.SPEC.read_bytes()
    assert not (root / "functions" / "docs" / "openapi.json").exists()

"""The two ways ops synthesize: the pinned CDK CLI (v2) and `python app.py`, for both stages (each: three stacks)."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
# A stack name as the README and docs spell it: for a stage (`<stage>`, `dev`, `prod`), with a suffix or not.
STACK_NAME = re.compile(r"AgriMrv-(<stage>|dev|prod)(-[a-z]+)?(?![\w-])")
# Names the docs may use for a stack that does not exist, each with where it is described as not built.
PROPOSED_STACKS: dict[str, str] = {}
# The AWS CLI queries the docs give ops: which stack, then the output or the resource they expect in it.
CLI_QUERY = re.compile(r"--stack-name\s+(AgriMrv-[\w<>-]+)\s+(?:\\\s*)?--query\s+\"([^\"]+)\"")
OUTPUT_KEY = re.compile(r"OutputKey=='(\w+)'")
RESOURCE_TYPE = re.compile(r"ResourceType=='([\w:]+)'")
LOGICAL_ID_PART = re.compile(r"contains\(LogicalResourceId, '(\w+)'\)")
ENV = {
    **os.environ,
    "JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION": "1",
    "JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION": "20",
}


def test_pinned_cdk_cli_synthesizes_prod(tmp_path):
    out = subprocess.run(
        ["npx", "--no-install", "cdk", "--version"], cwd=ROOT, env=ENV, capture_output=True, text=True, timeout=120
    )
    assert out.returncode == 0 and out.stdout.startswith("2."), out.stdout + out.stderr  # v3 rejects today's library
    run = subprocess.run(
        [
            "npx",
            "--no-install",
            "cdk",
            "synth",
            "-c",
            "stage=prod",
            "-c",
            "bundle_layers=false",
            "-c",
            "chain_contract_address=0x" + "ab" * 20,  # prod's real chain needs its registry
            "--output",
            str(tmp_path),
            "--quiet",
        ],
        cwd=ROOT,
        env=ENV,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert run.returncode == 0, run.stdout[-2000:] + run.stderr[-2000:]
    template = json.loads((tmp_path / "AgriMrv-prod.template.json").read_text())  # the data stack
    tables = [r for r in template["Resources"].values() if r["Type"] == "AWS::DynamoDB::Table"]
    assert tables and all(t["DeletionPolicy"] == "Retain" for t in tables)
    app = json.loads((tmp_path / "AgriMrv-prod-app.template.json").read_text())
    assert any(r["Type"] == "AWS::ApiGateway::RestApi" for r in app["Resources"].values())
    pipeline = json.loads((tmp_path / "AgriMrv-prod-pipeline.template.json").read_text())
    assert any(r["Type"] == "AWS::StepFunctions::StateMachine" for r in pipeline["Resources"].values())
    # `cdk deploy --all` (and `cdk list`) put the data stack first, then the pipeline, then the API.
    listed = subprocess.run(
        ["npx", "--no-install", "cdk", "list", "-c", "stage=prod", "-c", "bundle_layers=false", "--app", str(tmp_path)],
        cwd=ROOT,
        env=ENV,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert listed.returncode == 0, listed.stdout[-2000:] + listed.stderr[-2000:]
    assert listed.stdout.split() == ["AgriMrv-prod", "AgriMrv-prod-pipeline", "AgriMrv-prod-app"], listed.stdout
    # ... and every stack the README and docs name (deploy commands, CLI queries, pictures) is one of them.
    assert not _docs_naming_other_stacks(listed.stdout.split(), "prod"), _docs_naming_other_stacks(
        listed.stdout.split(), "prod"
    )
    # ... and every AWS CLI query they give finds its output or resource in the stack it names.
    templates = {name: json.loads((tmp_path / f"{name}.template.json").read_text()) for name in listed.stdout.split()}
    assert not _queries_missing_their_target(templates, "prod"), _queries_missing_their_target(templates, "prod")


def _stack_mentions() -> list[tuple[str, str]]:
    """(file, stack name as written) for every stack name in README.md and docs/**/*.md."""
    found = []
    for path in [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]:
        rel = str(path.relative_to(ROOT))
        found += [(rel, m.group(0)) for m in STACK_NAME.finditer(path.read_text(encoding="utf-8"))]
    return found


def _docs_naming_other_stacks(listed: list[str], stage: str) -> list[str]:
    """Mentions whose name, for ``stage``, is not a stack ``cdk list`` printed (proposals where described)."""
    wrong = []
    for rel, name in _stack_mentions():
        if PROPOSED_STACKS.get(name) == rel:
            continue
        as_stage = re.sub(r"^AgriMrv-(<stage>|dev|prod)", f"AgriMrv-{stage}", name)
        if as_stage not in listed:
            wrong.append(f"{rel}: {name}")
    return wrong


def _cli_queries() -> list[tuple[str, str, str]]:
    """(file, stack, JMESPath query) of every ``aws cloudformation ... --stack-name S --query Q`` in the docs."""
    found = []
    for path in [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]:
        rel = str(path.relative_to(ROOT))
        found += [(rel, stack, query) for stack, query in CLI_QUERY.findall(path.read_text(encoding="utf-8"))]
    return found


def _queries_missing_their_target(templates: dict[str, dict], stage: str) -> list[str]:
    """Queries naming an output, a resource type or a logical-id part that the named stack's template lacks."""
    missing = []
    for rel, stack, query in _cli_queries():
        template = templates.get(re.sub(r"^AgriMrv-(<stage>|dev|prod)", f"AgriMrv-{stage}", stack))
        if template is None:
            missing.append(f"{rel}: {stack}: no such stack")
            continue
        for key in OUTPUT_KEY.findall(query):
            if key not in template.get("Outputs", {}):
                missing.append(f"{rel}: {stack} has no output {key}")
        types, parts = RESOURCE_TYPE.findall(query), LOGICAL_ID_PART.findall(query)
        if types or parts:
            matches = [
                lid
                for lid, res in template["Resources"].items()
                if all(res["Type"] == t for t in types) and all(p in lid for p in parts)
            ]
            if not matches:
                missing.append(f"{rel}: {stack} has no resource {types} {parts}")
    return missing


def test_the_cli_query_check_reads_the_docs_queries():
    """The docs' queries are found (outputs and resources, both stacks), and a query on the wrong stack is
    reported: ``ApiUrl`` read from the data stack, as the docs did before the split was documented."""
    queries = _cli_queries()
    assert {"AgriMrv-prod", "AgriMrv-prod-app"} <= {stack for _, stack, _ in queries}, queries
    assert any("OutputKey=='ApiUrl'" in q for _, _, q in queries)
    assert any("contains(LogicalResourceId" in q for _, _, q in queries)
    data = {
        "Outputs": {"UserPoolId": {}},
        "Resources": {"LedgerChainSigningKey1": {"Type": "AWS::SecretsManager::Secret"}},
    }
    app = {"Outputs": {"ApiUrl": {}}, "Resources": {"LedgerWriterFunction1": {"Type": "AWS::Lambda::Function"}}}
    swapped = {"AgriMrv-prod": app, "AgriMrv-prod-app": data}
    assert any("has no output ApiUrl" in m for m in _queries_missing_their_target(swapped, "prod"))
    assert any("has no output UserPoolId" in m for m in _queries_missing_their_target(swapped, "prod"))


def test_the_stack_name_check_sees_the_docs_names():
    """The check above reads real mentions of both stacks, and would report a stack `cdk list` lacks."""
    names = {name for _, name in _stack_mentions()}
    assert {"AgriMrv-<stage>", "AgriMrv-<stage>-app", "AgriMrv-prod", "AgriMrv-prod-app"} <= names, names
    assert any(w.endswith(": AgriMrv-prod-app") for w in _docs_naming_other_stacks(["AgriMrv-prod"], "prod"))
    assert _docs_naming_other_stacks(["AgriMrv-prod", "AgriMrv-prod-pipeline", "AgriMrv-prod-app"], "prod") == []


def test_python_app_synthesizes_dev(tmp_path):
    run = subprocess.run(
        [sys.executable, "app.py", "-c", "stage=dev", "-c", "bundle_layers=false"],
        cwd=ROOT,
        env={**ENV, "CDK_OUTDIR": str(tmp_path)},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert run.returncode == 0, run.stdout[-2000:] + run.stderr[-2000:]
    data = json.loads((tmp_path / "AgriMrv-dev.template.json").read_text())
    assert data["Outputs"].keys() >= {"UserPoolId", "UserPoolClientId"}
    app = json.loads((tmp_path / "AgriMrv-dev-app.template.json").read_text())
    assert "ApiUrl" in app["Outputs"]

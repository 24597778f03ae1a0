"""The two ways ops synthesize: the pinned CDK CLI (v2) and `python app.py`, for both stages (each: two stacks)."""

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
PROPOSED_STACKS = {"AgriMrv-<stage>-pipeline": "docs/stacks.md"}
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
    # `cdk deploy --all` (and `cdk list`) put the data stack first: the app stack depends on it.
    listed = subprocess.run(
        ["npx", "--no-install", "cdk", "list", "-c", "stage=prod", "-c", "bundle_layers=false", "--app", str(tmp_path)],
        cwd=ROOT,
        env=ENV,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert listed.returncode == 0, listed.stdout[-2000:] + listed.stderr[-2000:]
    assert listed.stdout.split() == ["AgriMrv-prod", "AgriMrv-prod-app"], listed.stdout
    # ... and every stack the README and docs name (deploy commands, CLI queries, pictures) is one of them.
    assert not _docs_naming_other_stacks(listed.stdout.split(), "prod"), _docs_naming_other_stacks(
        listed.stdout.split(), "prod"
    )


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


def test_the_stack_name_check_sees_the_docs_names():
    """The check above reads real mentions of both stacks, and would report a stack `cdk list` lacks."""
    names = {name for _, name in _stack_mentions()}
    assert {"AgriMrv-<stage>", "AgriMrv-<stage>-app", "AgriMrv-prod", "AgriMrv-prod-app"} <= names, names
    assert any(w.endswith(": AgriMrv-prod-app") for w in _docs_naming_other_stacks(["AgriMrv-prod"], "prod"))
    assert _docs_naming_other_stacks(["AgriMrv-prod", "AgriMrv-prod-app"], "prod") == []


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

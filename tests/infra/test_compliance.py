"""cdk-nag and cfn-lint on the synthesized templates (every stack of the app)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

# CDK itself adds DependsOn on a function's role next to the GetAtt of it (W3005, redundant
# dependency); harmless, and not ours to change. Any other warning must be explained here first.
ALLOWED_CFN_LINT_WARNINGS = {"W3005"}


def test_cfn_lint_reports_no_errors(synthesized):
    cfn_lint = Path(sys.executable).with_name("cfn-lint")
    paths = [str(stack.template_path) for stack in synthesized.stacks]
    assert len(paths) == 3
    result = subprocess.run(
        [str(cfn_lint), "--format", "parseable", *paths], capture_output=True, text=True, check=False
    )
    # parseable: <file>:<line>:<col>:<end line>:<end col>:<rule>:<message>
    rules = [_rule(line, paths) for line in result.stdout.splitlines() if line.strip()]
    assert not [r for r in rules if r.startswith("E")], result.stdout
    assert set(rules) <= ALLOWED_CFN_LINT_WARNINGS, result.stdout
    assert result.returncode & 2 == 0, result.stdout + result.stderr  # exit-code bit 2: errors


def _rule(line: str, paths: list[str]) -> str:
    path = next(p for p in paths if line.startswith(p + ":"))
    return line[len(path) + 1 :].split(":")[4]


def test_no_unacknowledged_nag_findings(synthesized):
    """The synth would have raised; the report it leaves must be empty too."""
    report = json.loads((synthesized.outdir / "validation-report.json").read_text())
    violations = [v for plugin in report["pluginReports"] for v in plugin.get("violations", [])]
    assert not violations, json.dumps(violations, indent=1)[:4000]


def test_nag_fails_the_synth_on_a_finding(tmp_path):
    """The checks are really wired into build_app: an unencrypted, unlogged bucket breaks the synth."""
    from aws_cdk import aws_s3 as s3

    from infra.synth import build_app

    app = build_app({"stage": "dev", "bundle_layers": False}, outdir=tmp_path)
    stack = app.node.find_child("AgriMrv-dev")
    s3.Bucket(stack, "CarelessBucket")
    with pytest.raises(Exception, match="ValidationFailed"):
        app.synth()
    report = json.loads((tmp_path / "validation-report.json").read_text())
    rules = {v["ruleName"] for plugin in report["pluginReports"] for v in plugin["violations"]}
    assert "AwsSolutions-S1" in rules and "AwsSolutions-S10" in rules

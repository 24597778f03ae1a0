"""Build and synthesize the CDK app: one code path for app.py, the tests, the benchmark and the twin.

``build_app(context)`` returns the App with the stage's stacks (infra/app_stack.py: the data stack
``AgriMrv-<stage>`` and the stateless ``AgriMrv-<stage>-app``) and the cdk-nag checks;
``synth(stage)`` runs it in-process into ``outdir`` and returns every stack's template, plus the
app's merged template (the stacks' resources with their cross-stack references resolved, what the
local twin runs: infra/local/template.py). cdk.json's context is the base of every
build, so ``python app.py``, ``npx cdk synth`` and ``synth()`` read the same feature flags and stage
settings; explicit context (``-c`` or the ``context`` argument) overrides it.

cdk-nag runs as a CDK validation plugin (``Validations``; v3 crashes as an Aspect): any unacknowledged
finding makes ``app.synth()`` raise and leaves a validation report in the outdir.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
CDK_JSON = ROOT / "cdk.json"

# jsii prints a banner on every run under Node 20 (end of life); it is noise for a synth.
os.environ.setdefault("JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION", "1")
os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")

from aws_cdk import App, Validations  # noqa: E402  (after the environment tweak above)
from cdk_nag import AwsSolutionsChecks  # noqa: E402

from infra.app_stack import build_stacks  # noqa: E402
from infra.config import settings_from_context  # noqa: E402
from infra.local.template import dependency_order, merge_stacks  # noqa: E402

MERGED_TEMPLATE_SUFFIX = ".merged.json"


@dataclass(frozen=True)
class StackTemplate:
    """One synthesized stack: its name, its template (what ``cdk deploy`` deploys) and that file."""

    name: str
    template: dict[str, Any]
    template_path: Path

    def resources(self, resource_type: str | None = None) -> dict[str, dict[str, Any]]:
        """Logical id -> resource, optionally only of one CloudFormation type."""
        items = self.template.get("Resources", {}).items()
        return {lid: res for lid, res in items if resource_type is None or res["Type"] == resource_type}


@dataclass(frozen=True)
class Synthesized:
    """The result of a synth: every stack, the merged app template, and where the cloud assembly lives.

    ``stacks`` are in deployment order (the data stack first). ``template`` is the merged app
    template (:func:`infra.local.template.merge_stacks`), written to ``template_path`` beside the
    assembly: it is what the twin runs and what the tests that look at the whole app read.
    ``stack_name`` is the stage's base name, ``AgriMrv-<stage>`` (the data stack's name).
    """

    template: dict[str, Any]
    template_path: Path
    outdir: Path
    stack_name: str
    stacks: tuple[StackTemplate, ...] = ()

    def stack(self, name: str) -> StackTemplate:
        for stack in self.stacks:
            if stack.name == name:
                return stack
        raise KeyError(f"no stack {name!r}; the app has {[s.name for s in self.stacks]}")

    def resources(self, resource_type: str | None = None) -> dict[str, dict[str, Any]]:
        """Logical id -> resource, optionally only of one CloudFormation type."""
        items = self.template.get("Resources", {}).items()
        return {lid: res for lid, res in items if resource_type is None or res["Type"] == resource_type}

    def asset_path(self, logical_id: str) -> Path:
        """The staged asset folder of a Lambda function or layer (``aws:asset:path`` metadata)."""
        path = self.template["Resources"][logical_id].get("Metadata", {}).get("aws:asset:path")
        if not path:
            raise KeyError(f"{logical_id} has no aws:asset:path metadata")
        return self.outdir / str(path)


def cdk_json_context() -> dict[str, Any]:
    return dict(json.loads(CDK_JSON.read_text(encoding="utf-8")).get("context", {}))


def build_app(context: Mapping[str, Any] | None = None, *, outdir: str | Path | None = "cdk.out") -> App:
    """The App with the stage's stack and cdk-nag. ``context`` overrides cdk.json's context.

    When the CDK CLI runs app.py it passes its own context (cdk.json + ``-c``) in the environment;
    CDK gives that precedence over ``context`` here, and the CLI's own ``--output`` over ``outdir``.
    """
    merged = {**cdk_json_context(), "aws:cdk:enable-asset-metadata": True, **dict(context or {})}
    app_outdir = None if os.environ.get("CDK_OUTDIR") else (str(outdir) if outdir is not None else None)
    app = App(context=merged, outdir=app_outdir, stack_traces=False)
    settings = settings_from_context(app.node.try_get_context)
    build_stacks(app, settings)
    Validations.of(app).add_plugins(AwsSolutionsChecks(app, verbose=True))
    return app


def synth(
    stage: str = "dev", *, bundle: bool = True, outdir: str | Path = "cdk.out", context: Mapping[str, Any] | None = None
) -> Synthesized:
    """Synthesize the stage's stacks into ``outdir`` (relative paths: from the repo root).

    ``bundle=False`` skips the layers' pip step (context ``bundle_layers=false``): same template,
    other layer asset hashes; enough for the template-driven local twin.
    """
    out = Path(outdir)
    out = out if out.is_absolute() else ROOT / out
    app = build_app({**dict(context or {}), "stage": stage, "bundle_layers": bundle}, outdir=out)
    assembly = app.synth()
    directory = Path(assembly.directory)
    stacks = tuple(
        StackTemplate(
            name=artifact.stack_name, template=artifact.template, template_path=directory / artifact.template_file
        )
        for artifact in deployment_order(assembly.stacks)
    )
    stack_name = f"AgriMrv-{stage}"
    merged = merge_stacks([(s.name, s.template) for s in stacks])
    merged_path = directory / f"{stack_name}{MERGED_TEMPLATE_SUFFIX}"
    merged_path.write_text(json.dumps(merged, indent=1), encoding="utf-8")
    return Synthesized(
        template=merged, template_path=merged_path, outdir=directory, stack_name=stack_name, stacks=stacks
    )


def deployment_order(artifacts: Sequence[Any]) -> list[Any]:
    """Stack artifacts ordered so that every stack comes after the stacks it depends on."""
    by_id = {a.id: a for a in artifacts}
    return [by_id[i] for i in dependency_order({a.id: [d.id for d in a.dependencies] for a in artifacts})]

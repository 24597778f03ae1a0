"""Verify: merge the chunks' findings, add the stratum outliers, draw the field sample
(reproducible from the recorded seed), store both in S3 and the sample's summary in DynamoDB."""

from __future__ import annotations

from typing import Any

from agri_common import pipeline_table
from agri_common.single_table import Put
from functions.pipeline import core, crosschecks, sampling
from functions.pipeline.aggregate import iter_rows
from functions.pipeline.models import FindingCounts, PlannedRunInput, VerifyOutput
from functions.pipeline.task import task

ROW_FIELDS = ("plot_id", "season_key", "farmer_id", "fpo_id", "village", "water_regime", "area_ha", "net", "centroid")


def sample_seed(run: core.RunInput) -> int:
    import hashlib

    return int(hashlib.sha256(f"sample:{run.run_id}:g{run.generation}".encode()).hexdigest()[:12], 16)


@task("verify", PlannedRunInput)
def verify(run: PlannedRunInput, ctx: core.Context) -> VerifyOutput:
    count = run.plan.chunk_count
    with ctx.step(run, "verify") as detail:
        project = ctx.project(run)
        rows = [{k: r.get(k) for k in ROW_FIELDS} for r in iter_rows(ctx, run, count)]
        findings = [f for i in range(count) for f in ctx.get_json(core.chunk_key(run, i, "findings.json"))]
        findings += crosschecks.stratum_outliers(rows)
        counts = {s: sum(1 for f in findings if f["severity"] == s) for s in ("info", "warning", "critical")}
        sample = sampling.draw_sample(rows, sample_seed(run), project.confidence, project.target_precision)
        sample.update(run_id=run.run_id, generation=run.generation)
        ctx.put_json(core.findings_key(run), findings)
        ctx.put_json(core.sample_key(run), sample)
        ctx.store.transact(
            [
                Put(
                    pipeline_table.SampleRecord(
                        run_id=run.run_id,
                        project_id=run.project_id,
                        generation=run.generation,
                        seed=sample["seed"],
                        size=sample["size"],
                        strata=sample["strata"],
                        object_key=core.sample_key(run),
                        selected=len(sample["plots"]),
                        created_at=ctx.clock(),
                    ).to_item()
                )
            ]
        )
        detail.update(findings=counts, sample_size=len(sample["plots"]), seed=sample["seed"])
    return VerifyOutput(
        findings_key=core.findings_key(run),
        sample_key=core.sample_key(run),
        counts=FindingCounts.model_validate(counts),
    )


def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return verify(event, core.default_context())

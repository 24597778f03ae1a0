"""Plan: list the project's units (farmers) and write chunk manifests; the state carries indexes only.

Restart: the stored plan of this data generation is reused as is, so chunk boundaries (and the
chunk results already stored) stay valid.
"""

from __future__ import annotations

from typing import Any

from agri_common import pipeline_table
from agri_common.single_table import Put
from functions.pipeline import core
from functions.pipeline.models import PlanOutput, RunInput
from functions.pipeline.sources import FarmSeasonSource, ProjectSeasonSource
from functions.pipeline.task import task


@task("plan", RunInput)
def plan(run: RunInput, ctx: core.Context, source: ProjectSeasonSource, chunk_units: int) -> PlanOutput:
    out = _plan(run, ctx, source, chunk_units)
    # The calculate step's record: each chunk adds to its counters; aggregate closes it.
    ctx.store.transact(
        [
            Put(
                pipeline_table.StepRecord(
                    run_id=run.run_id,
                    step="calculate",
                    attempt=run.attempt,
                    status="running",
                    started_at=ctx.clock(),
                    detail={"chunks": out.chunk_count},
                ).to_item()
            )
        ]
    )
    return out


def _plan(run: RunInput, ctx: core.Context, source: ProjectSeasonSource, chunk_units: int) -> PlanOutput:
    with ctx.step(run, "plan") as detail:
        key = core.plan_key(run)
        if ctx.objects.exists(key):
            stored = ctx.get_json(key)
            detail.update(reused=True, chunks=stored["chunk_count"], units=stored["units"])
            return PlanOutput(chunks=list(range(stored["chunk_count"])), chunk_count=stored["chunk_count"])
        project = ctx.project(run)
        units = list(source.plan_units(project.fpo_ids))
        if not units:
            raise ValueError(f"no farmers in FPOs {project.fpo_ids}: nothing to calculate")
        groups = [units[i : i + chunk_units] for i in range(0, len(units), chunk_units)]
        for index, group in enumerate(groups):
            ctx.put_json(core.manifest_key(run, index), {"index": index, "units": group, "period": run.period})
        ctx.put_json(key, {"chunk_count": len(groups), "units": len(units), "chunk_units": chunk_units})
        detail.update(reused=False, chunks=len(groups), units=len(units))
    return PlanOutput(chunks=list(range(len(groups))), chunk_count=len(groups))


def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    from agri_common.platform.settings import load_settings
    from agri_common.single_table import DynamoTableStore

    s = load_settings(core.PipelineSettings)
    return plan(event, core.default_context(), FarmSeasonSource(DynamoTableStore(core.farm_table())), s.chunk_units)

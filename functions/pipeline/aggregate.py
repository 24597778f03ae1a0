"""Aggregate: sum the chunks' per-draw totals, summarise with the engine's own statistics and
profile rules, sum each farmer's net (the ledger's split), store the summary in S3 and DynamoDB,
and each FPO's share of the run (one small item per FPO and run: the FPO dashboard reads those).

A conservative profile (vm0042_qa3) takes two passes over the chunks: the state machine first
invokes this function with ``phase: "choose"`` (:func:`choose`: the factor choice over the summed
chunk sensitivities), then runs pass 2 per chunk (``basis.py``), then :func:`aggregate`, which uses
the summed pass-2 basis for the rules (see carbon_engine/chunks.py).
"""

from __future__ import annotations

import hashlib
import json
import operator
from collections.abc import Iterator
from decimal import Decimal
from functools import reduce
from typing import Any

from agri_common import pipeline_objects, pipeline_table
from agri_common.single_table import MAX_TRANSACTION_OPS, Check, Put, Update, iter_chunks
from functions.pipeline import core
from functions.pipeline.approved_run import tonnes
from functions.pipeline.calculate import engine_settings, run_seed
from functions.pipeline.models import AggregateInput, AggregateOutput, ChooseInput, ChooseOutput
from functions.pipeline.task import task

FPO_SUMS = {
    "emissions_baseline_t": "emissions_baseline",
    "emissions_project_t": "emissions_project",
    "removals_t": "removals",
    "net_t": "net",
}  # FpoRunRecord field -> per-plot row field (t CO2e)


def iter_rows(ctx: core.Context, run: core.RunInput, chunk_count: int) -> Iterator[dict[str, Any]]:
    for index in range(chunk_count):
        for line in ctx.objects.get(core.chunk_key(run, index, pipeline_objects.ROWS)).decode().splitlines():
            if line:
                yield json.loads(line)


def close_step(ctx: core.Context, run: core.RunInput, name: str) -> None:
    """Mark a step whose work ran in a Map (calculate, conservative_basis) as succeeded, if this attempt opened it."""
    record = pipeline_table.StepRecord.from_item(ctx.store.get(pipeline_table.step(run.run_id, name)))
    if record is not None and record.attempt == run.attempt:
        ctx.store.transact([Update(record.key(), set={"status": "succeeded", "finished_at": ctx.clock()})])


def is_conservative(project: pipeline_table.ProjectRecord) -> bool:
    from carbon_engine.profiles import PROFILES

    return PROFILES[project.profile].factor_choice == "conservative"


@task("conservative_choice", ChooseInput)
def choose(run: ChooseInput, ctx: core.Context) -> ChooseOutput:
    """Conservative profiles: sum the chunks' sensitivities, choose the factors once for the project,
    store the choice; returns the chunk indexes pass 2 must evaluate (none for other profiles).
    Deterministic: a restart makes the same choice (same digest), so stored pass-2 results are reused."""
    from carbon_engine import Sensitivity, choose_conservative

    project = ctx.project(run)
    if not is_conservative(project):
        return ChooseOutput(chunks=[])
    count = run.plan.chunk_count
    close_step(ctx, run, "calculate")
    with ctx.step(run, "conservative_choice") as detail:
        indexes = [i for i in range(count) if ctx.objects.exists(core.sensitivity_key(run, i))]
        if not indexes:
            raise ValueError("no computable plot-season in this run")
        total = reduce(
            operator.add, (Sensitivity.from_json(ctx.get_json(core.sensitivity_key(run, i))) for i in indexes)
        )
        chosen = choose_conservative(total)
        digest = hashlib.sha256(core.dumps(chosen)).hexdigest()[:16]
        ctx.put_json(
            core.choice_key(run),
            {"chosen": chosen, "digest": digest, "chunks": indexes, "sensitivity": total.to_json()},
        )
        detail.update(factors_at_bound=len(chosen), chunks=len(indexes), digest=digest)
    # pass 2's record: aggregate closes it (a failing chunk leaves it running, so the outcome names it)
    ctx.store.transact(
        [
            Put(
                pipeline_table.StepRecord(
                    run_id=run.run_id,
                    step="conservative_basis",
                    attempt=run.attempt,
                    status="running",
                    started_at=ctx.clock(),
                    detail={"chunks": len(indexes), "digest": digest},
                ).to_item()
            )
        ]
    )
    return ChooseOutput(chunks=indexes)


def conservative_basis(ctx: core.Context, run: core.RunInput) -> tuple[dict[str, Any], dict[str, float]]:
    """The stored choice and the sum of the chunks' pass-2 results made with it."""
    from carbon_engine import sum_basis

    choice = ctx.get_json(core.choice_key(run))
    return choice, sum_basis(ctx.get_json(core.basis_key(run, i, choice["digest"])) for i in choice["chunks"])


@task("aggregate", AggregateInput)
def aggregate(run: AggregateInput, ctx: core.Context) -> AggregateOutput:
    from carbon_engine import ChunkTotals, sum_totals, summarize_totals

    count = run.plan.chunk_count
    close_step(ctx, run, "calculate")
    with ctx.step(run, "aggregate") as detail:
        project = ctx.project(run)
        parts = [
            ChunkTotals.from_npz(ctx.objects.get(core.chunk_key(run, i, "totals.npz")))
            for i in range(count)
            if ctx.objects.exists(core.chunk_key(run, i, "totals.npz"))
        ]
        if not parts:
            raise ValueError("no computable plot-season in this run")
        settings = engine_settings(project, run_seed(run.run_id))
        if is_conservative(project):
            choice, basis = conservative_basis(ctx, run)
            summary = summarize_totals(settings, sum_totals(parts), basis=basis)
            summary["conservative_factors"] = choice["chosen"]
            close_step(ctx, run, "conservative_basis")
        else:
            summary = summarize_totals(settings, sum_totals(parts))
        farmers: dict[str, dict[str, Any]] = {}
        fpos = {fpo_id: fpo_sums() for fpo_id in project.fpo_ids}  # every FPO: a rerun leaves none stale
        for row in iter_rows(ctx, run, count):
            f = farmers.setdefault(
                row["farmer_id"],
                {
                    "farmer_id": row["farmer_id"],
                    "owner_user_id": row["owner_user_id"],
                    "fpo_id": row["fpo_id"],
                    "net_t": 0.0,
                },
            )
            f["net_t"] += row["net"]
            sums = fpos.setdefault(row["fpo_id"], fpo_sums())
            sums["plot_seasons"] += 1
            sums["area_ha"] += row["area_ha"]
            for name, field in FPO_SUMS.items():
                sums[name] += row[field]
        ctx.put_json(core.summary_key(run), summary)
        ctx.put_json(core.contributions_key(run), sorted(farmers.values(), key=lambda f: f["farmer_id"]))
        total = summary["total"]
        brief = {
            "plots": summary["plots"],
            "net_t": total["net"]["point"],
            "net_ci90": total["net"]["mc"]["ci"]["90"],
            "net_half_width_pct_90": total["net"]["mc"]["half_width_pct"]["90"],
            "net_in_scope_t": total["net_in_scope"]["point"],
            "creditable_basis_t": total["creditable_basis"],
            "creditable_net_t": total["creditable_net"],
            "eligible": total["eligible"],
            "methodology_findings": [f["id"] for f in total.get("findings", [])],
            "deductions_t": {d["rule"]: d["t_co2e"] for d in total["deductions"]},
            "farmers": len(farmers),
        }
        write_fpo_shares(ctx, run, fpo_shares(run, fpos, farmers, total["creditable_net"]))
        ctx.set_run(run, summary=brief)
        detail.update(brief, fpos=len(fpos))
    return AggregateOutput(summary_key=core.summary_key(run), plots=summary["plots"])


def fpo_sums() -> dict[str, Any]:
    return {"plot_seasons": 0, "area_ha": 0.0, **{name: 0.0 for name in FPO_SUMS}}


def fpo_shares(
    run: core.RunInput, fpos: dict[str, dict[str, Any]], farmers: dict[str, dict[str, Any]], creditable_net: float
) -> list[pipeline_table.FpoRunRecord]:
    """Each FPO's sums, and its share of the creditable net on the ledger's basis: the ledger splits
    a run's credits over farmers pro rata to ``tonnes(net_t)`` (non-negative, 6 decimals), so an
    FPO's share is the creditable net times its farmers' weights over all farmers' weights."""
    weights = {fpo_id: Decimal(0) for fpo_id in fpos}
    members = dict.fromkeys(fpos, 0)
    for f in farmers.values():
        weights[f["fpo_id"]] += Decimal(tonnes(f["net_t"]))
        members[f["fpo_id"]] += 1
    whole = sum(weights.values(), Decimal(0))
    creditable = Decimal(tonnes(creditable_net))
    return [
        pipeline_table.FpoRunRecord(
            fpo_id=fpo_id,
            project_id=run.project_id,
            run_id=run.run_id,
            period=run.period,
            attempt=run.attempt,
            generation=run.generation,
            plot_seasons=sums["plot_seasons"],
            farmers=members[fpo_id],
            **{name: round(sums[name], 6) for name in ("area_ha", *FPO_SUMS)},
            creditable_net_share_t=round(float(creditable * weights[fpo_id] / whole), 6) if whole else 0.0,
        )
        for fpo_id, sums in sorted(fpos.items())
    ]


def write_fpo_shares(ctx: core.Context, run: core.RunInput, records: list[pipeline_table.FpoRunRecord]) -> None:
    """Overwrite the FPOs' items (a retry writes the same values), only while the run is still this
    attempt (as ``set_run``): a late retry of an older attempt cannot replace a newer one's figures."""
    guard = Check(pipeline_table.run(run.project_id, run.run_id), expect={"attempt": run.attempt})
    for part in iter_chunks(records, MAX_TRANSACTION_OPS - 1):
        ctx.store.transact([guard, *(Put(r.to_item()) for r in part)])


def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Two states, one function: ChooseFactors (``phase: "choose"``) and Aggregate."""
    if event.get("phase") == "choose":
        return choose(event, core.default_context())
    return aggregate(event, core.default_context())

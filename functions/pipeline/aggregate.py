"""Aggregate: sum the chunks' per-draw totals, summarise with the engine's own statistics and
profile rules, sum each farmer's net (the ledger's split), store the summary in S3 and DynamoDB.

A conservative profile (vm0042_qa3) takes two passes over the chunks: the state machine first
invokes this function with ``phase: "choose"`` (:func:`choose`: the factor choice over the summed
chunk sensitivities), then runs pass 2 per chunk (``basis.py``), then :func:`aggregate`, which uses
the summed pass-2 basis for the rules (see carbon_engine/chunks.py).
"""

from __future__ import annotations

import hashlib
import json
import operator
from functools import reduce
from typing import Any

from agri_common import mrv
from agri_common.farm.store import Put, Update

from functions.pipeline import core
from functions.pipeline.calculate import engine_settings, run_seed


def iter_rows(ctx: core.Context, run: core.RunInput, chunk_count: int):
    for index in range(chunk_count):
        for line in ctx.objects.get(core.chunk_key(run, index, "rows.jsonl")).decode().splitlines():
            if line:
                yield json.loads(line)


def close_step(ctx: core.Context, run: core.RunInput, name: str) -> None:
    """Mark a step whose work ran in a Map (calculate, conservative_basis) as succeeded, if this attempt opened it."""
    record = mrv.StepRecord.from_item(ctx.store.get(mrv.step(run.run_id, name)))
    if record is not None and record.attempt == run.attempt:
        ctx.store.transact([Update(record.key(), set={"status": "succeeded", "finished_at": ctx.clock()})])


def is_conservative(project: mrv.ProjectRecord) -> bool:
    from carbon_engine.profiles import PROFILES

    return PROFILES[project.profile].factor_choice == "conservative"


def choose(event: dict, ctx: core.Context) -> dict:
    """Conservative profiles: sum the chunks' sensitivities, choose the factors once for the project,
    store the choice; returns the chunk indexes pass 2 must evaluate (none for other profiles).
    Deterministic: a restart makes the same choice (same digest), so stored pass-2 results are reused."""
    from carbon_engine import Sensitivity, choose_conservative

    run = core.RunInput.model_validate(event)
    project = ctx.project(run)
    if not is_conservative(project):
        return {"chunks": []}
    count = int(event["plan"]["chunk_count"])
    close_step(ctx, run, "calculate")
    with ctx.step(run, "conservative_choice") as detail:
        indexes = [i for i in range(count) if ctx.objects.exists(core.sensitivity_key(run, i))]
        if not indexes:
            raise ValueError("no computable plot-season in this run")
        total = reduce(operator.add, (Sensitivity.from_json(ctx.get_json(core.sensitivity_key(run, i))) for i in indexes))
        chosen = choose_conservative(total)
        digest = hashlib.sha256(core.dumps(chosen)).hexdigest()[:16]
        ctx.put_json(core.choice_key(run), {"chosen": chosen, "digest": digest, "chunks": indexes,
                                            "sensitivity": total.to_json()})
        detail.update(factors_at_bound=len(chosen), chunks=len(indexes), digest=digest)
    # pass 2's record: aggregate closes it (a failing chunk leaves it running, so the outcome names it)
    ctx.store.transact([Put(mrv.StepRecord(run_id=run.run_id, step="conservative_basis", attempt=run.attempt,
                                           status="running", started_at=ctx.clock(),
                                           detail={"chunks": len(indexes), "digest": digest}).to_item())])
    return {"chunks": indexes}


def conservative_basis(ctx: core.Context, run: core.RunInput) -> tuple[dict, dict[str, float]]:
    """The stored choice and the sum of the chunks' pass-2 results made with it."""
    from carbon_engine import sum_basis

    choice = ctx.get_json(core.choice_key(run))
    return choice, sum_basis(ctx.get_json(core.basis_key(run, i, choice["digest"])) for i in choice["chunks"])


def aggregate(event: dict, ctx: core.Context) -> dict:
    from carbon_engine import ChunkTotals, sum_totals, summarize_totals

    run = core.RunInput.model_validate(event)
    count = int(event["plan"]["chunk_count"])
    close_step(ctx, run, "calculate")
    with ctx.step(run, "aggregate") as detail:
        project = ctx.project(run)
        parts = [ChunkTotals.from_npz(ctx.objects.get(core.chunk_key(run, i, "totals.npz")))
                 for i in range(count) if ctx.objects.exists(core.chunk_key(run, i, "totals.npz"))]
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
        farmers: dict[str, dict] = {}
        for row in iter_rows(ctx, run, count):
            f = farmers.setdefault(row["farmer_id"], {"farmer_id": row["farmer_id"], "owner_user_id": row["owner_user_id"],
                                                      "fpo_id": row["fpo_id"], "net_t": 0.0})
            f["net_t"] += row["net"]
        ctx.put_json(core.summary_key(run), summary)
        ctx.put_json(core.contributions_key(run), sorted(farmers.values(), key=lambda f: f["farmer_id"]))
        total = summary["total"]
        brief = {"plots": summary["plots"], "net_t": total["net"]["point"], "net_ci90": total["net"]["mc"]["ci"]["90"],
                 "net_half_width_pct_90": total["net"]["mc"]["half_width_pct"]["90"],
                 "creditable_net_t": total["creditable_net"], "eligible": total["eligible"],
                 "deductions_t": {d["rule"]: d["t_co2e"] for d in total["deductions"]}, "farmers": len(farmers)}
        ctx.set_run(run, summary=brief)
        detail.update(brief)
    return {"summary_key": core.summary_key(run), "plots": summary["plots"]}


def lambda_handler(event: dict, context: Any) -> dict:
    if event.get("phase") == "choose":
        return choose(event, core.default_context())
    return aggregate(event, core.default_context())

"""Aggregate: sum the chunks' per-draw totals, summarise with the engine's own statistics and
profile rules, sum each farmer's net (the ledger's split), store the summary in S3 and DynamoDB."""

from __future__ import annotations

import json
from typing import Any

from agri_common import mrv
from agri_common.farm.store import Update

from functions.pipeline import core
from functions.pipeline.calculate import engine_settings, run_seed


def iter_rows(ctx: core.Context, run: core.RunInput, chunk_count: int):
    for index in range(chunk_count):
        for line in ctx.objects.get(core.chunk_key(run, index, "rows.jsonl")).decode().splitlines():
            if line:
                yield json.loads(line)


def aggregate(event: dict, ctx: core.Context) -> dict:
    from carbon_engine import ChunkTotals, sum_totals, summarize_totals

    run = core.RunInput.model_validate(event)
    count = int(event["plan"]["chunk_count"])
    calc = mrv.StepRecord.from_item(ctx.store.get(mrv.step(run.run_id, "calculate")))
    if calc is not None and calc.attempt == run.attempt:
        ctx.store.transact([Update(calc.key(), set={"status": "succeeded", "finished_at": ctx.clock()})])
    with ctx.step(run, "aggregate") as detail:
        project = ctx.project(run)
        parts = [ChunkTotals.from_npz(ctx.objects.get(core.chunk_key(run, i, "totals.npz")))
                 for i in range(count) if ctx.objects.exists(core.chunk_key(run, i, "totals.npz"))]
        if not parts:
            raise ValueError("no computable plot-season in this run")
        summary = summarize_totals(engine_settings(project, run_seed(run.run_id)), sum_totals(parts))
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
    return aggregate(event, core.default_context())

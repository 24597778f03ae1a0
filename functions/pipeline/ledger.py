"""Ledger: build issue #6's approved run from the stored results and the auditor's decision, and
hand it to the ledger writer (its function, invoked synchronously by name).

Why a relay task instead of the state machine invoking the writer with the run in its state: the
approved run lists every farmer's contribution (up to the writer's 5,000), far beyond Step
Functions' 256 KB state (and SendTaskSuccess output) limit. The writer takes the run inline, so
this task reads it from S3 and passes it; the state keeps only the writer's small answer. If the
writer accepted an S3 reference, the state machine could invoke it directly.
"""

from __future__ import annotations

import json
from decimal import ROUND_DOWN, Decimal
from typing import Any, Callable

from agri_common import mrv

from functions.pipeline import core


def tonnes(value: float) -> str:
    """Non-negative tonnes with 6 decimals, rounded down (the ledger's Tonnes; never over-credit)."""
    return str(Decimal(max(0.0, value)).quantize(Decimal("0.000001"), rounding=ROUND_DOWN))


def approved_run(ctx: core.Context, run: core.RunInput, decision: dict) -> dict:
    project = ctx.project(run)
    totals = ctx.get_json(core.summary_key(run))["total"]
    contributions = ctx.get_json(core.contributions_key(run))
    return {"project_id": project.project_id, "run_id": run.run_id, "vintage": int(run.period[:4]),
            "methodology_profile": project.profile, "gwp": project.gwp, "approved_by": decision["decided_by"],
            "approved_at": decision["decided_at"][:19] + "Z",
            "deductions": {d["rule"]: tonnes(d["t_co2e"]) for d in totals["deductions"]},
            "creditable_net_t": tonnes(totals["creditable_net"]),
            "farmers": [{"farmer_id": f["farmer_id"], "owner_user_id": f["owner_user_id"] or f["farmer_id"],
                         "fpo_id": f["fpo_id"], "net_t": tonnes(f["net_t"])} for f in contributions]}


def small(value: Any, depth: int = 0) -> Any:
    """The writer's answer without bulk lists (the state stays small)."""
    if isinstance(value, dict):
        return {k: small(v, depth + 1) for k, v in value.items() if not (isinstance(v, list) and len(v) > 20)}
    return value


def issue(event: dict, ctx: core.Context, invoke: Callable[[dict], dict]) -> dict:
    run = core.RunInput.model_validate(event)
    with ctx.step(run, "ledger") as detail:
        task = mrv.TaskRecord.from_item(ctx.store.get(mrv.task(mrv.task_id(run.run_id, run.attempt))))
        if task is None or not task.decision or task.decision.get("decision") != "approve":
            raise ValueError("no approval recorded for this run attempt")
        answer = invoke({"command": "issue", "run": approved_run(ctx, run, task.decision)})
        detail.update(ok=bool(answer.get("ok")), error=answer.get("error"))
    return {"ok": bool(answer.get("ok")), "result": small(answer.get("result")), "error": answer.get("error")}


def lambda_invoker(function_name: str) -> Callable[[dict], dict]:
    def invoke(payload: dict) -> dict:
        from agri_common.aws import client

        resp = client("lambda").invoke(FunctionName=function_name, Payload=json.dumps(payload).encode())
        body = json.loads(resp["Payload"].read() or b"null")
        if resp.get("FunctionError"):
            raise RuntimeError(f"ledger writer failed: {body}")
        return body

    return invoke


def lambda_handler(event: dict, context: Any) -> dict:
    from agri_common.settings import load_settings

    return issue(event, core.default_context(), lambda_invoker(load_settings(core.PipelineSettings).ledger_writer_function))

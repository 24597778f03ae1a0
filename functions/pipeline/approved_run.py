"""Ledger: build the ledger's approved run from the stored results and the auditor's decision, and
store it where the ledger writer reads it.

The approved run lists every farmer's contribution: a 1,000,000 plot-season project has hundreds
of thousands of farmers, far beyond Step Functions' 256 KB state and Lambda's 6 MB payload. So this
task writes the run as JSON under ``ledger/approved/`` of the audit bucket (Object Lock: the run
that was approved and issued stays on record) and returns only its reference ``{key, sha256}``.
The state machine then invokes the writer directly, one page of farmers per call, looping on the
writer's ``next_farmer`` (see infra/pipeline.py); the writer refuses an object whose bytes do not
hash to the reference.

Idempotent: the JSON is canonical and built from stored results, so a retry writes the same bytes
(a new object version under Object Lock, with the same SHA-256).
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import ROUND_DOWN, Decimal
from typing import Any

from agri_common import pipeline_table
from agri_common.ledger_crypto import canonical_json, sha256_hex
from functions.pipeline import core
from functions.pipeline.models import ApprovedRunOutput, RunInput, RunRef
from functions.pipeline.task import task


def tonnes(value: float) -> str:
    """Non-negative tonnes with 6 decimals, rounded down (the ledger's Tonnes; never over-credit)."""
    return str(Decimal(max(0.0, value)).quantize(Decimal("0.000001"), rounding=ROUND_DOWN))


def approved_run(ctx: core.Context, run: RunInput, decision: dict[str, Any]) -> dict[str, Any]:
    project = ctx.project(run)
    totals = ctx.get_json(core.summary_key(run))["total"]
    contributions = ctx.get_json(core.contributions_key(run))
    return {
        "project_id": project.project_id,
        "run_id": run.run_id,
        "vintage": int(run.period[:4]),
        "methodology_profile": project.profile,
        "gwp": project.gwp,
        "approved_by": decision["decided_by"],
        "approved_at": decision["decided_at"][:19] + "Z",
        "deductions": {d["rule"]: tonnes(d["t_co2e"]) for d in totals["deductions"]},
        "creditable_net_t": tonnes(totals["creditable_net"]),
        "farmers": [
            {
                "farmer_id": f["farmer_id"],
                "owner_user_id": f["owner_user_id"] or f["farmer_id"],
                "fpo_id": f["fpo_id"],
                "net_t": tonnes(f["net_t"]),
            }
            for f in contributions
        ],
    }


def approved_key(run: RunInput) -> str:
    return f"ledger/approved/{run.project_id}/{run.run_id}/a{run.attempt}.json"


@task("ledger", RunInput)
def prepare(run: RunInput, ctx: core.Context, put_artifact: Callable[[str, bytes], None]) -> ApprovedRunOutput:
    """Store the approved run for the writer; return the first page's writer input."""
    with ctx.step(run, "ledger") as detail:
        task = pipeline_table.TaskRecord.from_item(
            ctx.store.get(pipeline_table.task(pipeline_table.task_id(run.run_id, run.attempt)))
        )
        if task is None or not task.decision or task.decision.get("decision") != "approve":
            raise ValueError("no approval recorded for this run attempt")
        approved = approved_run(ctx, run, task.decision)
        data = canonical_json(approved)
        key = approved_key(run)
        put_artifact(key, data)
        detail.update(run_ref=key, farmers=len(approved["farmers"]), creditable_net_t=approved["creditable_net_t"])
    return ApprovedRunOutput(
        run_ref=RunRef(key=key, sha256=sha256_hex(data)), from_farmer=0, farmers=len(approved["farmers"])
    )


def audit_uploader(bucket: str) -> Callable[[str, bytes], None]:
    def put(key: str, data: bytes) -> None:
        from agri_common.platform.aws import client

        client("s3").put_object(
            Bucket=bucket, Key=key, Body=data, ContentType="application/json", ChecksumAlgorithm="SHA256"
        )

    return put


def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return prepare(event, core.default_context(), audit_uploader(core.audit_bucket()))

"""Reports: per run attempt, a monitoring report (results; written before the auditor's review)
and a verification report (findings, sample design and plots, the auditor's decision and completed
checklist; written once the auditor decided, before the ledger acts), each as PDF (tables; a bar
chart of emissions by source and a histogram of the net's Monte Carlo distribution from the stored
draws) and Excel (one sheet per table).

Stored in the audit bucket (Object Lock, default retention) under ``reports/<report_id>/`` with
``ChecksumSHA256`` (S3 verifies the bytes) and the hex SHA-256 recorded in the report item.
Deterministic keys: a retry overwrites nothing that differs in content semantics (a new version
under Object Lock; the item records the last one).

Stored text (project, village and plot names, finding messages, the auditor's reason and notes)
is data in every file: each Excel cell goes through ``agri_common.sheets`` (text typed as a string,
never a formula; characters XLSX cannot carry replaced); the PDF (``report_pdf``, drawn with
``agri_common.pdf``: fpdf2, HarfBuzz shaping, embedded Noto fonts for every Indian script) draws
text as text, never as markup, with control characters replaced.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Literal, Protocol

from agri_common import pipeline_table
from agri_common.sheets import Interval, Kind, Sheet, workbook
from agri_common.single_table import Put
from functions.pipeline import core, report_data, report_pdf
from functions.pipeline.models import MonitoringReportInput, PlannedRunInput, ReportsOutput, VerificationReportInput
from functions.pipeline.task import task

if TYPE_CHECKING:
    import numpy as np
    from numpy.typing import NDArray

SOURCES = ("CH4", "N2O", "CO2")


def net_draws(ctx: core.Context, run: core.RunInput, chunk_count: int) -> NDArray[np.float64]:
    from carbon_engine import ChunkTotals, sum_totals

    parts = [
        ChunkTotals.from_npz(ctx.objects.get(core.chunk_key(run, i, "totals.npz")))
        for i in range(chunk_count)
        if ctx.objects.exists(core.chunk_key(run, i, "totals.npz"))
    ]
    net: NDArray[np.float64] = sum_totals(parts).draws["net"]
    return net


def tables(
    kind: str,
    project: pipeline_table.ProjectRecord,
    run: core.RunInput,
    summary: dict[str, Any],
    findings: list[Any],
    sample: dict[str, Any],
    decision: dict[str, Any] | None = None,
    annex: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """The workbook's sheets. ``annex``: the plot-season rows the PDF's annex prints (the same rows, the same
    numbers; each net 90 % interval as two numeric columns)."""
    total = summary["total"]
    overview = [
        ["Field", "Value"],
        ["Project", f"{project.name} ({project.project_id})"],
        ["Run", run.run_id],
        ["Attempt", run.attempt],
        ["Period", run.period],
        ["Methodology profile", summary["profile"]],
        ["GWP", summary["gwp"]["name"]],
        ["Plot-seasons", summary["plots"]],
        ["Monte Carlo draws", summary["draws"]],
        ["Net (t CO2e, point)", round(total["net"]["point"], 3)],
        ["Net 90 % CI", Interval(*total["net"]["mc"]["ci"]["90"])],  # printed "lower to upper"; two numbers in Excel
        ["In-scope net (t CO2e, counted by the profile)", round(total["net_in_scope"]["point"], 3)]
        if total.get("net_in_scope")
        else ["In-scope net (t CO2e, counted by the profile)", None],
        ["Creditable basis (t CO2e, profile factor choice)", round(total["creditable_basis"], 3)],
        ["Creditable net (t CO2e)", round(total["creditable_net"], 3)],
        ["Eligible", total["eligible"]],
    ]
    gases = [["Gas", "Baseline t CO2e", "Project t CO2e", "Reduction t CO2e"]] + [
        [
            g,
            round(total["gases"][g]["baseline"]["point"], 3),
            round(total["gases"][g]["project"]["point"], 3),
            round(total["gases"][g]["reduction"]["point"], 3),
        ]
        for g in SOURCES
    ]
    deductions = [["Rule", "t CO2e", "Equation", "Section", "Status", "Source", "Note"]] + [
        [
            d["rule"],
            round(d["t_co2e"], 3),
            d.get("equation", ""),
            d.get("section", ""),
            d.get("status", ""),
            d["source"],
            d.get("note", ""),
        ]
        for d in total["deductions"]
    ]
    scope = [["Finding", "Status", "Text"]] + [
        [f["id"], f.get("status", ""), f["text"]] for f in total.get("findings", [])
    ]
    out = {"Overview": overview, "Emissions by gas": gases, "Deductions": deductions, "Methodology findings": scope}
    if kind == "verification":
        out["Findings"] = [["Check", "Severity", "Plot", "Season", "Message"]] + [
            [f["check"], f["severity"], f["plot_id"], f["season_key"], f["message"]] for f in findings
        ]
        out["Sample strata"] = [["Village", "Water regime", "Population", "Area ha", "Allocated"]] + [
            [s["village"], s["water_regime"], s["population"], round(s["area_ha"], 3), s["allocated"]]
            for s in sample["strata"]
        ]
        out["Sample plots"] = [["Plot", "Season", "Village", "Regime", "Area ha", "Lon", "Lat"]] + [
            [
                p["plot_id"],
                p["season_key"],
                p["village"],
                p["water_regime"],
                round(p["area_ha"], 3),
                *(p.get("centroid") or [None, None]),
            ]
            for p in sample["plots"]
        ]
        size = sample["size"]
        out["Sample design"] = [
            ["Field", "Value"],
            ["Seed", sample["seed"]],
            ["Generator", sample["generator"]],
            ["Formula", size["formula"]],
            ["z", round(size["z"], 4)],
            ["CV", round(size["cv"], 4)],
            ["E", size["precision"]],
            ["n0", round(size["n0"], 2)],
            ["n (FPC)", round(size["n_fpc"], 2)],
            ["Allocation", sample["allocation"]],
        ]
        decision = decision or {}
        out["Decision"] = [
            ["Field", "Value"],
            ["Decision", decision.get("decision")],
            ["Reason", decision.get("reason")],
            ["Auditor (user id)", decision.get("decided_by")],
            ["Decided at", decision.get("decided_at")],
        ]
        out["Checklist"] = [["Item", "Answer", "Note"]] + [
            [item, answer.get("answer"), answer.get("note")]
            for item, answer in sorted((decision.get("checklist") or {}).items())
        ]
        out["Auditor findings"] = [["Severity", "Plot", "Season", "Message"]] + [
            [f.get("severity"), f.get("plot_id"), f.get("season_key"), f.get("message")]
            for f in decision.get("findings") or []
        ]
    if annex is not None:
        out["Plot-seasons"] = [ANNEX_HEADER] + [
            [
                r["plot_id"],
                r["season_key"],
                r.get("farmer_id"),
                r.get("village"),
                r.get("crop"),
                r.get("water_regime"),
                *(_tonnes(r.get(k)) for k in ANNEX_NUMBERS),
            ]
            for r in annex
        ]
    return out


ANNEX_NUMBERS = (
    "area_ha",
    "emissions_baseline",
    "emissions_project",
    "removals",
    "net",
    "net_ci90_low",
    "net_ci90_high",
)
ANNEX_HEADER = [
    "Plot",
    "Season",
    "Farmer",
    "Village",
    "Crop",
    "Water regime",
    "Area ha",
    "Baseline t CO2e",
    "Project t CO2e",
    "Removals t CO2e",
    "Net t CO2e",
    "Net 90 % low t CO2e",
    "Net 90 % high t CO2e",
]


def _tonnes(value: Any) -> float | None:
    """A stored per-plot figure to three places (the PDF prints the same rounding); None stays empty."""
    return None if value is None else round(float(value), 3)


# Cells that are not plain numbers/text in the workbooks (agri_common.sheets: by header, or by field in
# a Field/Value sheet): timestamps as dates, coordinates and design parameters at their own precision.
XLSX_KINDS: dict[str, dict[str, Kind]] = {"Decision": {"Decided at": "datetime"}}
XLSX_FORMATS = {
    "Sample plots": {"Lon": "0.000000", "Lat": "0.000000"},
    "Sample design": {"z": "0.0000", "CV": "0.0000", "E": "0.00", "n0": "0.00", "n (FPC)": "0.00"},
}


def xlsx(sheets: dict[str, list[list[Any]]]) -> bytes:
    """The tables as a workbook, one formatted table per sheet (agri_common.sheets: bold frozen header,
    autofilter, widths, numbers as numbers, dates as dates, an Interval as lower/upper numbers, text
    always a string cell)."""
    return workbook(
        Sheet(name, rows[0], rows[1:], XLSX_KINDS.get(name, {}), XLSX_FORMATS.get(name, {}))
        for name, rows in sheets.items()
    )


def plot_shapes(ctx: core.Context) -> report_data.PlotShapes | None:
    """Where the map's plot boundaries come from: ``ctx.extra["plot_shapes"]`` when given, else the
    farm table (``FARM_TABLE``), else none (the map draws each plot's centroid)."""
    import os

    if "plot_shapes" in ctx.extra:
        return ctx.extra["plot_shapes"]  # type: ignore[no-any-return]
    if not os.environ.get("FARM_TABLE"):
        return None
    from agri_common.platform.settings import load_settings
    from agri_common.single_table import DynamoTableStore

    table = load_settings(core.PipelineSettings).farm_table
    return report_data.FarmPlotShapes(DynamoTableStore(table)) if table else None


def report_input(
    ctx: core.Context,
    run: core.RunInput,
    kind: str,
    rid: str,
    project: pipeline_table.ProjectRecord,
    summary: dict[str, Any],
    findings: list[dict[str, Any]],
    sample: dict[str, Any],
    decision: dict[str, Any] | None,
    chunk_count: int,
) -> report_data.ReportInput:
    from functions.pipeline.aggregate import iter_rows

    rows = report_data.digest_rows(iter_rows(ctx, run, chunk_count))
    shapes, note = report_data.load_shapes(plot_shapes(ctx), rows, sample)
    return report_data.ReportInput(
        kind=kind,
        report_id=rid,
        generated_at=ctx.clock(),
        project=project,
        run=run,
        summary=summary,
        findings=findings,
        sample=sample,
        rows=rows,
        draws=net_draws(ctx, run, chunk_count),
        shapes=shapes,
        shapes_note=note,
        decision=decision,
        auditor=report_data.auditor_of(ctx, run.project_id, decision) if decision is not None else None,
    )


class AuditUploader:
    """PutObject into the audit bucket with S3-verified SHA-256."""

    def __init__(self, bucket: str):
        self.bucket = bucket

    def put(self, key: str, body: bytes, content_type: str) -> str:
        from agri_common.platform.aws import put_verified_object

        return put_verified_object(self.bucket, key, body, content_type)


class Uploader(Protocol):
    def put(self, key: str, body: bytes, content_type: str) -> str:
        """Store the object; return its hex SHA-256."""
        ...


def reports(event: Mapping[str, Any], ctx: core.Context, uploader: Uploader) -> dict[str, Any]:
    """``event["phase"]``: absent -> the monitoring report; ``"decided"`` -> the verification report."""
    if event.get("phase") == "decided":
        return verification_report(event, ctx, uploader)
    return monitoring_report(event, ctx, uploader)


@task("reports", MonitoringReportInput)
def monitoring_report(run: MonitoringReportInput, ctx: core.Context, uploader: Uploader) -> ReportsOutput:
    """Before the auditor's review (the Reports state)."""
    return _report(run, ctx, uploader, decided=False)


@task("verification_report", VerificationReportInput)
def verification_report(run: VerificationReportInput, ctx: core.Context, uploader: Uploader) -> ReportsOutput:
    """Once the auditor decided (VerificationReport, VerificationReportDeclined)."""
    return _report(run, ctx, uploader, decided=True)


def _report(run: PlannedRunInput, ctx: core.Context, uploader: Uploader, *, decided: bool) -> ReportsOutput:
    count = run.plan.chunk_count
    kind: Literal["monitoring", "verification"] = "verification" if decided else "monitoring"
    with ctx.step(run, "verification_report" if decided else "reports") as detail:
        project = ctx.project(run)
        summary = ctx.get_json(core.summary_key(run))
        findings = ctx.get_json(core.findings_key(run))
        sample = ctx.get_json(core.sample_key(run))
        tid = pipeline_table.task_id(run.run_id, run.attempt)
        decision = None
        if decided:
            task = pipeline_table.TaskRecord.from_item(ctx.store.get(pipeline_table.task(tid)))
            decision = (task.decision if task else None) or {}
        rid = pipeline_table.report_id(tid, kind)
        data = report_input(ctx, run, kind, rid, project, summary, findings, sample, decision, count)
        sheets = tables(kind, project, run, summary, findings, sample, decision, annex=data.rows.annex)
        pdf_key, xlsx_key = f"reports/{rid}/{rid}.pdf", f"reports/{rid}/{rid}.xlsx"
        pdf_bytes = report_pdf.render(data)
        pdf_sha = uploader.put(pdf_key, pdf_bytes, "application/pdf")
        xlsx_sha = uploader.put(
            xlsx_key, xlsx(sheets), "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
        )
        record = pipeline_table.ReportRecord(
            report_id=rid,
            project_id=run.project_id,
            run_id=run.run_id,
            report_kind=kind,
            pdf_key=pdf_key,
            pdf_sha256=pdf_sha,
            xlsx_key=xlsx_key,
            xlsx_sha256=xlsx_sha,
            created_at=ctx.clock(),
        )
        ctx.store.transact([Put(record.to_item())])
        # The task lists both ids from the start: the verification report exists once the auditor decided.
        ids = [pipeline_table.report_id(tid, "monitoring"), pipeline_table.report_id(tid, "verification")]
        detail.update(report_id=rid)
    return ReportsOutput(report_ids=ids)


def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return reports(event, core.default_context(), AuditUploader(core.audit_bucket()))

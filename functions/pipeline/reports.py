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
never a formula; characters XLSX cannot carry replaced), and each PDF cell is either a
plain string (drawn as is) or markup-escaped before it becomes a reportlab ``Paragraph``, so a
``<``, ``&`` or control character can neither break the report nor inject markup into it.
"""

from __future__ import annotations

import base64
import hashlib
import io
from typing import Any

from agri_common import mrv
from agri_common.cells import text_cell
from agri_common.sheets import Interval, Kind, Sheet, workbook
from agri_common.farm.store import Put

from functions.pipeline import core

SOURCES = ("CH4", "N2O", "CO2")


def net_draws(ctx: core.Context, run: core.RunInput, chunk_count: int):
    from carbon_engine import ChunkTotals, sum_totals

    parts = [ChunkTotals.from_npz(ctx.objects.get(core.chunk_key(run, i, "totals.npz")))
             for i in range(chunk_count) if ctx.objects.exists(core.chunk_key(run, i, "totals.npz"))]
    return sum_totals(parts).draws["net"]


def tables(kind: str, project: mrv.ProjectRecord, run: core.RunInput, summary: dict, findings: list, sample: dict,
           decision: dict | None = None) -> dict:
    total = summary["total"]
    overview = [["Field", "Value"], ["Project", f"{project.name} ({project.project_id})"], ["Run", run.run_id],
                ["Attempt", run.attempt], ["Period", run.period], ["Methodology profile", summary["profile"]],
                ["GWP", summary["gwp"]["name"]], ["Plot-seasons", summary["plots"]], ["Monte Carlo draws", summary["draws"]],
                ["Net (t CO2e, point)", round(total["net"]["point"], 3)],
                ["Net 90 % CI", Interval(*total["net"]["mc"]["ci"]["90"])],  # printed "lower to upper"; two numbers in Excel
                ["In-scope net (t CO2e, counted by the profile)", round(total["net_in_scope"]["point"], 3)]
                if total.get("net_in_scope") else ["In-scope net (t CO2e, counted by the profile)", None],
                ["Creditable basis (t CO2e, profile factor choice)", round(total["creditable_basis"], 3)],
                ["Creditable net (t CO2e)", round(total["creditable_net"], 3)], ["Eligible", total["eligible"]]]
    gases = [["Gas", "Baseline t CO2e", "Project t CO2e", "Reduction t CO2e"]] + [
        [g, round(total["gases"][g]["baseline"]["point"], 3), round(total["gases"][g]["project"]["point"], 3),
         round(total["gases"][g]["reduction"]["point"], 3)] for g in SOURCES]
    deductions = [["Rule", "t CO2e", "Equation", "Section", "Status", "Source", "Note"]] + [
        [d["rule"], round(d["t_co2e"], 3), d.get("equation", ""), d.get("section", ""), d.get("status", ""), d["source"],
         d.get("note", "")] for d in total["deductions"]]
    scope = [["Finding", "Status", "Text"]] + [[f["id"], f.get("status", ""), f["text"]] for f in total.get("findings", [])]
    out = {"Overview": overview, "Emissions by gas": gases, "Deductions": deductions, "Methodology findings": scope}
    if kind == "verification":
        out["Findings"] = [["Check", "Severity", "Plot", "Season", "Message"]] + [
            [f["check"], f["severity"], f["plot_id"], f["season_key"], f["message"]] for f in findings]
        out["Sample strata"] = [["Village", "Water regime", "Population", "Area ha", "Allocated"]] + [
            [s["village"], s["water_regime"], s["population"], round(s["area_ha"], 3), s["allocated"]] for s in sample["strata"]]
        out["Sample plots"] = [["Plot", "Season", "Village", "Regime", "Area ha", "Lon", "Lat"]] + [
            [p["plot_id"], p["season_key"], p["village"], p["water_regime"], round(p["area_ha"], 3),
             *(p.get("centroid") or [None, None])] for p in sample["plots"]]
        size = sample["size"]
        out["Sample design"] = [["Field", "Value"], ["Seed", sample["seed"]], ["Generator", sample["generator"]],
                                ["Formula", size["formula"]], ["z", round(size["z"], 4)], ["CV", round(size["cv"], 4)],
                                ["E", size["precision"]], ["n0", round(size["n0"], 2)], ["n (FPC)", round(size["n_fpc"], 2)],
                                ["Allocation", sample["allocation"]]]
        decision = decision or {}
        out["Decision"] = [["Field", "Value"], ["Decision", decision.get("decision")], ["Reason", decision.get("reason")],
                           ["Auditor (user id)", decision.get("decided_by")], ["Decided at", decision.get("decided_at")]]
        out["Checklist"] = [["Item", "Answer", "Note"]] + [
            [item, answer.get("answer"), answer.get("note")] for item, answer in sorted((decision.get("checklist") or {}).items())]
        out["Auditor findings"] = [["Severity", "Plot", "Season", "Message"]] + [
            [f.get("severity"), f.get("plot_id"), f.get("season_key"), f.get("message")] for f in decision.get("findings") or []]
    return out


# Cells that are not plain numbers/text in the workbooks (agri_common.sheets: by header, or by field in
# a Field/Value sheet): timestamps as dates, coordinates and design parameters at their own precision.
XLSX_KINDS: dict[str, dict[str, Kind]] = {"Decision": {"Decided at": "datetime"}}
XLSX_FORMATS = {"Sample plots": {"Lon": "0.000000", "Lat": "0.000000"},
                "Sample design": {"z": "0.0000", "CV": "0.0000", "E": "0.00", "n0": "0.00", "n (FPC)": "0.00"}}


def xlsx(sheets: dict[str, list[list[Any]]]) -> bytes:
    """The tables as a workbook, one formatted table per sheet (agri_common.sheets: bold frozen header,
    autofilter, widths, numbers as numbers, dates as dates, an Interval as lower/upper numbers, text
    always a string cell)."""
    return workbook(Sheet(name, rows[0], rows[1:], XLSX_KINDS.get(name, {}), XLSX_FORMATS.get(name, {}))
                    for name, rows in sheets.items())


def pdf_text(value: Any) -> str:
    """A value as the text of a reportlab ``Paragraph`` (which parses markup): characters a PDF
    string or XML cannot carry replaced, then ``&``, ``<`` and ``>`` escaped, so it reads as typed."""
    from xml.sax.saxutils import escape

    return escape(text_cell(str(value)))


def pdf(title: str, sheets: dict, total: dict, draws) -> bytes:
    import numpy as np
    from reportlab.graphics.charts.barcharts import VerticalBarChart
    from reportlab.graphics.shapes import Drawing, String
    from reportlab.lib import colors
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.styles import getSampleStyleSheet
    from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

    styles = getSampleStyleSheet()
    story: list[Any] = [Paragraph(pdf_text(title), styles["Title"])]

    def bar(values: list[list[float]], labels: list[str], caption: str, legend: list[str] | None = None) -> Drawing:
        d = Drawing(440, 200)
        chart = VerticalBarChart()
        chart.x, chart.y, chart.width, chart.height = 40, 30, 380, 140
        chart.data = values
        chart.categoryAxis.categoryNames = labels
        chart.categoryAxis.labels.fontSize = 6
        chart.bars[0].fillColor = colors.HexColor("#4a7c59")
        if len(values) > 1:
            chart.bars[1].fillColor = colors.HexColor("#c9a227")
        d.add(chart)
        d.add(String(40, 185, caption, fontSize=9))
        return d

    story.append(bar([[total["gases"][g]["baseline"]["point"] for g in SOURCES],
                      [total["gases"][g]["project"]["point"] for g in SOURCES]], list(SOURCES),
                     "Emissions by source, t CO2e (green: baseline, gold: project)"))
    counts, edges = np.histogram(draws, bins=20)
    story.append(bar([counts.tolist()], [f"{e:.0f}" for e in edges[:-1]],
                     f"Monte Carlo distribution of the net (t CO2e), {len(draws)} draws"))
    for name, rows in sheets.items():
        story += [Spacer(1, 8), Paragraph(pdf_text(name), styles["Heading2"])]
        shown = rows[:201]
        data = [[Paragraph(pdf_text(v), styles["BodyText"]) if isinstance(v, str) and len(v) > 40 else text_cell(str(v))
                 for v in r] for r in shown]
        t = Table(data, repeatRows=1)
        t.setStyle(TableStyle([("GRID", (0, 0), (-1, -1), 0.25, colors.grey), ("FONTSIZE", (0, 0), (-1, -1), 7),
                               ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#e8efe9"))]))
        story.append(t)
        if len(rows) > len(shown):
            story.append(Paragraph(f"{len(rows) - len(shown)} more rows in the Excel file.", styles["Italic"]))
    buf = io.BytesIO()
    SimpleDocTemplate(buf, pagesize=A4, title=title, invariant=1).build(story)
    return buf.getvalue()


class AuditUploader:
    """PutObject into the audit bucket with S3-verified SHA-256."""

    def __init__(self, bucket: str):
        self.bucket = bucket

    def put(self, key: str, body: bytes, content_type: str) -> str:
        from agri_common.aws import client

        digest = hashlib.sha256(body).digest()
        client("s3").put_object(Bucket=self.bucket, Key=key, Body=body, ContentType=content_type,
                                ChecksumAlgorithm="SHA256", ChecksumSHA256=base64.b64encode(digest).decode())
        return digest.hex()


def reports(event: dict, ctx: core.Context, uploader: Any) -> dict:
    """``event["phase"]``: absent -> the monitoring report; ``"decided"`` -> the verification report."""
    run = core.RunInput.model_validate(event)
    count = int(event["plan"]["chunk_count"])
    decided = event.get("phase") == "decided"
    kind = "verification" if decided else "monitoring"
    with ctx.step(run, "verification_report" if decided else "reports") as detail:
        project = ctx.project(run)
        summary = ctx.get_json(core.summary_key(run))
        findings = ctx.get_json(core.findings_key(run))
        sample = ctx.get_json(core.sample_key(run))
        tid = mrv.task_id(run.run_id, run.attempt)
        decision = None
        if decided:
            task = mrv.TaskRecord.from_item(ctx.store.get(mrv.task(tid)))
            decision = (task.decision if task else None) or {}
        rid = mrv.report_id(tid, kind)
        sheets = tables(kind, project, run, summary, findings, sample, decision)
        title = f"{kind.title()} report - {project.name} - {run.period} (attempt {run.attempt})"
        pdf_key, xlsx_key = f"reports/{rid}/{rid}.pdf", f"reports/{rid}/{rid}.xlsx"
        pdf_sha = uploader.put(pdf_key, pdf(title, sheets, summary["total"], net_draws(ctx, run, count)), "application/pdf")
        xlsx_sha = uploader.put(xlsx_key, xlsx(sheets), "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
        record = mrv.ReportRecord(report_id=rid, project_id=run.project_id, run_id=run.run_id, report_kind=kind,
                                  pdf_key=pdf_key, pdf_sha256=pdf_sha, xlsx_key=xlsx_key, xlsx_sha256=xlsx_sha,
                                  created_at=ctx.clock())
        ctx.store.transact([Put(record.to_item())])
        # The task lists both ids from the start: the verification report exists once the auditor decided.
        ids = [mrv.report_id(tid, "monitoring"), mrv.report_id(tid, "verification")]
        detail.update(report_id=rid)
    return {"report_ids": ids}


def lambda_handler(event: dict, context: Any) -> dict:
    from agri_common.settings import load_settings

    return reports(event, core.default_context(), AuditUploader(load_settings(core.PipelineSettings).audit_bucket))

"""The monitoring and verification reports as PDF, with what an auditor signs off on.

Both reports: the report's identity (id, generation time, run, attempt, crediting period), the
engine (version; factor library version and SHA-256 when the run's summary recorded them), the
Monte Carlo design (seed, draws, confidence levels), the results with their 90 % interval, an
honest chart of emissions by gas (bars from 0, values printed), the methodology profile with its
scope, notes and each rule's deduction (equation, section, status, source), the methodology
findings, a histogram of the stored net draws, a map of the project's plots (stored geometries as
vector paths; no tiles, no network) with the field sample marked, and an annex of every plot-season
(plot, farmer, area, practice, baseline, project, removals, net).

The verification report adds the cross-check findings, the sample design with its strata and
plots, and the auditor's decision: decision, reason, the auditor by name, time, every checklist
item with its question in full, answer and note, and the auditor's own findings.

Per-plot intervals: each chunk asks the engine for per-plot statistics with ``per_plot_mc="sampled"``
(calculate.engine_settings): every plot-season row stores its net 90 % interval (``net_ci90_low``,
``net_ci90_high``) over the first 500 of the run's draws (decision 0018), and the annex prints them.
Rows stored by an earlier engine have none: the annex prints a dash and says how many.

Text is drawn through ``agri_common.pdf`` (every Indian script shaped, fonts embedded; any stored
text is data, never markup). Values print as people read them: no ``None``/``True``, numbers with
thousands separators, times in UTC.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from agri_common.pdf import GOLD, GREEN, Document, number, when, yes_no
from functions.pipeline import report_data
from functions.pipeline.report_data import NOT_RECORDED, SOURCES, Auditor, ReportInput


def render(data: ReportInput) -> bytes:
    project, run, summary = data.project, data.run, data.summary
    total = summary["total"]
    created = _moment(data.generated_at)
    title = f"{data.kind.title()} report \u2014 {project.name}"
    doc = Document(title=title, created_at=created, footer=f"{data.kind.title()} report {data.report_id}")
    doc.title(title, f"Period {run.period} \u00b7 run {run.run_id} \u00b7 attempt {run.attempt}")
    _identity(doc, data)
    _results(doc, data, total)
    _profile(doc, summary, total)
    _distribution(doc, data, total)
    if data.kind == "verification":
        _verification(doc, data)
    _map(doc, data)
    _annex(doc, data)
    return doc.output()


def _moment(value: str) -> datetime:
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return datetime.now(UTC)
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _identity(doc: Document, data: ReportInput) -> None:
    project, run, summary = data.project, data.run, data.summary
    gwp = summary.get("gwp") or {}
    gwp_text = (
        f"{gwp.get('name', NOT_RECORDED)} (CH4 {number(gwp.get('CH4'), 1)}, N2O {number(gwp.get('N2O'), 0)})"
        if gwp.get("CH4") is not None
        else str(gwp.get("name", NOT_RECORDED))
    )
    sha = summary.get("factors_sha256")
    doc.heading("1. Report")
    doc.key_values(
        [
            ("Report id", data.report_id),
            ("Report", f"{data.kind} report"),
            ("Generated at", when(data.generated_at)),
            ("Project", f"{project.name} ({project.project_id})"),
            ("FPOs", ", ".join(project.fpo_ids) or "none"),
            ("Run", f"{run.run_id}, attempt {run.attempt}, data generation {run.generation}"),
            ("Monitoring period", run.period),
            ("Crediting period", f"{project.crediting_start} to {project.crediting_end}"),
            ("Methodology (checklist)", project.methodology),
            ("Region and climate", f"{summary.get('region', project.region)}, {project.climate}"),
            ("GWP set", gwp_text),
            ("Carbon engine", f"version {summary.get('engine_version', NOT_RECORDED)}"),
            (
                "Emission factors",
                f"{summary.get('factors_version', NOT_RECORDED)}; SHA-256 {sha}"
                if sha
                else "version and SHA-256 not recorded in this run's summary (summarised before the engine stored them)",
            ),
            (
                "Monte Carlo",
                f"seed {summary.get('seed', NOT_RECORDED)}, {number(summary.get('draws'))} draws, "
                f"confidence levels {', '.join(f'{c:.0%}' for c in summary.get('confidence', []))}",
            ),
            ("Plot-seasons computed", number(summary.get("plots"))),
        ]
    )


def _results(doc: Document, data: ReportInput, total: Mapping[str, Any]) -> None:
    net = total["net"]
    ci = (net.get("mc") or {}).get("ci", {}).get("90")
    half = (net.get("mc") or {}).get("half_width_pct", {}).get("90")
    in_scope = total.get("net_in_scope") or {}
    doc.heading("2. Results (t CO2e)")
    doc.key_values(
        [
            ("Baseline emissions", number(total["emissions_baseline"]["point"])),
            ("Project emissions", number(total["emissions_project"]["point"])),
            ("Reductions", number(total["reductions"]["point"])),
            ("Removals", number(total["removals"]["point"])),
            ("Net (point)", number(net["point"])),
            ("Net, 90 % interval", f"{number(ci[0])} to {number(ci[1])}" if ci else NOT_RECORDED),
            ("Net, 90 % half-width", f"{number(half, 1)} % of the mean" if half is not None else NOT_RECORDED),
            ("In-scope net (counted by the profile)", number(in_scope.get("point"))),
            ("Creditable basis (profile factor choice)", number(total.get("creditable_basis"))),
            ("Creditable net", number(total.get("creditable_net"))),
            ("Eligible", yes_no(total.get("eligible"))),
        ]
    )
    gases = total["gases"]
    doc.heading("Emissions by gas", level=2)
    doc.grid(
        ["Gas", "Baseline t CO2e", "Project t CO2e", "Reduction t CO2e"],
        [
            [
                g,
                number(gases[g]["baseline"]["point"]),
                number(gases[g]["project"]["point"]),
                number(gases[g]["reduction"]["point"]),
            ]
            for g in SOURCES
        ],
        align=("L", "R", "R", "R"),
    )
    doc.bar_chart(
        list(SOURCES),
        [
            ("baseline", [gases[g]["baseline"]["point"] for g in SOURCES], GREEN),
            ("project", [gases[g]["project"]["point"] for g in SOURCES], GOLD),
        ],
        caption="Emissions by gas, baseline and project (t CO2e)",
        unit="t CO2e",
    )


def _profile(doc: Document, summary: Mapping[str, Any], total: Mapping[str, Any]) -> None:
    from carbon_engine.profiles import PROFILES

    profile = PROFILES.get(str(summary.get("profile")))
    doc.heading("3. Methodology profile and deductions")
    if profile is None:
        doc.paragraph(f"Profile {summary.get('profile')} (not known to this engine version).")
    else:
        status = {"T": "checked", "U": "the engine's reading, not checked against the methodology text"}
        doc.key_values(
            [
                ("Profile", f"{profile.title} ({profile.id})"),
                ("Source", profile.source),
                ("Factor choice", profile.factor_choice),
                ("Counted components", ", ".join(profile.counted)),
                ("Conditional sources", ", ".join(profile.conditional) or "none"),
                ("Scope", f"{profile.scope_source} ({status.get(profile.scope_status, profile.scope_status)})"),
            ]
        )
        if profile.notes:
            doc.heading("Profile notes", level=2)
            for note in profile.notes:
                doc.paragraph(f"\u2022 {note}")
    if summary.get("conservative_factors"):
        doc.note(f"Conservative factor choice: {len(summary['conservative_factors'])} factor(s) at a bound.")
    doc.heading("Rules and deductions (in order)", level=2)
    doc.grid(
        ["Rule", "t CO2e", "Section", "Equation", "Status", "Source", "Note"],
        [
            [
                d["rule"],
                number(d["t_co2e"]),
                d.get("section") or "\u2014",
                d.get("equation") or "\u2014",
                d.get("status") or "\u2014",
                d.get("source") or "\u2014",
                d.get("note") or "\u2014",
            ]
            for d in total["deductions"]
        ],
        widths=(16, 9, 9, 24, 9, 14, 24),
        align=("L", "R", "L", "L", "L", "L", "L"),
        size=6.5,
        empty="This profile has no crediting rules: nothing is deducted (the inventory net is reported as it is).",
    )
    doc.heading("Methodology findings", level=2)
    doc.grid(
        ["Finding", "Status", "Text"],
        [[f["id"], f.get("status") or "\u2014", f["text"]] for f in total.get("findings", [])],
        widths=(25, 10, 65),
        empty="No methodology finding.",
    )


def _distribution(doc: Document, data: ReportInput, total: Mapping[str, Any]) -> None:
    import numpy as np

    draws = np.asarray(data.draws, dtype=float)
    doc.heading("4. Monte Carlo distribution of the net")
    if draws.size == 0:
        doc.paragraph("No Monte Carlo draws are stored for this run.")
        return
    counts, edges = np.histogram(draws, bins=min(30, max(5, int(np.sqrt(draws.size)))))
    ci = ((total["net"].get("mc") or {}).get("ci") or {}).get("90")
    marks = [("5 %", float(ci[0])), ("95 %", float(ci[1]))] if ci else []
    doc.histogram(
        [int(c) for c in counts],
        [float(e) for e in edges],
        marks=marks,
        caption=f"Net result over {draws.size:,} Monte Carlo draws (t CO2e), 90 % interval dashed",
        unit="net t CO2e",
    )


def _verification(doc: Document, data: ReportInput) -> None:
    sample, decision = data.sample, data.decision or {}
    doc.heading("5. Cross-check findings")
    doc.grid(
        ["Check", "Severity", "Plot", "Season", "Message"],
        [
            [f.get("check"), f.get("severity"), f.get("plot_id"), f.get("season_key"), f.get("message")]
            for f in data.findings
        ],
        widths=(16, 9, 20, 11, 44),
        size=7,
        empty="No cross-check finding: every plot-season passed the checks.",
    )
    doc.heading("6. Field sample")
    size = sample.get("size") or {}
    doc.key_values(
        [
            ("Seed", sample.get("seed", NOT_RECORDED)),
            ("Generator", sample.get("generator", NOT_RECORDED)),
            ("Population (plot-seasons)", number(sample.get("population"))),
            ("Formula", size.get("formula", NOT_RECORDED)),
            ("Confidence, precision", f"{number(size.get('confidence'), 2)}, {number(size.get('precision'), 2)}"),
            ("z, CV", f"{number(size.get('z'), 4)}, {number(size.get('cv'), 4)}"),
            (
                "n0, n (finite-population corrected), n",
                f"{number(size.get('n0'), 2)}, {number(size.get('n_fpc'), 2)}, {number(size.get('n'))}",
            ),
            ("Allocation", sample.get("allocation", NOT_RECORDED)),
            ("Plots sampled", number(len(sample.get("plots", [])))),
        ]
    )
    doc.heading("Strata", level=2)
    doc.grid(
        ["Village", "Water regime", "Population", "Area ha", "Allocated"],
        [
            [
                s.get("village"),
                _words(s.get("water_regime")),
                number(s.get("population")),
                number(s.get("area_ha")),
                number(s.get("allocated")),
            ]
            for s in sample.get("strata", [])
        ],
        align=("L", "L", "R", "R", "R"),
        empty="No stratum: the run has no plot-season.",
    )
    doc.heading("Sampled plots", level=2)
    doc.grid(
        ["Plot", "Season", "Farmer", "Village", "Regime", "Area ha", "Lon, lat"],
        [
            [
                _plot_label(p["plot_id"], data.shapes),
                p.get("season_key"),
                p.get("farmer_id"),
                p.get("village"),
                _words(p.get("water_regime")),
                number(p.get("area_ha")),
                _lonlat(p.get("centroid")),
            ]
            for p in sample.get("plots", [])
        ],
        widths=(20, 11, 18, 15, 14, 8, 14),
        align=("L", "L", "L", "L", "L", "R", "L"),
        size=7,
        empty="No plot was sampled.",
    )
    doc.heading("7. Auditor's decision")
    if not decision:
        doc.paragraph("No decision is recorded.")
        return
    labels = {"approve": "Approved", "reject": "Rejected", "request_corrections": "Corrections requested"}
    doc.key_values(
        [
            ("Decision", labels.get(str(decision.get("decision")), decision.get("decision"))),
            ("Reason", decision.get("reason") or "none given (not required to approve)"),
            ("Auditor", (data.auditor or Auditor(None, None, None)).label()),
            ("Auditor user id", decision.get("decided_by") or NOT_RECORDED),
            ("Decided at", when(decision.get("decided_at"))),
            ("Checklist", _template_label(decision)),
        ]
    )
    doc.heading("Checklist", level=2)
    answers = {"pass": "Pass", "fail": "Fail", "not_applicable": "Not applicable"}
    doc.grid(
        ["Item", "Question", "Answer", "Note"],
        [
            [
                item,
                a.get("question") or "question text not recorded with this decision",
                answers.get(str(a.get("answer")), a.get("answer")),
                a.get("note") or "\u2014",
            ]
            for item, a in _checklist(decision)
        ],
        widths=(17, 48, 11, 24),
        size=7,
        empty="The decision carries no checklist.",
    )
    doc.heading("Auditor's findings", level=2)
    doc.grid(
        ["Severity", "Plot", "Season", "Message"],
        [
            [f.get("severity"), f.get("plot_id") or "whole run", f.get("season_key") or "\u2014", f.get("message")]
            for f in decision.get("findings") or []
        ],
        widths=(12, 22, 12, 54),
        size=7,
        empty="The auditor recorded no finding.",
    )


def _checklist(decision: Mapping[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    raw = decision.get("checklist") or {}
    order = decision.get("checklist_order") or sorted(raw)
    return [(item, dict(raw[item])) for item in order if item in raw]


def _template_label(decision: Mapping[str, Any]) -> str:
    t = decision.get("checklist_template") or {}
    if not t:
        return NOT_RECORDED
    return f"{t.get('title', t.get('id'))} ({t.get('id')}, version {t.get('version', NOT_RECORDED)})"


def _map(doc: Document, data: ReportInput) -> None:
    sampled = {p["plot_id"] for p in data.sample.get("plots", [])}
    points: dict[str, Any] = dict(data.rows.points)
    points.update({p["plot_id"]: p.get("centroid") for p in data.sample.get("plots", []) if p.get("centroid")})
    shapes = {pid: s["geometry"] for pid, s in data.shapes.items() if s.get("geometry")}
    heading = "8. Map of the plots" if data.kind == "verification" else "5. Map of the plots"
    doc.ensure_space(150)
    doc.heading(heading)
    drawn = doc.plot_map(
        shapes,
        {k: v for k, v in points.items() if v is not None},
        sampled,
        caption=f"{data.rows.plots:,} plots, {len(sampled):,} sampled for the field visit "
        "(boundaries as stored; lon/lat, north up)",
    )
    notes = [
        f"{drawn['polygons']:,} plot(s) drawn from their stored boundaries, {drawn['points']:,} as a dot at the "
        "centroid (no stored boundary)."
    ]
    if data.shapes_note:
        notes.append(data.shapes_note + ".")
    if data.rows.point_stride > 1:
        notes.append(
            f"More than {report_data.MAP_POINTS:,} plots: 1 in {data.rows.point_stride} of the plots without a drawn "
            "boundary is shown as a dot (chosen by a hash of the plot id); every sampled plot is shown."
        )
    doc.note(" ".join(notes))


def _annex(doc: Document, data: ReportInput) -> None:
    project = data.project
    rows = data.rows.annex  # sorted by plot and season
    doc.pdf.add_page()
    doc.heading(f"Annex: every plot-season ({data.rows.count:,})")
    ci = ((data.summary["total"]["net"].get("mc") or {}).get("ci") or {}).get("90")
    project_ci = f" (the project's net has a 90 % interval of {number(ci[0])} to {number(ci[1])} t CO2e)" if ci else ""
    from carbon_engine.models import PER_PLOT_QUANTILE_DRAWS

    missing = sum(1 for r in rows if r.get("net_ci90_low") is None)
    draws = data.summary.get("draws")
    m = min(PER_PLOT_QUANTILE_DRAWS, int(draws)) if isinstance(draws, int) else PER_PLOT_QUANTILE_DRAWS
    doc.note(
        "Values in t CO2e; net = baseline \u2212 project + removals. Practice: the crop and the season's water "
        f"regime; for rice the baseline is the project's baseline regime ({project.baseline_water_regime}). "
        "Net 90 % low / high: the plot-season's own 90 % Monte Carlo interval of its net, "
        + (
            f"over all {m:,} of the run's draws (the project's factor draws)"
            if m == draws
            else f"from the first {m:,} of the run's {number(draws)} draws (the project's factor draws; decision 0018: "
            f"the Monte Carlo error of each bound's 5 % / 95 % level is {100 * (0.0475 / m) ** 0.5:.2f} percentage "
            "points, 1 sd)"
        )
        + "; the project's own interval uses every "
        f"draw{project_ci}."
        + (
            f" {missing:,} printed row(s) were stored without a per-plot interval (an earlier engine): shown as \u2014."
            if missing
            else ""
        )
    )
    shown = rows
    doc.grid(
        [
            "Plot",
            "Season",
            "Farmer",
            "Village",
            "Area ha",
            "Practice",
            "Baseline",
            "Project",
            "Removals",
            "Net",
            "Net 90 % low",
            "Net 90 % high",
        ],
        [
            [
                _plot_label(r["plot_id"], data.shapes),
                r["season_key"],
                r.get("farmer_id"),
                r.get("village"),
                number(r.get("area_ha")),
                _practice(r),
                number(r.get("emissions_baseline")),
                number(r.get("emissions_project")),
                number(r.get("removals")),
                number(r.get("net")),
                number(r.get("net_ci90_low")),
                number(r.get("net_ci90_high")),
            ]
            for r in shown
        ],
        widths=(14, 8, 12, 9, 5, 12, 7, 7, 7, 7, 6, 6),
        align=("L", "L", "L", "L", "R", "L", "R", "R", "R", "R", "R", "R"),
        size=6,
        empty="No plot-season was computed in this run.",
    )
    if data.rows.count > len(shown):
        doc.note(
            f"{data.rows.count - len(shown):,} more plot-season rows are not printed here (the first {len(shown):,} by "
            "plot id are); every row is in the run's stored results."
        )


def _words(value: Any) -> str:
    """A vocabulary value as words (``continuously_flooded`` -> ``continuously flooded``)."""
    return str(value).replace("_", " ") if value else "\u2014"


def _practice(row: Mapping[str, Any]) -> str:
    parts = [str(row[k]).replace("_", " ") for k in ("crop", "water_regime") if row.get(k)]
    return ", ".join(parts) or "\u2014"


def _plot_label(plot_id: str, shapes: Mapping[str, Mapping[str, Any]]) -> str:
    name = (shapes.get(plot_id) or {}).get("name")
    return f"{name} ({plot_id})" if name else plot_id


def _lonlat(centroid: Sequence[float] | None) -> str:
    if not centroid or len(centroid) < 2:
        return "\u2014"
    return f"{centroid[0]:.5f}, {centroid[1]:.5f}"

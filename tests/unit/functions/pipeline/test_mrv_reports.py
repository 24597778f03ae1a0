"""The monitoring and verification PDFs carry what an auditor signs off on, in every script, with
the run's own numbers: rendered through the pipeline's reports task on in-memory stores and read
back as a reader extracts them."""

from __future__ import annotations

import dataclasses
import re

import pytest

from agri_common import pipeline_table
from agri_common.pdf import number, when
from functions.pipeline import aggregate, await_decision, core, report_data, reports, sample_draw
from functions.verification.logic import checklist
from tests.unit import pdfread
from tests.unit.fakes.mrv import pipeline_context
from tests.unit.functions.pipeline.test_steps import PID, RID, RUN, Source, Uploader, run_calc

NAME = "Rampur रामपुर ਰਾਮਪੁਰ இராம்பூர் AWD"
VILLAGES = ["रामपुर", "இராம்பூர்", "ರಾಮಪುರ", "ਰਾਮਪੁਰ"]
CLOCK = "2026-11-27T09:15:00.000000Z"


class Shapes:
    """PlotShapes fake: a small square around each plot's centroid, named for even plots."""

    def __init__(self, centroids: dict[str, list[float]]):
        self.centroids = centroids
        self.asked: list[list[str]] = []

    def shapes(self, plot_ids):
        self.asked.append(list(plot_ids))
        out = {}
        for i, pid in enumerate(plot_ids):
            x, y = self.centroids[pid]
            ring = [
                [x - 4e-4, y - 4e-4],
                [x + 4e-4, y - 4e-4],
                [x + 4e-4, y + 4e-4],
                [x - 4e-4, y + 4e-4],
                [x - 4e-4, y - 4e-4],
            ]
            out[pid] = {
                "geometry": {"type": "Polygon", "coordinates": [ring]},
                "name": f"खेत {i}" if i % 2 == 0 else None,
            }
        return out


def build(decision_extra: dict | None = None, shapes: bool = True, farmers: int = 6):
    ctx = pipeline_context(PID, RID, name=NAME)
    ctx.clock = lambda: CLOCK
    source = Source(farmers=farmers)
    centroids = {}
    for i, (fid, seasons) in enumerate(sorted(source.seasons.items())):
        replaced = []
        for k, s in enumerate(seasons):
            centroid = [79.0 + (i % 8) * 0.003 + k * 0.0012, 10.0 + (i // 8) * 0.002 + (i % 3) * 0.0006]
            centroids[s.plot_id] = centroid
            replaced.append(dataclasses.replace(s, village=VILLAGES[i % len(VILLAGES)], centroid=centroid))
        source.seasons[fid] = replaced
    if shapes:
        ctx.extra["plot_shapes"] = Shapes(centroids)
    planned, _ = run_calc(ctx, source)
    state = {**RUN, "plan": planned}
    aggregate.aggregate(state, ctx)
    state["verify"] = sample_draw.verify(state, ctx)
    up = Uploader()
    out = reports.reports(state, ctx, up)
    task_id = await_decision.await_decision({**state, "task_token": "t", "reports": out}, ctx)["task_id"]
    template = checklist("vm0051")
    answers = {i["id"]: {"answer": "pass", "note": None, "question": i["text"]} for i in template["items"]}
    answers["sample_visited"] = {"answer": "fail", "note": "२ खेत नहीं पहुँचे", "question": template["items"][2]["text"]}
    ctx.store.items[pipeline_table.task(task_id)]["decision"] = {
        "decision": "approve",
        "reason": None,
        "decided_by": "aud-1",
        "decided_by_name": "Asha Verma",
        "decided_by_username": "asha",
        "decided_at": "2026-11-26T10:00:00Z",
        "checklist": answers,
        "checklist_order": [i["id"] for i in template["items"]],
        "checklist_template": {k: template[k] for k in ("id", "title", "version")},
        "findings": [],
        **(decision_extra or {}),
    }
    reports.reports({**state, "phase": "decided"}, ctx, up)
    run = core.RunInput(**RUN)
    pdfs = {
        kind: up.objects[ctx.store.get(pipeline_table.report(f"{RID}_a1_{kind}"))["pdf_key"]] for kind in ("mon", "ver")
    }
    return ctx, run, pdfs


@pytest.fixture(scope="module")
def built():
    ctx, run, pdfs = build()
    return {
        "ctx": ctx,
        "run": run,
        "pdfs": pdfs,
        "text": {k: pdfread.text(v) for k, v in pdfs.items()},
        "summary": ctx.get_json(core.summary_key(run)),
        "sample": ctx.get_json(core.sample_key(run)),
        "rows": list(aggregate.iter_rows(ctx, run, 2)),
    }


@pytest.mark.parametrize("kind", ["mon", "ver"])
def test_the_project_name_and_villages_come_back_in_their_scripts_with_every_font_embedded(built, kind):
    text, data = built["text"][kind], built["pdfs"][kind]
    assert NAME in text
    for village in VILLAGES:
        assert village in text
    fonts = pdfread.fonts(data)
    assert fonts and all(fonts.values()), fonts
    names = {re.sub(r"^/[A-Z]{6}\+", "", n) for n in fonts}  # subset tag stripped
    assert {"NotoSans", "NotoSansBold", "NotoSansTamil", "NotoSansKannada", "NotoSansGurmukhi"} <= names, names


@pytest.mark.parametrize("kind", ["mon", "ver"])
def test_identity_engine_and_monte_carlo_design_are_stated(built, kind):
    from carbon_engine import __version__
    from carbon_engine.factors import default_library

    text, summary = built["text"][kind], built["summary"]
    lib = default_library()
    for expected in (
        f"{RID}_a1_{kind}",
        "Generated at 2026-11-27 09:15 UTC",
        f"{RID}, attempt 1",
        "Crediting period 2024-06-01 to 2030-05-31",
        f"version {__version__}",
        f"{lib.version}; SHA-256 {lib.sha256}",
        f"seed {summary['seed']}",
        f"{number(summary['draws'])} draws",
        "Monitoring period 2025-kharif",
    ):
        assert expected in text, expected
    assert summary["factors_sha256"] == lib.sha256  # the run recorded what it computed with
    assert pdfread.metadata(built["pdfs"][kind])["/CreationDate"].startswith("D:20261127091500")


@pytest.mark.parametrize("kind", ["mon", "ver"])
def test_the_numbers_are_the_runs(built, kind):
    text, total = built["text"][kind], built["summary"]["total"]
    ci = total["net"]["mc"]["ci"]["90"]
    for label, value in (
        ("Net (point)", total["net"]["point"]),
        ("Creditable net", total["creditable_net"]),
        ("Baseline emissions", total["emissions_baseline"]["point"]),
        ("Project emissions", total["emissions_project"]["point"]),
    ):
        assert f"{label} {number(value)}" in text, label
    assert f"Net, 90 % interval {number(ci[0])} to {number(ci[1])}" in text
    assert f"Eligible {'Yes' if total['eligible'] else 'No'}" in text
    compact = "".join(text.split())  # a long rule id or section wraps inside its column
    for d in total["deductions"]:  # each rule in its row with its deduction and section
        assert "".join(f"{d['rule']} {number(d['t_co2e'])} {d['section']}".split()) in compact, d["rule"]
    for gas in ("CH4", "N2O", "CO2"):
        g = total["gases"][gas]
        assert (
            f"{gas} {number(g['baseline']['point'])} {number(g['project']['point'])} {number(g['reduction']['point'])}"
            in text
        )


@pytest.mark.parametrize("kind", ["mon", "ver"])
def test_the_profile_is_printed_with_its_scope_notes_and_rule_equations(built, kind):
    from carbon_engine.profiles import PROFILES

    compact = "".join(built["text"][kind].split())
    profile = PROFILES["vm0051"]
    assert "".join(profile.title.split()) in compact and "".join(profile.scope_source.split()) in compact
    for note in profile.notes:
        assert "".join(note.split()) in compact
    for d in built["summary"]["total"]["deductions"]:
        assert "".join(d["equation"].split()) in compact


@pytest.mark.parametrize("kind", ["mon", "ver"])
def test_no_python_values_leak_into_the_report(built, kind):
    text = built["text"][kind]
    for word in ("None", "True", "False", "nan", "{'", "[]"):
        assert not re.search(rf"(?<![\w']){re.escape(word)}(?![\w'])", text), word
    assert not re.search(r"(?<![\d.])-0(\.0+)?(?![\d.])", text)  # no negative zero


@pytest.mark.parametrize("kind", ["mon", "ver"])
def test_the_annex_lists_every_plot_season_with_its_values(built, kind):
    text = built["text"][kind]
    assert f"Annex: every plot-season ({len(built['rows'])})" in text
    draws = built["summary"]["draws"]  # <= 500: the per-plot intervals use every draw
    assert f"Net 90 % low / high: the plot-season's own 90 % Monte Carlo interval of its net, over all {draws}" in text
    assert "stored without a per-plot interval" not in text
    for r in built["rows"]:
        keys = ("emissions_baseline", "emissions_project", "removals", "net", "net_ci90_low", "net_ci90_high")
        assert r["net_ci90_low"] <= r["net_ci90_high"]
        values = " ".join(number(r[k]) for k in keys)
        assert re.search(
            rf"{r['plot_id']}\)? 2025-kharif {r['farmer_id']} .*? {number(r['area_ha'])} rice, "
            rf"[a-z ]+ {re.escape(values)}",
            text,
        ), r["plot_id"]


def test_the_map_draws_every_plots_stored_boundary_and_marks_the_sample(built):
    text = built["text"]["ver"]
    plots = len({r["plot_id"] for r in built["rows"]})
    sampled = len(built["sample"]["plots"])
    assert f"{plots} plots, {sampled} sampled for the field visit" in text
    assert f"{plots} plot(s) drawn from their stored boundaries, 0 as a dot" in text
    assert "खेत 0 (P0000)" in text  # a plot's stored name beside its id


def test_the_verification_report_names_the_auditor_and_prints_every_question(built):
    text = built["text"]["ver"]
    compact = "".join(text.split())
    assert "Auditor Asha Verma (asha)" in text and "Decision Approved" in text
    assert "Decided at 2026-11-26 10:00 UTC" in text
    assert "Reason none given (not required to approve)" in text
    for item in checklist("vm0051")["items"]:
        assert "".join(item["text"].split()) in compact, item["id"]
    assert "Fail २ खेत नहीं पहुँचे" in text
    assert "The auditor recorded no finding." in text  # an empty table says so


def test_the_sample_design_and_strata_are_the_stored_samples(built):
    text, sample = built["text"]["ver"], built["sample"]
    assert f"Seed {sample['seed']}" in text and f"Population (plot-seasons) {sample['population']}" in text
    for s in sample["strata"]:
        assert (
            f"{s['village']} {s['water_regime'].replace('_', ' ')} {s['population']} {number(s['area_ha'])} {s['allocated']}"
            in text
        )


def test_the_monitoring_report_holds_no_verification_section(built):
    text = built["text"]["mon"]
    assert "Auditor" not in text and "Cross-check findings" not in text
    assert "Map of the plots" in text


def test_an_old_decision_without_names_and_questions_says_so():
    ctx, _, pdfs = build(
        {
            "decided_by_name": None,
            "decided_by_username": None,
            "checklist_template": None,
            "checklist": {"sample_visited": {"answer": "pass", "note": None}},
            "checklist_order": None,
            "findings": [{"severity": "info", "plot_id": None, "season_key": None, "message": "ok"}],
        },
        shapes=False,
    )
    text = pdfread.text(pdfs["ver"])
    assert "Auditor name not recorded (user id aud-1)" in text
    assignment = pipeline_table.AuditorAssignmentRecord(
        project_id=PID, user_id="aud-1", username="asha", assigned_by="a-1", assigned_at="t0"
    )
    ctx.store.items[assignment.key()] = assignment.to_item()
    assert report_data.auditor_of(ctx, PID, {"decided_by": "aud-1"}).label() == "asha"
    assert "question text not recorded with this decision" in text
    assert "info whole run" in text
    assert "0 plot(s) drawn from their stored boundaries, 12 as a dot" in text
    assert "plot geometries were not available to this step" in text


def test_when_and_number_render_the_stored_values():
    assert when(CLOCK) == "2026-11-27 09:15 UTC"
    assert number(-0.0004) == "0.000"


def test_rows_are_digested_in_one_pass_with_bounded_memory(monkeypatch):
    """A million plot-seasons never sit in the task's memory: the annex keeps the first rows by
    plot, the map an even, deterministic share of the plots, the shapes list stops at its cap."""
    monkeypatch.setattr(report_data, "ANNEX_ROWS", 5)
    monkeypatch.setattr(report_data, "MAP_POINTS", 40)
    monkeypatch.setattr(report_data, "MAP_SHAPES", 50)
    rows = [
        {"plot_id": f"P{p:04d}", "season_key": season, "centroid": [79 + p / 1000, 10.0]}
        for p in reversed(range(300))
        for season in ("2025-kharif", "2025-rabi")
    ]
    consumed = []

    def stream():
        for r in rows:
            consumed.append(1)
            yield r

    digest = report_data.digest_rows(stream())
    assert len(consumed) == 600 and digest.count == 600 and digest.plots == 300
    assert [(r["plot_id"], r["season_key"]) for r in digest.annex] == [
        ("P0000", "2025-kharif"),
        ("P0000", "2025-rabi"),
        ("P0001", "2025-kharif"),
        ("P0001", "2025-rabi"),
        ("P0002", "2025-kharif"),
    ]
    assert digest.plot_ids is None  # 300 plots > 50: the sample's boundaries only
    assert digest.point_stride > 1 and 0 < len(digest.points) <= 40
    assert all(report_data._stable_hash(pid) % digest.point_stride == 0 for pid in digest.points)
    again = report_data.digest_rows(iter(rows))
    assert again.points == digest.points  # deterministic

    small = report_data.digest_rows(iter(rows[:20]))
    assert (
        small.point_stride == 1
        and len(small.points) == 10
        and small.plot_ids == sorted({r["plot_id"] for r in rows[:20]})
    )

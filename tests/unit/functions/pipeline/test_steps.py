"""Each pipeline task on in-memory stores with a fake season source: plan, calculate (with the
stored-chunk skip), aggregate (equals one engine call), verify, await, outcome."""

from __future__ import annotations

import json
import random

import pytest

from agri_common import pipeline_table
from functions.pipeline import (
    aggregate,
    approved_run,
    await_decision,
    basis,
    calculate,
    core,
    outcome,
    plan,
    sample_draw,
)
from functions.pipeline.sources import PlotSeason
from tests.unit.fakes.mrv import pipeline_context

PID, RID = "prj_00000001", "prj_00000001_2025_kharif"
RUN = {"project_id": PID, "run_id": RID, "attempt": 1, "period": "2025-kharif", "generation": 1}


class Source:
    """The ProjectSeasonSource fake: units are farmer ids, two plots each."""

    def __init__(self, farmers=10):
        rng = random.Random(3)
        self.seasons = {}
        for f in range(farmers):
            fid = f"F{f:03d}"
            self.seasons[fid] = [
                PlotSeason(
                    plot_id=f"P{f:03d}{p}",
                    season_key="2025-kharif",
                    farmer_id=fid,
                    fpo_id="FPO-1",
                    owner_user_id=f"u{f}",
                    village=f"v{f % 2}",
                    area_ha=round(rng.uniform(0.5, 2), 3),
                    declared_area_ha=None,
                    centroid=[79.0, 10.0],
                    activity={
                        "crop": "rice",
                        "cultivation_days": 110,
                        "preseason_water": "non_flooded_lt_180",
                        "water_regime": ("multiple_drainage", "continuously_flooded")[p],
                        "synthetic_n_kg_per_ha": 100,
                    },
                )
                for p in range(2)
            ]
        self.loads = 0

    def plan_units(self, fpo_ids):
        return sorted(self.seasons)

    def load(self, units, period):
        self.loads += 1
        return [s for u in units for s in self.seasons[u] if s.season_key.startswith(period)]


@pytest.fixture
def ctx():
    return pipeline_context(PID, RID)


def run_calc(ctx, source):
    planned = plan.plan(RUN, ctx, source, chunk_units=4)
    results = [calculate.calculate({**RUN, "index": i}, ctx, source) for i in planned["chunks"]]
    return planned, results


def test_plan_writes_manifests_and_is_reused_on_restart(ctx):
    source = Source()
    planned = plan.plan(RUN, ctx, source, chunk_units=4)
    assert planned == {"chunks": [0, 1, 2], "chunk_count": 3}
    assert ctx.get_json(core.manifest_key(core.RunInput(**RUN), 2))["units"] == ["F008", "F009"]
    source.seasons["F999"] = source.seasons["F000"]
    assert plan.plan({**RUN, "attempt": 2}, ctx, source, chunk_units=4) == planned  # the stored snapshot


def test_calculate_skips_chunks_already_stored(ctx):
    source = Source()
    _, results = run_calc(ctx, source)
    assert [r["reused"] for r in results] == [False, False, False]
    puts = len(ctx.objects.puts)
    again = calculate.calculate({**RUN, "attempt": 2, "index": 1}, ctx, source)
    assert again == {"index": 1, "reused": True} and len(ctx.objects.puts) == puts and source.loads == 3


def test_aggregate_equals_one_engine_call_over_all_plots(ctx):
    from carbon_engine import estimate

    source = Source()
    planned, _ = run_calc(ctx, source)
    assert aggregate.choose({**RUN, "plan": planned}, ctx) == {"chunks": []}  # default factors: no pass 2
    aggregate.aggregate({**RUN, "plan": planned}, ctx)
    summary = ctx.get_json(core.summary_key(core.RunInput(**RUN)))
    project = ctx.project(core.RunInput(**RUN))
    plots = [calculate.engine_plot(ps, project) for u in sorted(source.seasons) for ps in source.seasons[u]]
    result = estimate({**calculate.engine_settings(project, calculate.run_seed(RID)), "plots": plots})
    reference = result.total
    assert summary["plots"] == 20
    # each stored row's net 90 % interval is the one-call per-plot interval (chunks of 4 farmers: the method
    # "sampled" does not depend on the chunk); a plot whose practice did not change has a net of 0 in every draw
    rows = {f"{r['plot_id']}#{r['season_key']}": r for r in aggregate.iter_rows(ctx, core.RunInput(**RUN), 3)}
    ci = result.plots.mc["net"].ci["90"]
    assert result.plots.mc_included and "over all 300 draws" in result.plots.mc_note
    for i, pid in enumerate(result.plots.plot_id):
        assert rows[pid]["net_ci90_low"] == pytest.approx(ci["low"][i], rel=1e-12)
        assert rows[pid]["net_ci90_high"] == pytest.approx(ci["high"][i], rel=1e-12)
        changed = rows[pid]["water_regime"] != "continuously_flooded"
        assert (rows[pid]["net_ci90_high"] - rows[pid]["net_ci90_low"] > 1e-9) == changed  # float32 rounding: ~1e-16 t
    assert summary["total"]["net"]["point"] == pytest.approx(reference.net.point, rel=1e-12)
    assert summary["total"]["net"]["mc"]["ci"]["90"][1] == pytest.approx(reference.net.mc.ci["90"][1], rel=1e-9)
    assert summary["total"]["creditable_net"] == pytest.approx(reference.creditable_net, rel=1e-9)
    contributions = ctx.get_json(core.contributions_key(core.RunInput(**RUN)))
    assert len(contributions) == 10 and sum(c["net_t"] for c in contributions) == pytest.approx(reference.net.point)
    run = ctx.store.get(pipeline_table.run(PID, RID))
    assert run["summary"]["plots"] == 20
    assert ctx.store.get(pipeline_table.step(RID, "calculate"))["status"] == "succeeded"


def test_vm0042_qa3_in_two_passes_equals_one_engine_call(ctx):
    """Conservative factors: pass 1 in calculate, one choice, pass 2 per chunk, then aggregate."""
    from carbon_engine import estimate
    from carbon_engine.engine import conservative_draws, prepare
    from carbon_engine.models import Request

    ctx.store.items[pipeline_table.project(PID)]["profile"] = "vm0042_qa3"
    source = Source()
    # rice methane is VM0051's, not VM0042's: the in-scope basis is the trees' removal (positive) and N2O
    trees = [
        {"species": "Tectona grandis", "count": 30, "dbh_cm": 14.0, "height_m": 10.0, "wood_density_g_per_cm3": 0.55}
    ]
    for f, seasons in enumerate(source.seasons.values()):  # no N on the drained plot
        seasons[0].activity.update(
            synthetic_n_kg_per_ha=0, cultivation_days=100 + f, trees=trees, harvest_date="2025-11-15"
        )
    planned, _ = run_calc(ctx, source)
    state, run = {**RUN, "plan": planned}, core.RunInput(**RUN)
    choice = aggregate.choose(state, ctx)
    assert choice == {"chunks": [0, 1, 2]}
    assert [basis.basis({**RUN, "index": i}, ctx)["reused"] for i in choice["chunks"]] == [False] * 3
    aggregate.aggregate(state, ctx)
    summary = ctx.get_json(core.summary_key(run))

    project = ctx.project(run)
    plots = [calculate.engine_plot(ps, project) for u in sorted(source.seasons) for ps in source.seasons[u]]
    request = {**calculate.engine_settings(project, calculate.run_seed(RID)), "plots": plots}
    reference = estimate(request).total
    _, chosen = conservative_draws(prepare(Request.model_validate(request)))
    assert summary["conservative_factors"] == chosen and chosen
    total = summary["total"]
    assert total["creditable_basis"] == pytest.approx(reference.creditable_basis, rel=1e-9)
    assert total["creditable_basis"] != pytest.approx(reference.net_in_scope.point, rel=1e-3)  # not the default point
    assert total["net"]["point"] == pytest.approx(reference.net.point, rel=1e-12)
    assert [(d["rule"], d["t_co2e"]) for d in total["deductions"]] == [
        (d.rule, pytest.approx(d.t_co2e, rel=1e-9)) for d in reference.deductions
    ]
    d = {x["rule"]: x["t_co2e"] for x in total["deductions"]}
    assert d["vm0042_eq74_uncertainty"] == 0.0 and d["vm0042_buffer_stock_changes"] > 0  # QA3: no Eq 74 on top
    assert total["creditable_net"] > 0
    assert total["creditable_net"] == pytest.approx(reference.creditable_net, rel=1e-9)
    assert ctx.store.get(pipeline_table.step(RID, "conservative_basis"))["status"] == "succeeded"

    # restart: the same choice (same digest) reuses every stored pass-2 result
    puts = len(ctx.objects.puts)
    assert aggregate.choose({**state, "attempt": 2}, ctx) == choice
    assert [basis.basis({**RUN, "attempt": 2, "index": i}, ctx)["reused"] for i in choice["chunks"]] == [True] * 3
    assert ctx.objects.puts[puts:] == [core.choice_key(run)]


def test_invalid_season_becomes_a_critical_finding_not_a_crash(ctx):
    source = Source(farmers=2)
    source.seasons["F000"][0].activity["cultivation_days"] = None
    planned, _ = run_calc(ctx, source)
    findings = ctx.get_json(core.chunk_key(core.RunInput(**RUN), 0, "findings.json"))
    assert any(f["check"] == "invalid_activity" and f["plot_id"] == "P0000" for f in findings)


def test_verify_then_await_then_outcomes(ctx):
    source = Source()
    planned, _ = run_calc(ctx, source)
    state = {**RUN, "plan": planned}
    aggregate.aggregate(state, ctx)
    state["verify"] = sample_draw.verify(state, ctx)
    sample = ctx.get_json(state["verify"]["sample_key"])
    assert sample["seed"] == sample_draw.sample_seed(core.RunInput(**RUN)) and sample["plots"]
    assert ctx.store.get(pipeline_table.sample(RID))["selected"] == len(sample["plots"])
    out = await_decision.await_decision({**state, "task_token": "tok"}, ctx)
    assert out["task_id"] == f"{RID}_a1"
    await_decision.await_decision({**state, "task_token": "tok-retry"}, ctx)  # a retried state: same task, new token
    task = ctx.store.get(pipeline_table.task(out["task_id"]))
    assert task["task_token"] == "tok-retry" and task["status"] == "pending"
    assert ctx.store.get(pipeline_table.run(PID, RID))["status"] == "awaiting_auditor"

    ctx.store.items[pipeline_table.task(out["task_id"])]["decision"] = {
        "reason": "claims unsupported",
        "decided_by": "aud",
    }
    assert outcome.record_outcome({**state, "error": {"Error": "Rejected", "Cause": None}}, ctx) == {
        "status": "rejected"
    }
    run = ctx.store.get(pipeline_table.run(PID, RID))
    assert run["status"] == "rejected" and run["outcome"]["reason"] == "claims unsupported"


def test_failure_outcome_names_the_step_and_cause(ctx):
    ctx.store.items[pipeline_table.step(RID, "aggregate")] = pipeline_table.StepRecord(
        run_id=RID, step="aggregate", attempt=1, status="running", started_at="t"
    ).to_item()
    cause = json.dumps({"errorType": "ValueError", "errorMessage": "no computable plot-season"})
    assert outcome.record_outcome({**RUN, "error": {"Error": "ValueError", "Cause": cause}}, ctx)["step"] == "aggregate"
    run = ctx.store.get(pipeline_table.run(PID, RID))
    assert run["status"] == "failed" and run["error"]["cause"]["message"] == "no computable plot-season"
    assert ctx.store.get(pipeline_table.step(RID, "aggregate"))["status"] == "failed"


def test_failure_outcome_names_the_step_that_started_last_not_the_last_by_name(ctx):
    for step, status, started in (
        ("calculate", "succeeded", "2025-01-01T00:00:01Z"),
        ("verify", "running", "2025-01-01T00:00:05Z"),  # cut off earlier, then retried elsewhere
        ("aggregate", "running", "2025-01-01T00:00:09Z"),
    ):
        ctx.store.items[pipeline_table.step(RID, step)] = pipeline_table.StepRecord(
            run_id=RID, step=step, attempt=1, status=status, started_at=started
        ).to_item()
    assert outcome.record_outcome({**RUN, "error": {"Error": "States.Timeout"}}, ctx)["step"] == "aggregate"


def test_a_writer_page_failing_after_its_retries_fails_the_ledger_step(ctx):
    from functions.pipeline.approved_run import approved_key

    ctx.store.items[pipeline_table.step(RID, "ledger")] = pipeline_table.StepRecord(
        run_id=RID,
        step="ledger",
        attempt=1,
        status="succeeded",
        started_at="2025-01-01T00:00:09Z",
        detail={"farmers": 9},
    ).to_item()
    state = {
        **RUN,
        "ledger": {"run_ref": {"key": approved_key(core.RunInput(**RUN)), "sha256": "0" * 64}, "from_farmer": 4000},
        "issued": {"ok": True, "next_farmer": 4000},
        "error": {"Error": "DependencyError", "Cause": "head kept moving"},
    }
    assert outcome.record_outcome(state, ctx) == {"status": "failed", "step": "ledger"}
    step = ctx.store.get(pipeline_table.step(RID, "ledger"))
    assert step["status"] == "failed" and step["detail"]["cause"]["error"] == "DependencyError"
    assert ctx.store.get(pipeline_table.run(PID, RID))["error"]["step"] == "ledger"


def test_ledger_refusal_fails_the_run(ctx):
    issued = {"ok": False, "next_farmer": None, "body": {"ok": False, "error": {"code": "validation_error"}}}
    assert outcome.record_outcome({**RUN, "issued": issued}, ctx)["status"] == "failed"
    assert ctx.store.get(pipeline_table.run(PID, RID))["error"]["step"] == "ledger"


def test_a_late_task_of_an_old_attempt_cannot_overwrite_the_new_one(ctx):
    ctx.store.items[pipeline_table.run(PID, RID)]["attempt"] = 2
    from agri_common.single_table import WriteConflict

    with pytest.raises(WriteConflict):
        ctx.set_run(core.RunInput(**RUN), status="failed")


def test_ledger_step_stores_issue_6s_approved_run_and_hands_over_its_reference(ctx):
    from agri_common.ledger_crypto import sha256_hex
    from functions.ledger.models import ApprovedRun, WriterEvent

    source = Source()
    planned, _ = run_calc(ctx, source)
    state = {**RUN, "plan": planned}
    aggregate.aggregate(state, ctx)
    state["verify"] = sample_draw.verify(state, ctx)
    task_id = await_decision.await_decision({**state, "task_token": "tok"}, ctx)["task_id"]
    stored = {}
    with pytest.raises(ValueError, match="no approval"):
        approved_run.prepare(state, ctx, stored.__setitem__)
    assert stored == {}
    ctx.store.items[pipeline_table.task(task_id)]["decision"] = {
        "decision": "approve",
        "decided_by": "aud-1",
        "decided_at": "2025-03-01T10:00:00.123456Z",
    }
    out = approved_run.prepare(state, ctx, stored.__setitem__)
    again = approved_run.prepare(state, ctx, stored.__setitem__)  # a retry stores the same bytes
    assert out == again and out["from_farmer"] == 0 and out["farmers"] == 10
    command = WriterEvent.model_validate(
        {"command": "issue", "run_ref": out["run_ref"]}
    )  # the ledger writer's own input
    assert command.run_ref.key == f"ledger/approved/{PID}/{RID}/a1.json" and list(stored) == [command.run_ref.key]
    data = stored[command.run_ref.key]
    assert sha256_hex(data) == command.run_ref.sha256
    run = ApprovedRun.model_validate_json(data)
    assert run.run_id == RID and run.vintage == 2025 and len(run.farmers) == 10
    assert run.approved_at == "2025-03-01T10:00:00Z"
    summary = ctx.get_json(core.summary_key(core.RunInput(**RUN)))
    assert float(run.creditable_net_t) == pytest.approx(max(0.0, summary["total"]["creditable_net"]), abs=1e-6)
    assert all(f.net_t >= 0 for f in run.farmers)
    assert ctx.store.get(pipeline_table.step(RID, "ledger"))["status"] == "succeeded"
    # the writer's last page answers; the outcome records it on the run
    answer = {"ok": True, "result": {"created": 10, "next_farmer": None}, "error": None, "next_farmer": None}
    assert outcome.record_outcome({**state, "issued": {"ok": True, "next_farmer": None, "body": answer}}, ctx) == {
        "status": "approved"
    }
    assert ctx.store.get(pipeline_table.run(PID, RID))["outcome"]["ledger"]["created"] == 10


def test_a_lapsed_wait_closes_the_pending_task(ctx):
    source = Source(farmers=3)
    planned, _ = run_calc(ctx, source)
    state = {**RUN, "plan": planned}
    aggregate.aggregate(state, ctx)
    state["verify"] = sample_draw.verify(state, ctx)
    task_id = await_decision.await_decision({**state, "task_token": "tok"}, ctx)["task_id"]
    out = outcome.record_outcome({**state, "error": {"Error": "States.Timeout", "Cause": "heartbeat"}}, ctx)
    assert out == {"status": "failed", "step": "await_decision"}
    closed = ctx.store.get(pipeline_table.task(task_id))
    assert closed["status"] == "closed"
    # out of the auditors' queue: no pending entry is left on the project's task index
    assert ctx.store.query(pipeline_table.project_tasks_index(PID), index=True, prefix="pending#")[0] == []
    assert {k: closed[k] for k in ("gsi1pk", "gsi1sk")} == pipeline_table.TaskRecord.model_validate(closed).index()
    assert ctx.store.get(pipeline_table.run(PID, RID))["error"]["error"] == "States.Timeout"


class Uploader:
    def __init__(self):
        self.objects = {}

    def put(self, key, body, content_type):
        import hashlib

        self.objects[key] = body
        return hashlib.sha256(body).hexdigest()


def test_reports_monitoring_then_verification_with_the_decision(ctx):
    import hashlib
    import io

    from openpyxl import load_workbook

    from functions.pipeline import reports

    source = Source(farmers=4)
    planned, _ = run_calc(ctx, source)
    state = {**RUN, "plan": planned}
    aggregate.aggregate(state, ctx)
    state["verify"] = sample_draw.verify(state, ctx)
    up = Uploader()
    out = reports.reports(state, ctx, up)
    assert out["report_ids"] == [f"{RID}_a1_mon", f"{RID}_a1_ver"]
    mon = ctx.store.get(pipeline_table.report(f"{RID}_a1_mon"))
    assert up.objects[mon["pdf_key"]].startswith(b"%PDF")
    assert hashlib.sha256(up.objects[mon["xlsx_key"]]).hexdigest() == mon["xlsx_sha256"]
    assert ctx.store.get(pipeline_table.report(f"{RID}_a1_ver")) is None  # not before the decision
    monitoring = load_workbook(io.BytesIO(up.objects[mon["xlsx_key"]]))
    summary = ctx.get_json(core.summary_key(core.RunInput(**RUN)))
    rows = [[c.value for c in r] for r in monitoring["Deductions"].iter_rows()]
    assert rows[0] == ["Rule", "t CO2e", "Equation", "Section", "Status", "Source", "Note"]
    assert [r[0] for r in rows[1:]] == [d["rule"] for d in summary["total"]["deductions"]]
    assert all(r[2] and r[3] and r[4] for r in rows[1:] if r[0] != "not_creditable")  # each rule cites its equation
    assert [c.value for c in monitoring["Methodology findings"][1]] == ["Finding", "Status", "Text"]
    brief = ctx.store.get(pipeline_table.run(PID, RID))["summary"]
    assert brief["net_in_scope_t"] == pytest.approx(summary["total"]["net_in_scope"]["point"])
    assert brief["methodology_findings"] == [f["id"] for f in summary["total"]["findings"]]
    task_id = await_decision.await_decision({**state, "task_token": "t", "reports": out}, ctx)["task_id"]
    ctx.store.items[pipeline_table.task(task_id)]["decision"] = {
        "decision": "reject",
        "reason": "regimes",
        "decided_by": "aud-1",
        "decided_at": "2025-03-01T00:00:00Z",
        "checklist": {"sample_visited": {"answer": "fail", "note": "2 plots unreachable"}},
        "findings": [],
    }
    reports.reports({**state, "phase": "decided"}, ctx, up)
    ver = ctx.store.get(pipeline_table.report(f"{RID}_a1_ver"))
    book = load_workbook(io.BytesIO(up.objects[ver["xlsx_key"]]))
    assert [c.value for c in book["Checklist"][2]] == ["sample_visited", "fail", "2 plots unreachable"]
    assert ctx.store.get(pipeline_table.step(RID, "verification_report"))["status"] == "succeeded"


TREES = [{"species": "Tectona grandis", "count": 30, "dbh_cm": 14.0, "height_m": 10.0, "wood_density_g_per_cm3": 0.6}]


def test_a_plot_with_trees_gives_a_removal_not_an_invalid_finding(ctx):
    source = Source(farmers=2)
    tree_plot = source.seasons["F001"][0]
    tree_plot.activity.update(trees=TREES, harvest_date="2025-10-20")
    run_calc(ctx, source)
    findings = ctx.get_json(core.chunk_key(core.RunInput(**RUN), 0, "findings.json"))
    assert not [f for f in findings if f["check"] == "invalid_activity"]
    rows = [json.loads(r) for r in ctx.objects.get(core.chunk_key(core.RunInput(**RUN), 0, "rows.jsonl")).splitlines()]
    by_plot = {r["plot_id"]: r for r in rows}
    assert by_plot[tree_plot.plot_id]["removals"] > 0
    assert by_plot["P0000"]["removals"] == 0

    project = ctx.project(core.RunInput(**RUN))
    plot = calculate.engine_plot(tree_plot, project)
    assert plot["field_id"] == tree_plot.plot_id and plot["baseline"]["trees"] == []
    assert plot["tree_inventory_years"] == pytest.approx(506 / 365.25)  # 2024-06-01 (crediting start) to harvest
    later = calculate.engine_plot(
        PlotSeason(**{**vars(tree_plot), "activity": {**tree_plot.activity, "harvest_date": "2026-10-20"}}), project
    )
    assert (
        later["tree_inventory_years"] > plot["tree_inventory_years"]
    )  # same stock, longer growth: smaller annual removal


def test_trees_planted_before_the_crediting_start_earn_no_removal(ctx):
    source = Source(farmers=2)
    old = {**TREES[0], "planted_year": 2015}  # the project's crediting start is 2024-06-01
    new = {**TREES[0], "species": "Azadirachta indica", "count": 10, "planted_year": 2024}
    standing, mixed = source.seasons["F000"][0], source.seasons["F001"][0]
    standing.activity.update(trees=[old], harvest_date="2025-10-20")
    mixed.activity.update(trees=[old, new], harvest_date="2025-10-20")
    project = ctx.project(core.RunInput(**RUN))
    plot = calculate.engine_plot(mixed, project)
    assert [t["species"] for t in plot["baseline"]["trees"]] == ["Tectona grandis"]  # standing before the project
    assert [t["species"] for t in plot["project"]["trees"]] == ["Tectona grandis", "Azadirachta indica"]
    run_calc(ctx, source)
    rows = {
        json.loads(r)["plot_id"]: json.loads(r)
        for i in (0, 1)
        if ctx.objects.exists(core.chunk_key(core.RunInput(**RUN), i, "rows.jsonl"))
        for r in ctx.objects.get(core.chunk_key(core.RunInput(**RUN), i, "rows.jsonl")).splitlines()
    }
    assert rows[standing.plot_id]["removals"] == 0  # no earlier inventory: their growth is not credited
    assert rows[mixed.plot_id]["removals"] > 0  # the neem planted in 2024 is
    findings = ctx.get_json(core.chunk_key(core.RunInput(**RUN), 0, "findings.json"))
    assert not [f for f in findings if f["check"] == "invalid_activity"]
    evidence = {f["plot_id"]: f["value"] for f in findings if f["check"] == "tree_planting_unverified"}
    assert evidence == {mixed.plot_id: 10}  # the neem earns removals on the farmer's word: the auditor checks


def test_a_season_stored_as_paddy_gets_the_rice_baseline(ctx):
    source = Source(farmers=1)
    season = source.seasons["F000"][0]  # multiple_drainage
    season.activity.update(crop="Paddy")
    plot = calculate.engine_plot(season, ctx.project(core.RunInput(**RUN)))
    assert plot["project"]["crop"] == plot["baseline"]["crop"] == "rice"
    assert (plot["baseline"]["water_regime"], plot["project"]["water_regime"]) == (
        "continuously_flooded",
        "multiple_drainage",
    )


def test_trees_recorded_in_several_seasons_of_a_plot_count_once(ctx):
    """Stock changes are annual, one record per field: a run over a year counts a plot's latest tree
    inventory and flags the others instead of failing the chunk."""
    source = Source(farmers=1)
    kharif = source.seasons["F000"][0]
    rabi = PlotSeason(
        **{
            **vars(kharif),
            "season_key": "2025-rabi",
            "activity": {**kharif.activity, "trees": TREES, "harvest_date": "2026-03-01"},
        }
    )
    kharif.activity.update(trees=TREES, harvest_date="2025-10-20")
    source.seasons["F000"].append(rabi)
    year = {**RUN, "period": "2025"}
    planned = plan.plan(year, ctx, source, chunk_units=4)
    assert calculate.calculate({**year, "index": planned["chunks"][0]}, ctx, source)["reused"] is False
    rows = ctx.objects.get(core.chunk_key(core.RunInput(**year), 0, "rows.jsonl")).splitlines()
    removals = {(r["plot_id"], r["season_key"]): r["removals"] for r in map(json.loads, rows)}
    assert removals[(kharif.plot_id, "2025-rabi")] > 0 and removals[(kharif.plot_id, "2025-kharif")] == 0
    findings = ctx.get_json(core.chunk_key(core.RunInput(**year), 0, "findings.json"))
    assert [(f["check"], f["season_key"]) for f in findings if f["check"] == "trees_counted_once"] == [
        ("trees_counted_once", "2025-kharif")
    ]


def test_a_projects_country_factors_and_unknown_baseline_amendments_reach_the_engine(ctx):
    """A VM0051 project with a country-specific rice EF_c and baseline amendments it does not know: every
    chunk's engine request carries both, and the run equals one engine call over all plots with them."""
    from carbon_engine import estimate

    country = {"rice.ef_c": {"value": 1.62, "low": 1.2, "high": 2.1, "source": "India national inventory (test)"}}
    ctx.store.items[pipeline_table.project(PID)].update(
        profile="vm0051", baseline_organic_amendments_unknown=True, country_factors=country
    )
    source = Source()
    for seasons in source.seasons.values():
        seasons[0].activity["organic_amendments"] = [{"type": "compost", "t_per_ha": 2.0}]
    planned, _ = run_calc(ctx, source)
    aggregate.aggregate({**RUN, "plan": planned}, ctx)
    summary = ctx.get_json(core.summary_key(core.RunInput(**RUN)))

    project = ctx.project(core.RunInput(**RUN))
    plots = [calculate.engine_plot(ps, project) for u in sorted(source.seasons) for ps in source.seasons[u]]
    rice = [p for p in plots if p["project"]["crop"] == "rice"]
    assert rice and all(p["baseline"].get("organic_amendments_unknown") is True for p in rice)
    assert all("organic_amendments" not in p["baseline"] for p in rice)  # not the season's own compost
    assert any(p["project"].get("organic_amendments") for p in rice)  # the project keeps what was recorded
    settings = calculate.engine_settings(project, calculate.run_seed(RID))
    assert settings["country_factors"] == country
    reference = estimate({**settings, "plots": plots}).total
    assert summary["total"]["net"]["point"] == pytest.approx(reference.net.point, rel=1e-12)
    findings = {f["id"]: f["text"] for f in summary["total"]["findings"]}
    assert f"{len(rice)} rice plot(s)" in findings["vm0051_baseline_straw_default"]  # counted over every chunk
    defaults = estimate({**settings, "country_factors": {}, "plots": plots}).total
    assert reference.emissions_baseline.point != pytest.approx(defaults.emissions_baseline.point)  # the factor was used

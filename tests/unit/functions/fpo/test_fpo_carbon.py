"""The FPO dashboard's carbon section (overview, reports, CSV/Excel): the FPO's share of each
monitoring run, the run's status read from the run item, totals over approved runs, and who sees it."""

from __future__ import annotations

import csv
import io

import pytest

from agri_common import pipeline_table
from agri_common.farm_table.records import FpoRecord
from agri_common.platform.clock import utc_iso_seconds_offset
from agri_common.platform.revocation import InMemoryRevocationStore
from agri_common.single_table import Put
from functions.fpo import dal, export
from functions.fpo import handler as fpo
from functions.fpo import models as m
from functions.fpo.logic import FpoService
from tests.unit.fakes.assignments import Assignments
from tests.unit.fakes.farm import InMemoryFarmStore
from tests.unit.functions.conftest import call, claims_for

MANAGER = claims_for("fpo_manager", user="mgr", fpo="FPO-1")
OTHER_MANAGER = claims_for("fpo_manager", user="mgr2", fpo="FPO-2")
FARMER = claims_for("farmer", user="f1", fpo="FPO-1")
ADMIN = claims_for("admin", user="adm", fpo=None)
AUDREY = claims_for("auditor", user="aud-1", username="audrey", fpo=None)
OTHER_PROJECT = "prj_000000ff"  # another project over FPO-1 (e.g. an earlier crediting period), not Audrey's


def share(project_id, period, net, *, fpo_id="FPO-1", plot_seasons=10):
    return pipeline_table.FpoRunRecord(
        fpo_id=fpo_id,
        project_id=project_id,
        run_id=pipeline_table.run_id(project_id, period),
        period=period,
        attempt=1,
        generation=1,
        plot_seasons=plot_seasons,
        farmers=5,
        area_ha=7.5,
        emissions_baseline_t=net + 4.0,
        emissions_project_t=4.0,
        removals_t=0.0,
        net_t=net,
        creditable_net_share_t=round(net * 0.8, 6),
    )


@pytest.fixture
def world(monkeypatch):
    farm = InMemoryFarmStore()
    for fpo_id in ("FPO-1", "FPO-2"):
        farm.transact(
            [
                Put(
                    FpoRecord(
                        fpo_id=fpo_id, name=fpo_id, state="Punjab", created_by="a", created_at=utc_iso_seconds_offset()
                    ).to_item()
                )
            ]
        )
    assignments = Assignments()
    project = assignments.project("FPO-1")
    assignments.assign(project, "audrey")
    pipeline = InMemoryFarmStore()
    runs = [
        (share(project, "2024-kharif", 10.0), "approved"),
        (share(project, "2025-kharif", 20.0), "awaiting_auditor"),
        (share(OTHER_PROJECT, "2023-kharif", 5.0, plot_seasons=3), "approved"),
        (share(project, "2024-kharif", 99.0, fpo_id="FPO-2"), "approved"),
    ]
    for record, status in runs:
        pipeline.items[record.key()] = record.to_item()
        run = pipeline_table.RunRecord(
            project_id=record.project_id,
            run_id=record.run_id,
            period=record.period,
            status=status,
            attempt=1,
            started_by="a",
            started_at="t",
            updated_at="t",
        )
        pipeline.items[run.key()] = run.to_item()
    revocations = InMemoryRevocationStore()
    monkeypatch.setattr(fpo, "_revocation", lambda: revocations)
    fpo.app.dependency_overrides[fpo.get_service] = lambda: FpoService(
        farm, utc_iso_seconds_offset, dal.PipelineCarbonRuns(pipeline)
    )
    fpo.app.dependency_overrides[fpo.get_assignments] = assignments.loader
    yield {"pipeline": pipeline, "project": project}
    fpo.app.dependency_overrides.clear()


def get(kind, claims, fpo_id="FPO-1", query=""):
    return call(
        fpo,
        "GET",
        f"/fpos/{fpo_id}/{kind}",
        claims=claims,
        resource="/fpos/{fpo_id}/" + kind,
        params={"fpo_id": fpo_id},
        query=query,
    )


def test_the_overview_lists_the_fpos_runs_with_their_status_and_totals_approved_ones(world):
    world["pipeline"].calls.clear()
    r = get("overview", MANAGER)
    assert r.status == 200, r.body
    carbon = r.body["carbon"]
    assert [(c["period"], c["status"]) for c in carbon["runs"]] == [
        ("2023-kharif", "approved"),
        ("2024-kharif", "approved"),
        ("2025-kharif", "awaiting_auditor"),
    ]
    run = carbon["runs"][1]
    assert run["project_id"] == world["project"] and run["run_id"] == f"{world['project']}_2024_kharif"
    assert (run["net_t"], run["emissions_baseline_t"], run["farmers"], run["area_ha"]) == (10.0, 14.0, 5, 7.5)
    assert carbon["approved"] == {
        "runs": 2,
        "plot_seasons": 13,
        "emissions_baseline_t": 23.0,
        "emissions_project_t": 8.0,
        "removals_t": 0.0,
        "net_t": 15.0,
        "creditable_net_share_t": 12.0,
    }
    assert carbon["runs_truncated"] is False
    assert world["pipeline"].calls == ["Query", "BatchGetItem"]  # constant cost: the items, then their runs' status


def test_a_status_change_shows_at_once(world):
    key = pipeline_table.run(world["project"], f"{world['project']}_2025_kharif")
    world["pipeline"].items[key]["status"] = "approved"
    assert get("overview", MANAGER).body["carbon"]["approved"]["runs"] == 3
    world["pipeline"].items[key]["status"] = "rejected"
    approved = get("overview", MANAGER).body["carbon"]["approved"]
    assert approved["runs"] == 2 and approved["net_t"] == 15.0


def test_an_fpo_without_runs_reads_an_empty_section_with_one_query(world):
    world["pipeline"].items = {k: v for k, v in world["pipeline"].items.items() if k[0] != "FPO#FPO-2"}
    world["pipeline"].calls.clear()
    carbon = get("overview", OTHER_MANAGER, "FPO-2").body["carbon"]
    assert carbon["runs"] == [] and carbon["approved"]["runs"] == 0 and carbon["approved"]["net_t"] == 0
    assert world["pipeline"].calls == ["Query"]


def test_who_sees_the_carbon_section(world):
    assert get("overview", OTHER_MANAGER).status == 404 and get("reports", OTHER_MANAGER).status == 404
    assert len(get("overview", ADMIN).body["carbon"]["runs"]) == 3
    assert len(get("overview", FARMER).body["carbon"]["runs"]) == 3  # a member reads their FPO's dashboard
    assert get("overview", claims_for("farmer", user="f9", fpo="FPO-2")).status == 404
    audrey = get("overview", AUDREY).body["carbon"]  # her project's runs only, not the other project's
    assert {c["project_id"] for c in audrey["runs"]} == {world["project"]} and audrey["approved"]["net_t"] == 10.0
    assert get("overview", AUDREY, "FPO-2").status == 404


def test_the_runs_read_are_bounded(world, monkeypatch):
    monkeypatch.setattr(dal, "MAX_CARBON_RUNS", 2)
    carbon = get("overview", MANAGER).body["carbon"]
    # the newest runs are kept (shown oldest first); the oldest is the one left out
    assert [c["period"] for c in carbon["runs"]] == ["2024-kharif", "2025-kharif"] and carbon["runs_truncated"] is True


def test_reports_csv_and_excel_carry_the_carbon_rows(world):
    from openpyxl import load_workbook

    r = get("reports", MANAGER)
    assert r.status == 200 and len(r.body["carbon"]["runs"]) == 3
    reports = m.Reports.model_validate(r.body)
    book = load_workbook(io.BytesIO(export.to_xlsx(reports)))
    sheet = [[c.value for c in row] for row in book["carbon"].iter_rows()]
    assert sheet[0][:4] == ["period", "run_id", "project_id", "status"] and "creditable_net_share_t" in sheet[0]
    assert [row[0] for row in sheet[1:]] == ["2023-kharif", "2024-kharif", "2025-kharif"]  # runs only: one table
    total = [[c.value for c in row] for row in book["carbon_approved"].iter_rows()]
    assert total[0][0] == "approved_runs" and total[1][0] == 2 and total[1][total[0].index("net_t")] == 15.0
    rows = list(csv.reader(io.StringIO(export.to_csv(reports, "carbon"))))
    assert rows[0] == sheet[0] and len(rows) == 4
    assert rows[1][:4] == ["2023-kharif", OTHER_PROJECT + "_2023_kharif", OTHER_PROJECT, "approved"]

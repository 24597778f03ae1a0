"""Auditors and farmer data, through the farmers and fpo Lambda entry points: an auditor reads the
farmers, plots, seasons and dashboards of the FPOs of the projects they are assigned to (created
and assigned through the real projects service), nothing else, never writes, and loses access
when unassigned."""

from __future__ import annotations

import pytest

from agri_common.farm_table.records import FpoRecord
from agri_common.platform.clock import utc_iso_seconds_offset
from agri_common.platform.revocation import InMemoryRevocationStore
from agri_common.single_table import Put
from functions.farmers import handler as farmers
from functions.farmers.context import FarmContext
from functions.fpo import handler as fpo
from functions.fpo.logic import FpoService
from tests.unit.fakes.assignments import Assignments
from tests.unit.fakes.farm import InMemoryFarmStore
from tests.unit.functions.conftest import call, claims_for

MANAGER = claims_for("fpo_manager", user="mgr", fpo="FPO-1")
MANAGER_2 = claims_for("fpo_manager", user="mgr2", fpo="FPO-2")
AUDREY = claims_for("auditor", user="aud-1", username="audrey", fpo=None)  # assigned in the fixture
OTTO = claims_for("auditor", user="aud-2", username="otto", fpo=None)  # never assigned
CONSENT = {"given": True, "version": "v1", "at": "2025-06-01T10:00:00+05:30"}
RICE = {
    "year": 2025,
    "season": "kharif",
    "crop": "rice",
    "sowing_date": "2025-06-20",
    "harvest_date": "2025-10-20",
    "cultivation_days": 110,
    "water_regime": "multiple_drainage",
    "preseason_water": "non_flooded_lt_180",
    "synthetic_n_kg_per_ha": 120,
    "urea_kg_per_ha": 250,
}


def square(lon, lat, size=0.001):
    return {
        "type": "Feature",
        "properties": {},
        "geometry": {
            "type": "Polygon",
            "coordinates": [[[lon, lat], [lon + size, lat], [lon + size, lat + size], [lon, lat + size], [lon, lat]]],
        },
    }


def farmer_body(fpo_id):
    return {
        "name": "Ravi",
        "phone": "9876543210",
        "village": "Rampur",
        "district": "Patiala",
        "state": "Punjab",
        "fpo_id": fpo_id,
        "consent": CONSENT,
    }


class Objects:
    def presigned_post(self, key, content_type, max_bytes, expires_in):
        return {"url": "https://uploads.example/", "fields": {"key": key}}

    def head(self, key):
        return {"content_length": 100, "content_type": "application/pdf"}


def get(module, path, claims, resource=None, params=None, query=""):
    return call(module, "GET", path, claims=claims, resource=resource or path, params=params, query=query)


def farmer(fid, claims):
    return get(farmers, f"/farmers/{fid}", claims, "/farmers/{farmer_id}", {"farmer_id": fid})


def plots_of(fid, claims):
    return get(farmers, f"/farmers/{fid}/plots", claims, "/farmers/{farmer_id}/plots", {"farmer_id": fid})


def plot(pid, claims):
    return get(farmers, f"/plots/{pid}", claims, "/plots/{plot_id}", {"plot_id": pid})


def dashboard(kind, fpo_id, claims):
    path, resource = (
        (f"/fpos/{fpo_id}", "/fpos/{fpo_id}") if kind == "fpo" else (f"/fpos/{fpo_id}/{kind}", "/fpos/{fpo_id}/" + kind)
    )
    return get(fpo, path, claims, resource, {"fpo_id": fpo_id})


def listed(claims, query=""):
    r = get(farmers, "/farmers", claims, query=query)
    assert r.status == 200, r.body
    return [f["farmer_id"] for f in r.body["items"]]


@pytest.fixture
def world(monkeypatch):
    store = InMemoryFarmStore()
    for fpo_id in ("FPO-1", "FPO-2"):
        store.transact(
            [
                Put(
                    FpoRecord(
                        fpo_id=fpo_id, name=fpo_id, state="Punjab", created_by="a", created_at=utc_iso_seconds_offset()
                    ).to_item()
                )
            ]
        )
    revocations = InMemoryRevocationStore()
    assignments = Assignments()
    for module in (farmers, fpo):
        monkeypatch.setattr(module, "_revocation", lambda: revocations)
        module.app.dependency_overrides[module.get_assignments] = assignments.loader
    farmers.app.dependency_overrides[farmers.get_context] = lambda: FarmContext(store=store, aadhaar_key=lambda: b"k")
    farmers.app.dependency_overrides[farmers.get_uploads_objects] = Objects
    fpo.app.dependency_overrides[fpo.get_service] = lambda: FpoService(store, utc_iso_seconds_offset)

    ids = {}
    for name, claims, fpo_id, lon in (("f1", MANAGER, "FPO-1", 75.85), ("f2", MANAGER_2, "FPO-2", 76.85)):
        r = call(farmers, "POST", "/farmers", farmer_body(fpo_id), claims=claims)
        assert r.status == 201, r.body
        ids[name] = r.body["farmer_id"]
        r = call(
            farmers,
            "POST",
            f"/farmers/{ids[name]}/plots",
            square(lon, 30.9),
            claims=claims,
            resource="/farmers/{farmer_id}/plots",
            params={"farmer_id": ids[name]},
        )
        assert r.status == 201, r.body
        ids["p" + name[1]] = r.body["plot_id"]
    r = call(
        farmers,
        "POST",
        f"/plots/{ids['p1']}/seasons",
        RICE,
        claims=MANAGER,
        resource="/plots/{plot_id}/seasons",
        params={"plot_id": ids["p1"]},
    )
    assert r.status == 201, r.body
    r = call(
        farmers,
        "POST",
        "/uploads",
        {"plot_id": ids["p1"], "content_type": "application/pdf", "size_bytes": 100},
        claims=MANAGER,
    )
    assert r.status == 201, r.body
    ids["upload"] = r.body["upload_id"]

    project = assignments.project("FPO-1")
    assignments.assign(project, "audrey")
    yield {"ids": ids, "store": store, "assignments": assignments, "project": project}
    farmers.app.dependency_overrides.clear()
    fpo.app.dependency_overrides.clear()


def test_an_assigned_auditor_reads_farmers_plots_seasons_and_dashboards_of_the_project_fpo(world):
    ids = world["ids"]
    r = farmer(ids["f1"], AUDREY)
    assert r.status == 200 and r.body["farmer_id"] == ids["f1"] and r.body["fpo_id"] == "FPO-1"
    r = plots_of(ids["f1"], AUDREY)
    assert r.status == 200 and [p["plot_id"] for p in r.body["items"]] == [ids["p1"]]
    r = plot(ids["p1"], AUDREY)
    assert r.status == 200 and [s["season_key"] for s in r.body["seasons"]] == ["2025-kharif"]
    assert [e["upload_id"] for e in r.body["evidence"]] == [ids["upload"]]
    assert listed(AUDREY) == [ids["f1"]]  # the one FPO of their projects, without naming it
    assert listed(AUDREY, "fpo_id=FPO-1") == [ids["f1"]]
    assert dashboard("fpo", "FPO-1", AUDREY).status == 200
    overview = dashboard("overview", "FPO-1", AUDREY)
    assert overview.status == 200 and (overview.body["members"], overview.body["plots"]) == (1, 1)
    reports = dashboard("reports", "FPO-1", AUDREY)
    assert reports.status == 200 and [s["season_key"] for s in reports.body["seasons"]] == ["2025-kharif"]


def test_an_assigned_auditor_sees_nothing_outside_the_project_fpos(world):
    ids = world["ids"]
    for r in (
        farmer(ids["f2"], AUDREY),
        plots_of(ids["f2"], AUDREY),
        plot(ids["p2"], AUDREY),
        dashboard("fpo", "FPO-2", AUDREY),
        dashboard("overview", "FPO-2", AUDREY),
        dashboard("reports", "FPO-2", AUDREY),
    ):
        assert r.status == 404 and r.body["error"]["code"] == "not_found", r.body
    assert listed(AUDREY, "fpo_id=FPO-2") == []


def test_an_unassigned_auditor_gets_404_for_the_same_ids_and_empty_lists(world):
    ids = world["ids"]
    for r in (
        farmer(ids["f1"], OTTO),
        plots_of(ids["f1"], OTTO),
        plot(ids["p1"], OTTO),
        dashboard("fpo", "FPO-1", OTTO),
        dashboard("overview", "FPO-1", OTTO),
        dashboard("reports", "FPO-1", OTTO),
    ):
        assert r.status == 404 and r.body["error"]["code"] == "not_found", r.body
    assert listed(OTTO) == [] and listed(OTTO, "fpo_id=FPO-1") == []


def test_an_assigned_auditor_still_cannot_write(world):
    ids, store = world["ids"], world["store"]
    before = {k: dict(v) for k, v in store.items.items()}
    f1, p1 = ids["f1"], ids["p1"]
    writes = [
        ("POST", "/farmers", "/farmers", None, farmer_body("FPO-1")),
        ("PATCH", f"/farmers/{f1}", "/farmers/{farmer_id}", {"farmer_id": f1}, {"version": 1, "name": "Changed"}),
        ("POST", f"/farmers/{f1}/plots", "/farmers/{farmer_id}/plots", {"farmer_id": f1}, square(75.95, 30.9)),
        ("PUT", f"/plots/{p1}", "/plots/{plot_id}", {"plot_id": p1}, {**square(75.85, 30.9), "version": 1}),
        ("POST", f"/plots/{p1}/seasons", "/plots/{plot_id}/seasons", {"plot_id": p1}, {**RICE, "season": "rabi"}),
        (
            "POST",
            "/farmers/field-data",
            "/farmers/field-data",
            None,
            {"plot_id": p1, "season": {**RICE, "season": "zaid"}},
        ),
        ("POST", "/uploads", "/uploads", None, {"plot_id": p1, "content_type": "application/pdf", "size_bytes": 10}),
        (
            "POST",
            f"/uploads/{ids['upload']}/complete",
            "/uploads/{upload_id}/complete",
            {"upload_id": ids["upload"]},
            None,
        ),
        (
            "POST",
            "/sync",
            "/sync",
            None,
            {
                "records": [
                    {
                        "client_id": "client-0001",
                        "entity": "farmer",
                        "action": "update",
                        "id": f1,
                        "base_version": 1,
                        "data": {"name": "Changed"},
                    }
                ]
            },
        ),
        (
            "POST",
            "/imports/farmers",
            "/imports/farmers",
            None,
            {
                "fpo_id": "FPO-1",
                "csv": "name,phone,village,district,state\nA,9876543210,v,d,s\n",
                "consent_version": "v1",
            },
        ),
    ]
    for method, path, resource, params, body in writes:
        r = call(farmers, method, path, body, claims=AUDREY, resource=resource, params=params)
        assert r.status == 403 and r.body["error"]["code"] == "role_forbidden", (path, r.status, r.body)
    r = call(fpo, "POST", "/fpos", {"fpo_id": "FPO-3", "name": "x", "state": "y"}, claims=AUDREY)
    assert r.status == 403
    assert store.items == before  # nothing written, not even a sync receipt or a completed upload


def test_after_unassignment_access_disappears(world):
    ids, assignments = world["ids"], world["assignments"]
    assert farmer(ids["f1"], AUDREY).status == 200
    assignments.unassign(world["project"], "audrey")
    assert farmer(ids["f1"], AUDREY).status == 404
    assert plot(ids["p1"], AUDREY).status == 404
    assert dashboard("overview", "FPO-1", AUDREY).status == 404
    assert listed(AUDREY) == [] and listed(AUDREY, "fpo_id=FPO-1") == []


def test_unassignment_counts_at_once_even_while_the_index_still_lists_the_assignment(world):
    ids, assignments = world["ids"], world["assignments"]
    assignments.unassign(world["project"], "audrey", index_lags=True)
    assert farmer(ids["f1"], AUDREY).status == 404
    assert listed(AUDREY, "fpo_id=FPO-1") == []


def test_several_project_fpos_are_listed_one_fpo_at_a_time(world):
    ids, assignments = world["ids"], world["assignments"]
    assignments.assign(assignments.project("FPO-2"), "audrey")
    r = get(farmers, "/farmers", AUDREY)
    assert r.status == 422 and r.body["error"]["details"][0]["field"] == "query.fpo_id"
    assert listed(AUDREY, "fpo_id=FPO-1") == [ids["f1"]] and listed(AUDREY, "fpo_id=FPO-2") == [ids["f2"]]
    assert farmer(ids["f2"], AUDREY).status == 200


def test_assignments_cost_one_query_and_one_batch_get_per_auditor_request_and_nothing_for_others(world):
    ids, calls = world["ids"], world["assignments"].store.calls
    calls.clear()
    assert plot(ids["p1"], MANAGER).status == 200 and listed(MANAGER) == [ids["f1"]]
    assert calls == []
    assert plot(ids["p1"], AUDREY).status == 200
    assert calls == ["Query", "BatchGetItem"]
    calls.clear()
    assert plot(ids["p1"], OTTO).status == 404
    assert calls == ["Query"]  # no assignment: nothing to fetch

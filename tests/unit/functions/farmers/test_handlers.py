"""The farmers and fpo Lambda entry points with the in-memory store: envelope, validation, roles."""

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
AUDITOR = claims_for("auditor", user="aud", fpo=None)
CONSENT = {"given": True, "version": "v1", "at": "2025-06-01T10:00:00+05:30"}


@pytest.fixture
def store(monkeypatch):
    store = InMemoryFarmStore()
    store.transact(
        [
            Put(
                FpoRecord(
                    fpo_id="FPO-1", name="One", state="Punjab", created_by="a", created_at=utc_iso_seconds_offset()
                ).to_item()
            )
        ]
    )
    revocations = InMemoryRevocationStore()
    monkeypatch.setattr(farmers, "_revocation", lambda: revocations)
    monkeypatch.setattr(fpo, "_revocation", lambda: revocations)
    farmers.app.dependency_overrides[farmers.get_context] = lambda: FarmContext(store=store, aadhaar_key=lambda: b"k")
    fpo.app.dependency_overrides[fpo.get_service] = lambda: FpoService(store, utc_iso_seconds_offset)
    unassigned = Assignments()  # no projects: auditors are assigned nothing
    farmers.app.dependency_overrides[farmers.get_assignments] = unassigned.loader
    fpo.app.dependency_overrides[fpo.get_assignments] = unassigned.loader
    yield store
    farmers.app.dependency_overrides.clear()
    fpo.app.dependency_overrides.clear()


def test_validation_errors_name_each_field(store):
    r = call(
        farmers,
        "POST",
        "/farmers",
        {
            "name": "",
            "phone": "12",
            "village": "Ram#pur",
            "district": "d",
            "state": "s",
            "fpo_id": "FPO-1",
            "consent": {**CONSENT, "given": False},
            "role": "admin",
        },
        claims=MANAGER,
    )
    assert r.status == 422 and r.body["error"]["code"] == "validation_error"
    fields = {d["field"] for d in r.body["error"]["details"]}
    assert fields == {"body.name", "body.phone", "body.village", "body.consent.given", "body.role"}


def test_malformed_json_is_400(store):
    r = call(farmers, "POST", "/sync", "{not json", claims=MANAGER)
    assert r.status == 400 and r.body["error"]["code"] == "malformed_json"


def test_consent_needs_a_timezone_and_a_past_time(store):
    for at in ("2025-06-01T10:00:00", "2999-01-01T00:00:00+00:00"):
        r = call(
            farmers,
            "POST",
            "/farmers",
            {
                "name": "R",
                "phone": "9876543210",
                "village": "v",
                "district": "d",
                "state": "s",
                "fpo_id": "FPO-1",
                "consent": {**CONSENT, "at": at},
            },
            claims=MANAGER,
        )
        assert r.status == 422 and r.body["error"]["details"][0]["field"] == "body.consent.at"


def test_unassigned_auditors_cannot_write_and_see_nothing(store):
    assert (
        call(
            farmers,
            "POST",
            "/farmers",
            {
                "name": "R",
                "phone": "9876543210",
                "village": "v",
                "district": "d",
                "state": "s",
                "fpo_id": "FPO-1",
                "consent": CONSENT,
            },
            claims=AUDITOR,
        ).status
        == 403
    )
    assert call(farmers, "GET", "/farmers", claims=AUDITOR).body == {"items": [], "next_token": None}
    r = call(fpo, "GET", "/fpos/FPO-1", claims=AUDITOR, resource="/fpos/{fpo_id}", params={"fpo_id": "FPO-1"})
    assert r.status == 404


def test_an_empty_fpo_reads_as_zeros_with_no_shares(store):
    r = call(
        fpo,
        "GET",
        "/fpos/FPO-1/overview",
        claims=MANAGER,
        resource="/fpos/{fpo_id}/overview",
        params={"fpo_id": "FPO-1"},
    )
    assert r.status == 200
    assert (r.body["members"], r.body["plots"], r.body["area_ha"]) == (0, 0, 0)
    assert r.body["completeness"] == {
        "farmers_with_plots": None,
        "plots_with_seasons": None,
        "seasons_with_water_evidence": None,
    }
    assert store.calls[-1] == "BatchGetItem"


def test_sync_reads_the_fpo_once_per_batch(store):
    data = {
        "name": "R",
        "phone": "9876543210",
        "village": "v",
        "district": "d",
        "state": "s",
        "fpo_id": "FPO-1",
        "consent": CONSENT,
    }
    records = [
        {
            "client_id": f"client-{i:04d}",
            "entity": "farmer",
            "action": "create",
            "data": {**data, "phone": f"98765432{i:02d}"},
        }
        for i in range(20)
    ]
    store.calls.clear()
    r = call(farmers, "POST", "/sync", {"records": records}, claims=MANAGER)
    assert r.body["applied"] == 20
    assert store.calls.count("GetItem") == 1 and store.calls.count("BatchGetItem") == 1


def test_a_season_yield_is_bounded_stored_and_returned(store):
    r = call(
        farmers,
        "POST",
        "/farmers",
        {
            "name": "R",
            "phone": "9876543210",
            "village": "v",
            "district": "d",
            "state": "s",
            "fpo_id": "FPO-1",
            "consent": CONSENT,
        },
        claims=MANAGER,
    )
    fid = r.body["farmer_id"]
    square = [[75.85, 30.9], [75.851, 30.9], [75.851, 30.901], [75.85, 30.901], [75.85, 30.9]]
    r = call(
        farmers,
        "POST",
        f"/farmers/{fid}/plots",
        {"type": "Feature", "geometry": {"type": "Polygon", "coordinates": [square]}},
        claims=MANAGER,
        resource="/farmers/{farmer_id}/plots",
        params={"farmer_id": fid},
    )
    pid = r.body["plot_id"]
    wheat = {"year": 2025, "season": "rabi", "crop": "wheat", "sowing_date": "2025-11-15", "harvest_date": "2026-04-10"}

    def post(yield_t_per_ha):
        return call(
            farmers,
            "POST",
            f"/plots/{pid}/seasons",
            {**wheat, "yield_t_per_ha": yield_t_per_ha},
            claims=MANAGER,
            resource="/plots/{plot_id}/seasons",
            params={"plot_id": pid},
        )

    for bad in (-0.5, 31, "lots"):
        r = post(bad)
        assert r.status == 422 and r.body["error"]["code"] == "validation_error", r.body
        assert [d["field"] for d in r.body["error"]["details"]] == ["body.yield_t_per_ha"]
    r = post(4.2)
    assert r.status == 201 and r.body["activity"]["yield_t_per_ha"] == 4.2
    r = call(farmers, "GET", f"/plots/{pid}", claims=MANAGER, resource="/plots/{plot_id}", params={"plot_id": pid})
    assert [s["activity"]["yield_t_per_ha"] for s in r.body["seasons"]] == [4.2]

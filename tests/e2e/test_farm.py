"""Farmer data over HTTP against the local twin: every farmers/fpo route, sync replay and conflict,
overlap refusal and the access rules, as the web and mobile clients call them."""

from __future__ import annotations

import random
import uuid

import pytest

from functions.farmers.aadhaar import verhoeff_check_digit
from tests.e2e.conftest import Client
from tests.e2e.test_api import PASSWORD, unique

DEMO_FPO = "FPO-DEMO-1"
CONSENT = {"given": True, "version": "v1", "at": "2025-06-01T10:00:00+05:30"}


def square(lon: float, lat: float, size: float = 0.001) -> dict:
    return {
        "type": "Feature",
        "properties": {},
        "geometry": {
            "type": "Polygon",
            "coordinates": [[[lon, lat], [lon + size, lat], [lon + size, lat + size], [lon, lat + size], [lon, lat]]],
        },
    }


def somewhere() -> tuple[float, float]:
    """A random spot in the Indo-Gangetic plain, so tests sharing the twin do not overlap. (West of 79.5 E and
    south of 28.5 N: further east and north is Nepal, which plots are checked against.)"""
    return round(random.uniform(75.0, 79.5), 4), round(random.uniform(24.0, 28.5), 4)


def farmer_body(**extra) -> dict:
    phone = "9" + "".join(random.choice("0123456789") for _ in range(9))
    return {
        "name": "Ravi Kumar",
        "phone": phone,
        "village": "Rampur",
        "district": "Patiala",
        "state": "Punjab",
        "fpo_id": DEMO_FPO,
        "preferred_language": "pa",
        "consent": CONSENT,
        **extra,
    }


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
    "water_regime_evidence": {"method": "awd_pipe_readings", "description": "AWD pipe, 3 dry-downs"},
}


@pytest.fixture(scope="module")
def tokens(twin) -> dict[str, str]:
    client = Client.of(twin)
    return {u["role"]: client.login(u["username"], u["password"])["id_token"] for u in twin["users"]}


@pytest.fixture(scope="module")
def other_manager(twin, tokens) -> str:
    """A manager of another FPO (created through the admin routes, first login included)."""
    client = Client.of(twin)
    other_fpo = unique("FPO-E2E-")
    assert (
        client.call(
            "POST", "/fpos", {"fpo_id": other_fpo, "name": "Other FPO", "state": "Bihar"}, token=tokens["admin"]
        ).status_code
        == 201
    )
    username = unique("mgr")
    r = client.call(
        "POST",
        "/admin/users",
        {
            "username": username,
            "role": "fpo_manager",
            "fpo_id": other_fpo,
            "name": "Other Manager",
            "temporary_password": "Temp-Passw0rd!x",
        },
        token=tokens["admin"],
    )
    assert r.status_code == 201, r.text
    first = client.call("POST", "/auth/login", {"username": username, "password": "Temp-Passw0rd!x"}).json()
    done = client.call(
        "POST",
        "/auth/challenge",
        {
            "challenge_name": "NEW_PASSWORD_REQUIRED",
            "username": username,
            "session": first["challenge"]["session"],
            "new_password": PASSWORD,
        },
    )
    return done.json()["tokens"]["id_token"]


def test_demo_fpo_exists_and_fpos_are_admin_only(client, tokens):
    r = client.call("GET", f"/fpos/{DEMO_FPO}", token=tokens["fpo_manager"])
    assert r.status_code == 200 and r.json()["fpo_id"] == DEMO_FPO
    again = client.call("POST", "/fpos", {"fpo_id": DEMO_FPO, "name": "x", "state": "y"}, token=tokens["admin"])
    assert again.status_code == 409
    for role in ("farmer", "fpo_manager", "auditor"):
        assert (
            client.call(
                "POST", "/fpos", {"fpo_id": unique("F"), "name": "x", "state": "y"}, token=tokens[role]
            ).status_code
            == 403
        )


def test_register_farmer_plot_season_and_dashboards(client, tokens):
    mgr = tokens["fpo_manager"]
    number = "3456789012" + "3"
    number += verhoeff_check_digit(number)
    r = client.call("POST", "/farmers", farmer_body(aadhaar=number), token=mgr)
    assert r.status_code == 201, r.text
    farmer = r.json()
    assert farmer["aadhaar_last4"] == number[-4:] and number not in r.text
    fid = farmer["farmer_id"]
    assert client.call("GET", f"/farmers/{fid}", token=mgr).json()["name"] == "Ravi Kumar"
    patched = client.call("PATCH", f"/farmers/{fid}", {"version": 1, "village": "Sonepur"}, token=mgr)
    assert patched.status_code == 200 and patched.json()["version"] == 2
    stale = client.call("PATCH", f"/farmers/{fid}", {"version": 1, "name": "Stale"}, token=mgr)
    assert stale.status_code == 409 and stale.json()["error"]["code"] == "version_conflict"

    lon, lat = somewhere()
    plot = client.call("POST", f"/farmers/{fid}/plots", square(lon, lat), token=mgr)
    assert plot.status_code == 201, plot.text
    pid = plot.json()["plot_id"]
    assert 0.5 < plot.json()["area_ha"] < 1.2
    assert [p["plot_id"] for p in client.call("GET", f"/farmers/{fid}/plots", token=mgr).json()["items"]] == [pid]
    moved = client.call("PUT", f"/plots/{pid}", {**square(lon, lat, 0.0012), "version": 1}, token=mgr)
    assert moved.status_code == 200 and moved.json()["version"] == 2
    assert client.call("PUT", f"/plots/{pid}", {**square(lon, lat), "version": 1}, token=mgr).status_code == 409

    season = client.call("POST", f"/plots/{pid}/seasons", RICE, token=mgr)
    assert season.status_code == 201, season.text
    rabi = {
        **RICE,
        "season": "rabi",
        "crop": "wheat",
        "water_regime": None,
        "preseason_water": None,
        "water_regime_evidence": None,
        "sowing_date": "2025-11-10",
        "harvest_date": "2026-04-05",
        "cultivation_days": 140,
        "urea_kg_per_ha": 200,
    }
    fd = client.call("POST", "/farmers/field-data", {"plot_id": pid, "season": rabi}, token=mgr)
    assert fd.status_code == 201, fd.text
    impossible = client.call(
        "POST",
        f"/plots/{pid}/seasons",
        {**RICE, "year": 2024, "sowing_date": "2024-06-20", "harvest_date": "2024-06-01"},
        token=mgr,
    )
    assert impossible.status_code == 422 and impossible.json()["error"]["details"][0]["field"] == "body"
    shown = client.call("GET", f"/plots/{pid}", token=mgr).json()
    assert [s["season_key"] for s in shown["seasons"]] == ["2025-kharif", "2025-rabi"]

    overview = client.call("GET", f"/fpos/{DEMO_FPO}/overview", token=mgr).json()
    assert overview["members"] >= 1 and overview["seasons_reported"] >= 2 and "rice" in overview["area_ha_by_crop"]
    reports = client.call("GET", f"/fpos/{DEMO_FPO}/reports", token=mgr).json()
    assert "Sonepur" in [v["village"] for v in reports["villages"]]
    csv = client.call("GET", f"/fpos/{DEMO_FPO}/reports?format=csv&table=villages", token=mgr)
    assert csv.status_code == 200 and csv.headers["Content-Type"].startswith("text/csv") and "Sonepur" in csv.text
    assert csv.text.splitlines()[0] == "village,members,plots,area_ha,seasons_reported"
    bundle = client.call(
        "GET", f"/fpos/{DEMO_FPO}/reports?format=zip", token=mgr, headers={"Accept": "application/zip"}
    )
    assert bundle.status_code == 200 and bundle.content[:2] == b"PK"  # one CSV per table
    assert client.call("GET", f"/fpos/{DEMO_FPO}/reports?format=csv", token=mgr).status_code == 422  # table_required
    xlsx = client.call(
        "GET",
        f"/fpos/{DEMO_FPO}/reports?format=xlsx",
        token=mgr,
        headers={"Accept": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"},
    )
    assert xlsx.status_code == 200 and xlsx.content[:2] == b"PK"  # a zip: the .xlsx container


def test_overlapping_plot_is_refused_with_409(client, tokens, other_manager):
    mgr = tokens["fpo_manager"]
    fid = client.call("POST", "/farmers", farmer_body(), token=mgr).json()["farmer_id"]
    lon, lat = somewhere()
    first = client.call("POST", f"/farmers/{fid}/plots", square(lon, lat), token=mgr).json()
    second_farmer = client.call("POST", "/farmers", farmer_body(), token=mgr).json()["farmer_id"]
    clash = client.call("POST", f"/farmers/{second_farmer}/plots", square(lon + 0.0001, lat + 0.0001), token=mgr)
    assert clash.status_code == 409 and clash.json()["error"]["code"] == "plot_overlap"
    assert clash.json()["error"]["details"][0]["overlapping_plot_ids"] == [first["plot_id"]]


def test_access_rules_over_http(client, tokens, other_manager):
    from tests.e2e.test_auditor_access import new_auditor

    # an auditor assigned to nothing (the demo auditor gets assigned to a demo-FPO project elsewhere)
    mgr, farmer, auditor = tokens["fpo_manager"], tokens["farmer"], new_auditor(client, tokens["admin"])
    fid = client.call("POST", "/farmers", farmer_body(), token=mgr).json()["farmer_id"]
    lon, lat = somewhere()
    pid = client.call("POST", f"/farmers/{fid}/plots", square(lon, lat), token=mgr).json()["plot_id"]
    # a farmer sees only their own profile; the manager's registration has no account linked
    for token in (farmer, auditor, other_manager):
        assert client.call("GET", f"/farmers/{fid}", token=token).status_code == 404
        assert client.call("GET", f"/plots/{pid}", token=token).status_code == 404
    for token in (farmer, other_manager):  # roles that write, on records they may not see: 404
        assert client.call("PATCH", f"/farmers/{fid}", {"version": 1, "name": "x"}, token=token).status_code == 404
        assert client.call("POST", f"/plots/{pid}/seasons", RICE, token=token).status_code == 404
    # auditors never write farm data: 403 for the role, whatever the id (so nothing can be probed)
    for path, body in (
        (f"/farmers/{fid}", {"version": 1, "name": "x"}),
        ("/farmers/F-nope", {"version": 1, "name": "x"}),
    ):
        r = client.call("PATCH", path, body, token=auditor)
        assert r.status_code == 403 and r.json()["error"]["code"] == "role_forbidden"
    assert client.call("GET", f"/fpos/{DEMO_FPO}/overview", token=other_manager).status_code == 404
    assert client.call("GET", f"/fpos/{DEMO_FPO}/overview", token=auditor).status_code == 404
    assert client.call("GET", "/farmers", token=auditor).json()["items"] == []
    assert client.call("GET", f"/farmers?fpo_id={DEMO_FPO}", token=auditor).json()["items"] == []
    assert client.call("GET", f"/farmers?fpo_id={DEMO_FPO}", token=other_manager).status_code == 404
    assert client.call("POST", "/farmers", farmer_body(), token=other_manager).status_code == 403
    assert client.call("POST", "/farmers", farmer_body(), token=auditor).status_code == 403


def test_farmer_self_registers_once_and_manages_own_plot(client, tokens):
    farmer = tokens["farmer"]
    r = client.call("POST", "/farmers", farmer_body(), token=farmer)
    assert r.status_code == 201, r.text
    assert client.call("POST", "/farmers", farmer_body(), token=farmer).json()["error"]["code"] == "profile_exists"
    fid = r.json()["farmer_id"]
    assert [f["farmer_id"] for f in client.call("GET", "/farmers", token=farmer).json()["items"]] == [fid]
    lon, lat = somewhere()
    plot = client.call("POST", f"/farmers/{fid}/plots", square(lon, lat), token=farmer)
    assert plot.status_code == 201
    assert client.call("GET", f"/plots/{plot.json()['plot_id']}", token=tokens["fpo_manager"]).status_code == 200
    upload = client.call(
        "POST",
        "/uploads",
        {"plot_id": plot.json()["plot_id"], "content_type": "application/pdf", "size_bytes": 2048},
        token=farmer,
    )
    assert upload.status_code == 201 and upload.json()["evidence"]["status"] == "pending"
    assert client.call("POST", f"/uploads/{upload.json()['upload_id']}/complete", token=farmer).status_code == 409


def test_sync_batch_replays_and_conflicts(client, tokens):
    mgr = tokens["fpo_manager"]
    lon, lat = somewhere()
    records = [
        {"client_id": f"c-{uuid.uuid4().hex}", "entity": "farmer", "action": "create", "data": farmer_body()}
        for _ in range(3)
    ]
    first = client.call("POST", "/sync", {"records": records}, token=mgr).json()
    assert first["applied"] == 3
    fid = first["results"][0]["id"]
    plot = {
        "client_id": f"c-{uuid.uuid4().hex}",
        "entity": "plot",
        "action": "create",
        "id": fid,
        "data": square(lon, lat),
    }
    season_for = lambda pid: {
        "client_id": f"c-{uuid.uuid4().hex}",
        "entity": "season",
        "action": "create",
        "id": pid,
        "data": RICE,
    }
    applied = client.call("POST", "/sync", {"records": [plot]}, token=mgr).json()["results"][0]
    assert applied["status"] == "applied"
    season = season_for(applied["id"])
    batch = {"records": [*records, plot, season]}
    for _ in range(2):  # the same batch again and again: only the new season applies, once
        again = client.call("POST", "/sync", batch, token=mgr).json()
        statuses = [r["status"] for r in again["results"]]
        assert statuses[:4] == ["duplicate"] * 4 and statuses[4] in ("applied", "duplicate")
    update = {
        "client_id": f"c-{uuid.uuid4().hex}",
        "entity": "farmer",
        "action": "update",
        "id": fid,
        "base_version": 1,
        "data": {"name": "Updated offline"},
    }
    competing = {**update, "client_id": f"c-{uuid.uuid4().hex}", "data": {"name": "Other phone"}}
    result = client.call("POST", "/sync", {"records": [update, competing]}, token=mgr).json()["results"]
    assert [r["status"] for r in result] == ["applied", "conflict"]
    assert result[1]["current"]["name"] == "Updated offline" and result[1]["version"] == 2
    too_many = client.call("POST", "/sync", {"records": [records[0]] * 501}, token=mgr)
    assert too_many.status_code == 422


def test_imports_report_rows_and_are_idempotent(client, tokens):
    mgr = tokens["fpo_manager"]
    ext = unique("E")
    csv = (
        "name,phone,village,district,state,external_id,consent_given,consent_at\n"
        f"Asha,98{random.randint(10_000_000, 99_999_999)},Rampur,Patiala,Punjab,{ext},yes,2025-06-01T10:00:00+05:30\n"
        "Nope,12,Rampur,Patiala,Punjab,X,yes,2025-06-01T10:00:00+05:30\n"
    )
    body = {"fpo_id": DEMO_FPO, "csv": csv, "consent_version": "v1"}
    first = client.call("POST", "/imports/farmers", body, token=mgr).json()
    assert (first["accepted"], first["rejected"]) == (1, 1)
    assert client.call("POST", "/imports/farmers", body, token=mgr).json()["duplicate"] == 1
    lon, lat = somewhere()
    fc = {
        "fpo_id": DEMO_FPO,
        "type": "FeatureCollection",
        "features": [{**square(lon, lat), "properties": {"farmer_external_id": ext, "external_id": unique("P")}}],
    }
    assert client.call("POST", "/imports/plots", fc, token=mgr).json()["accepted"] == 1
    assert client.call("POST", "/imports/plots", fc, token=mgr).json()["duplicate"] == 1
    assert client.call("POST", "/imports/farmers", body, token=tokens["farmer"]).status_code == 403


def test_input_hardening_over_http(client, tokens):
    """Input hardening as the clients meet it: a null in a PATCH is a 422 that stores nothing, a plot outside India
    (inside its bounding box) or of 22,000 positions is a 422, and a CSV saved by Excel (BOM) imports."""
    import math

    mgr = tokens["fpo_manager"]
    fid = client.call("POST", "/farmers", farmer_body(), token=mgr).json()["farmer_id"]
    r = client.call("PATCH", f"/farmers/{fid}", {"version": 1, "name": None}, token=mgr)
    assert r.status_code == 422 and r.json()["error"]["details"][0]["field"] == "body.name", r.text
    shown = client.call("GET", f"/farmers/{fid}", token=mgr).json()
    assert (shown["name"], shown["version"]) == ("Ravi Kumar", 1)
    assert client.call("GET", f"/farmers?fpo_id={DEMO_FPO}", token=mgr).status_code == 200

    tibet = client.call("POST", f"/farmers/{fid}/plots", square(90.0, 30.0), token=mgr)
    assert tibet.status_code == 422 and tibet.json()["error"]["details"][0]["type"] == "outside_india", tibet.text
    lon, lat = somewhere()
    ring = [
        [lon + 0.002 * math.cos(2 * math.pi * i / 22_000), lat + 0.002 * math.sin(2 * math.pi * i / 22_000)]
        for i in range(22_000)
    ]
    huge = {"type": "Feature", "properties": {}, "geometry": {"type": "Polygon", "coordinates": [ring + [ring[0]]]}}
    r = client.call("POST", f"/farmers/{fid}/plots", huge, token=mgr)
    assert r.status_code in (413, 422), r.text
    assert client.call("GET", f"/farmers/{fid}/plots", token=mgr).json()["items"] == []

    csv = (
        "\ufeffname,phone,village,district,state,external_id,consent_given,consent_at\n"
        f"Asha,98{random.randint(10_000_000, 99_999_999)},Rampur,Patiala,Punjab,{unique('E')},yes,"
        "2025-06-01T10:00:00+05:30\n"
    )
    r = client.call("POST", "/imports/farmers", {"fpo_id": DEMO_FPO, "csv": csv, "consent_version": "v1"}, token=mgr)
    assert r.status_code == 200 and r.json()["accepted"] == 1, r.text

"""Farmers and FPO routes through their real Lambda entry points, on moto with the stack's own
table, index, bucket and secret: access rules, overlap refusal, optimistic concurrency, sync
replay/conflict, aggregates, constant-cost overview, and no Scan on any request path."""

from __future__ import annotations

import pytest

from functions.farmers.aadhaar import verhoeff_check_digit
from tests.unit.functions.conftest import call, claims_for

FPO = "FPO-A"
OTHER_FPO = "FPO-B"
ADMIN = claims_for("admin", user="admin-1", username="root", fpo=None)
MANAGER = claims_for("fpo_manager", user="mgr-1", username="mgr", fpo=FPO)
OTHER_MANAGER = claims_for("fpo_manager", user="mgr-2", username="mgr2", fpo=OTHER_FPO)
FARMER = claims_for("farmer", user="farmer-1", username="ravi", fpo=FPO)
OTHER_FARMER = claims_for("farmer", user="farmer-2", username="sita", fpo=FPO)
AUDITOR = claims_for("auditor", user="aud-1", username="audrey", fpo=None)
CONSENT = {"given": True, "version": "v1", "at": "2025-06-01T10:00:00+05:30"}


def square(lon: float, lat: float, size: float = 0.001) -> dict:
    return {
        "type": "Polygon",
        "coordinates": [[[lon, lat], [lon + size, lat], [lon + size, lat + size], [lon, lat + size], [lon, lat]]],
    }


def feature(geometry: dict, **props) -> dict:
    return {"type": "Feature", "geometry": geometry, "properties": props}


RICE = {
    "year": 2025,
    "season": "kharif",
    "crop": "rice",
    "sowing_date": "2025-06-20",
    "harvest_date": "2025-10-20",
    "cultivation_days": 110,
    "water_regime": "single_drainage",
    "preseason_water": "non_flooded_lt_180",
    "synthetic_n_kg_per_ha": 100,
    "urea_kg_per_ha": 200,
    "water_regime_evidence": {"method": "field_visit", "description": "drained once at tillering"},
}


@pytest.fixture(autouse=True)
def dynamodb_calls(aws):
    """Every DynamoDB operation any test of this module makes through any route; none may Scan."""
    import boto3

    calls: list[str] = []
    hook = lambda model, **_: calls.append(model.name)
    events = boto3._get_default_session().events
    events.register("before-call.dynamodb", hook)
    yield calls
    events.unregister("before-call.dynamodb", hook)
    assert "Scan" not in calls


def test_the_scan_guard_sees_the_routes_calls(api, dynamodb_calls):
    """The guard above would pass vacuously if it saw nothing: prove it sees the routes' calls."""
    dynamodb_calls.clear()
    register(api)
    assert "TransactWriteItems" in dynamodb_calls and "GetItem" in dynamodb_calls


@pytest.fixture
def api(aws, function_env):
    function_env("farmers")
    function_env("fpo")
    import functions.farmers.handler as farmers
    import functions.fpo.handler as fpo

    farmers._aadhaar_key.cache_clear()
    farmers._revocation.cache_clear()
    fpo._revocation.cache_clear()

    class Api:
        def farmers(self, method, path, body=None, claims=ADMIN, resource=None, params=None, query=""):
            return call(farmers, method, path, body, claims=claims, resource=resource, params=params, query=query)

        def fpo(self, method, path, body=None, claims=ADMIN, resource=None, params=None, query=""):
            return call(fpo, method, path, body, claims=claims, resource=resource, params=params, query=query)

        def raw_fpo(self, path, query, claims):
            from infra.local.front import proxy_event
            from infra.local.lambdas import LambdaContext

            event = proxy_event(
                "/fpos/{fpo_id}/reports", "GET", path, query=query, claims=claims, params={"fpo_id": path.split("/")[2]}
            )
            return fpo.lambda_handler(event, LambdaContext("fpo", 128, "arn:aws:lambda:x:1:function:fpo", "r", 10))

    api = Api()
    for fpo_id in (FPO, OTHER_FPO):
        assert (
            api.fpo("POST", "/fpos", {"fpo_id": fpo_id, "name": f"{fpo_id} Producers", "state": "Punjab"}).status == 201
        )
    return api


def register(api, claims=MANAGER, fpo=FPO, phone="9876543210", village="Rampur", **extra):
    r = api.farmers(
        "POST",
        "/farmers",
        {
            "name": "Ravi",
            "phone": phone,
            "village": village,
            "district": "Patiala",
            "state": "Punjab",
            "fpo_id": fpo,
            "consent": CONSENT,
            **extra,
        },
        claims=claims,
    )
    return r


def add_plot(api, farmer_id, geometry, claims=MANAGER, **props):
    return api.farmers(
        "POST",
        f"/farmers/{farmer_id}/plots",
        feature(geometry, **props),
        claims=claims,
        resource="/farmers/{farmer_id}/plots",
        params={"farmer_id": farmer_id},
    )


def get(api, path, resource, params, claims):
    return api.farmers("GET", path, claims=claims, resource=resource, params=params)


def test_register_farmer_with_aadhaar_keeps_only_last4_and_flags_duplicates(api):
    number = "23456789012" + verhoeff_check_digit("23456789012")
    r = register(api, aadhaar=number[:4] + " " + number[4:8] + " " + number[8:])
    assert r.status == 201, r.body
    assert r.body["aadhaar_last4"] == number[-4:] and "aadhaar" not in r.body and "aadhaar_hmac" not in r.body
    assert r.body["phone"] == "+919876543210" and r.body["membership"] == "approved"
    # a clash is not a 409 (that answer let any account probe numbers, docs/decisions/0007): the
    # profile is stored unlinked, flagged for the manager, and is no member until resolved
    again = register(api, phone="9876543211", aadhaar=number)
    assert again.status == 201 and (again.body["membership"], again.body["aadhaar_duplicate"]) == ("pending", True)
    overview = api.fpo(
        "GET", f"/fpos/{FPO}/overview", claims=MANAGER, resource="/fpos/{fpo_id}/overview", params={"fpo_id": FPO}
    )
    assert overview.body["members"] == 1
    bad = register(api, phone="9876543212", aadhaar=number[:-1] + str((int(number[-1]) + 1) % 10))
    assert bad.status == 422 and bad.body["error"]["details"][0]["field"] == "body.aadhaar"


def test_who_may_register_whom(api):
    assert register(api, claims=OTHER_MANAGER).status == 403  # another FPO's manager
    assert register(api, claims=AUDITOR).status == 403
    assert register(api, fpo="FPO-NOPE", claims=ADMIN).status == 422
    own = register(api, claims=FARMER)
    assert own.status == 201 and own.body["owner_user_id"] == "farmer-1"
    assert register(api, claims=FARMER, phone="9876500000").body["error"]["code"] == "profile_exists"
    assert register(api, claims=FARMER, fpo=OTHER_FPO).status == 403


def test_access_rules_answer_404_across_boundaries(api):
    farmer_id = register(api, claims=FARMER).body["farmer_id"]
    plot = add_plot(api, farmer_id, square(77.0, 28.0), claims=FARMER)
    assert plot.status == 201, plot.body
    plot_id = plot.body["plot_id"]
    for claims, status in (
        (FARMER, 200),
        (MANAGER, 200),
        (ADMIN, 200),
        (OTHER_FARMER, 404),
        (OTHER_MANAGER, 404),
        (AUDITOR, 404),
    ):
        assert (
            get(api, f"/farmers/{farmer_id}", "/farmers/{farmer_id}", {"farmer_id": farmer_id}, claims).status == status
        )
        assert get(api, f"/plots/{plot_id}", "/plots/{plot_id}", {"plot_id": plot_id}, claims).status == status
    # writes across the boundary are 404 as well
    patch = api.farmers(
        "PATCH",
        f"/farmers/{farmer_id}",
        {"version": 1, "name": "X"},
        claims=OTHER_MANAGER,
        resource="/farmers/{farmer_id}",
        params={"farmer_id": farmer_id},
    )
    assert patch.status == 404
    assert add_plot(api, farmer_id, square(77.01, 28.0), claims=OTHER_FARMER).status == 404
    season = api.farmers(
        "POST",
        f"/plots/{plot_id}/seasons",
        RICE,
        claims=OTHER_MANAGER,
        resource="/plots/{plot_id}/seasons",
        params={"plot_id": plot_id},
    )
    assert season.status == 404
    # lists are scoped
    assert api.farmers("GET", "/farmers", claims=AUDITOR).body["items"] == []
    assert [f["farmer_id"] for f in api.farmers("GET", "/farmers", claims=FARMER).body["items"]] == [farmer_id]
    assert api.farmers("GET", "/farmers", claims=OTHER_FARMER).body["items"] == []
    assert api.farmers("GET", "/farmers", claims=OTHER_MANAGER).body["items"] == []
    assert api.farmers("GET", "/farmers", claims=OTHER_MANAGER, query=f"fpo_id={FPO}").status == 404
    assert api.farmers("GET", "/farmers", claims=ADMIN).status == 422  # admins name the FPO
    assert len(api.farmers("GET", "/farmers", claims=ADMIN, query=f"fpo_id={FPO}").body["items"]) == 1
    # FPO dashboards: own FPO only; auditors none until assignments exist
    for claims, status in ((MANAGER, 200), (ADMIN, 200), (FARMER, 200), (OTHER_MANAGER, 404), (AUDITOR, 404)):
        r = api.fpo(
            "GET", f"/fpos/{FPO}/overview", claims=claims, resource="/fpos/{fpo_id}/overview", params={"fpo_id": FPO}
        )
        assert r.status == status, (claims["cognito:username"], r.body)
    assert api.fpo("POST", "/fpos", {"fpo_id": "X", "name": "x", "state": "y"}, claims=MANAGER).status == 403


def test_list_filters_by_village_and_paginates(api):
    for i in range(5):
        assert register(api, phone=f"98765432{i:02d}", village="Rampur" if i % 2 else "Sonepur").status == 201
    page = api.farmers("GET", "/farmers", claims=MANAGER, query="village=sonepur&limit=2")
    assert len(page.body["items"]) == 2 and page.body["next_token"]
    rest = api.farmers(
        "GET", "/farmers", claims=MANAGER, query=f"village=sonepur&limit=2&next_token={page.body['next_token']}"
    )
    ids = {f["farmer_id"] for f in page.body["items"] + rest.body["items"]}
    assert len(ids) == 3 and all(f["village"] == "Sonepur" for f in page.body["items"] + rest.body["items"])
    wrong = api.farmers("GET", "/farmers", claims=MANAGER, query=f"village=rampur&next_token={page.body['next_token']}")
    assert wrong.status == 400
    # an edited key inside the token: another FPO's partition, outside the village, other attributes or types
    from urllib.parse import quote

    from agri_common.platform.pagination import decode_token, encode_token

    token = decode_token(page.body["next_token"])
    key = token["k"]["k"]  # the position: the list part (members first) and its key
    assert set(key) == {"pk", "sk", "gsi1pk", "gsi1sk"}  # the index's LastEvaluatedKey, as DynamoDB gave it
    for edited in (
        {**key, "gsi1pk": f"FPO#{OTHER_FPO}#FARMERS"},
        {**key, "gsi1sk": "rampur#x"},
        {**key, "extra": "x"},
        {**key, "sk": 1},
        {"pk": key["pk"], "sk": "META"},
    ):
        position = {**token["k"], "k": edited}
        r = api.farmers(
            "GET",
            "/farmers",
            claims=MANAGER,
            query=f"village=sonepur&limit=2&next_token={quote(encode_token({**token, 'k': position}))}",
        )
        assert r.status == 400 and r.body["error"]["code"] == "invalid_next_token", (edited, r.body)


def test_plot_geometry_area_and_overlap_refusal(api):
    a = register(api).body["farmer_id"]
    b = register(api, phone="9876501234", claims=ADMIN, fpo=OTHER_FPO).body["farmer_id"]
    first = add_plot(api, a, square(77.0, 28.0), declared_area_ha=2.0)
    assert first.status == 201, first.body
    assert 1.08 < first.body["area_ha"] < 1.10 and first.body["area_mismatch"] is True
    # the same field registered again for another FPO's farmer: refused, the id is not named to that caller
    dup = add_plot(api, b, square(77.0002, 28.0002), claims=OTHER_MANAGER)
    assert dup.status == 409 and dup.body["error"]["code"] == "plot_overlap"
    detail = dup.body["error"]["details"][0]
    assert detail["overlapping_plot_ids"] == [] and detail["hidden_overlapping_plots"] == 1
    dup_admin = add_plot(api, b, square(77.0002, 28.0002), claims=ADMIN)
    assert dup_admin.body["error"]["details"][0]["overlapping_plot_ids"] == [first.body["plot_id"]]
    # a sliver below the threshold is accepted and flagged on both plots
    sliver = add_plot(api, b, square(77.00099, 28.0, 0.001), claims=ADMIN)
    assert sliver.status == 201, sliver.body
    assert sliver.body["overlaps"][0]["plot_id"] == first.body["plot_id"]
    flagged = get(
        api, f"/plots/{first.body['plot_id']}", "/plots/{plot_id}", {"plot_id": first.body["plot_id"]}, MANAGER
    )
    assert flagged.body["overlaps"] == [{"plot_id": None, "overlap_ha": sliver.body["overlaps"][0]["overlap_ha"]}]
    # invalid geometries name the field
    bowtie = {
        "type": "Polygon",
        "coordinates": [[[77.1, 28.1], [77.101, 28.101], [77.101, 28.1], [77.1, 28.101], [77.1, 28.1]]],
    }
    for geom, kind in (
        (bowtie, "self_intersection"),
        (square(2.0, 48.0), "outside_india"),
        (square(77.2, 28.2, 0.00001), "area_out_of_range"),
        (
            {"type": "Polygon", "coordinates": [[[77.3, 28.3], [77.301, 28.3], [77.301, 28.301], [77.3, 28.301]]]},
            "ring_not_closed",
        ),
    ):
        r = add_plot(api, a, geom)
        assert r.status == 422 and r.body["error"]["details"][0]["type"] == kind, r.body


def test_put_plot_uses_versions(api):
    a = register(api).body["farmer_id"]
    plot = add_plot(api, a, square(77.0, 28.0)).body
    pid = plot["plot_id"]
    body = {**feature(square(77.0, 28.0, 0.002), name="North field"), "version": 1}
    ok = api.farmers("PUT", f"/plots/{pid}", body, claims=MANAGER, resource="/plots/{plot_id}", params={"plot_id": pid})
    assert ok.status == 200 and ok.body["version"] == 2 and ok.body["area_ha"] > 4
    stale = api.farmers(
        "PUT", f"/plots/{pid}", body, claims=MANAGER, resource="/plots/{plot_id}", params={"plot_id": pid}
    )
    assert stale.status == 409 and stale.body["error"]["details"][0]["current_version"] == 2
    overview = api.fpo(
        "GET", f"/fpos/{FPO}/overview", claims=MANAGER, resource="/fpos/{fpo_id}/overview", params={"fpo_id": FPO}
    )
    assert overview.body["area_ha"] == ok.body["area_ha"]


def test_seasons_field_data_and_aggregates(api):
    a = register(api).body["farmer_id"]
    pid = add_plot(api, a, square(77.0, 28.0)).body["plot_id"]
    r = api.farmers(
        "POST",
        f"/plots/{pid}/seasons",
        RICE,
        claims=MANAGER,
        resource="/plots/{plot_id}/seasons",
        params={"plot_id": pid},
    )
    assert r.status == 201, r.body
    again = api.farmers("POST", "/farmers/field-data", {"plot_id": pid, "season": RICE}, claims=MANAGER)
    assert again.status == 409 and again.body["error"]["code"] == "season_exists"
    wheat = {
        **RICE,
        "season": "rabi",
        "crop": "wheat",
        "water_regime": None,
        "preseason_water": None,
        "sowing_date": "2025-11-15",
        "harvest_date": "2026-04-01",
        "cultivation_days": 130,
        "water_regime_evidence": None,
    }
    assert api.farmers("POST", "/farmers/field-data", {"plot_id": pid, "season": wheat}, claims=MANAGER).status == 201
    bad = api.farmers(
        "POST",
        "/farmers/field-data",
        {"plot_id": pid, "season": {**RICE, "year": 2026, "urea_kg_per_ha": 900, "cultivation_days": 400}},
        claims=MANAGER,
    )
    assert bad.status == 422 and {d["field"] for d in bad.body["error"]["details"]} == {"body.season.cultivation_days"}
    ov = api.fpo(
        "GET", f"/fpos/{FPO}/overview", claims=MANAGER, resource="/fpos/{fpo_id}/overview", params={"fpo_id": FPO}
    ).body
    assert (ov["members"], ov["plots"], ov["seasons_reported"]) == (1, 1, 2)
    assert set(ov["area_ha_by_crop"]) == {"rice", "wheat"} and ov["seasons_by_water_regime"] == {"single_drainage": 1}
    assert ov["completeness"] == {
        "farmers_with_plots": 1.0,
        "plots_with_seasons": 1.0,
        "seasons_with_water_evidence": 0.5,
    }
    assert ov["carbon"]["runs"] == [] and ov["carbon"]["approved"]["runs"] == 0  # no run of the pipeline yet
    rep = api.fpo(
        "GET", f"/fpos/{FPO}/reports", claims=MANAGER, resource="/fpos/{fpo_id}/reports", params={"fpo_id": FPO}
    ).body
    assert [s["season_key"] for s in rep["seasons"]] == ["2025-kharif", "2025-rabi"]
    assert rep["villages"] == [{"village": "Rampur", "members": 1, "plots": 1, "area_ha": ov["area_ha"], "seasons": 2}]
    csv = api.raw_fpo(f"/fpos/{FPO}/reports", "format=csv&table=seasons", MANAGER)
    assert csv["statusCode"] == 200 and csv["multiValueHeaders"]["Content-Type"] == ["text/csv; charset=utf-8"]
    assert csv["body"].startswith("season,") and "2025-kharif,1," in csv["body"]
    assert "Rampur,1,1," in api.raw_fpo(f"/fpos/{FPO}/reports", "format=csv&table=villages", MANAGER)["body"]
    xlsx = api.raw_fpo(f"/fpos/{FPO}/reports", "format=xlsx", MANAGER)
    assert xlsx["statusCode"] == 200 and xlsx["isBase64Encoded"] is True
    import base64
    from io import BytesIO

    from openpyxl import load_workbook

    book = load_workbook(BytesIO(base64.b64decode(xlsx["body"])))
    assert (
        book.sheetnames == ["seasons", "villages", "carbon", "carbon_approved"]
        and book["villages"]["A2"].value == "Rampur"
    )


def test_sync_replay_conflict_and_invalid(api):
    farmer = {
        "name": "Offline",
        "phone": "9811111111",
        "village": "Rampur",
        "district": "Patiala",
        "state": "Punjab",
        "fpo_id": FPO,
        "consent": CONSENT,
    }
    batch = {
        "records": [
            {"client_id": "c-farmer-0001", "entity": "farmer", "action": "create", "data": farmer},
            {"client_id": "c-bad-000001", "entity": "farmer", "action": "create", "data": {**farmer, "phone": "123"}},
        ]
    }
    first = api.farmers("POST", "/sync", batch, claims=MANAGER).body
    assert [r["status"] for r in first["results"]] == ["applied", "invalid"]
    assert first["results"][1]["errors"][0]["field"] == "data.phone"
    fid = first["results"][0]["id"]
    for _ in range(3):
        replay = api.farmers("POST", "/sync", batch, claims=MANAGER).body
        assert [r["status"] for r in replay["results"]] == ["duplicate", "invalid"]
    ov = api.fpo(
        "GET", f"/fpos/{FPO}/overview", claims=MANAGER, resource="/fpos/{fpo_id}/overview", params={"fpo_id": FPO}
    ).body
    assert ov["members"] == 1  # replays changed nothing
    update = {
        "client_id": "c-upd-000001",
        "entity": "farmer",
        "action": "update",
        "id": fid,
        "base_version": 1,
        "data": {"name": "Renamed"},
    }
    stale = {
        "client_id": "c-upd-000002",
        "entity": "farmer",
        "action": "update",
        "id": fid,
        "base_version": 1,
        "data": {"name": "Other device"},
    }
    reused = {**update, "data": {"name": "Different content"}}
    result = api.farmers("POST", "/sync", {"records": [update, stale]}, claims=MANAGER).body["results"]
    assert [r["status"] for r in result] == ["applied", "conflict"]
    assert result[1]["version"] == 2 and result[1]["current"]["name"] == "Renamed"
    result = api.farmers("POST", "/sync", {"records": [reused]}, claims=MANAGER).body["results"][0]
    assert (result["status"], result["errors"][0]["type"]) == ("conflict", "idempotency_conflict"), result
    hidden = api.farmers(
        "POST", "/sync", {"records": [{**update, "client_id": "c-other-00001"}]}, claims=OTHER_MANAGER
    ).body
    assert hidden["results"][0]["status"] == "invalid" and hidden["results"][0]["errors"][0]["type"] == "not_found"


def test_uploads_presign_and_complete(api, aws):
    import boto3

    a = register(api).body["farmer_id"]
    pid = add_plot(api, a, square(77.0, 28.0)).body["plot_id"]
    r = api.farmers(
        "POST",
        "/uploads",
        {"plot_id": pid, "content_type": "image/jpeg", "size_bytes": 1000, "latitude": 28.0005, "longitude": 77.0005},
        claims=MANAGER,
    )
    assert r.status == 201, r.body
    assert r.body["fields"]["Content-Type"] == "image/jpeg" and r.body["object_key"].startswith(
        f"evidence/{FPO}/{pid}/"
    )
    assert (
        api.farmers(
            "POST", "/uploads", {"plot_id": pid, "content_type": "text/html", "size_bytes": 10}, claims=MANAGER
        ).status
        == 422
    )
    assert (
        api.farmers(
            "POST", "/uploads", {"plot_id": pid, "content_type": "image/png", "size_bytes": 10}, claims=OTHER_MANAGER
        ).status
        == 404
    )
    uid = r.body["upload_id"]
    complete = lambda: api.farmers(
        "POST",
        f"/uploads/{uid}/complete",
        claims=MANAGER,
        resource="/uploads/{upload_id}/complete",
        params={"upload_id": uid},
    )
    assert complete().status == 409
    bucket = (
        r.body["url"].rstrip("/").rsplit("/", 1)[-1]
        if "amazonaws.com/" in r.body["url"] and not r.body["url"].endswith("amazonaws.com/")
        else None
    )
    bucket = bucket or r.body["url"].split("//", 1)[1].split(".", 1)[0]
    boto3.client("s3").put_object(Bucket=bucket, Key=r.body["object_key"], Body=b"x" * 500, ContentType="image/jpeg")
    done = complete()
    assert done.status == 200 and done.body["status"] == "stored" and done.body["size_bytes"] == 500
    plot = get(api, f"/plots/{pid}", "/plots/{plot_id}", {"plot_id": pid}, MANAGER).body
    assert [e["status"] for e in plot["evidence"]] == ["stored"]


def test_imports_are_idempotent_and_report_rows(api):
    csv = (
        "name,phone,village,district,state,external_id,consent_given,consent_at\n"
        "Asha,9800000001,Rampur,Patiala,Punjab,E1,yes,2025-06-01T10:00:00+05:30\n"
        "Bad phone,12,Rampur,Patiala,Punjab,E2,yes,2025-06-01T10:00:00+05:30\n"
        "No consent,9800000003,Rampur,Patiala,Punjab,E3,no,2025-06-01T10:00:00+05:30\n"
    )
    body = {"fpo_id": FPO, "csv": csv, "consent_version": "v1"}
    first = api.farmers("POST", "/imports/farmers", body, claims=MANAGER).body
    assert (first["accepted"], first["duplicate"], first["rejected"]) == (1, 0, 2)
    second = api.farmers("POST", "/imports/farmers", body, claims=MANAGER).body
    assert (second["accepted"], second["duplicate"], second["rejected"]) == (0, 1, 2)
    assert api.farmers("POST", "/imports/farmers", {**body, "fpo_id": OTHER_FPO}, claims=MANAGER).status == 403
    assert api.farmers("POST", "/imports/farmers", body, claims=FARMER).status == 403
    plots = {
        "fpo_id": FPO,
        "type": "FeatureCollection",
        "features": [
            feature(square(77.5, 28.5), farmer_external_id="E1", external_id="P1"),
            feature(square(77.6, 28.5), farmer_external_id="NOPE", external_id="P2"),
        ],
    }
    r1 = api.farmers("POST", "/imports/plots", plots, claims=MANAGER).body
    assert [row["status"] for row in r1["rows"]] == ["accepted", "rejected"]
    r2 = api.farmers("POST", "/imports/plots", plots, claims=MANAGER).body
    assert [row["status"] for row in r2["rows"]] == ["duplicate", "rejected"]
    ov = api.fpo(
        "GET", f"/fpos/{FPO}/overview", claims=MANAGER, resource="/fpos/{fpo_id}/overview", params={"fpo_id": FPO}
    ).body
    assert (ov["members"], ov["plots"]) == (1, 1)


def _count_requests(api, fn):
    from agri_common.platform.aws import dynamodb_table

    calls: list[str] = []
    import os

    clients = [
        dynamodb_table(os.environ[t]).meta.client for t in ("FARM_TABLE", "PIPELINE_TABLE")
    ]  # one client a table
    hook = lambda model, **_: calls.append(model.name)
    for client in clients:
        client.meta.events.register("before-call.dynamodb", hook)
    try:
        fn()
    finally:
        for client in clients:
            client.meta.events.unregister("before-call.dynamodb", hook)
    return calls


def seed_farmers(fpo_id: str, start: int, stop: int) -> None:
    """Bulk-load farmers as the routes would leave them (records + the same aggregate deltas),
    through batch writes: registering hundreds through moto's transactions would be slow."""
    import os

    from agri_common.farm_table import aggregates as agg
    from agri_common.farm_table.records import Consent, FarmerRecord
    from agri_common.platform.aws import dynamodb_table
    from agri_common.single_table import DynamoTableStore, to_dynamo

    table = dynamodb_table(os.environ["FARM_TABLE"])
    villages: dict[str, int] = {}
    with table.batch_writer() as batch:
        for i in range(start, stop):
            village = f"V{i % 7}"
            villages[village] = villages.get(village, 0) + 1
            record = FarmerRecord(
                farmer_id=f"F-seed-{i}",
                fpo_id=fpo_id,
                name=f"Farmer {i}",
                phone=f"+9197{i:08d}",
                village=village,
                district="Patiala",
                state="Punjab",
                preferred_language="pa",
                consent=Consent(given=True, version="v1", at="2025-06-01T10:00:00+05:30"),
                created_by="seed",
                created_at="2025-06-01T10:00:00+00:00",
            )
            batch.put_item(Item=to_dynamo(record.to_item()))
    ops = [agg.fpo_totals(fpo_id, {"members": stop - start})]
    ops += [agg.village_totals(fpo_id, v, {"members": n}) for v, n in villages.items()]
    DynamoTableStore(os.environ["FARM_TABLE"]).transact(ops)


def test_overview_and_reports_cost_the_same_for_10_and_1000_farmers(api):
    counts = {}
    for size, (start, stop) in ((10, (0, 10)), (1000, (10, 1000))):
        seed_farmers(FPO, start, stop)
        counts[size] = (
            _count_requests(
                api,
                lambda: api.fpo(
                    "GET",
                    f"/fpos/{FPO}/overview",
                    claims=MANAGER,
                    resource="/fpos/{fpo_id}/overview",
                    params={"fpo_id": FPO},
                ),
            ),
            _count_requests(
                api,
                lambda: api.fpo(
                    "GET",
                    f"/fpos/{FPO}/reports",
                    claims=MANAGER,
                    resource="/fpos/{fpo_id}/reports",
                    params={"fpo_id": FPO},
                ),
            ),
        )
    assert counts[10] == counts[1000]
    overview, reports = counts[1000]
    # the farm table, then the carbon section's Query of the pipeline table (no runs: no BatchGetItem of their status)
    assert overview == ["BatchGetItem", "Query"] and reports == ["GetItem", "Query", "Query"]
    ov = api.fpo(
        "GET", f"/fpos/{FPO}/overview", claims=MANAGER, resource="/fpos/{fpo_id}/overview", params={"fpo_id": FPO}
    ).body
    assert ov["members"] == 1000
    listed = api.farmers("GET", "/farmers", claims=MANAGER, query="village=V3&limit=100")
    assert len(listed.body["items"]) == len([i for i in range(1000) if i % 7 == 3][:100])


# ---- input hardening on the real table -------------------------------------------------------------------
def test_null_patches_are_refused_and_a_farmer_stored_with_nulls_reads_and_is_repaired(api):
    import os

    from agri_common.farm_table import keys
    from agri_common.platform.aws import dynamodb_table

    fid = register(api).body["farmer_id"]
    path, resource, params = f"/farmers/{fid}", "/farmers/{farmer_id}", {"farmer_id": fid}
    for name in ("name", "phone", "village", "consent"):
        r = api.farmers("PATCH", path, {"version": 1, name: None}, claims=MANAGER, resource=resource, params=params)
        assert r.status == 422 and r.body["error"]["details"][0]["field"] == f"body.{name}", r.body
    assert get(api, path, resource, params, MANAGER).body["version"] == 1
    # what the old code stored for {"version": 1, "name": null, "phone": null}
    pk, sk = keys.farmer(fid)
    dynamodb_table(os.environ["FARM_TABLE"]).update_item(
        Key={"pk": pk, "sk": sk},
        UpdateExpression="SET #n = :null, phone = :null",
        ExpressionAttributeNames={"#n": "name"},
        ExpressionAttributeValues={":null": None},
    )
    r = get(api, path, resource, params, MANAGER)
    assert r.status == 200 and (r.body["name"], r.body["phone"]) == ("", ""), r.body
    listed = api.farmers("GET", "/farmers", claims=MANAGER, query=f"fpo_id={FPO}")
    assert listed.status == 200 and [f["farmer_id"] for f in listed.body["items"]] == [fid]
    r = api.farmers(
        "PATCH",
        path,
        {"version": 1, "name": "Ravi", "phone": "9876543210"},
        claims=MANAGER,
        resource=resource,
        params=params,
    )
    assert r.status == 200 and (r.body["name"], r.body["phone"], r.body["version"]) == ("Ravi", "+919876543210", 2)


def test_plot_geometry_limits_hold_on_dynamodb(api):
    """The largest accepted geometry is stored (DynamoDB's 400 KB item limit is enforced by moto too);
    22,000 positions (890 KB, a 500 before) and a plot in Tibet are refused up front."""
    import math

    from functions.farmers import geometry

    fid = register(api).body["farmer_id"]

    def ring(n, radius=0.005, lon=75.85, lat=30.9):
        pts = [
            [
                round(lon + radius * math.cos(2 * math.pi * i / n), 7),
                round(lat + radius * math.sin(2 * math.pi * i / n), 7),
            ]
            for i in range(n)
        ]
        return {"type": "Polygon", "coordinates": [pts + [pts[0]]]}

    big = add_plot(api, fid, ring(geometry.MAX_VERTICES - 1))
    assert big.status == 201, big.body
    assert len(big.body["geometry"]["coordinates"][0]) == geometry.MAX_VERTICES
    huge = add_plot(api, fid, ring(22_000, lon=75.95))
    assert huge.status == 422 and huge.body["error"]["details"][0]["type"] == "geometry_too_large", huge.body
    tibet = add_plot(api, fid, square(90.0, 30.0))
    assert tibet.status == 422 and tibet.body["error"]["details"][0]["type"] == "outside_india", tibet.body
    plots = get(api, f"/farmers/{fid}/plots", "/farmers/{farmer_id}/plots", {"farmer_id": fid}, MANAGER).body
    assert [p["plot_id"] for p in plots["items"]] == [big.body["plot_id"]]


def test_csv_with_a_bom_and_an_unreadable_row_imports_the_good_rows(api):
    csv = (
        "\ufeffname,phone,village,district,state,external_id,consent_given,consent_at\n"
        "Asha,9800000001,Rampur,Patiala,Punjab,E1,yes,2025-06-01T10:00:00+05:30\n"
        f'Huge,9800000002,"{"x" * 140_000}",Patiala,Punjab,E2,yes,2025-06-01T10:00:00+05:30\n'
        "Esc,9800000003,Ram\x1bpur,Patiala,Punjab,E3,yes,2025-06-01T10:00:00+05:30\n"
        "Bina,9800000004,Rampur,Patiala,Punjab,E4,yes,2025-06-01T10:00:00+05:30\n"
    )
    r = api.farmers("POST", "/imports/farmers", {"fpo_id": FPO, "csv": csv, "consent_version": "v1"}, claims=MANAGER)
    assert r.status == 200, r.body
    assert [row["status"] for row in r.body["rows"]] == ["accepted", "rejected", "rejected", "accepted"]
    listed = api.farmers("GET", "/farmers", claims=MANAGER, query=f"fpo_id={FPO}").body
    assert sorted(f["name"] for f in listed["items"]) == ["Asha", "Bina"]


def test_a_membership_request_counts_only_once_approved_in_the_same_transaction(api):
    """docs/decisions/0007 on moto: a self-registered farmer's profile, plot, season and village move
    are in no total; the approval adds exactly what the same data of a member from the start adds."""

    def flows(claims, fpo, lon):
        fid = register(api, claims=claims, fpo=fpo).body["farmer_id"]
        pid = add_plot(api, fid, square(lon, 28.0), claims=claims).body["plot_id"]
        assert api.farmers("POST", "/farmers/field-data", {"plot_id": pid, "season": RICE}, claims=claims).status == 201
        moved = api.farmers(
            "PATCH",
            f"/farmers/{fid}",
            {"version": 1, "village": "Nabha"},
            claims=claims,
            resource="/farmers/{farmer_id}",
            params={"farmer_id": fid},
        )
        assert moved.status == 200, moved.body
        return fid

    def dashboard(fpo):
        ov = api.fpo(
            "GET", f"/fpos/{fpo}/overview", claims=ADMIN, resource="/fpos/{fpo_id}/overview", params={"fpo_id": fpo}
        ).body
        rep = api.fpo(
            "GET", f"/fpos/{fpo}/reports", claims=ADMIN, resource="/fpos/{fpo_id}/reports", params={"fpo_id": fpo}
        ).body
        # a village move leaves the old village's row at zeros (pre-existing): compare the rows that count
        return (
            {k: v for k, v in ov.items() if k not in ("fpo", "carbon")},
            rep["seasons"],
            [v for v in rep["villages"] if v["members"] or v["plots"] or v["seasons"]],
        )

    pending = flows(FARMER, FPO, 77.0)
    assert register(api, claims=FARMER).body["error"]["code"] == "profile_exists"
    member = flows(OTHER_MANAGER, OTHER_FPO, 77.01)
    ov, seasons, villages = dashboard(FPO)
    assert (ov["members"], ov["plots"], ov["seasons_reported"], ov["area_ha"], seasons, villages) == (
        0,
        0,
        0,
        0,
        [],
        [],
    )
    listed = api.farmers("GET", "/farmers", claims=MANAGER, query="status=pending").body["items"]
    assert [(f["farmer_id"], f["membership"]) for f in listed] == [(pending, "pending")]
    assert api.farmers("GET", "/farmers", claims=MANAGER, query="status=approved").body["items"] == []

    def approve(claims, farmer_id, fpo=FPO):
        return api.farmers(
            "POST",
            f"/fpos/{fpo}/members/{farmer_id}/approve",
            claims=claims,
            resource="/fpos/{fpo_id}/members/{farmer_id}/approve",
            params={"fpo_id": fpo, "farmer_id": farmer_id},
        )

    assert approve(OTHER_MANAGER, pending).status == 404 and approve(FARMER, pending).status == 403
    ok = approve(MANAGER, pending)
    assert ok.status == 200 and ok.body["membership"] == "approved", ok.body
    assert dashboard(FPO) == dashboard(OTHER_FPO) and dashboard(FPO)[0]["members"] == 1
    assert approve(MANAGER, pending).body["error"]["code"] == "membership_decided"
    assert [f["farmer_id"] for f in api.farmers("GET", "/farmers", claims=MANAGER).body["items"]] == [pending]
    assert member != pending


def _member_route(api, claims, verb, farmer_id, fpo=FPO):
    return api.farmers(
        "POST",
        f"/fpos/{fpo}/members/{farmer_id}/{verb}",
        claims=claims,
        resource=f"/fpos/{{fpo_id}}/members/{{farmer_id}}/{verb}",
        params={"fpo_id": fpo, "farmer_id": farmer_id},
    )


def _overview(api, fpo=FPO):
    body = api.fpo(
        "GET", f"/fpos/{fpo}/overview", claims=ADMIN, resource="/fpos/{fpo_id}/overview", params={"fpo_id": fpo}
    ).body
    return {k: v for k, v in body.items() if k not in ("fpo", "carbon")}


def test_a_fake_request_over_a_members_field_blocks_neither_the_member_nor_waits_unseen(api):
    """docs/decisions/0007 "Overlaps" on moto: a request's plot never refuses a member's plot; the
    request's approval is refused (409 with the plot ids) while the overlap stands."""
    fake = register(api, claims=FARMER).body["farmer_id"]
    fake_plot = add_plot(api, fake, square(77.2, 28.0), claims=FARMER)
    assert fake_plot.status == 201, fake_plot.body
    member = register(api, phone="9876500001").body["farmer_id"]
    real_plot = add_plot(api, member, square(77.2, 28.0))
    assert real_plot.status == 201, real_plot.body  # the same field: flagged, not refused
    assert [o["plot_id"] for o in real_plot.body["overlaps"]] == [fake_plot.body["plot_id"]]

    refused = _member_route(api, MANAGER, "approve", fake)
    assert refused.status == 409 and refused.body["error"]["code"] == "plot_overlap", refused.body
    assert [(d["plot_id"], d["overlapping_plot_id"]) for d in refused.body["error"]["details"]] == [
        (fake_plot.body["plot_id"], real_plot.body["plot_id"])
    ]
    assert _overview(api)["plots"] == 1
    moved = api.farmers(
        "PUT",
        f"/plots/{fake_plot.body['plot_id']}",
        {**feature(square(77.21, 28.0)), "version": 1},
        claims=FARMER,
        resource="/plots/{plot_id}",
        params={"plot_id": fake_plot.body["plot_id"]},
    )
    assert moved.status == 200, moved.body
    assert _member_route(api, MANAGER, "approve", fake).status == 200
    assert _overview(api)["plots"] == 2


def test_removing_a_member_takes_their_totals_out_in_the_same_transaction(api):
    stays = register(api).body["farmer_id"]
    assert add_plot(api, stays, square(77.3, 28.0)).status == 201
    before = _overview(api)
    invite = api.farmers(
        "POST",
        f"/fpos/{FPO}/invitations",
        claims=MANAGER,
        resource="/fpos/{fpo_id}/invitations",
        params={"fpo_id": FPO},
    ).body["code"]
    leaves = register(api, claims=FARMER, phone="9876500002", invitation_code=invite).body["farmer_id"]
    pid = add_plot(api, leaves, square(77.31, 28.0), claims=FARMER).body["plot_id"]
    assert api.farmers("POST", "/farmers/field-data", {"plot_id": pid, "season": RICE}, claims=FARMER).status == 201
    counted = _overview(api)
    assert counted["members"] == 2 and counted["plots"] == 2

    assert _member_route(api, OTHER_MANAGER, "remove", leaves).status == 404
    removed = _member_route(api, MANAGER, "remove", leaves)
    assert removed.status == 200 and removed.body["membership"] == "removed", removed.body
    assert _overview(api) == before
    listed = api.farmers("GET", "/farmers", claims=MANAGER, query="status=removed").body["items"]
    assert [f["farmer_id"] for f in listed] == [leaves]
    again = api.farmers(
        "POST",
        f"/farmers/{leaves}/membership-request",
        claims=FARMER,
        resource="/farmers/{farmer_id}/membership-request",
        params={"farmer_id": leaves},
    )
    assert again.status == 200 and again.body["membership"] == "pending", again.body
    assert _member_route(api, MANAGER, "approve", leaves).status == 200
    assert _overview(api) == counted

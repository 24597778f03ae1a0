"""Input hardening through the farmers Lambda entry point: explicit nulls in partial updates, control characters
in single-line text, CSV and GeoJSON imports that report bad rows instead of failing, plot geometry
size and shape limits. Every refusal is a 4xx naming the field and stores nothing."""

from __future__ import annotations

import json

import pytest

from agri_common.farm_table import keys
from functions.farmers import geometry
from tests.unit.functions.farmers.world import (
    CONSENT,
    WHEAT,
    World,
    circle,
    farmer_body,
    feature,
    fields,
    polygon,
    where,
)


@pytest.fixture
def world(monkeypatch):
    w = World(monkeypatch)
    yield w
    w.uninstall()


@pytest.fixture
def farmer(world):
    return world.register()


@pytest.fixture
def plot(world, farmer):
    r = world.add_plot(farmer["farmer_id"], feature())
    assert r.status == 201, r.body
    return r.body


BAD_LINES = ["Ram\npur", "Ram\tpur", "Ram\x00pur", "Ram\x1b[31mpur", "Ram\u202epur", "Ram\u2028pur"]


# ---- 1. explicit null in partial updates -----------------------------------------------------------
@pytest.mark.parametrize("name", ["name", "phone", "village", "district", "state", "preferred_language", "consent"])
def test_patch_refuses_an_explicit_null_naming_the_field_and_stores_nothing(world, farmer, name, activity_log):
    before, logged = world.snapshot(), len(activity_log.all())
    r = world.patch_farmer(farmer["farmer_id"], {"version": 1, name: None})
    assert r.status == 422, r.body
    assert fields(r) == [f"body.{name}"]
    assert r.body["error"]["details"][0]["type"] == "null_not_allowed"
    assert world.snapshot() == before
    # the refusal's only trace: its one activity event, with the error code and no diff
    [event] = activity_log.all()[logged:]
    assert (event.action, event.outcome, event.status, event.diff) == ("farmer.update", "validation_error", 422, None)
    assert world.get_farmer(farmer["farmer_id"]).body == farmer
    assert world.list_farmers().status == 200


def test_sync_reports_a_null_update_invalid_and_applies_the_rest(world, farmer):
    fid = farmer["farmer_id"]
    r = world.sync(
        [
            {
                "client_id": "client-0001",
                "entity": "farmer",
                "action": "update",
                "id": fid,
                "base_version": 1,
                "data": {"name": None},
            },
            {
                "client_id": "client-0002",
                "entity": "farmer",
                "action": "update",
                "id": fid,
                "base_version": 1,
                "data": {"village": "Sonepur"},
            },
        ]
    )
    assert r.status == 200, r.body
    first, second = r.body["results"]
    assert first["status"] == "invalid" and [e["field"] for e in first["errors"]] == ["data.name"]
    assert second["status"] == "applied"
    after = world.get_farmer(fid).body
    assert (after["name"], after["village"], after["version"]) == ("Ravi", "Sonepur", 2)


def test_a_record_stored_with_a_null_name_before_the_fix_reads_and_can_be_repaired(world, farmer, plot):
    """A PATCH of the old code stored {"name": null, "phone": null}: it must not 500 its reads, or its FPO's list."""
    fid = farmer["farmer_id"]
    item = world.store.items[keys.farmer(fid)]
    item.update(name=None, phone=None)
    r = world.get_farmer(fid)
    assert r.status == 200 and (r.body["name"], r.body["phone"]) == ("", "")
    r = world.list_farmers()
    assert r.status == 200 and [f["name"] for f in r.body["items"]] == [""]
    assert world.list_plots(fid).status == 200
    assert world.get_plot(plot["plot_id"]).status == 200
    r = world.patch_farmer(fid, {"version": 1, "name": "Ravi Kumar", "phone": "98765 43210"})
    assert r.status == 200, r.body
    assert (r.body["name"], r.body["phone"], r.body["version"]) == ("Ravi Kumar", "+919876543210", 2)


# ---- 2. control characters in single-line text ----------------------------------------------------
@pytest.mark.parametrize("bad", BAD_LINES)
@pytest.mark.parametrize("name", ["name", "village", "district", "state"])
def test_register_refuses_control_characters_and_line_breaks(world, bad, name, activity_log):
    before, logged = world.snapshot(), len(activity_log.all())
    r = world.request("POST", "/farmers", farmer_body(**{name: bad}))
    assert r.status == 422 and fields(r) == [f"body.{name}"], r.body
    assert world.snapshot() == before
    [event] = activity_log.all()[logged:]  # one event, the refusal's, holding none of the values sent
    assert (event.action, event.outcome, event.target_id, event.diff) == (
        "farmer.register",
        "validation_error",
        None,
        None,
    )
    stored = repr(event.model_dump())
    assert not any(value in stored for value in ("Ram", "Ravi", "9876543210", "Patiala", "Punjab", bad))


@pytest.mark.parametrize("bad", BAD_LINES)
def test_patch_refuses_control_characters_and_line_breaks(world, farmer, bad):
    before = world.snapshot()
    r = world.patch_farmer(farmer["farmer_id"], {"version": 1, "village": bad})
    assert r.status == 422 and fields(r) == ["body.village"], r.body
    r = world.request("POST", "/farmers", farmer_body(consent={**CONSENT, "version": f"v{bad}"}))
    assert r.status == 422 and where(r) == ["body.consent.version"], r.body
    assert world.snapshot() == before


@pytest.mark.parametrize("bad", BAD_LINES)
def test_plot_names_refuse_control_characters_and_line_breaks(world, farmer, plot, bad):
    before = world.snapshot()
    r = world.add_plot(farmer["farmer_id"], feature(lon=75.9, properties={"name": bad}))
    assert r.status == 422 and where(r) == ["body.properties.name"], r.body
    r = world.put_plot(plot["plot_id"], {**feature(properties={"name": bad}), "version": 1})
    assert r.status == 422 and where(r) == ["body.properties.name"], r.body
    r = world.add_plot(farmer["farmer_id"], feature(lon=75.9, id=f"x{bad}"))
    assert r.status == 422 and fields(r)[0].startswith("body.id"), r.body
    assert world.snapshot() == before


@pytest.mark.parametrize("bad", BAD_LINES)
def test_season_text_refuses_control_characters_and_line_breaks(world, plot, bad):
    before = world.snapshot()
    r = world.add_season(plot["plot_id"], {**WHEAT, "crop": f"wheat{bad}"})
    assert r.status == 422 and fields(r) == ["body.crop"], r.body
    tree = {"species": f"neem{bad}", "count": 3, "dbh_cm": 20, "height_m": 8, "wood_density_g_per_cm3": 0.6}
    r = world.add_season(plot["plot_id"], {**WHEAT, "trees": [tree]})
    assert r.status == 422 and where(r) == ["body.trees.0.species"], r.body
    r = world.request("POST", "/farmers/field-data", {"plot_id": plot["plot_id"], "season": {**WHEAT, "crop": bad}})
    assert r.status == 422 and where(r) == ["body.season.crop"], r.body
    assert world.snapshot() == before


def test_sync_reports_a_record_with_a_control_character_invalid_and_applies_the_others(world):
    r = world.sync(
        [
            {"client_id": "client-0001", "entity": "farmer", "action": "create", "data": farmer_body(name="Ra\x1bvi")},
            {
                "client_id": "client-0002",
                "entity": "farmer",
                "action": "create",
                "data": farmer_body(phone="9876543211", village="Kot\u202e"),
            },
            {
                "client_id": "client-0003",
                "entity": "farmer",
                "action": "create",
                "data": farmer_body(phone="9876543212"),
            },
        ]
    )
    assert r.status == 200, r.body
    statuses = [(x["status"], [e["field"] for e in x.get("errors") or []]) for x in r.body["results"]]
    assert statuses == [("invalid", ["data.name"]), ("invalid", ["data.village"]), ("applied", [])]
    assert [f["phone"] for f in world.list_farmers().body["items"]] == ["+919876543212"]


def test_sync_reports_a_record_with_a_lone_surrogate_invalid_never_a_500(world):
    """A sync record's data is checked by its entity's model after the record's content hash; a lone
    surrogate (JSON "\\ud800"), as a value or as a key at any depth, could not be hashed: the record is
    reported invalid by name and stores nothing, the others apply."""
    before = world.snapshot()
    r = world.sync(
        [
            {
                "client_id": "client-0001",
                "entity": "farmer",
                "action": "create",
                "data": farmer_body(name="Ra\ud800vi"),
            },
            {
                "client_id": "client-0002",
                "entity": "plot",
                "action": "create",
                "id": "F-1",
                "data": {
                    "type": "Feature",
                    "properties": {},
                    "geometry": {"type": "Polygon", "coordinates": [{"\udfff": None}]},
                },
            },
        ]
    )
    assert r.status == 200, r.body
    statuses = [(x["status"], [e["field"] for e in x.get("errors") or []]) for x in r.body["results"]]
    assert statuses == [("invalid", ["data.name"]), ("invalid", ["data.geometry.coordinates[0][key]"])]
    assert world.snapshot() == before
    r = world.sync([{"client_id": "client-0003", "entity": "farmer", "action": "create", "data": farmer_body()}])
    assert [x["status"] for x in r.body["results"]] == ["applied"]


CSV_HEADER = "name,phone,village,district,state,consent_given,consent_at\n"


def test_csv_import_reports_a_row_with_a_control_character_and_imports_the_others(world):
    csv_text = (
        CSV_HEADER + "Ravi,9876543210,Rampur,Patiala,Punjab,yes,2025-06-01T10:00:00+05:30\n"
        "Sita,9876543211,Ram\x1b[2Jpur,Patiala,Punjab,yes,2025-06-01T10:00:00+05:30\n"
        '"Gita\nDevi",9876543212,Rampur,Patiala,Punjab,yes,2025-06-01T10:00:00+05:30\n'
        "Mohan,9876543213,Rampur,Patiala,Punjab,yes,2025-06-01T10:00:00+05:30\n"
    )
    r = world.import_farmers(csv_text)
    assert r.status == 200, r.body
    rows = [(x["row"], x["status"], [e["field"] for e in x.get("errors") or []]) for x in r.body["rows"]]
    assert rows == [
        (2, "accepted", []),
        (3, "rejected", ["row.3.village"]),
        (4, "rejected", ["row.4.name"]),
        (5, "accepted", []),
    ]
    assert sorted(f["name"] for f in world.list_farmers().body["items"]) == ["Mohan", "Ravi"]


def test_plot_import_reports_a_feature_with_a_control_character_and_imports_the_others(world, farmer):
    fid = farmer["farmer_id"]
    r = world.import_plots(
        [
            feature(lon=75.85, properties={"farmer_id": fid, "external_id": "p1"}),
            feature(lon=75.86, properties={"farmer_id": fid, "external_id": "p2", "name": "North\u202efield"}),
            feature(lon=75.87, properties={"farmer_id": fid, "external_id": "p3", "name": "South\nfield"}),
        ]
    )
    assert r.status == 200, r.body
    rows = [(x["status"], where(None, x.get("errors") or [])) for x in r.body["rows"]]
    assert rows == [
        ("accepted", []),
        ("rejected", ["features.1.properties.name"]),
        ("rejected", ["features.2.properties.name"]),
    ]
    assert len(world.list_plots(fid).body["items"]) == 1


def test_list_filter_refuses_control_characters_in_the_village(world, farmer):
    r = world.list_farmers("fpo_id=FPO-1&village=Ram%1Bpur")
    assert r.status == 422 and fields(r) == ["query.village"], r.body


# ---- 3. CSV: byte-order mark, over-long fields, unreadable rows -------------------------------------
def test_a_csv_with_a_utf8_byte_order_mark_imports(world):
    """Excel's "CSV UTF-8" starts with U+FEFF; before, the header's first column was "\\ufeffname"."""
    r = world.import_farmers(
        "\ufeff" + CSV_HEADER + "Ravi,9876543210,Rampur,Patiala,Punjab,yes,2025-06-01T10:00:00+05:30\n"
    )
    assert r.status == 200 and r.body["accepted"] == 1, r.body
    assert [f["name"] for f in world.list_farmers().body["items"]] == ["Ravi"]


def test_a_byte_order_mark_inside_a_row_rejects_that_row(world):
    r = world.import_farmers(
        CSV_HEADER + "Ra\ufeffvi,9876543210,Rampur,Patiala,Punjab,yes,2025-06-01T10:00:00+05:30\n"
        "Sita,9876543211,Rampur,Patiala,Punjab,yes,2025-06-01T10:00:00+05:30\n"
    )
    assert r.status == 200, r.body
    assert [(x["status"], [e["field"] for e in x.get("errors") or []]) for x in r.body["rows"]] == [
        ("rejected", ["row.2.name"]),
        ("accepted", []),
    ]


def test_a_field_over_the_csv_readers_limit_rejects_its_row_not_the_file(world):
    huge = "x" * 140_000  # csv.field_size_limit() is 131,072: _csv.Error, a 500 before
    r = world.import_farmers(
        CSV_HEADER + "Ravi,9876543210,Rampur,Patiala,Punjab,yes,2025-06-01T10:00:00+05:30\n"
        f'Sita,9876543211,"{huge}",Patiala,Punjab,yes,2025-06-01T10:00:00+05:30\n'
        "Mohan,9876543213,Rampur,Patiala,Punjab,yes,2025-06-01T10:00:00+05:30\n"
    )
    assert r.status == 200, r.body
    rows = [(x["row"], x["status"], [e["type"] for e in x.get("errors") or []]) for x in r.body["rows"]]
    assert rows == [(2, "accepted", []), (3, "rejected", ["csv_unreadable"]), (4, "accepted", [])]
    assert "131072" in r.body["rows"][1]["errors"][0]["issue"]


def test_an_unreadable_header_is_a_422(world):
    before = world.snapshot()
    r = world.import_farmers("x" * 140_000 + ",phone\n1,2\n")
    assert r.status == 422 and r.body["error"]["details"][0]["type"] == "csv_unreadable", r.body
    assert world.snapshot() == before


def test_nul_in_a_csv_row_rejects_that_row(world):
    r = world.import_farmers(
        CSV_HEADER + "Ra\x00vi,9876543210,Rampur,Patiala,Punjab,yes,2025-06-01T10:00:00+05:30\n"
        "Sita,9876543211,Rampur,Patiala,Punjab,yes,2025-06-01T10:00:00+05:30\n"
    )
    assert r.status == 200, r.body
    assert [x["status"] for x in r.body["rows"]] == ["rejected", "accepted"]


# ---- 4. GeoJSON import: odd feature shapes ------------------------------------------------------------
@pytest.mark.parametrize(
    "odd",
    [
        "a feature",
        7,
        None,
        [1, 2],
        True,
        {"type": "Feature", "properties": "farmer", "geometry": polygon(75.9, 30.9)},
        {"type": "Feature", "properties": ["farmer"], "geometry": polygon(75.9, 30.9)},
        {"type": "Feature", "properties": 3.5, "geometry": polygon(75.9, 30.9)},
        {"type": "Feature", "properties": {"farmer_id": ["F-1"], "external_id": "x"}, "geometry": polygon(75.9, 30.9)},
        {
            "type": "Feature",
            "properties": {"farmer_id": "F" * 3000, "external_id": "x"},
            "geometry": polygon(75.9, 30.9),
        },
        {
            "type": "Feature",
            "properties": {"farmer_external_id": {"a": 1}, "external_id": "x"},
            "geometry": polygon(75.9, 30.9),
        },
        {"type": "Feature", "properties": {"farmer_id": "F-1", "external_id": "x"}, "geometry": None},
        {"type": "Feature", "properties": {"farmer_id": "F-1", "external_id": "x"}, "geometry": "POLYGON((1 2))"},
        {"type": "Feature", "properties": {"farmer_id": "F-1", "external_id": "x"}},
        {
            "type": "Feature",
            "properties": {"farmer_id": "F-1", "external_id": "x"},
            "geometry": {"type": "Polygon", "coordinates": "[[1,2]]"},
        },
        {
            "type": "Feature",
            "properties": {"farmer_id": "F-1", "external_id": "x"},
            "geometry": {"type": "Polygon", "coordinates": [[[75.9, 30.9, 1, 2]] * 4]},
        },
        {"type": "Feature", "properties": {"farmer_id": "F-1", "id": {"nested": []}}, "geometry": polygon(75.9, 30.9)},
    ],
)
def test_an_odd_feature_is_rejected_in_the_report_and_the_others_import(world, farmer, odd):
    fid = farmer["farmer_id"]
    r = world.import_plots([odd, feature(lon=75.85, properties={"farmer_id": fid, "external_id": "good"})])
    assert r.status == 200, r.body
    assert [x["status"] for x in r.body["rows"]] == ["rejected", "accepted"], r.body
    assert r.body["rows"][0]["errors"][0]["field"].startswith("features.0")
    assert len(world.list_plots(fid).body["items"]) == 1


def test_null_properties_read_as_none(world, farmer):
    """RFC 7946 allows "properties": null."""
    r = world.add_plot(farmer["farmer_id"], feature(properties=None))
    assert r.status == 201, r.body


# ---- 5. geometry size ---------------------------------------------------------------------------------
def test_a_plot_of_22000_positions_is_refused_naming_the_limit(world, farmer):
    before = world.snapshot()
    r = world.add_plot(farmer["farmer_id"], {"type": "Feature", "geometry": circle(75.85, 30.9, 22_000)})
    assert r.status == 422, r.body
    detail = r.body["error"]["details"][0]
    assert detail["type"] == "geometry_too_large" and str(geometry.MAX_VERTICES) in detail["issue"].replace(",", "")
    assert world.snapshot() == before


def test_a_geometry_over_the_byte_limit_is_refused_naming_it(world, farmer):
    """4,900 positions with full-precision altitudes (about 60 bytes each): under the vertex cap, over the byte cap."""
    shape = circle(75.85, 30.9, 4_900, radius_deg=0.0123456789, altitude=231.12345678901234)
    assert len(json.dumps(shape, separators=(",", ":"))) > geometry.MAX_GEOMETRY_BYTES
    before = world.snapshot()
    r = world.add_plot(farmer["farmer_id"], {"type": "Feature", "geometry": shape})
    assert r.status == 422, r.body
    detail = r.body["error"]["details"][0]
    assert detail["type"] == "geometry_too_large" and str(geometry.MAX_GEOMETRY_BYTES) in detail["issue"]
    assert world.snapshot() == before


def test_a_plot_at_the_limits_is_stored_and_its_item_fits_dynamodb(world, farmer):
    shape = circle(75.85, 30.9, geometry.MAX_VERTICES - 1, radius_deg=0.005, digits=7)
    r = world.add_plot(farmer["farmer_id"], {"type": "Feature", "geometry": shape, "properties": {"name": "Big"}})
    assert r.status == 201, r.body
    item = world.store.items[keys.plot(r.body["plot_id"])]
    assert len(json.dumps(item).encode()) < 300_000  # DynamoDB's item limit is 400 KB


# ---- 6. geometry members and type, India's outline -----------------------------------------------------
def test_a_bbox_is_accepted_and_not_stored(world, farmer):
    body = feature(bbox=[75.85, 30.9, 75.851, 30.901])
    body["geometry"]["bbox"] = [75.85, 30.9, 75.851, 30.901]
    r = world.add_plot(farmer["farmer_id"], body)
    assert r.status == 201, r.body
    assert "bbox" not in r.body["geometry"]
    assert "bbox" not in world.store.items[keys.plot(r.body["plot_id"])]["geometry_json"]


@pytest.mark.parametrize(
    "body, field",
    [
        ({"geometry": {**polygon(75.85, 30.9), "bbox": "[NaN, 1, 2, 3]"}}, "body.geometry.bbox"),
        ({"geometry": {**polygon(75.85, 30.9), "bbox": [1, 2, 3]}}, "body.geometry.bbox"),
        ({"geometry": {**polygon(75.85, 30.9), "crs": {"type": "name"}}}, "body.geometry.crs"),
        ({"geometry": {**polygon(75.85, 30.9), "type": "Point"}}, "body.geometry.type"),
        ({"geometry": {**polygon(75.85, 30.9), "type": "GeometryCollection"}}, "body.geometry.type"),
        ({"foo": 1}, "body.foo"),
    ],
)
def test_unknown_geometry_members_and_types_are_refused(world, farmer, body, field):
    before = world.snapshot()
    r = world.add_plot(farmer["farmer_id"], {**feature(), **body})
    assert r.status == 422 and fields(r)[0] == field, r.body
    assert world.snapshot() == before


def test_a_nan_bbox_is_refused(world, farmer):
    raw = json.dumps(feature()).replace('"properties"', '"bbox": [NaN, 1, 2, 3], "properties"')
    r = world.add_plot(farmer["farmer_id"], raw.encode())
    assert r.status in (400, 422), r.body
    assert world.list_plots(farmer["farmer_id"]).body["items"] == []


def test_the_openapi_document_shows_the_geometry_types_and_limits():
    doc = json.loads(open("functions/docs/openapi.json").read())
    schema = doc["components"]["schemas"]["PlotGeometry"]
    assert schema["properties"]["type"]["enum"] == ["Polygon", "MultiPolygon"]
    assert "5,000 positions" in schema["description"] and "200,000 bytes" in schema["description"]
    patch = doc["components"]["schemas"]["PatchFarmerRequest"]["properties"]
    assert all("null" not in json.dumps(prop) for prop in patch.values()), patch  # null is a 422 there


INSIDE = {
    "Delhi": (77.21, 28.61),
    "Chennai": (80.27, 13.08),
    "Srinagar": (74.80, 34.08),
    "Leh": (77.58, 34.16),
    "Tawang": (91.86, 27.59),
    "Port Blair": (92.73, 11.62),
    "Kavaratti": (72.64, 10.57),
    "Campbell Bay": (93.93, 7.0),
    "Kanyakumari": (77.54, 8.08),
    "Attari": (74.58, 31.6),
    "Petrapole": (88.88, 23.03),
    "Siachen": (77.1, 35.4),
    "Aksai Chin (claimed)": (79.5, 35.2),
    "Gilgit (claimed)": (74.31, 35.92),
    "Muzaffarabad (claimed)": (73.47, 34.37),
}
OUTSIDE = {
    "Lhasa": (91.11, 29.65),
    "Tibet": (90.0, 30.0),
    "Kathmandu": (85.32, 27.72),
    "Dhaka": (90.41, 23.81),
    "Lahore": (74.34, 31.55),
    "Colombo": (79.86, 6.93),
    "Islamabad": (73.05, 33.68),
    "Thimphu": (89.64, 27.47),
    "Jaffna": (80.01, 9.66),
    "Karachi": (67.0, 24.86),
    "Shiquanhe": (80.1, 32.5),
    "Male": (73.51, 4.18),
}


@pytest.mark.parametrize("place", INSIDE)
def test_plots_anywhere_in_india_are_accepted(place):
    lon, lat = INSIDE[place]
    assert geometry.parse_plot(polygon(lon, lat)).area_ha > 0


@pytest.mark.parametrize("place", OUTSIDE)
def test_plots_in_the_neighbouring_countries_are_refused(place):
    lon, lat = OUTSIDE[place]
    with pytest.raises(Exception) as err:
        geometry.parse_plot(polygon(lon, lat))
    assert err.value.details[0]["type"] == "outside_india"
    assert err.value.details[0]["field"] == "body.geometry.coordinates.0.0"


def test_a_plot_in_tibet_is_refused_through_the_handler(world, farmer):
    """Inside India's bounding box, outside India: accepted before."""
    before = world.snapshot()
    r = world.add_plot(farmer["farmer_id"], feature(lon=90.0, lat=30.0))
    assert r.status == 422 and r.body["error"]["details"][0]["type"] == "outside_india", r.body
    assert world.snapshot() == before


def test_the_outline_file_is_small_and_states_its_source():
    text = geometry.INDIA_OUTLINE_FILE.read_text()
    assert len(text) < 50_000
    props = json.loads(text)["properties"]
    assert "Natural Earth" in props["source"] and "public domain" in props["licence"]

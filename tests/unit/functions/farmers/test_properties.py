"""Property checks through the farmers Lambda entry point: for every farmers route,
random JSON bodies (and valid bodies with random parts replaced, removed or added) never produce a 5xx,
a refusal answers with the error envelope, and a refusal stores nothing (the store is compared before
and after). The GeoJSON import's own parser is fuzzed over odd shapes the same way."""

from __future__ import annotations

import copy
import json
import os
from urllib.parse import quote

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.unit.functions.farmers.world import CONSENT, WHEAT, World, farmer_body, feature

# CI runs a fixed, deterministic sample; FARM_PROPERTY_EXAMPLES=500 explores a fresh random one.
EXAMPLES = int(os.environ.get("FARM_PROPERTY_EXAMPLES", "0"))
SETTINGS = settings(
    max_examples=EXAMPLES or 40,
    deadline=None,
    derandomize=not EXAMPLES,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

TEXT = st.text(st.characters(exclude_categories=()), max_size=12) | st.sampled_from(
    [
        "",
        " ",
        "\x00",
        "\x1b[2J",
        "\u202e",
        "\ud800",
        "\ufeff",
        "a\nb",
        "Rampur",
        "#",
        "9876543210",
        "F-1",
        "x" * 300,
        "2025-06-01T10:00:00+05:30",
        "Polygon",
        "Feature",
        "rice",
    ]
)
NUMBERS = (
    st.integers(min_value=-(10**40), max_value=10**40)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.sampled_from([0, 1, -1, 1e-308, 1e300, 2**63, 0.5, 90, 180, 77.2, 28.6])
)
SCALARS = st.none() | st.booleans() | NUMBERS | TEXT
JSON = st.recursive(
    SCALARS, lambda inner: st.lists(inner, max_size=4) | st.dictionaries(TEXT, inner, max_size=4), max_leaves=10
)


def paths(value, prefix=()):
    yield prefix
    if isinstance(value, dict):
        for key, item in value.items():
            yield from paths(item, (*prefix, key))
    elif isinstance(value, list):
        for i, item in enumerate(value):
            yield from paths(item, (*prefix, i))


def mutated(valid):
    """``valid`` with one to three parts replaced by random JSON, removed, or given an extra member."""
    candidates = list(paths(valid))[1:]

    @st.composite
    def build(draw):
        body = copy.deepcopy(valid)
        for _ in range(draw(st.integers(1, 3))):
            path = draw(st.sampled_from(candidates))
            action = draw(st.sampled_from(["replace", "replace", "delete", "add"]))
            try:
                parent = body
                for step in path[:-1]:
                    parent = parent[step]
                leaf = path[-1]
                if action == "replace":  # null and scalars often: they are what partial updates and models trip on
                    parent[leaf] = draw(st.one_of(st.none(), SCALARS, JSON))
                elif action == "delete":
                    del parent[leaf]
                elif isinstance(parent[leaf], dict):
                    parent[leaf][draw(TEXT)] = draw(JSON)
                elif isinstance(parent[leaf], list):
                    parent[leaf].append(draw(JSON))
            except (KeyError, IndexError, TypeError):
                pass  # an earlier mutation removed or replaced this part
        return body

    return build()


def bodies(valid):
    return mutated(valid) | JSON


@pytest.fixture
def world(monkeypatch):
    w = World(monkeypatch)
    f = w.register()
    r = w.add_plot(f["farmer_id"], feature())
    assert r.status == 201, r.body
    w.fid, w.pid = f["farmer_id"], r.body["plot_id"]
    assert w.add_season(w.pid, WHEAT).status == 201
    r = w.request("POST", "/uploads", {"plot_id": w.pid, "content_type": "application/pdf", "size_bytes": 100})
    assert r.status == 201, r.body
    w.upload = r.body["upload_id"]
    yield w
    w.uninstall()


def check(world, send, *, applied=lambda r: True):
    """Send once; no 5xx; a 4xx is an error envelope and changes nothing; so does a 2xx that applied nothing."""
    before = world.snapshot()
    r = send()
    assert r.status < 500, r.body
    if r.status >= 400:
        assert set(r.body) == {"error"} and r.body["error"]["code"], r.body
        assert world.snapshot() == before
    elif not applied(r):
        assert world.snapshot() == before
    json.dumps(r.body)  # the answer is JSON (no lone surrogate, no NaN smuggled through)
    return r


# ---- writes ---------------------------------------------------------------------------------------------
@SETTINGS
@given(data=st.data())
def test_register_farmer(world, data):
    body = data.draw(bodies(farmer_body(aadhaar="2341 2341 2346", external_id="ext-1", preferred_language="pa")))
    check(world, lambda: world.request("POST", "/farmers", body))


@SETTINGS
@given(data=st.data())
def test_patch_farmer(world, data):
    current = world.get_farmer(world.fid).body["version"]
    body = data.draw(
        bodies(
            {
                "version": current,
                "name": "Ravi K",
                "phone": "9876543210",
                "village": "Kot",
                "district": "D",
                "state": "S",
                "preferred_language": "hi",
                "consent": CONSENT,
            }
        )
    )
    check(world, lambda: world.patch_farmer(world.fid, body))


@SETTINGS
@given(data=st.data())
def test_create_plot(world, data):
    body = data.draw(
        bodies(
            feature(
                lon=75.95,
                properties={"name": "North", "declared_area_ha": 1.1, "external_id": "p"},
                id="f-1",
                bbox=[75.95, 30.9, 75.951, 30.901],
            )
        )
    )
    check(world, lambda: world.add_plot(world.fid, body))


@SETTINGS
@given(data=st.data())
def test_put_plot(world, data):
    current = world.get_plot(world.pid).body["version"]
    body = data.draw(bodies({**feature(properties={"name": "North", "declared_area_ha": 1.1}), "version": current}))
    check(world, lambda: world.put_plot(world.pid, body))


TREE = {"species": "neem", "count": 3, "dbh_cm": 20, "height_m": 8, "wood_density_g_per_cm3": 0.6, "planted_year": 2020}
RICE = {
    "year": 2024,
    "season": "kharif",
    "crop": "rice",
    "sowing_date": "2024-06-20",
    "harvest_date": "2024-10-20",
    "cultivation_days": 110,
    "water_regime": "multiple_drainage",
    "preseason_water": "non_flooded_lt_180",
    "water_regime_evidence": {"method": "photos", "description": "AWD pipe", "upload_ids": ["U-1"]},
    "organic_amendments": [{"type": "straw", "t_per_ha": 2}],
    "synthetic_n_kg_per_ha": 120,
    "urea_kg_per_ha": 250,
    "trees": [TREE],
    "yield_t_per_ha": 5,
}


@SETTINGS
@given(data=st.data())
def test_create_season(world, data):
    body = data.draw(bodies(RICE))
    check(world, lambda: world.add_season(world.pid, body))


@SETTINGS
@given(data=st.data())
def test_field_data(world, data):
    body = data.draw(bodies({"plot_id": world.pid, "season": RICE}))
    check(world, lambda: world.request("POST", "/farmers/field-data", body))


@SETTINGS
@given(data=st.data())
def test_sync(world, data):
    record = data.draw(
        st.sampled_from(
            [
                {
                    "client_id": "client-0001",
                    "entity": "farmer",
                    "action": "create",
                    "data": farmer_body(phone="9876500000"),
                },
                {
                    "client_id": "client-0002",
                    "entity": "farmer",
                    "action": "update",
                    "id": world.fid,
                    "base_version": 1,
                    "data": {"name": "Ravi K"},
                },
                {
                    "client_id": "client-0003",
                    "entity": "plot",
                    "action": "create",
                    "id": world.fid,
                    "data": feature(lon=76.0),
                },
                {
                    "client_id": "client-0004",
                    "entity": "plot",
                    "action": "update",
                    "id": world.pid,
                    "base_version": 1,
                    "data": feature(),
                },
                {"client_id": "client-0005", "entity": "season", "action": "create", "id": world.pid, "data": RICE},
                {
                    "client_id": "client-0006",
                    "entity": "season",
                    "action": "update",
                    "id": world.pid,
                    "base_version": 1,
                    "data": WHEAT,
                },
            ]
        )
    )
    body = data.draw(bodies({"records": [record]}))
    check(world, lambda: world.request("POST", "/sync", body), applied=lambda r: r.body["applied"] > 0)


@SETTINGS
@given(data=st.data())
def test_create_upload(world, data):
    body = data.draw(
        bodies(
            {
                "plot_id": world.pid,
                "season_key": "2025-rabi",
                "content_type": "image/jpeg",
                "size_bytes": 1000,
                "description": "bund\nnorth side",
                "latitude": 30.9,
                "longitude": 75.85,
                "captured_at": "2025-12-01T10:00:00+05:30",
            }
        )
    )
    check(world, lambda: world.request("POST", "/uploads", body))


CSV = (
    "name,phone,village,district,state,consent_given,consent_at,external_id\n"
    "Sita,9876543211,Rampur,Patiala,Punjab,yes,2025-06-01T10:00:00+05:30,s-1\n"
)


@SETTINGS
@given(data=st.data(), cell=TEXT)
def test_import_farmers(world, data, cell):
    lines = CSV.split("\n")
    row = lines[1].split(",")
    row[data.draw(st.integers(0, len(row) - 1))] = cell
    text = data.draw(st.sampled_from([CSV, "\n".join([lines[0], ",".join(row), ""]), "\ufeff" + CSV]))
    body = data.draw(bodies({"fpo_id": "FPO-1", "csv": text, "consent_version": "v1"}))
    check(world, lambda: world.request("POST", "/imports/farmers", body), applied=lambda r: r.body["accepted"] > 0)


@SETTINGS
@given(data=st.data())
def test_import_plots(world, data):
    good = feature(lon=76.05, properties={"farmer_id": world.fid, "external_id": "imp-1", "name": "East"})
    body = data.draw(bodies({"fpo_id": "FPO-1", "type": "FeatureCollection", "features": [good]}))
    check(world, lambda: world.request("POST", "/imports/plots", body), applied=lambda r: r.body["accepted"] > 0)


@SETTINGS
@given(feature_=JSON | mutated(feature(lon=76.1, properties={"farmer_id": "F-x", "external_id": "e"})))
def test_the_geojson_import_parser_reports_every_odd_feature(world, feature_):
    """Whatever a feature is, it gets one row in the report (never a 5xx, never the whole request refused)."""
    r = check(world, lambda: world.import_plots([feature_]), applied=lambda r: r.body["accepted"] > 0)
    assert r.status == 200 and len(r.body["rows"]) == 1, r.body


# ---- reads and the id-only write --------------------------------------------------------------------------
IDS = TEXT | st.sampled_from(["F-1", "P-1", "U-1", "a" * 65, "..", "%00", "F-1#x"])


@SETTINGS
@given(
    fid=IDS,
    pid=IDS,
    uid=IDS,
    query=st.dictionaries(st.sampled_from(["fpo_id", "village", "limit", "next_token"]), TEXT, max_size=4),
)
def test_reads_and_complete_upload(world, fid, pid, uid, query):
    qs = "&".join(f"{k}={quote(v.encode('utf-8', 'surrogatepass'))}" for k, v in query.items())
    read = {"applied": lambda r: False}  # a read never writes, whatever it answers
    check(world, lambda: world.request("GET", "/farmers", query=qs), **read)
    check(world, lambda: world.get_farmer(fid), **read)
    check(world, lambda: world.list_plots(fid), **read)
    check(world, lambda: world.get_plot(pid), **read)
    for real in (world.fid, world.pid):
        check(world, lambda real=real: world.get_farmer(real), **read)
        check(world, lambda real=real: world.get_plot(real), **read)
    check(
        world,
        lambda: world.request(
            "POST", f"/uploads/{uid}/complete", resource="/uploads/{upload_id}/complete", params={"upload_id": uid}
        ),
    )


CSV_PIECES = st.sampled_from(
    [
        ",",
        '"',
        "\n",
        "\r\n",
        "\r",
        "\x00",
        "\ufeff",
        "\t",
        "\x1b",
        " ",
        "Ravi",
        "9876543210",
        "yes",
        "2025-06-01T10:00:00+05:30",
        "Rampur",
        '""',
        "\u202e",
        "x" * 200,
    ]
)


@SETTINGS
@given(rows=st.lists(st.lists(CSV_PIECES, max_size=12).map("".join), max_size=6), bom=st.booleans())
def test_the_csv_import_reads_any_text_after_a_good_header(world, rows, bom):
    """Quotes, bare CRs, NULs, BOMs and control characters anywhere after the header: a report (or a 422 for
    the file), never a 5xx; a run that accepted nothing stored nothing."""
    text = ("\ufeff" if bom else "") + CSV.split("\n")[0] + "\n" + "\n".join(rows)
    r = check(world, lambda: world.import_farmers(text), applied=lambda r: r.body["accepted"] > 0)
    if r.status == 200:
        assert r.body["accepted"] + r.body["duplicate"] + r.body["rejected"] == len(r.body["rows"])

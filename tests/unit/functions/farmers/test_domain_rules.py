"""Pure rules of the farmers domain: Aadhaar, geohash and geometry, season vocabulary and checks."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from agri_common import season_vocab as vocab
from agri_common.platform.errors import UnprocessableError
from functions.farmers import aadhaar, geometry
from functions.farmers import models as m


# ---- Aadhaar ------------------------------------------------------------------------------------
@pytest.mark.parametrize("digits, check", [("236", "3"), ("12345", "1"), ("142857", "0")])
def test_verhoeff_check_digits_match_published_examples(digits, check):
    assert aadhaar.verhoeff_check_digit(digits) == check
    assert aadhaar.verhoeff_valid(digits + check)


def test_verhoeff_catches_single_digit_errors_and_adjacent_swaps():
    good = "29876543210" + aadhaar.verhoeff_check_digit("29876543210")
    assert aadhaar.validation_error(good) is None
    for i in range(12):
        for d in "0123456789":
            if d != good[i]:
                wrong = good[:i] + d + good[i + 1 :]
                assert not aadhaar.verhoeff_valid(wrong)
    for i in range(11):
        if good[i] != good[i + 1]:
            assert not aadhaar.verhoeff_valid(good[:i] + good[i + 1] + good[i] + good[i + 2 :])


@pytest.mark.parametrize("raw", ["12345678901", "1234567890123", "abcd56789012", "023456789012", "123456789012"])
def test_aadhaar_format(raw):
    assert aadhaar.validation_error(raw) is not None


def test_keyed_hash_depends_on_the_key_and_hides_the_number():
    number = "29876543210" + aadhaar.verhoeff_check_digit("29876543210")
    h1, h2 = aadhaar.keyed_hash(number, b"k1"), aadhaar.keyed_hash(number, b"k2")
    assert h1 != h2 and number not in h1 and len(h1) == 64
    assert aadhaar.normalise("2987 6543-2101") == "298765432101"


# ---- geohash and geometry -------------------------------------------------------------------------
def test_geohash_matches_the_reference_encoding():
    assert geometry.encode_geohash(57.64911, 10.40744, 11) == "u4pruydqqvj"  # Wikipedia's example
    assert geometry.encode_geohash(42.6, -5.6, 5) == "ezs42"  # ibid.


def test_cells_cover_the_bbox_corners():
    bbox = (77.2, 28.6, 77.23, 28.62)
    cells = set(geometry.cells_for_bbox(bbox, 6))
    for lon in (bbox[0], bbox[2]):
        for lat in (bbox[1], bbox[3]):
            assert geometry.encode_geohash(lat, lon, 6) in cells


def square(lon, lat, size=0.001):
    return {
        "type": "Polygon",
        "coordinates": [[[lon, lat], [lon + size, lat], [lon + size, lat + size], [lon, lat + size], [lon, lat]]],
    }


def test_geodesic_area_of_a_known_square():
    # 0.001 deg square at 28 N: 110.86 m (meridian arc at 28 deg) x 98.3 m (parallel) ~ 1.0898 ha
    shape = geometry.parse_plot(square(77.0, 28.0))
    assert shape.area_ha == pytest.approx(1.0898, rel=2e-3)
    # the same square near the equator (Nagercoil, 8.2 N: on land, as plots must be) is larger: a flat
    # formula on degrees could not tell them apart
    assert geometry.parse_plot(square(77.43, 8.18)).area_ha > shape.area_ha * 1.1


def test_orientation_holes_and_multipolygons():
    ring = square(77.0, 28.0)["coordinates"][0]
    clockwise = {"type": "Polygon", "coordinates": [list(reversed(ring))]}
    assert geometry.parse_plot(clockwise).area_ha == geometry.parse_plot(square(77.0, 28.0)).area_ha
    hole = square(77.0004, 28.0004, 0.0002)["coordinates"][0]
    with_hole = {"type": "Polygon", "coordinates": [ring, list(reversed(hole))]}
    assert geometry.parse_plot(with_hole).area_ha < geometry.parse_plot(square(77.0, 28.0)).area_ha
    multi = {
        "type": "MultiPolygon",
        "coordinates": [square(77.0, 28.0)["coordinates"], square(77.01, 28.0)["coordinates"]],
    }
    assert geometry.parse_plot(multi).area_ha == pytest.approx(
        2 * geometry.parse_plot(square(77.0, 28.0)).area_ha, rel=1e-3
    )


@pytest.mark.parametrize(
    "geom, kind",
    [
        ({"type": "Point", "coordinates": [77, 28]}, "geometry_invalid"),
        (square(200.0, 28.0), "coordinates_out_of_range"),
        (square(-0.1, 51.5), "outside_india"),
        (
            {"type": "Polygon", "coordinates": [[[77, 28], [77.001, 28], [77.001, 28.001], [77, 28.001]]]},
            "ring_not_closed",
        ),
        (
            {"type": "Polygon", "coordinates": [[[77, 28], [77.001, 28.001], [77.001, 28], [77, 28.001], [77, 28]]]},
            "self_intersection",
        ),
        (square(77.0, 28.0, 0.00005), "area_out_of_range"),
        (square(77.0, 28.0, 0.3), "area_out_of_range"),
    ],
)
def test_invalid_geometries_name_the_problem(geom, kind):
    with pytest.raises(UnprocessableError) as err:
        geometry.parse_plot(geom)
    assert err.value.details[0]["type"] == kind


def test_overlap_area_is_geodesic_and_zero_for_touching_plots():
    a = geometry.shape_of(square(77.0, 28.0))
    assert geometry.overlap_ha(a, geometry.shape_of(square(77.001, 28.0))) == 0  # shares an edge
    half = geometry.overlap_ha(a, geometry.shape_of(square(77.0005, 28.0)))
    assert half == pytest.approx(geometry.parse_plot(square(77.0, 28.0)).area_ha / 2, rel=1e-2)


# ---- seasons --------------------------------------------------------------------------------------
def test_the_season_vocabulary_is_the_carbon_engines():
    from carbon_engine import models as engine

    assert vocab.WATER_REGIMES == engine.WATER_REGIMES
    assert vocab.PRESEASON_STATUSES == engine.PRESEASON_STATUSES
    assert vocab.AMENDMENT_TYPES == engine.AMENDMENT_TYPES
    assert vocab.CROP_SYNONYMS == engine.CROP_SYNONYMS
    assert vocab.COUNTRY_FACTOR_NAMES == engine.COUNTRY_FACTOR_NAMES  # what a project may replace
    for ours, theirs in (
        (vocab.WaterRegime, engine.WaterRegime),
        (vocab.PreseasonWater, engine.PreseasonWater),
        (vocab.AmendmentType, engine.AmendmentType),
    ):
        assert ours.__args__ == theirs.__args__


@pytest.mark.parametrize(
    "crop", [" Paddy ", "DHAN", "Oryza  sativa", "wheat", "Maize", "wild rice", "paddy straw", "ragi"]
)
def test_crop_names_are_read_as_the_engine_reads_them(crop):
    """vocab.crop_key mirrors the engine's Season crop validator (the farmers function has no engine layer)."""
    from carbon_engine.models import Season

    engine_crop = Season.__pydantic_decorators__.field_validators["_crop"].func

    def engine_reads(name):
        try:
            return engine_crop(name)
        except ValueError as exc:
            return type(exc)

    def ours(name):
        try:
            return vocab.crop_key(name)
        except ValueError as exc:
            return type(exc)

    assert ours(crop) == engine_reads(crop)


RICE = {
    "year": 2025,
    "season": "kharif",
    "crop": "Rice",
    "sowing_date": "2025-06-20",
    "harvest_date": "2025-10-20",
    "cultivation_days": 110,
    "water_regime": "single_drainage",
    "preseason_water": "non_flooded_lt_180",
    "synthetic_n_kg_per_ha": 100,
    "urea_kg_per_ha": 200,
}


def test_paddy_is_stored_as_rice_and_must_carry_the_rice_fields():
    season = m.SeasonData.model_validate({**RICE, "crop": " Paddy "})
    assert season.crop == "rice"
    with pytest.raises(ValidationError, match="water_regime is required for a rice season"):
        m.SeasonData.model_validate({**RICE, "crop": "dhan", "water_regime": None})
    with pytest.raises(ValidationError, match="ambiguous crop"):
        m.SeasonData.model_validate({**RICE, "crop": "wild rice grass"})
    maize = {k: v for k, v in RICE.items() if k not in ("water_regime", "cultivation_days", "preseason_water")}
    assert m.SeasonData.model_validate({**maize, "crop": "Maize"}).crop == "maize"


def test_a_tree_group_cannot_be_planted_after_the_harvest():
    tree = {"species": "Tectona grandis", "count": 5, "dbh_cm": 10, "height_m": 6, "wood_density_g_per_cm3": 0.6}
    assert (
        m.SeasonData.model_validate({**RICE, "trees": [{**tree, "planted_year": 2019}]}).trees[0].planted_year == 2019
    )
    with pytest.raises(ValidationError, match="planted_year"):
        m.SeasonData.model_validate({**RICE, "trees": [{**tree, "planted_year": 2026}]})  # harvest 2025-10-20


def test_a_valid_rice_season():
    season = m.SeasonData.model_validate(RICE)
    assert season.crop == "rice" and season.season_key == "2025-kharif"


@pytest.mark.parametrize(
    "change, message",
    [
        ({"harvest_date": "2025-06-01"}, "after sowing_date"),
        ({"cultivation_days": 200}, "exceeds"),
        ({"water_regime": None}, "water_regime is required"),
        ({"crop": "wheat"}, "upland"),
        ({"urea_kg_per_ha": 300}, "more nitrogen"),
        ({"residue_fate": "burnt"}, "residue_burnt_t_dm_per_ha"),
        ({"sowing_date": "2023-06-20", "harvest_date": "2023-10-20"}, "season's year"),
    ],
)
def test_impossible_seasons_are_refused(change, message):
    with pytest.raises(ValidationError) as err:
        m.SeasonData.model_validate({**RICE, **change})
    assert message in str(err.value)


@pytest.mark.parametrize(
    "field, value",
    [
        ("synthetic_n_kg_per_ha", -1),
        ("cultivation_days", 0),
        ("limestone_kg_per_ha", 60000),
        ("water_regime", "swamp"),
        ("unknown_field", 1),
        ("yield_t_per_ha", -0.1),
        ("yield_t_per_ha", 30.5),
    ],
)
def test_field_level_errors(field, value):
    with pytest.raises(ValidationError) as err:
        m.SeasonData.model_validate({**RICE, field: value})
    assert err.value.errors()[0]["loc"] == (field,)


@pytest.mark.parametrize(
    "raw, stored",
    [("9876543210", "+919876543210"), ("+91 98765 43210", "+919876543210"), ("09876543210", "+919876543210")],
)
def test_phone_numbers_are_normalised(raw, stored):
    assert m.indian_mobile(raw) == stored


def test_upload_limits():
    with pytest.raises(ValidationError):
        m.UploadRequest.model_validate({"plot_id": "P-1", "content_type": "image/jpeg", "size_bytes": 16 * 1024 * 1024})
    with pytest.raises(ValidationError):
        m.UploadRequest.model_validate({"plot_id": "P-1", "content_type": "text/plain", "size_bytes": 10})
    assert m.UploadRequest.model_validate(
        {"plot_id": "P-1", "content_type": "application/pdf", "size_bytes": 19_000_000}
    )

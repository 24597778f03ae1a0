"""Invalid input raises a ValidationError that names the field; no number is returned."""

from __future__ import annotations

import json

import pytest
from ce_helpers import request, rice_season
from pydantic import ValidationError

from carbon_engine import Request, estimate


def _locs(exc: ValidationError) -> list[str]:
    return [".".join(str(x) for x in e["loc"]) for e in exc.errors()]


@pytest.mark.parametrize(
    "mutate,field",
    [
        (lambda r: r["plots"][0].update(area_ha=-1.0), "plots.0.area_ha"),
        (lambda r: r["plots"][0]["baseline"].update(water_regime="swamp"), "plots.0.baseline.water_regime"),
        (lambda r: r["plots"][0]["project"].update(cultivation_days=366), "plots.0.project.cultivation_days"),
        (
            lambda r: r["plots"][0]["baseline"].update(organic_amendments=[{"type": "compost"}]),
            "plots.0.baseline.organic_amendments.0.t_per_ha",
        ),
        (
            lambda r: r["plots"][0]["baseline"].update(organic_amendments=[{"type": "compost", "t_per_ha": 0}]),
            "plots.0.baseline.organic_amendments.0.t_per_ha",
        ),
        (lambda r: r["plots"][0]["baseline"].update(preseason_water="wet"), "plots.0.baseline.preseason_water"),
        (
            lambda r: r["plots"][0]["baseline"].update(synthetic_n_kg_per_ha=-5),
            "plots.0.baseline.synthetic_n_kg_per_ha",
        ),
        (lambda r: r.update(gwp="AR4"), "gwp"),
        (lambda r: r.update(profile="gold_standard"), "profile"),
        (lambda r: r.update(climate="humid"), "climate"),
        (lambda r: r.update(region="atlantis"), "region"),
        (lambda r: r.update(draws=1), "draws"),
        (lambda r: r.update(activity_uncertainty={"rainfall": 0.1}), "activity_uncertainty"),
    ],
)
def test_invalid_input_names_the_field(mutate, field):
    req = request()
    mutate(req)
    with pytest.raises(ValidationError) as exc:
        estimate(req)
    assert field in _locs(exc.value)


def test_rice_season_needs_its_fields():
    s = rice_season()
    del s["water_regime"]
    with pytest.raises(ValidationError) as exc:
        estimate(request(baseline=s))
    assert "plots.0.baseline" in _locs(exc.value)
    assert "water_regime is required" in str(exc.value)


def test_non_rice_crop_cannot_be_flooded():
    with pytest.raises(ValidationError, match="upland"):
        estimate(request(baseline={"crop": "wheat", "water_regime": "continuously_flooded"}))


def test_duplicate_plot_ids_and_unknown_fields_rejected():
    req = request()
    req["plots"].append(dict(req["plots"][0]))
    with pytest.raises(ValidationError, match="unique"):
        estimate(req)
    req = request()
    req["plots"][0]["baseline"]["nitrogen"] = 5
    with pytest.raises(ValidationError) as exc:
        estimate(req)
    assert "plots.0.baseline.nitrogen" in _locs(exc.value)


def test_agroforestry_system_without_factor_for_zone_is_an_input_error():
    # Southern Asia tropical-wet growth exists only for the default system
    s = rice_season(agroforestry={"system": "multistrata", "zone": "tropical_wet"})
    with pytest.raises(ValidationError) as exc:
        estimate(request(project=s))
    assert "plots.0.project.agroforestry" in _locs(exc.value)


def test_json_round_trip():
    body = json.dumps(request())
    r1 = estimate(body)
    r2 = estimate(Request.model_validate_json(body))
    assert r1.model_dump() == r2.model_dump()
    again = type(r1).model_validate_json(r1.model_dump_json())
    assert again.total.net.point == r1.total.net.point


def _msg(exc: ValidationError) -> str:
    return str(exc)


def test_urea_n_must_be_within_synthetic_n():
    # urea is 46 % N: 100 kg urea carries 46 kg N, so synthetic N 40 kg/ha is impossible
    with pytest.raises(ValidationError) as exc:
        estimate(request(baseline=rice_season(urea_kg_per_ha=100, synthetic_n_kg_per_ha=40)))
    assert "plots.0.baseline" in _locs(exc.value) and "synthetic_n_kg_per_ha" in _msg(exc.value)
    estimate(request(baseline=rice_season(urea_kg_per_ha=100, synthetic_n_kg_per_ha=46)))  # exactly the urea N: valid


@pytest.mark.parametrize("name", ["paddy", "Paddy Rice", "oryza sativa", "PADI"])
def test_rice_synonyms_are_rice(name):
    # a synonym of rice is rice: it needs the rice fields and gets methane (0.85 x 112 d x 1 ha x 28)
    r = estimate(request(baseline=rice_season(crop=name)))
    assert r.total.components["rice_ch4"]["baseline"] == pytest.approx(0.85 * 112 / 1000 * 28, rel=1e-12)
    s = rice_season(crop=name)
    del s["water_regime"]
    with pytest.raises(ValidationError, match="water_regime is required"):
        estimate(request(baseline=s))


def test_ambiguous_rice_crop_name_is_rejected():
    with pytest.raises(ValidationError) as exc:
        estimate(request(baseline={"crop": "basmati rice"}))
    assert "plots.0.baseline.crop" in _locs(exc.value)


def test_agroforestry_area_cannot_exceed_plot_area():
    # H4: 50 ha of agroforestry on a 1 ha plot
    s = rice_season(agroforestry={"system": "default", "area_ha": 50})
    with pytest.raises(ValidationError) as exc:
        estimate(request(project=s, area=1.0))
    assert "plots.0" in _locs(exc.value) and "agroforestry.area_ha" in _msg(exc.value)
    estimate(request(project=rice_season(agroforestry={"system": "default", "area_ha": 1.0}), area=1.0))


TREES = [{"species": "teak", "count": 20, "dbh_cm": 15, "height_m": 10, "wood_density": 0.6}]


def test_tree_inventory_needs_baseline_and_interval():
    # a project inventory alone would credit the whole standing stock
    req = request(project=rice_season(trees=TREES))
    req["plots"][0]["tree_inventory_years"] = 3
    with pytest.raises(ValidationError, match="baseline.trees"):
        estimate(req)
    # both inventories but no interval between them
    req = request(baseline=rice_season(trees=TREES), project=rice_season(trees=TREES))
    with pytest.raises(ValidationError, match="tree_inventory_years"):
        estimate(req)
    req["plots"][0]["tree_inventory_years"] = 0
    with pytest.raises(ValidationError) as exc:
        estimate(req)
    assert "plots.0.tree_inventory_years" in _locs(exc.value)


def test_stock_changes_once_per_field():
    # two seasons of one field (field_id F1), both with SOC: the annual SOC change would count twice
    soil = {"climate_zone": "tropical_moist", "soil_type": "lac"}
    req = request(
        baseline=rice_season(soc={"land_use": "paddy_rice"}),
        project=rice_season(soc={"land_use": "paddy_rice"}),
        soil=soil,
    )
    first = dict(req["plots"][0], field_id="F1")
    second = dict(first, plot_id="p2")
    req["plots"] = [first, second]
    with pytest.raises(ValidationError, match="field 'F1'"):
        estimate(req)
    # the second season without stock-change inputs is fine
    second = {k: v for k, v in second.items() if k != "soil"}
    second["baseline"], second["project"] = rice_season(), rice_season()
    req["plots"] = [first, second]
    r = estimate(req)
    assert "stock_change_annual" in {a.id for a in r.assumptions}

"""Invalid input raises a ValidationError that names the field; no number is returned."""

from __future__ import annotations

import json

import pytest
from pydantic import ValidationError

from carbon_engine import Request, estimate
from ce_helpers import request, rice_season


def _locs(exc: ValidationError) -> list[str]:
    return [".".join(str(x) for x in e["loc"]) for e in exc.errors()]


@pytest.mark.parametrize("mutate,field", [
    (lambda r: r["plots"][0].update(area_ha=-1.0), "plots.0.area_ha"),
    (lambda r: r["plots"][0]["baseline"].update(water_regime="swamp"), "plots.0.baseline.water_regime"),
    (lambda r: r["plots"][0]["project"].update(cultivation_days=366), "plots.0.project.cultivation_days"),
    (lambda r: r["plots"][0]["baseline"].update(organic_amendments=[{"type": "compost"}]),
     "plots.0.baseline.organic_amendments.0.t_per_ha"),
    (lambda r: r["plots"][0]["baseline"].update(organic_amendments=[{"type": "compost", "t_per_ha": 0}]),
     "plots.0.baseline.organic_amendments.0.t_per_ha"),
    (lambda r: r["plots"][0]["baseline"].update(preseason_water="wet"), "plots.0.baseline.preseason_water"),
    (lambda r: r["plots"][0]["baseline"].update(synthetic_n_kg_per_ha=-5), "plots.0.baseline.synthetic_n_kg_per_ha"),
    (lambda r: r.update(gwp="AR4"), "gwp"),
    (lambda r: r.update(profile="gold_standard"), "profile"),
    (lambda r: r.update(climate="humid"), "climate"),
    (lambda r: r.update(region="atlantis"), "region"),
    (lambda r: r.update(draws=1), "draws"),
    (lambda r: r.update(activity_uncertainty={"rainfall": 0.1}), "activity_uncertainty"),
])
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

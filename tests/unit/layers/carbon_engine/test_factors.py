"""The factors file: provenance for every value, valid distributions, region overrides."""

from __future__ import annotations

import json

import pytest
from ce_helpers import request

from carbon_engine import estimate
from carbon_engine.factors import FactorLibrary, default_library


def test_every_factor_has_source_status_and_valid_range():
    lib = default_library()
    assert lib.version.startswith("ipcc2019-v")
    for name, spec in lib.factors.items():
        assert spec.source and ("Table" in spec.source or "Eq" in spec.source), name
        assert spec.status in {"T", "C", "U"}, name
        if spec.uncertain:
            assert spec.low <= spec.value <= spec.high, name


def test_gwp_sets():
    gwp = default_library().gwp
    assert (gwp["AR5"]["CH4"], gwp["AR5"]["N2O"]) == (28.0, 265.0)
    assert (gwp["AR6"]["CH4"], gwp["AR6"]["N2O"]) == (27.0, 273.0)


def test_region_override_without_code_change(tmp_path, monkeypatch):
    # an India state entry inherits IN -> south_asia and overrides EF_c; no code change needed
    doc = json.loads(open(_packaged(), encoding="utf-8").read())
    doc["version"] = "ipcc2019-v1.0.0+test-state"
    doc["regions"]["IN-XX"] = {
        "parent": "IN",
        "overrides": {
            "rice.ef_c.south_asia": {
                "value": 1.0,
                "low": 0.7,
                "high": 1.4,
                "source": "hypothetical state study, Table 1",
            }
        },
    }
    path = tmp_path / "factors.json"
    path.write_text(json.dumps(doc))
    lib = FactorLibrary.load(path)
    country = estimate(request(region="IN"), library=lib)
    state = estimate(request(region="IN-XX"), library=lib)
    assert country.total.components["rice_ch4"]["baseline"] == pytest.approx(0.85 * 112 / 1000 * 28, rel=1e-12)
    assert state.total.components["rice_ch4"]["baseline"] == pytest.approx(1.0 * 112 / 1000 * 28, rel=1e-12)
    assert state.factors_version == "ipcc2019-v1.0.0+test-state" and state.factors_file == str(path)
    # the same file through the environment variable
    monkeypatch.setenv("CARBON_ENGINE_FACTORS", str(path))
    assert FactorLibrary.load().for_region("IN-XX").spec("rice.ef_c").value == 1.0


def _packaged() -> str:
    from importlib import resources

    return str(resources.files("carbon_engine.factors").joinpath("ipcc2019.v1.json"))


def test_unconfirmed_factors_are_listed():
    lib = default_library().for_region("south_asia")
    assert "burning.fuel_mass_rice" in lib.unconfirmed()
    # value confirmed, range unconfirmed: range_status
    assert lib.spec("biomass.carbon_fraction").range_unconfirmed
    assert lib.spec("soc.f_lu.paddy_rice.moist_wet").range_unconfirmed
    assert not lib.spec("soc.f_lu.paddy_rice.dry").range_unconfirmed


def test_result_lists_the_unconfirmed_factors_and_ranges_it_used():
    # M1: a plain rice request uses no unconfirmed value or range
    assert estimate(request()).unconfirmed_factors_used == []
    # paddy SOC on a moist soil: the reused moist/wet F_LU range; wheat burning: the [U] combustion factor
    soil = {"climate_zone": "tropical_moist", "soil_type": "lac"}
    b = {"crop": "wheat", "residue_burnt_t_dm_per_ha": 2, "soc": {"land_use": "long_term_cultivated"}}
    p = {"crop": "wheat", "soc": {"land_use": "paddy_rice"}}
    r = estimate(request(baseline=b, project=p, soil=soil))
    assert r.unconfirmed_factors_used == ["burning.cf_wheat", "soc.f_lu.paddy_rice.moist_wet (range)"]
    ids = {a.id for a in r.assumptions}
    assert {"soc_paddy_no_mg_fi", "burning_cf_wheat", "stock_change_annual"} <= ids
    montane = estimate(request(baseline=b, project=p, soil={"climate_zone": "tropical_montane", "soil_type": "lac"}))
    assert "soc_montane_moist_wet" in {a.id for a in montane.assumptions}


def test_result_records_factor_file_hash_and_numpy_version():
    # M5: the hash is of the file's bytes
    import hashlib

    import numpy as np

    r = estimate(request())
    assert r.factors_sha256 == hashlib.sha256(open(_packaged(), "rb").read()).hexdigest()
    assert r.numpy_version == np.__version__
    assert r.factors_version == "ipcc2019-v1.1.0"

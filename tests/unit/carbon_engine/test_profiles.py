"""Methodology profiles: factor choice, deductions and eligibility (cited in profiles.py)."""

from __future__ import annotations

import pytest

from carbon_engine import estimate
from carbon_engine.profiles import VM0051_N2O_KG_PER_KG_N
from ce_helpers import request, rice_season

BASE = rice_season(synthetic_n_kg_per_ha=100, organic_n_kg_per_ha=20)
AWD = rice_season(water_regime="multiple_drainage", synthetic_n_kg_per_ha=100, organic_n_kg_per_ha=20)


def test_ipcc_profile_has_no_deductions():
    r = estimate(request(baseline=BASE, project=AWD))
    assert r.total.deductions == [] and r.total.creditable_net == r.total.net.point


def test_vm0051_mandatory_n2o_and_flat_deduction():
    r = estimate(request(baseline=BASE, project=AWD, profile="vm0051", draws=2000))
    d = {x.rule: x.t_co2e for x in r.total.deductions}
    # 0.00314 kg N2O per kg N applied: (0.005 - 0.003) x 44/28; 120 kg N on 1 ha; x 265 / 1000
    assert VM0051_N2O_KG_PER_KG_N == pytest.approx(0.00314, abs=5e-6)
    assert d["vm0051_mandatory_n2o"] == pytest.approx(120 * (0.005 - 0.003) * 44 / 28 * 265 / 1000, rel=1e-12)
    # the deduction replaces the modelled drainage effect: project direct N2O uses the baseline EF1FR
    c = r.total.components["n2o_direct"]
    assert c["project"] == pytest.approx(c["baseline"], rel=1e-12)
    hw = r.total.net.mc.half_width_pct["90"]
    assert 10 < hw <= 100
    remaining = r.total.net.point - d["vm0051_mandatory_n2o"]
    assert d["vm0051_uncertainty"] == pytest.approx(0.15 * remaining, rel=1e-12)
    assert r.total.creditable_net == pytest.approx(0.85 * remaining, rel=1e-12)


def test_vm0051_not_eligible_when_half_width_exceeds_100_percent():
    # offsetting effects: 4 fewer flooded days (CH4 down) but 60 kg more N (N2O up): net near zero,
    # so the 90 % interval is wide relative to the mean
    b = rice_season(synthetic_n_kg_per_ha=100)
    p = rice_season(cultivation_days=108, synthetic_n_kg_per_ha=160)
    r = estimate(request(baseline=b, project=p, profile="vm0051", draws=2000))
    assert r.total.net.mc.half_width_pct["90"] > 100
    assert not r.total.eligible and r.total.creditable_net == 0.0


def test_vm0042_conservative_factors_lower_the_basis_and_eq74():
    soil = {"climate_zone": "tropical_moist", "soil_type": "lac"}
    b = rice_season(soc={"land_use": "paddy_rice"})
    p = rice_season(water_regime="multiple_drainage", soc={"land_use": "paddy_rice", "tillage": "no_till"})
    r = estimate(request(baseline=b, project=p, soil=soil, profile="vm0042_qa3", draws=3000, buffer_fraction=0.2))
    ipcc = estimate(request(baseline=b, project=p, soil=soil, draws=3000))
    assert r.total.creditable_basis < ipcc.total.net.point
    d = {x.rule: x for x in r.total.deductions}
    # Eq 74: UNC = s / mean x 100 x 0.4307, deducted as a fraction of the basis
    unc = r.total.net.mc.sd / r.total.net.mc.mean * 100 * 0.4307
    assert d["vm0042_eq74_uncertainty"].t_co2e == pytest.approx(r.total.creditable_basis * unc / 100, rel=1e-9)
    # buffer on stock changes only: 20 % of the SOC share of what remains
    remaining = r.total.creditable_basis - d["vm0042_eq74_uncertainty"].t_co2e
    share = r.total.removals.point / r.total.creditable_basis  # removals at conservative factors
    assert d["vm0042_buffer_stock_changes"].t_co2e > 0
    assert r.total.creditable_net == pytest.approx(remaining - d["vm0042_buffer_stock_changes"].t_co2e, rel=1e-12)
    assert share > 0


def test_vm0042_conservative_choice_picks_low_bound_for_reduced_source():
    # project only lowers synthetic N (upland wheat, wet): lowest net uses EF1 0.013 rather than 0.016
    b = {"crop": "wheat", "synthetic_n_kg_per_ha": 150}
    p = {"crop": "wheat", "synthetic_n_kg_per_ha": 100}
    from carbon_engine.engine import conservative_draws, prepare, totals
    from carbon_engine.models import Request
    from carbon_engine.montecarlo import Draws

    def chosen_for(baseline, project):
        prep = prepare(Request.model_validate(request(baseline=baseline, project=project, profile="vm0042_qa3")))
        point = float(totals(prep, Draws.defaults(prep.factors))["net"][0])
        return conservative_draws(prep, point)[1]

    assert chosen_for(b, p)["n2o.ef1.synthetic_wet"] == 0.013
    assert chosen_for(p, b)["n2o.ef1.synthetic_wet"] == 0.019  # project raises N: the high bound is conservative


def test_ccts_uses_its_gwp_and_flat_15_percent():
    r = estimate(request(baseline=BASE, project=AWD, profile="ccts_ag04_002", gwp="AR5"))
    assert r.gwp["CH4"] == 29.8 and r.gwp["N2O"] == 273.0
    d_ch4 = 0.85 * (1.00 - 0.55) * 112 / 1000
    d_n2o = -120 * (0.005 - 0.003) * 44 / 28 / 1000
    assert r.total.net.point == pytest.approx(d_ch4 * 29.8 + d_n2o * 273, rel=1e-12)
    assert r.total.deductions[0].t_co2e == pytest.approx(0.15 * r.total.net.point, rel=1e-12)
    assert r.total.creditable_net == pytest.approx(0.85 * r.total.net.point, rel=1e-12)
    assert any("replaced" in n for n in r.profile.notes)

"""Methodology profiles: factor choice, deductions and eligibility (cited in profiles/rules.py and profiles/table.py)."""

from __future__ import annotations

import pytest
from ce_helpers import request, rice_season

from carbon_engine import estimate
from carbon_engine.profiles import VM0051_N2O_KG_PER_KG_N

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
    n2o = 120 * (0.005 - 0.003) * 44 / 28 * 265 / 1000
    assert d["vm0051_mandatory_n2o"] == pytest.approx(n2o, rel=1e-12)
    # the deduction replaces the modelled drainage effect: project direct N2O uses the baseline EF1FR
    c = r.total.components["n2o_direct"]
    assert c["project"] == pytest.approx(c["baseline"], rel=1e-12)
    # in scope: rice CH4 0.85 x (1.00 - 0.55) x 112 d x 28 and direct N2O (no change); 15 % of that soil
    # change first, then the N2O deduction in full (section 8.6 order)
    ch4 = 0.85 * (1.00 - 0.55) * 112 / 1000 * 28
    assert r.total.net_in_scope.point == pytest.approx(ch4, rel=1e-12)
    assert d["vm0051_uncertainty"] == pytest.approx(0.15 * ch4, rel=1e-12)
    assert r.total.creditable_net == pytest.approx(0.85 * ch4 - n2o, rel=1e-12)
    assert [x.rule for x in r.total.deductions] == [
        "vm0051_baseline_gate",
        "vm0051_default_factor_cap",
        "vm0051_uncertainty",
        "vm0051_mandatory_n2o",
    ]
    assert all(x.equation and x.section and x.status for x in r.total.deductions)


def test_vm0051_default_factor_path_has_no_half_width_gate():
    # offsetting effects: 4 fewer flooded days (CH4 down) but 60 kg more N (N2O up): net near zero, so the
    # 90 % interval is wide relative to the mean; the default-factor approach still credits it (flat 15 %)
    b = rice_season(synthetic_n_kg_per_ha=100)
    p = rice_season(cultivation_days=108, synthetic_n_kg_per_ha=160)
    r = estimate(request(baseline=b, project=p, profile="vm0051", draws=2000))
    assert r.total.net_in_scope.mc.half_width_pct["90"] > 100
    net = 0.85 * 4 / 1000 * 28 - 60 * 0.003 * 44 / 28 * 265 / 1000  # CH4 4 days less; direct N2O 60 kg x EF1FR CF
    assert r.total.net_in_scope.point == pytest.approx(net, rel=1e-12)
    assert r.total.eligible and r.total.creditable_net == pytest.approx(0.85 * net, rel=1e-12)


def test_vm0042_qa3_counts_no_rice_methane_and_deducts_no_eq74_on_default_factors():
    # CH4: continuous flooding -> multiple drainage (out of VM0042's scope: a finding says so); removals: Tier 1
    # agroforestry, tropical dry default, age 0: 2.85 t C/ha/yr (constant) x (1 + R 0.323) x 44/12.
    b = rice_season()
    p = rice_season(water_regime="multiple_drainage", agroforestry={"system": "default", "zone": "tropical_dry"})
    r = estimate(request(baseline=b, project=p, profile="vm0042_qa3", draws=3000, buffer_fraction=0.2))
    removals = 2.85 * 1.323 * 44 / 12
    assert r.total.creditable_basis == pytest.approx(removals, rel=1e-12)
    d = {x.rule: x.t_co2e for x in r.total.deductions}
    assert d["vm0042_eq74_uncertainty"] == 0.0  # QA3: the conservative factor choice, not Eq 74 on top
    assert d["vm0042_buffer_stock_changes"] == pytest.approx(0.2 * removals, rel=1e-12)
    assert r.total.creditable_net == pytest.approx(0.8 * removals, rel=1e-12)
    assert "vm0042_rice_ch4_not_in_scope" in {f.id for f in r.total.findings}
    assert "rice_ch4" not in r.profile.counted_components
    assert r.total.net.point > r.total.net_in_scope.point + 1.0  # the inventory still shows the methane cut
    assert "vm0042_buffer_default" not in {a.id for a in r.assumptions}
    # without a buffer_fraction the 10 % default applies and is reported as an assumption
    r10 = estimate(request(baseline=b, project=p, profile="vm0042_qa3", draws=3000))
    assert {x.rule: x.t_co2e for x in r10.total.deductions}["vm0042_buffer_stock_changes"] == pytest.approx(
        0.1 * removals, rel=1e-12
    )
    assert "vm0042_buffer_default" in {a.id for a in r10.assumptions}


def test_vm0042_conservative_choice_picks_low_bound_for_reduced_source():
    # project only lowers synthetic N (upland wheat, wet): lowest net uses EF1 0.013 rather than 0.016
    b = {"crop": "wheat", "synthetic_n_kg_per_ha": 150}
    p = {"crop": "wheat", "synthetic_n_kg_per_ha": 100}
    from carbon_engine.engine import conservative_draws, prepare
    from carbon_engine.models import Request

    def chosen_for(baseline, project):
        prep = prepare(Request.model_validate(request(baseline=baseline, project=project, profile="vm0042_qa3")))
        return conservative_draws(prep)[1]

    assert chosen_for(b, p)["n2o.ef1.synthetic_wet"] == 0.013
    assert chosen_for(p, b)["n2o.ef1.synthetic_wet"] == 0.019  # project raises N: the high bound is conservative


def test_vm0051_models_n2o_changes_the_deduction_does_not_cover():
    # H1: deep water -> multiple drainage: EF1FR 0.003 -> 0.005 is modelled (no deduction applies)
    # 120 kg N on 1 ha: project direct N2O - baseline = 120 x (0.005 - 0.003) x 44/28 x 265 / 1000
    for base_regime, proj_regime in (("deep_water", "multiple_drainage"), ("continuously_flooded", "rainfed_regular")):
        b = rice_season(water_regime=base_regime, synthetic_n_kg_per_ha=100, organic_n_kg_per_ha=20)
        p = rice_season(water_regime=proj_regime, synthetic_n_kg_per_ha=100, organic_n_kg_per_ha=20)
        r = estimate(request(baseline=b, project=p, profile="vm0051", draws=500))
        c = r.total.components["n2o_direct"]
        assert c["project"] - c["baseline"] == pytest.approx(120 * (0.005 - 0.003) * 44 / 28 * 265 / 1000, rel=1e-9)
        assert {x.rule: x.t_co2e for x in r.total.deductions}["vm0051_mandatory_n2o"] == 0.0


def test_vm0051_residue_n_keeps_its_own_regime():
    # L3: the deduction covers synthetic + organic N (120 kg); residue N (30 kg) is modelled with the project
    # regime: project direct N2O - baseline = 30 x (0.005 - 0.003) x 44/28 x 265 / 1000
    b = rice_season(synthetic_n_kg_per_ha=100, organic_n_kg_per_ha=20, residue_n_kg_per_ha=30)
    p = rice_season(
        water_regime="multiple_drainage", synthetic_n_kg_per_ha=100, organic_n_kg_per_ha=20, residue_n_kg_per_ha=30
    )
    r = estimate(request(baseline=b, project=p, profile="vm0051", draws=500))
    c = r.total.components["n2o_direct"]
    assert c["project"] - c["baseline"] == pytest.approx(30 * 0.002 * 44 / 28 * 265 / 1000, rel=1e-9)
    d = {x.rule: x.t_co2e for x in r.total.deductions}
    assert d["vm0051_mandatory_n2o"] == pytest.approx(120 * 0.002 * 44 / 28 * 265 / 1000, rel=1e-12)


def test_rice_profiles_count_only_their_components():
    # H2: SOC gain, trees (Tier 1 agroforestry), urea cut and less burning are in the inventory net but not in
    # the VM0051 / CCTS creditable net (burning is lower in the project, so not a mandatory VM0051 source).
    soil = {"climate_zone": "tropical_moist", "soil_type": "lac"}
    b = rice_season(
        synthetic_n_kg_per_ha=100,
        urea_kg_per_ha=200,
        residue_burnt_t_dm_per_ha=4,
        soc={"land_use": "long_term_cultivated"},
    )
    p = rice_season(
        water_regime="multiple_drainage",
        synthetic_n_kg_per_ha=100,
        soc={"land_use": "paddy_rice"},
        agroforestry={"system": "default", "age_years": 1},
    )
    for profile, ch4_gwp, n2o_gwp, counted in (
        ("vm0051", 28.0, 265.0, {"rice_ch4", "n2o_direct"}),
        ("ccts_ag04_002", 29.8, 273.0, {"rice_ch4", "n2o_direct", "n2o_volatilisation", "n2o_leaching"}),
    ):
        r = estimate(request(baseline=b, project=p, soil=soil, profile=profile, draws=500))
        # in scope: CH4 0.85 x (1.00 - 0.55) x 112 d; N2O 100 kg x (0.005 - 0.003) x 44/28, except that VM0051
        # fixes the project EF1FR at the baseline's (CF -> multiple drainage) and deducts instead
        ch4 = 0.85 * (1.00 - 0.55) * 112 / 1000 * ch4_gwp
        n2o = 0.0 if profile == "vm0051" else -100 * 0.002 * 44 / 28 / 1000 * n2o_gwp
        assert r.total.net_in_scope.point == pytest.approx(ch4 + n2o, rel=1e-12)
        assert r.total.creditable_basis == pytest.approx(ch4 + n2o, rel=1e-12)
        assert r.total.net.point > r.total.net_in_scope.point + 1.0  # removals and avoided emissions left out
        assert set(r.profile.counted_components) == counted
        assert r.profile.scope_status == "U" and "profile_scope" in {a.id for a in r.assumptions}
    assert {x.rule for x in r.total.deductions} == {"ccts_flat_15pct"}


def test_vcs_profiles_force_ar5():
    # M4: a request for AR6 under VM0042 / VM0051 is evaluated with AR5 (28 / 265), with a note
    for profile in ("vm0042_qa3", "vm0051"):
        r = estimate(request(baseline=BASE, project=AWD, profile=profile, gwp="AR6", draws=300))
        assert (r.gwp["name"], r.gwp["CH4"], r.gwp["N2O"]) == ("AR5", 28.0, 265.0)
        assert any("replaced by AR5" in n for n in r.profile.notes)


def test_vm0051_negative_net_is_not_creditable():
    # L1: multiple drainage -> continuous flooding raises CH4: net = -0.85 x (1.00 - 0.55) x 112 / 1000 x 28
    r = estimate(
        request(
            baseline=rice_season(water_regime="multiple_drainage"), project=rice_season(), profile="vm0051", draws=2000
        )
    )
    assert r.total.net.point == pytest.approx(-0.85 * 0.45 * 112 / 1000 * 28, rel=1e-12)
    assert r.total.creditable_net == 0.0
    assert "nothing creditable" in " ".join(x.note for x in r.total.deductions)
    assert all(x.t_co2e == 0.0 for x in r.total.deductions)


def _ctx(net: float, hw90: float | None, draws: list[float], core: float | None = None):
    import numpy as np

    from carbon_engine.profiles import ProfileContext

    return ProfileContext(
        basis={"net_in_scope": net, "net_in_scope_core": net if core is None else core, "removals_in_scope": 0.0},
        mc={"net_in_scope": {"half_width_pct": {"90": hw90}}},
        mc_draws={"net_in_scope": np.array(draws)},
        gwp={"CH4": 28.0, "N2O": 265.0, "CO2": 1.0},
        awd_switch_n_kg=0.0,
        buffer_fraction=None,
    )


def test_vm0051_uncertainty_and_size_cap_rules():
    from carbon_engine.profiles import vm0051_size_cap, vm0051_uncertainty

    # any half-width: flat 15 % of the soil CH4/N2O change, eligible
    for hw in (8.0, 30.0, 150.0, None):
        out = vm0051_uncertainty(_ctx(50_000.0, hw, [40_000.0, 60_000.0]), 50_000.0)
        assert out.deduction == pytest.approx(7_500.0, rel=1e-12) and out.eligible
    # the 15 % applies to the soil change only (a counted lime increase of 1,000 t is not reduced by it)
    assert vm0051_uncertainty(_ctx(49_000.0, 30.0, [1.0, 2.0], core=50_000.0), 49_000.0).deduction == pytest.approx(
        7_500.0, rel=1e-12
    )
    # 60,000 t CO2e/yr: allowed at the cap, refused above it with a clear note
    ctx = _ctx(60_000.0, 30.0, [1.0, 2.0])
    assert vm0051_size_cap(ctx, 60_000.0).eligible and "vm0051_request_is_one_year" in ctx.assumptions
    out = vm0051_size_cap(_ctx(60_000.5, 30.0, [1.0, 2.0]), 60_000.5)
    assert not out.eligible and "country-specific" in out.note and out.rule == "vm0051_default_factor_cap"


def test_vm0051_above_60000_t_is_not_eligible_with_a_finding():
    # 6 x 10,000 ha of CF -> AWD: 60,000 x 1.19952 t = 71,971 t > 60,000 t CO2e/yr
    req = request(
        baseline=rice_season(),
        project=rice_season(water_regime="multiple_drainage"),
        area=10_000,
        profile="vm0051",
        draws=200,
    )
    req["plots"] = [dict(req["plots"][0], plot_id=f"p{i}") for i in range(6)]
    r = estimate(req)
    assert r.total.net_in_scope.point == pytest.approx(60_000 * 0.85 * 0.45 * 112 / 1000 * 28, rel=1e-12)
    assert not r.total.eligible and r.total.creditable_net == 0.0
    assert "vm0051_default_factor_cap" in {f.id for f in r.total.findings}


def test_ccts_uses_its_gwp_and_flat_15_percent():
    r = estimate(request(baseline=BASE, project=AWD, profile="ccts_ag04_002", gwp="AR5"))
    assert r.gwp["CH4"] == 29.8 and r.gwp["N2O"] == 273.0
    d_ch4 = 0.85 * (1.00 - 0.55) * 112 / 1000
    d_n2o = -120 * (0.005 - 0.003) * 44 / 28 / 1000
    assert r.total.net.point == pytest.approx(d_ch4 * 29.8 + d_n2o * 273, rel=1e-12)
    assert r.total.deductions[0].t_co2e == pytest.approx(0.15 * r.total.net.point, rel=1e-12)
    assert r.total.creditable_net == pytest.approx(0.85 * r.total.net.point, rel=1e-12)
    assert any("replaced" in n for n in r.profile.notes)

"""One hand-worked case per crediting rule (docs/methodologies.md), literal arithmetic.

Common case: 1 ha, South Asia (EF_c 0.85 kg CH4/ha/d), 112 days, pre-season < 180 d (SF_p 1), no
amendments (SF_o 1), wet climate. CH4 of continuous flooding (SF_w 1.00) -> multiple drainage (0.55):
0.85 x 0.45 x 112 / 1000 t CH4.
"""

from __future__ import annotations

import pytest
from ce_helpers import request, rice_season

from carbon_engine import estimate

CH4_AWD_T = 0.85 * (1.00 - 0.55) * 112 / 1000  # t CH4 avoided by AWD on 1 ha
CH4_SD_T = 0.85 * (1.00 - 0.71) * 112 / 1000  # single drainage
N2O = 44 / 28 / 1000  # kg N2O-N -> t N2O


def vm0051(baseline, project, **kw):
    return estimate(request(baseline=baseline, project=project, profile="vm0051", draws=kw.pop("draws", 500), **kw))


def test_vm0051_single_drainage_earns_credits_under_the_default_factor_approach():
    r = vm0051(rice_season(), rice_season(water_regime="single_drainage"))
    assert r.total.eligible
    assert r.total.creditable_net == pytest.approx(0.85 * CH4_SD_T * 28, rel=1e-12)


def test_vm0051_n2o_deduction_is_taken_after_the_15_percent():
    # 100 kg N on CF -> AWD: 0.85 x CH4 - N2O deduction, not 0.85 x (CH4 - N2O deduction)
    r = vm0051(
        rice_season(synthetic_n_kg_per_ha=100), rice_season(water_regime="multiple_drainage", synthetic_n_kg_per_ha=100)
    )
    n2o = 100 * 0.002 * N2O * 265
    assert r.total.creditable_net == pytest.approx(0.85 * CH4_AWD_T * 28 - n2o, rel=1e-12)
    assert r.total.creditable_net < 0.85 * (CH4_AWD_T * 28 - n2o)


def test_vm0051_counts_lime_where_the_project_raises_it_by_more_than_5_percent():
    lime_co2 = lambda kg: kg / 1000 * 0.12 * 44 / 12  # t CO2 from limestone (Eq 11.12)
    base = rice_season(limestone_kg_per_ha=250)
    # +4 %: not a mandatory source, not counted
    r = vm0051(base, rice_season(water_regime="multiple_drainage", limestone_kg_per_ha=260))
    assert r.total.creditable_net == pytest.approx(0.85 * CH4_AWD_T * 28, rel=1e-12)
    # +6 %: counted in full (not reduced by the 15 % on the soil CH4/N2O change)
    r = vm0051(base, rice_season(water_regime="multiple_drainage", limestone_kg_per_ha=265))
    assert r.total.net_in_scope.point == pytest.approx(CH4_AWD_T * 28 - lime_co2(15), rel=1e-12)
    assert r.total.creditable_net == pytest.approx(0.85 * CH4_AWD_T * 28 - lime_co2(15), rel=1e-12)
    assert "vm0051_co2_lime_mandatory" in {f.id for f in r.total.findings}
    # a lime cut is never credited (not a mandatory source)
    r = vm0051(base, rice_season(water_regime="multiple_drainage"))
    assert r.total.creditable_net == pytest.approx(0.85 * CH4_AWD_T * 28, rel=1e-12)


def test_vm0051_counts_residue_burning_where_the_project_raises_it():
    # 4 t DM/ha burnt in the project only: CH4 4 x 0.80 x 2.7 g/kg, N2O 4 x 0.80 x 0.07 g/kg (2006 Eq 2.27)
    burn = 4 * 0.80 * 2.7 / 1000 * 28 + 4 * 0.80 * 0.07 / 1000 * 265
    r = vm0051(rice_season(), rice_season(water_regime="multiple_drainage", residue_burnt_t_dm_per_ha=4))
    assert r.total.creditable_net == pytest.approx(0.85 * CH4_AWD_T * 28 - burn, rel=1e-12)


def test_vm0051_counts_direct_n2o_only():
    # CF -> CF, 150 -> 100 kg N: only the direct N2O change (EF1FR 0.003) is in scope; volatilisation and
    # leaching changes stay in the inventory
    r = vm0051(rice_season(synthetic_n_kg_per_ha=150), rice_season(synthetic_n_kg_per_ha=100))
    direct = 50 * 0.003 * N2O * 265
    indirect = 50 * (0.11 * 0.014 + 0.24 * 0.011) * N2O * 265
    assert r.total.net_in_scope.point == pytest.approx(direct, rel=1e-12)
    assert r.total.net.point == pytest.approx(direct + indirect, rel=1e-12)
    assert r.total.creditable_net == pytest.approx(0.85 * direct, rel=1e-12)


@pytest.mark.parametrize("regime", ["rainfed_regular", "rainfed_drought_prone", "deep_water"])
def test_vm0051_refuses_rainfed_and_deep_water_baselines(regime):
    r = vm0051(rice_season(water_regime=regime), rice_season(water_regime="multiple_drainage"))
    assert not r.total.eligible and r.total.creditable_net == 0.0
    gate = next(f for f in r.total.findings if f.id == "vm0051_baseline_gate")
    assert "1 plot(s) (1 ha)" in gate.text


def test_ccts_does_not_credit_reduced_fertiliser():
    # CF -> AWD with 150 -> 100 kg N credits what CF -> AWD at 100 kg N does: the in-scope baseline N2O uses
    # the project's 100 kg (EF1FR 0.003 vs 0.005: the water-regime increase stays counted)
    awd = rice_season(water_regime="multiple_drainage", synthetic_n_kg_per_ha=100)
    cut = estimate(request(baseline=rice_season(synthetic_n_kg_per_ha=150), project=awd, profile="ccts_ag04_002"))
    same = estimate(request(baseline=rice_season(synthetic_n_kg_per_ha=100), project=awd, profile="ccts_ag04_002"))
    net = CH4_AWD_T * 29.8 - 100 * 0.002 * N2O * 273
    assert cut.total.net_in_scope.point == pytest.approx(net, rel=1e-12)
    assert cut.total.creditable_net == pytest.approx(0.85 * net, rel=1e-12)
    assert cut.total.creditable_net == pytest.approx(same.total.creditable_net, rel=1e-12)
    assert cut.total.net.point > same.total.net.point  # the inventory still shows the N cut
    assert "ccts_ag04_002_no_credit_for_reduced_n" in {f.id for f in cut.total.findings}
    # more N in the project is counted in full
    more = estimate(
        request(
            baseline=rice_season(synthetic_n_kg_per_ha=100),
            project=rice_season(water_regime="multiple_drainage", synthetic_n_kg_per_ha=150),
            profile="ccts_ag04_002",
        )
    )
    n2o_up = (150 * 0.005 - 100 * 0.003 + 50 * (0.11 * 0.014 + 0.24 * 0.011)) * N2O * 273
    assert more.total.net_in_scope.point == pytest.approx(CH4_AWD_T * 29.8 - n2o_up, rel=1e-12)


def test_vm0042_conservative_choice_uses_one_value_per_physical_factor():
    # CF -> AWD with 100 kg N (wet): VM0042 counts the N2O change (rice CH4 is VM0051's). EF1FR continuous and
    # drainage are one correlated group: at the conservative (high) end both take their 97.5 % bound,
    # 0.010 and 0.016, in baseline and project alike: increase 100 x (0.016 - 0.010) x 44/28 x 265
    from carbon_engine.engine import conservative_draws, prepare
    from carbon_engine.models import Request

    req = request(
        baseline=rice_season(synthetic_n_kg_per_ha=100),
        project=rice_season(water_regime="multiple_drainage", synthetic_n_kg_per_ha=100),
        profile="vm0042_qa3",
    )
    _, chosen = conservative_draws(prepare(Request.model_validate(req)))
    assert chosen["n2o.ef1fr.continuous"] == 0.010 and chosen["n2o.ef1fr.drainage"] == 0.016
    r = estimate(req)
    assert r.total.creditable_basis == pytest.approx(-100 * 0.006 * N2O * 265, rel=1e-12)
    assert r.total.creditable_net == 0.0
    # the rice-methane findings explain the zero
    assert "vm0042_rice_ch4_not_in_scope" in {f.id for f in r.total.findings}


def test_every_deduction_names_its_rule_equation_section_and_status():
    for profile in ("vm0042_qa3", "vm0051", "ccts_ag04_002"):
        r = estimate(
            request(baseline=rice_season(), project=rice_season(water_regime="multiple_drainage"), profile=profile)
        )
        for d in r.total.deductions:
            assert d.rule and d.equation and d.section and d.status in ("confirmed", "secondary", "assumption"), d


STRAW_5T_SF_O = (1 + 5 * 1.0) ** 0.59  # Eq 5.3: 5 t/ha straw < 30 d (CFOA 1.0), exponent 0.59


def test_vm0051_unknown_baseline_amendments_take_the_5_t_straw_default():
    # baseline CF, amendments unknown -> 5 t/ha straw: SF_o 6^0.59 = 2.8805; the project (AWD) keeps 5 t/ha straw
    straw = [{"type": "straw_lt_30d", "t_per_ha": 5}]
    r = vm0051(
        rice_season(organic_amendments_unknown=True),
        rice_season(water_regime="multiple_drainage", organic_amendments=straw),
    )
    ch4 = 0.85 * (1.00 - 0.55) * STRAW_5T_SF_O * 112 / 1000
    assert r.total.creditable_net == pytest.approx(0.85 * ch4 * 28, rel=1e-12)
    assert r.total.gases["CH4"].baseline.point == pytest.approx(0.85 * 1.00 * STRAW_5T_SF_O * 112 / 1000 * 28)
    found = {f.id: f.text for f in r.total.findings}
    assert "1 rice plot(s) (1 ha)" in found["vm0051_baseline_straw_default"]
    # the project applying none: the baseline's default straw methane is part of the reduction
    r = vm0051(rice_season(organic_amendments_unknown=True), rice_season(water_regime="multiple_drainage"))
    ch4 = 0.85 * (1.00 * STRAW_5T_SF_O - 0.55) * 112 / 1000
    assert r.total.creditable_net == pytest.approx(0.85 * ch4 * 28, rel=1e-12)


def test_unknown_baseline_amendments_count_none_outside_vm0051_and_an_empty_list_still_means_none():
    awd = rice_season(water_regime="multiple_drainage")
    unknown = estimate(request(baseline=rice_season(organic_amendments_unknown=True), project=awd, draws=200))
    none = estimate(request(baseline=rice_season(), project=awd, draws=200))
    assert unknown.total.net.point == none.total.net.point == pytest.approx(CH4_AWD_T * 28, rel=1e-12)
    assert "baseline_amendments_unknown_as_none" in {f.id for f in unknown.total.findings}
    assert not any("amendments_unknown" in f.id or "straw_default" in f.id for f in none.total.findings)
    plain = vm0051(rice_season(), awd)  # existing requests (no flag): no default
    assert plain.total.creditable_net == pytest.approx(0.85 * CH4_AWD_T * 28, rel=1e-12)


@pytest.mark.parametrize(
    "baseline, project, message",
    [
        (rice_season(), rice_season(organic_amendments_unknown=True), "applies to the baseline only"),
        (
            rice_season(organic_amendments_unknown=True, organic_amendments=[{"type": "compost", "t_per_ha": 1}]),
            rice_season(),
            "not both",
        ),
    ],
)
def test_unknown_amendments_are_refused_on_the_project_and_beside_a_list(baseline, project, message):
    from pydantic import ValidationError

    with pytest.raises(ValidationError, match=message):
        estimate(request(baseline=baseline, project=project, profile="vm0051"))


def _big_awd(area_ha: float, plots: int, **kw):
    """CF -> AWD on ``plots`` plots of ``area_ha`` each, no N, vm0051."""
    req = request(baseline=rice_season(), project=rice_season(water_regime="multiple_drainage"), area=area_ha)
    req["plots"] = [dict(req["plots"][0], plot_id=f"p{i}") for i in range(plots)]
    return estimate({**req, "profile": "vm0051", "draws": 200, **kw})


def test_vm0051_above_60000_t_needs_country_specific_factors_and_accepts_them():
    # 60 plots x 1,000 ha: 60,000 ha x 0.85 x 0.45 x 112 / 1000 x 28 = 71,971.2 t CO2e in-scope > 60,000
    r = _big_awd(1000, 60)
    assert r.total.net_in_scope.point == pytest.approx(60_000 * CH4_AWD_T * 28, rel=1e-12)
    assert not r.total.eligible and r.total.creditable_net == 0
    cap = next(d for d in r.total.deductions if d.rule == "vm0051_default_factor_cap")
    assert "country_factors" in cap.note
    # a country EF_c of 1.20 kg CH4/ha/d (0.80-1.60): 60,000 ha x 1.20 x 0.45 x 112 / 1000 x 28 = 101,606.4 t
    ef = {"rice.ef_c": {"value": 1.2, "low": 0.8, "high": 1.6, "source": "national inventory (test)"}}
    r = _big_awd(1000, 60, country_factors=ef)
    in_scope = 60_000 * 1.2 * 0.45 * 112 / 1000 * 28
    assert r.total.eligible and r.total.net_in_scope.point == pytest.approx(in_scope, rel=1e-12)
    assert r.total.creditable_net == pytest.approx(0.85 * in_scope, rel=1e-12)
    assert "vm0051_country_factors_flat_15" in {a.id for a in r.assumptions}
    # the country range is what the Monte Carlo draws: 95 % of EF_c draws in 0.8-1.6 (split normal)
    assert r.total.gases["CH4"].baseline.mc.median == pytest.approx(60_000 * 1.2 * 112 / 1000 * 28, rel=0.05)


@pytest.mark.parametrize(
    "factors, message",
    [
        ({"n2o.ef1": {"value": 0.01, "low": 0.0, "high": 0.02, "source": "x"}}, "unknown country-specific factor"),
        ({"rice.ef_c": {"value": 1.0, "low": 1.1, "high": 1.6, "source": "x"}}, "low <= value <= high"),
    ],
)
def test_country_factors_outside_the_list_or_out_of_their_range_are_refused(factors, message):
    from pydantic import ValidationError

    with pytest.raises(ValidationError, match=message):
        _big_awd(1, 1, country_factors=factors)

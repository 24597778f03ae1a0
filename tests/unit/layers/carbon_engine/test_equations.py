"""Hand-worked cases for every equation: the arithmetic is written out in each test.

Point estimates are all factors at their defaults (IPCC table values). AR5 GWPs: CH4 28, N2O 265.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from ce_helpers import request, rice_season

from carbon_engine import estimate

GWP_CH4, GWP_N2O = 28.0, 265.0


def comp(result, name, scenario):
    return result.total.components[name][scenario]


# ----------------------------------------------------------------------------- rice CH4, Eqs 5.1-5.3


def test_rice_ch4_tier1_continuous_flooding_no_amendments():
    # Eq 5.2: EF = EF_c(South Asia 0.85) x SF_w(CF 1.00) x SF_p(<180 d 1.00) x SF_o(1) = 0.85 kg/ha/d
    # Eq 5.1: 0.85 x 112 d x 2 ha = 190.4 kg CH4 = 0.1904 t; x 28 = 5.3312 t CO2e
    r = estimate(request(area=2.0))
    assert comp(r, "rice_ch4", "baseline") == pytest.approx(0.85 * 112 * 2 / 1000 * 28, rel=1e-12)
    assert r.total.gases["CH4"].baseline.point == pytest.approx(5.3312, rel=1e-12)


def test_rice_ch4_all_scaling_factors_and_amendments():
    # SF_w single drainage 0.71, SF_p flooded >30 d 2.41,
    # Eq 5.3: SF_o = (1 + 3 t straw<30d x 1.00 + 4 t compost x 0.17 + 2 t green manure x 0.45)^0.59
    #             = (1 + 3 + 0.68 + 0.9)^0.59 = 5.58^0.59
    # Tier 2: SF_s 0.9 x SF_r 1.1
    sfo = (1 + 3 * 1.00 + 4 * 0.17 + 2 * 0.45) ** 0.59
    expected_t = 0.85 * 0.71 * 2.41 * sfo * 0.9 * 1.1 * 100 * 1.5 / 1000
    s = rice_season(
        cultivation_days=100,
        water_regime="single_drainage",
        preseason_water="flooded_gt_30",
        sf_soil=0.9,
        sf_cultivar=1.1,
        organic_amendments=[
            {"type": "straw_lt_30d", "t_per_ha": 3},
            {"type": "compost", "t_per_ha": 4},
            {"type": "green_manure", "t_per_ha": 2},
        ],
    )
    r = estimate(request(baseline=s, area=1.5))
    assert comp(r, "rice_ch4", "baseline") == pytest.approx(expected_t * GWP_CH4, rel=1e-12)


@pytest.mark.parametrize(
    "atype,cfoa",
    [
        ("straw_lt_30d", 1.00),
        ("straw_gt_30d", 0.19),
        ("compost", 0.17),
        ("farmyard_manure", 0.21),
        ("green_manure", 0.45),
    ],
)
def test_sf_o_per_amendment_type(atype, cfoa):
    # Eq 5.3 with one amendment of 5 t/ha: SF_o = (1 + 5 x CFOA)^0.59 relative to no amendment
    with_a = estimate(request(baseline=rice_season(organic_amendments=[{"type": atype, "t_per_ha": 5}])))
    without = estimate(request())
    ratio = comp(with_a, "rice_ch4", "baseline") / comp(without, "rice_ch4", "baseline")
    assert ratio == pytest.approx((1 + 5 * cfoa) ** 0.59, rel=1e-12)


def test_zero_amendments_give_sf_o_exactly_one():
    # Eq 5.3 with no amendments: SF_o = (1 + 0)^e = 1 in every draw, whatever the drawn exponent and CFOA
    from carbon_engine.factors import default_library
    from carbon_engine.methods.rice import sf_o
    from carbon_engine.montecarlo import Draws

    draws = Draws.sample(default_library().for_region("south_asia"), 1000, seed=11)
    assert draws["rice.sf_o_exponent"].std() > 0
    assert (sf_o(draws, np.zeros((3, 5))) == 1.0).all()
    # and the point estimate carries no amendment effect: 0.85 x 112 d x 1 ha
    r = estimate(request())
    assert comp(r, "rice_ch4", "baseline") == pytest.approx(0.85 * 112 / 1000 * 28, rel=1e-12)


@pytest.mark.parametrize(
    "regime,sf_w",
    [
        ("continuously_flooded", 1.00),
        ("single_drainage", 0.71),
        ("multiple_drainage", 0.55),
        ("rainfed_regular", 0.54),
        ("rainfed_drought_prone", 0.16),
        ("deep_water", 0.06),
        ("upland", 0.0),
    ],
)
def test_water_regime_scaling(regime, sf_w):
    r = estimate(request(baseline=rice_season(water_regime=regime)))
    assert comp(r, "rice_ch4", "baseline") == pytest.approx(0.85 * sf_w * 112 / 1000 * 28, rel=1e-12, abs=0)


@pytest.mark.parametrize(
    "status,sf_p",
    [("non_flooded_lt_180", 1.00), ("non_flooded_gt_180", 0.89), ("flooded_gt_30", 2.41), ("non_flooded_gt_365", 0.59)],
)
def test_preseason_scaling(status, sf_p):
    r = estimate(request(baseline=rice_season(preseason_water=status)))
    assert comp(r, "rice_ch4", "baseline") == pytest.approx(0.85 * sf_p * 112 / 1000 * 28, rel=1e-12)


def test_upland_rice_has_zero_methane_in_every_draw():
    r = estimate(
        request(baseline=rice_season(water_regime="upland"), project=rice_season(water_regime="upland"), draws=300)
    )
    ch4 = r.total.gases["CH4"].baseline
    assert ch4.point == 0.0 and ch4.mc.mean == 0.0 and ch4.mc.ci["95"] == (0.0, 0.0)


def test_region_selects_ef_c():
    # Table 5.11: Southeast Asia 1.22 vs South Asia 0.85
    sea = estimate(request(region="southeast_asia"))
    assert comp(sea, "rice_ch4", "baseline") == pytest.approx(1.22 * 112 / 1000 * 28, rel=1e-12)


# ----------------------------------------------------------------------------- N2O, Ch. 11


def test_n2o_direct_and_indirect_flooded_rice_wet():
    # 100 kg synthetic N, 20 kg organic N, 30 kg residue N on 1 ha, continuous flooding, wet climate
    # direct (Eq 11.1, EF1FR continuous 0.003): (100 + 20 + 30) x 0.003 = 0.45 kg N2O-N
    # volatilisation (Eq 11.9): (100 x 0.11 + 20 x 0.21) x EF4 wet 0.014 = 15.2 x 0.014 = 0.2128
    # leaching (Eq 11.10): 150 x 0.24 x 0.011 = 0.396
    s = rice_season(synthetic_n_kg_per_ha=100, organic_n_kg_per_ha=20, residue_n_kg_per_ha=30)
    r = estimate(request(baseline=s))
    k = 44 / 28 / 1000 * GWP_N2O
    assert comp(r, "n2o_direct", "baseline") == pytest.approx(0.45 * k, rel=1e-12)
    assert comp(r, "n2o_volatilisation", "baseline") == pytest.approx(0.2128 * k, rel=1e-12)
    assert comp(r, "n2o_leaching", "baseline") == pytest.approx(0.396 * k, rel=1e-12)
    assert r.total.gases["N2O"].baseline.point == pytest.approx((0.45 + 0.2128 + 0.396) * k, rel=1e-12)


def test_n2o_drainage_factor_and_dry_climate_leaching_only_where_irrigated():
    # multiple drainage (irrigated): EF1FR 0.005; dry climate: EF4 dry 0.005; leaching applies (irrigated)
    # direct: 100 x 0.005 = 0.5; volatilisation: 100 x 0.11 x 0.005 = 0.055; leaching: 100 x 0.24 x 0.011 = 0.264
    s = rice_season(water_regime="multiple_drainage", synthetic_n_kg_per_ha=100)
    r = estimate(request(baseline=s, climate="dry"))
    k = 44 / 28 / 1000 * GWP_N2O
    assert comp(r, "n2o_direct", "baseline") == pytest.approx(0.5 * k, rel=1e-12)
    assert comp(r, "n2o_volatilisation", "baseline") == pytest.approx(0.055 * k, rel=1e-12)
    assert comp(r, "n2o_leaching", "baseline") == pytest.approx(0.264 * k, rel=1e-12)
    assert "n2o_leaching_dry_irrigated" in {a.id for a in r.assumptions}
    # rainfed rice and wheat in a dry climate: not irrigated, no leaching
    for season in (
        rice_season(water_regime="rainfed_regular", synthetic_n_kg_per_ha=100),
        {"crop": "wheat", "synthetic_n_kg_per_ha": 100},
    ):
        r = estimate(request(baseline=season, project=season, climate="dry"))
        assert "n2o_leaching" not in r.total.components


def test_n2o_non_rice_crop_uses_table_11_1_by_climate():
    # wheat, wet: synthetic 0.016, organic 0.006 -> 100 x 0.016 + 50 x 0.006 = 1.9 kg N2O-N
    wheat = {"crop": "wheat", "synthetic_n_kg_per_ha": 100, "organic_n_kg_per_ha": 50}
    r = estimate(request(baseline=wheat))
    assert comp(r, "n2o_direct", "baseline") == pytest.approx(1.9 * 44 / 28 / 1000 * GWP_N2O, rel=1e-12)
    assert comp(r, "rice_ch4", "baseline") == 0.0
    # dry: all inputs 0.005 -> 150 x 0.005 = 0.75
    r = estimate(request(baseline=wheat, climate="dry"))
    assert comp(r, "n2o_direct", "baseline") == pytest.approx(0.75 * 44 / 28 / 1000 * GWP_N2O, rel=1e-12)


def test_awd_lowers_methane_but_raises_n2o():
    base = rice_season(synthetic_n_kg_per_ha=120)
    awd = rice_season(water_regime="multiple_drainage", synthetic_n_kg_per_ha=120)
    r = estimate(request(baseline=base, project=awd))
    g = r.total.gases
    assert g["CH4"].project.point < g["CH4"].baseline.point
    assert g["N2O"].project.point > g["N2O"].baseline.point
    # the N2O increase is exactly 120 kg N x (0.005 - 0.003) x 44/28 x 265 / 1000
    assert -g["N2O"].reduction.point == pytest.approx(120 * 0.002 * 44 / 28 * GWP_N2O / 1000, rel=1e-12)


# ----------------------------------------------------------------------------- CO2, burning


def test_urea_and_liming_co2():
    # Eq 11.13: 200 kg urea x 0.20 = 40 kg C; Eq 11.12: 500 x 0.12 + 300 x 0.13 = 99 kg C; x 44/12; 2 ha
    # (urea N, 200 x 0.46 = 92 kg, is part of the 92 kg synthetic N)
    s = rice_season(urea_kg_per_ha=200, synthetic_n_kg_per_ha=92, limestone_kg_per_ha=500, dolomite_kg_per_ha=300)
    r = estimate(request(baseline=s, area=2.0))
    assert comp(r, "co2_urea", "baseline") == pytest.approx(2 * 40 * 44 / 12 / 1000, rel=1e-12)
    assert comp(r, "co2_lime", "baseline") == pytest.approx(2 * 99 * 44 / 12 / 1000, rel=1e-12)


def test_residue_burning_combustion_factor_by_crop():
    # wheat: C_f 0.90 (Table 2.6, [U]): 1 ha x 4 t DM x 0.90 = 3.6 t DM; CH4 3.6 x 2.7 = 9.72 kg
    r = estimate(request(baseline={"crop": "wheat", "residue_burnt_t_dm_per_ha": 4}))
    assert comp(r, "burning_ch4", "baseline") == pytest.approx(9.72 / 1000 * GWP_CH4, rel=1e-12)
    assert "burning.cf_wheat" in r.unconfirmed_factors_used
    # maize: the rice value 0.80 (assumption, reported): 4 x 0.80 x 2.7 = 8.64 kg
    r = estimate(request(baseline={"crop": "maize", "residue_burnt_t_dm_per_ha": 4}))
    assert comp(r, "burning_ch4", "baseline") == pytest.approx(8.64 / 1000 * GWP_CH4, rel=1e-12)
    assert "burning_cf_other_crops" in {a.id for a in r.assumptions}


def test_residue_burning_eq_2_27():
    # L_fire = A x M_B x C_f x G_ef x 10^-3: 2 ha x 4 t DM x 0.80 = 6.4 t DM burnt
    # CH4: 6.4 x 2.7 g/kg = 17.28 kg; N2O: 6.4 x 0.07 = 0.448 kg
    r = estimate(request(baseline=rice_season(residue_burnt_t_dm_per_ha=4), area=2.0))
    assert comp(r, "burning_ch4", "baseline") == pytest.approx(17.28 / 1000 * GWP_CH4, rel=1e-12)
    assert comp(r, "burning_n2o", "baseline") == pytest.approx(0.448 / 1000 * GWP_N2O, rel=1e-12)


# ----------------------------------------------------------------------------- SOC, Eq 2.25


def test_soc_tier1_stock_change():
    # tropical moist LAC: SOC_ref 38; moist/wet column; long-term cultivated F_LU 0.83
    # baseline: 0.83 x full 1.00 x medium 1.00 = 38 x 0.83 = 31.54 t C/ha
    # project:  0.83 x no-till 1.10 x high w/o manure 1.11 = 38 x 1.013430 = 38.51034 t C/ha
    # dSOC = (project - baseline) / 20 yr x 3 ha x 44/12
    soil = {"climate_zone": "tropical_moist", "soil_type": "lac"}
    b = {"crop": "wheat", "soc": {"land_use": "long_term_cultivated"}}
    p = {
        "crop": "wheat",
        "soc": {"land_use": "long_term_cultivated", "tillage": "no_till", "input": "high_without_manure"},
    }
    r = estimate(request(baseline=b, project=p, area=3.0, soil=soil))
    expected = (38 * 0.83 * 1.10 * 1.11 - 38 * 0.83 * 1.0 * 1.0) / 20 * 3 * 44 / 12
    assert r.total.removals_by_pool["soc"].point == pytest.approx(expected, rel=1e-12)
    assert "soc_paddy_no_mg_fi" not in {a.id for a in r.assumptions}


def test_soc_paddy_rice_ignores_tillage_and_input():
    # Table 5.5 paddy row: no F_MG / F_I for paddy rice -> both 1 whatever the request says
    # baseline paddy full/medium and project paddy no-till/high input: 38 x 1.35 both -> no SOC change
    soil = {"climate_zone": "tropical_moist", "soil_type": "lac"}
    b = rice_season(soc={"land_use": "paddy_rice"})
    p = rice_season(soc={"land_use": "paddy_rice", "tillage": "no_till", "input": "high_with_manure"})
    r = estimate(request(baseline=b, project=p, soil=soil, draws=300))
    assert r.total.removals_by_pool["soc"].point == 0.0
    assert r.total.removals_by_pool["soc"].mc.sd == 0.0
    assert "soc_paddy_no_mg_fi" in {a.id for a in r.assumptions}


def test_soc_dry_zone_uses_dry_column():
    # tropical dry HAC 21; long-term cultivated 0.92 -> paddy 1.35 (stated reduced tillage ignored for paddy)
    soil = {"climate_zone": "tropical_dry", "soil_type": "hac"}
    b = rice_season(soc={"land_use": "long_term_cultivated"})
    p = rice_season(soc={"land_use": "paddy_rice", "tillage": "reduced"})
    r = estimate(request(baseline=b, project=p, soil=soil))
    expected = 21 * (1.35 - 0.92) / 20 * 44 / 12
    assert r.total.removals_by_pool["soc"].point == pytest.approx(expected, rel=1e-12)
    # long-term cultivated -> long-term cultivated with reduced tillage: dry column 0.99
    p2 = rice_season(soc={"land_use": "long_term_cultivated", "tillage": "reduced"})
    r2 = estimate(request(baseline=b, project=p2, soil=soil))
    assert r2.total.removals_by_pool["soc"].point == pytest.approx(21 * 0.92 * (0.99 - 1.0) / 20 * 44 / 12, rel=1e-12)


# ----------------------------------------------------------------------------- biomass


def test_tier2_tree_inventory_chave_2014():
    # AGB = 0.0673 x (0.6 x 15^2 x 10)^0.976 kg per tree, 20 trees; 1 ha -> AGB density << 125 t/ha
    # C = AGB x (1 + R 0.323 moist deciduous) x CF 0.47; baseline inventory (t1): no trees ([]);
    # 4 years between the inventories -> annual removal = stock / 4
    agb_t = 20 * 0.0673 * (0.6 * 15**2 * 10) ** 0.976 / 1000
    trees = [{"species": "Tectona grandis", "count": 20, "dbh_cm": 15, "height_m": 10, "wood_density": 0.6}]
    req = request(baseline=rice_season(trees=[]), project=rice_season(trees=trees))
    req["plots"][0]["tree_inventory_years"] = 4
    r = estimate(req)
    assert r.total.removals_by_pool["biomass"].point == pytest.approx(agb_t * 1.323 * 0.47 * 44 / 12 / 4, rel=1e-12)


def test_tier2_stock_difference_between_inventories():
    # (C_t2 - C_t1) / (t2 - t1), 2 years apart
    t0 = [{"species": "mango", "count": 10, "dbh_cm": 20, "height_m": 8, "wood_density": 0.55}]
    t1 = [{"species": "mango", "count": 10, "dbh_cm": 22, "height_m": 9, "wood_density": 0.55}]
    req = request(baseline=rice_season(trees=t0), project=rice_season(trees=t1))
    req["plots"][0]["tree_inventory_years"] = 2
    r = estimate(req)
    agb = lambda d, h: 10 * 0.0673 * (0.55 * d**2 * h) ** 0.976 / 1000
    assert r.total.removals_by_pool["biomass"].point == pytest.approx(
        (agb(22, 9) - agb(20, 8)) * 1.323 * 0.47 * 44 / 12 / 2, rel=1e-12
    )
    assert "biomass.carbon_fraction (range)" in r.unconfirmed_factors_used


def test_tier1_root_shoot_class_follows_the_standing_stock():
    # systems without a G_BG row: BG = AG x R, R chosen by the AG stock at the start of the year (t DM/ha)
    # hedgerow age 0: stock 0 -> R (moist deciduous, <= 125) 0.323; gain 0.47 t C/ha/yr on 1 ha
    r = estimate(request(project=rice_season(agroforestry={"system": "hedgerow", "age_years": 0})))
    assert r.total.removals_by_pool["biomass"].point == pytest.approx(0.47 * 1.323 * 44 / 12, rel=1e-12)
    # silvoarable (no G_BG row in the file), age 47: stock min(47 x 1.50, 72.2) = 70.5 t C -> 150 t DM > 125: R 0.246
    # gain min(1.50, 72.2 - 70.5 = 1.7) = 1.50 t C/ha
    r = estimate(request(project=rice_season(agroforestry={"system": "silvoarable", "age_years": 47})))
    assert r.total.removals_by_pool["biomass"].point == pytest.approx(1.50 * 1.246 * 44 / 12, rel=1e-12)


def test_tier1_agroforestry_growth_and_maximum_stock():
    # multistrata, tropical moist, Southern Asia: G_AG 3.03, G_BG 0.73 t C/ha/yr, C_max 65 t C/ha
    # young system (age 2): gain = 3.03 + 0.73 = 3.76 t C/ha/yr on 0.5 ha
    young = rice_season(agroforestry={"system": "multistrata", "area_ha": 0.5, "age_years": 2})
    r = estimate(request(project=young))
    assert r.total.removals_by_pool["biomass"].point == pytest.approx(0.5 * (3.03 + 0.73) * 44 / 12, rel=1e-12)
    # age 21: only 65 - 21 x 3.03 = 1.37 t C/ha of AG growth left; BG scaled alike (x 0.73/3.03)
    old = rice_season(agroforestry={"system": "multistrata", "area_ha": 0.5, "age_years": 21})
    r = estimate(request(project=old))
    left = 65 - 21 * 3.03
    assert r.total.removals_by_pool["biomass"].point == pytest.approx(
        0.5 * left * (1 + 0.73 / 3.03) * 44 / 12, rel=1e-12
    )
    # mature (age 30): no growth
    mature = rice_season(agroforestry={"system": "multistrata", "area_ha": 0.5, "age_years": 30})
    assert estimate(request(project=mature)).total.removals_by_pool["biomass"].point == 0.0


def test_tier1_agroforestry_without_bg_table_uses_root_shoot():
    # hedgerow: G_AG 0.47, no G_BG row -> BG = AG x R (moist deciduous, <=125: 0.323); default area = plot area 2 ha
    r = estimate(request(project=rice_season(agroforestry={"system": "hedgerow"}), area=2.0))
    assert r.total.removals_by_pool["biomass"].point == pytest.approx(2 * 0.47 * 1.323 * 44 / 12, rel=1e-12)


# ----------------------------------------------------------------------------- GWP, net


def test_gwp_sets_and_net():
    # baseline CF 0.85 x 112 = 95.2 kg CH4; project AWD 0.55 -> 52.36 kg; 100 kg N
    b = rice_season(synthetic_n_kg_per_ha=100)
    p = rice_season(water_regime="multiple_drainage", synthetic_n_kg_per_ha=100)
    ar5 = estimate(request(baseline=b, project=p, gwp="AR5"))
    ar6 = estimate(request(baseline=b, project=p, gwp="AR6"))
    d_ch4_t = (95.2 - 52.36) / 1000
    d_n2o_t = -100 * (0.005 - 0.003) * 44 / 28 / 1000
    assert ar5.total.net.point == pytest.approx(d_ch4_t * 28 + d_n2o_t * 265, rel=1e-12)
    assert ar6.total.net.point == pytest.approx(d_ch4_t * 27.0 + d_n2o_t * 273, rel=1e-12)
    assert ar6.gwp["CH4"] == 27.0 and ar6.gwp["N2O"] == 273.0
    t = ar5.total
    assert t.reductions.point == pytest.approx(t.emissions_baseline.point - t.emissions_project.point, rel=1e-12)
    assert t.net.point == pytest.approx(t.reductions.point + t.removals.point, rel=1e-12)
    assert math.isclose(sum(g.reduction.point for g in t.gases.values()), t.reductions.point, rel_tol=1e-12)


def test_dbh_outside_chave_calibration_is_flagged():
    # Chave et al. (2014) calibration: DBH ~5-212 cm; 250 cm is accepted but flagged, 100 cm is not
    def run(dbh):
        t0 = [{"species": "ficus", "count": 1, "dbh_cm": dbh, "height_m": 20, "wood_density": 0.5}]
        t1 = [{"species": "ficus", "count": 1, "dbh_cm": dbh + 1, "height_m": 20, "wood_density": 0.5}]
        req = request(baseline=rice_season(trees=t0), project=rice_season(trees=t1))
        req["plots"][0]["tree_inventory_years"] = 1
        return {a.id for a in estimate(req).assumptions}

    assert "chave2014_dbh_range" in run(250)
    assert "chave2014_dbh_range" not in run(100)

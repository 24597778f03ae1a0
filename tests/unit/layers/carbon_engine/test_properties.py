"""Property-based tests (hypothesis): linear scaling in area; AWD direction."""

from __future__ import annotations

import pytest
from ce_helpers import request
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from carbon_engine import estimate

REGIMES = [
    "continuously_flooded",
    "single_drainage",
    "multiple_drainage",
    "rainfed_regular",
    "rainfed_drought_prone",
    "deep_water",
    "upland",
]
PRESEASON = ["non_flooded_lt_180", "non_flooded_gt_180", "flooded_gt_30", "non_flooded_gt_365"]
AMEND = ["straw_lt_30d", "straw_gt_30d", "compost", "farmyard_manure", "green_manure"]

amendments = st.lists(
    st.fixed_dictionaries({"type": st.sampled_from(AMEND), "t_per_ha": st.floats(0.1, 10, allow_nan=False)}), max_size=3
)
seasons = st.fixed_dictionaries(
    {
        "crop": st.just("rice"),
        "cultivation_days": st.integers(60, 200),
        "water_regime": st.sampled_from(REGIMES),
        "preseason_water": st.sampled_from(PRESEASON),
        "organic_amendments": amendments,
        "synthetic_n_kg_per_ha": st.floats(0, 250),
        "organic_n_kg_per_ha": st.floats(0, 80),
        "urea_kg_per_ha": st.floats(0, 400),
        "limestone_kg_per_ha": st.floats(0, 1000),
        "residue_burnt_t_dm_per_ha": st.floats(0, 6),
        "residue_n_kg_per_ha": st.floats(0, 50),
    }
)
# urea N (46 %) is part of the synthetic N: cap urea at synthetic N / 0.46
seasons = seasons.map(
    lambda s: {**s, "urea_kg_per_ha": min(s["urea_kg_per_ha"], s["synthetic_n_kg_per_ha"] / 0.46 * 0.999)}
)
SETTINGS = settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])

SCALARS = ["net", "reductions", "removals", "emissions_baseline", "emissions_project"]


def _all_numbers(r):
    t = r.total
    out = {k: getattr(t, k) for k in SCALARS}
    for g, gr in t.gases.items():
        out.update({f"{g}_b": gr.baseline, f"{g}_p": gr.project, f"{g}_r": gr.reduction})
    return out


@SETTINGS
@given(
    base=seasons,
    proj=seasons,
    area=st.floats(0.05, 20),
    k=st.floats(0.1, 50),
    climate=st.sampled_from(["wet", "dry"]),
    seed=st.integers(0, 2**31),
)
def test_scaling_area_scales_every_result_linearly(base, proj, area, k, climate, seed):
    # the same seed gives the same factor draws, so every statistic (point, mean, median, CI) scales by k
    r1 = estimate(request(baseline=base, project=proj, area=area, climate=climate, seed=seed, draws=100))
    r2 = estimate(request(baseline=base, project=proj, area=area * k, climate=climate, seed=seed, draws=100))
    n1, n2 = _all_numbers(r1), _all_numbers(r2)
    for name in n1:
        a, b = n1[name], n2[name]
        assert b.point == pytest.approx(k * a.point, rel=1e-9, abs=1e-9)
        assert b.mc.mean == pytest.approx(k * a.mc.mean, rel=1e-9, abs=1e-9)
        assert b.mc.ci["95"][0] == pytest.approx(k * a.mc.ci["95"][0], rel=1e-9, abs=1e-9)
        assert b.mc.ci["90"][1] == pytest.approx(k * a.mc.ci["90"][1], rel=1e-9, abs=1e-9)
    for i in range(len(r1.plots.point["net"])):
        assert r2.plots.point["net"][i] == pytest.approx(k * r1.plots.point["net"][i], rel=1e-9, abs=1e-9)


@SETTINGS
@given(base=seasons, k=st.floats(0.1, 50))
def test_area_scaling_with_per_ha_removals(base, k):
    soil = {"climate_zone": "tropical_moist", "soil_type": "hac"}
    b = dict(base, soc={"land_use": "paddy_rice"})
    p = dict(base, soc={"land_use": "paddy_rice", "tillage": "no_till"}, agroforestry={"system": "default"})
    r1 = estimate(request(baseline=b, project=p, area=1.0, soil=soil, draws=100))
    r2 = estimate(request(baseline=b, project=p, area=k, soil=soil, draws=100))
    assert r2.total.net.point == pytest.approx(k * r1.total.net.point, rel=1e-9, abs=1e-9)
    assert r2.total.removals.mc.median == pytest.approx(k * r1.total.removals.mc.median, rel=1e-9, abs=1e-9)


@SETTINGS
@given(base=seasons, n=st.floats(1, 250))
def test_awd_lowers_methane_and_raises_n2o(base, n):
    b = dict(base, water_regime="continuously_flooded", synthetic_n_kg_per_ha=n, urea_kg_per_ha=0.0)
    p = dict(base, water_regime="multiple_drainage", synthetic_n_kg_per_ha=n, urea_kg_per_ha=0.0)
    r = estimate(request(baseline=b, project=p, draws=50))
    g = r.total.gases
    assert g["CH4"].project.point < g["CH4"].baseline.point
    assert g["N2O"].project.point > g["N2O"].baseline.point

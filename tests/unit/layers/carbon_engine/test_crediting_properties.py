"""Properties of the crediting rules (hypothesis), for every crediting profile:

* credits never fall when the reduction grows;
* N identical plots earn N times one plot's credits;
* a project whose every source is lower never has a negative basis;
* creditable <= max(0, in-scope net).
"""

from __future__ import annotations

import copy

import pytest
from ce_helpers import request
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from carbon_engine import estimate

PROFILES = ["ipcc_tier1", "vm0042_qa3", "vm0051", "ccts_ag04_002"]
IRRIGATED = ["continuously_flooded", "single_drainage", "multiple_drainage"]
AMEND = ["straw_lt_30d", "straw_gt_30d", "compost", "farmyard_manure", "green_manure"]
SETTINGS = settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])

baselines = st.fixed_dictionaries(
    {
        "crop": st.just("rice"),
        "cultivation_days": st.integers(80, 150),
        "water_regime": st.sampled_from(IRRIGATED),
        "preseason_water": st.just("non_flooded_lt_180"),
        "organic_amendments": st.lists(
            st.fixed_dictionaries({"type": st.sampled_from(AMEND), "t_per_ha": st.floats(0.5, 8)}), max_size=2
        ),
        "synthetic_n_kg_per_ha": st.floats(0, 200),
        "organic_n_kg_per_ha": st.floats(0, 40),
        "limestone_kg_per_ha": st.floats(0, 500),
        "residue_burnt_t_dm_per_ha": st.floats(0, 5),
        "residue_n_kg_per_ha": st.floats(0, 40),
    }
)
fractions = st.floats(0.0, 1.0)


def lower_project(b: dict, days: float, n: float, amend: float, lime: float, burn: float, drain: int) -> dict:
    """A project that lowers every source: fewer days, less N, amendments, lime and burning, and a regime at
    least as drained (N scaled so direct N2O cannot rise: EF1FR 0.003 -> 0.005 needs N x 0.6)."""
    p = copy.deepcopy(b)
    order = IRRIGATED.index(b["water_regime"])
    p["water_regime"] = IRRIGATED[max(order, min(2, order + drain))]
    regime_up = b["water_regime"] == "continuously_flooded" and p["water_regime"] != "continuously_flooded"
    n_cap = 0.6 if regime_up else 1.0
    p["cultivation_days"] = max(60, int(b["cultivation_days"] * days))
    for k in ("synthetic_n_kg_per_ha", "organic_n_kg_per_ha", "residue_n_kg_per_ha"):
        p[k] = b[k] * n * n_cap
    p["organic_amendments"] = [
        {**a, "t_per_ha": a["t_per_ha"] * amend} for a in b["organic_amendments"] if a["t_per_ha"] * amend > 0
    ]
    p["limestone_kg_per_ha"] = b["limestone_kg_per_ha"] * lime
    p["residue_burnt_t_dm_per_ha"] = b["residue_burnt_t_dm_per_ha"] * burn
    return p


@SETTINGS
@given(
    b=baselines,
    profile=st.sampled_from(PROFILES),
    days=fractions,
    n=fractions,
    amend=fractions,
    lime=fractions,
    burn=fractions,
    drain=st.integers(0, 2),
)
def test_every_source_lower_gives_a_non_negative_basis_and_creditable_at_most_the_net(
    b, profile, days, n, amend, lime, burn, drain
):
    p = lower_project(b, days, n, amend, lime, burn, drain)
    r = estimate(request(baseline=b, project=p, profile=profile, draws=200))
    for comp, v in r.total.components.items():  # the premise, at default factors
        assert v["project"] <= v["baseline"] + 1e-12 * max(1.0, abs(v["baseline"])), comp
    tol = 1e-9 * max(1.0, abs(r.total.net.point))
    assert r.total.creditable_basis >= -tol
    assert r.total.creditable_net <= max(0.0, r.total.net_in_scope.point) + tol
    if profile != "ipcc_tier1":
        assert r.total.creditable_net >= 0.0


@SETTINGS
@given(b=baselines, profile=st.sampled_from(PROFILES), extra=st.integers(1, 40))
def test_credits_never_fall_when_the_reduction_grows(b, profile, extra):
    # the same project with `extra` fewer flooded days in the project (more CH4 avoided, nothing else changes)
    assume(b["cultivation_days"] - extra >= 60)
    p = lower_project(b, 1.0, 1.0, 1.0, 1.0, 1.0, 1)
    more = dict(p, cultivation_days=p["cultivation_days"] - extra)
    r1 = estimate(request(baseline=b, project=p, profile=profile, draws=200)).total
    r2 = estimate(request(baseline=b, project=more, profile=profile, draws=200)).total
    assert r2.creditable_net >= r1.creditable_net - 1e-9 * max(1.0, abs(r1.creditable_net))


@SETTINGS
@given(b=baselines, profile=st.sampled_from(PROFILES), copies=st.integers(2, 12), drain=st.integers(0, 2))
def test_n_identical_plots_earn_n_times_one_plot(b, profile, copies, drain):
    p = lower_project(b, 0.9, 0.8, 0.5, 1.0, 0.5, drain)
    one = request(baseline=b, project=p, profile=profile, draws=200)
    many = copy.deepcopy(one)
    many["plots"] = [dict(one["plots"][0], plot_id=f"p{i}") for i in range(copies)]
    r1, rn = estimate(one).total, estimate(many).total
    assert rn.creditable_net == pytest.approx(copies * r1.creditable_net, rel=1e-9, abs=1e-9)
    assert rn.creditable_basis == pytest.approx(copies * r1.creditable_basis, rel=1e-9, abs=1e-9)

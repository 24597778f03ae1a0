"""Correlated draws of ratio factors (montecarlo.CORRELATED_GROUPS): the reduction's uncertainty is
what the comonotone model implies, and a group's members share one quantile per draw."""

from __future__ import annotations

import numpy as np
import pytest
from ce_helpers import request, rice_season

from carbon_engine.engine import prepare, totals
from carbon_engine.factors import default_library
from carbon_engine.models import Request
from carbon_engine.montecarlo import CORRELATED_GROUPS, Draws, split_quantile, uniforms

FACTORS = default_library().for_region("south_asia")


def test_group_members_share_one_quantile_per_draw():
    d = Draws.sample(FACTORS, 5000, seed=4)
    for group, members in CORRELATED_GROUPS.items():
        u = uniforms(4, f"group:{group}", 5000)
        for m in members:
            spec = FACTORS.spec(m)
            if spec.uncertain:
                assert np.array_equal(d[m], split_quantile(spec, u)), m
    # ungrouped factors keep their own streams (independent of the groups)
    assert abs(np.corrcoef(d["rice.ef_c"], d["rice.sf_w.continuously_flooded"])[0, 1]) < 0.05


def test_reduction_draws_are_the_comonotone_model_exactly():
    # CF -> AWD, 1 ha, 112 d, no amendments: reduction per draw = EF_c x SF_p x (q_CF(u) - q_AWD(u)) x 112 / 1000
    # with u the SF_w group's uniform (SF_p is the same factor in both scenarios)
    n, seed = 20_000, 8
    req = Request.model_validate(
        request(baseline=rice_season(), project=rice_season(water_regime="multiple_drainage"), draws=n, seed=seed)
    )
    prep = prepare(req)
    draws = Draws.sample(prep.factors, n, seed)
    red = totals(prep, draws)["CH4_reduction"] / 28.0
    u = uniforms(seed, "group:rice.sf_w", n)
    gap = split_quantile(FACTORS.spec("rice.sf_w.continuously_flooded"), u) - split_quantile(
        FACTORS.spec("rice.sf_w.multiple_drainage"), u
    )
    expected = draws["rice.ef_c"] * draws["rice.sf_p.non_flooded_lt_180"] * gap * 112 / 1000
    np.testing.assert_allclose(red, expected, rtol=1e-12)


def test_reduction_sd_matches_the_correlation_model_and_is_below_independent_draws():
    # sd of the SF_w gap under the model, by quadrature over the shared quantile, against 200,000 draws;
    # independent draws would add the two variances (no covariance) and give a wider gap distribution
    cf, awd = FACTORS.spec("rice.sf_w.continuously_flooded"), FACTORS.spec("rice.sf_w.multiple_drainage")
    grid = (np.arange(400_000) + 0.5) / 400_000
    q_cf, q_awd = split_quantile(cf, grid), split_quantile(awd, grid)
    sd_model = float(np.std(q_cf - q_awd))
    sd_independent = float(np.sqrt(np.var(q_cf) + np.var(q_awd)))
    d = Draws.sample(FACTORS, 200_000, seed=1)
    sd_mc = float(np.std(d["rice.sf_w.continuously_flooded"] - d["rice.sf_w.multiple_drainage"]))
    assert sd_mc == pytest.approx(sd_model, rel=0.01)
    assert sd_model < 0.5 * sd_independent  # the correlation is what keeps single drainage under the 100 % gate

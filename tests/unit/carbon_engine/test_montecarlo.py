"""Monte Carlo behaviour: reproducibility, consistency with the point estimate, per-plot cap."""

from __future__ import annotations

import numpy as np
import pytest

from carbon_engine import estimate
from carbon_engine.engine import prepare, totals
from carbon_engine.factors import default_library
from carbon_engine.models import Request
from carbon_engine.montecarlo import Draws, sample_factor
from ce_helpers import request, rice_season


def two_plot_request(**kw):
    req = request(baseline=rice_season(synthetic_n_kg_per_ha=100, organic_amendments=[{"type": "farmyard_manure", "t_per_ha": 4}]),
                  project=rice_season(water_regime="multiple_drainage", synthetic_n_kg_per_ha=100), **kw)
    second = dict(req["plots"][0], plot_id="p2", area_ha=2.5)
    req["plots"].append(second)
    return req


def test_same_request_and_seed_give_identical_numbers():
    a = estimate(two_plot_request(draws=3000, seed=5)).model_dump_json()
    b = estimate(two_plot_request(draws=3000, seed=5)).model_dump_json()
    assert a == b
    c = estimate(two_plot_request(draws=3000, seed=6))
    assert c.total.net.mc.mean != estimate(two_plot_request(draws=3000, seed=5)).total.net.mc.mean


def test_factor_stream_does_not_depend_on_other_factors():
    lib = default_library().for_region("south_asia")
    spec = lib.spec("rice.ef_c")
    full = Draws.sample(lib, 500, seed=9)["rice.ef_c"]
    assert np.array_equal(full, sample_factor(spec, 500, 9))


def test_distributions_match_the_factors_file():
    lib = default_library().for_region("south_asia")
    x = sample_factor(lib.spec("rice.ef_c"), 200_000, 1)  # lognormal 0.85 (0.58-1.26)
    lo, med, hi = np.quantile(x, [0.025, 0.5, 0.975])
    assert med == pytest.approx(0.85, rel=0.01)
    assert lo == pytest.approx(np.sqrt(0.58 * 0.85 ** 2 / 1.26), rel=0.02)  # geometric symmetry around the median
    y = sample_factor(lib.spec("rice.sf_w.continuously_flooded"), 200_000, 2)  # normal 1.00 (0.73-1.27)
    assert np.quantile(y, [0.025, 0.975]) == pytest.approx([0.73, 1.27], abs=0.01)
    z = sample_factor(lib.spec("n2o.ef1fr.continuous"), 10_000, 3)  # clipped at 0
    assert z.min() >= 0.0


def test_point_estimate_is_the_defaults_path():
    prep = prepare(Request.model_validate(two_plot_request()))
    point = totals(prep, Draws.defaults(prep.factors))
    r = estimate(two_plot_request())
    assert r.total.net.point == float(point["net"][0])
    # per-plot points add up to the project point
    assert sum(r.plots.point["net"]) == pytest.approx(r.total.net.point, rel=1e-12)


def test_intervals_are_ordered_and_half_width_consistent():
    r = estimate(two_plot_request(draws=4000))
    q = r.total.gases["CH4"].baseline.mc
    lo90, hi90 = q.ci["90"]
    lo95, hi95 = q.ci["95"]
    assert lo95 <= lo90 <= q.median <= hi90 <= hi95
    assert q.half_width_pct["90"] == pytest.approx((hi90 - lo90) / 2 / q.mean * 100)
    assert r.confidence == [0.9, 0.95]


def test_extra_confidence_level():
    r = estimate(two_plot_request(confidence=[0.8]))
    assert set(r.total.net.mc.ci) == {"80", "90", "95"}


def test_per_plot_mc_matches_project_and_cap():
    r = estimate(two_plot_request(draws=2000))
    assert r.plots.mc_included
    # means are linear: the per-plot MC means add up to the project MC mean
    assert sum(r.plots.mc["net"].mean) == pytest.approx(r.total.net.mc.mean, rel=1e-10)
    # plots x draws above the cap: statistics omitted (with a note), point estimates still there
    req = two_plot_request(draws=10_000)
    req["plots"] = [dict(req["plots"][0], plot_id=f"p{i}") for i in range(201)]  # 2,010,000 plot-draws
    big = estimate(req)
    assert not big.plots.mc_included and "exceed the cap" in big.plots.mc_note
    assert len(big.plots.point["net"]) == 201
    forced = estimate(two_plot_request(draws=2000, per_plot_mc="never"))
    assert forced.plots.mc is None


def test_linear_quantities_have_mc_mean_near_point():
    # CO2 from urea is exact (constant factors): MC equals the point in every draw
    r = estimate(request(baseline=rice_season(urea_kg_per_ha=100), draws=500))
    co2 = r.total.gases["CO2"].baseline
    assert co2.mc.sd == pytest.approx(0.0, abs=1e-15) and co2.mc.mean == pytest.approx(co2.point, rel=1e-12)


def test_activity_uncertainty_widens_interval_reproducibly():
    plain = estimate(two_plot_request(draws=3000))
    act = estimate(two_plot_request(draws=3000, activity_uncertainty={"area": 0.1, "synthetic_n": 0.2}))
    assert act.total.emissions_baseline.mc.sd > plain.total.emissions_baseline.mc.sd
    assert act.total.net.point == plain.total.net.point  # point estimate: activity as reported
    again = estimate(two_plot_request(draws=3000, activity_uncertainty={"area": 0.1, "synthetic_n": 0.2}))
    assert again.total.net.mc.ci == act.total.net.mc.ci


def test_more_draws_narrow_the_monte_carlo_error_of_the_mean():
    # standard error of the MC mean over 8 seeds shrinks roughly as 1/sqrt(draws)
    def spread(draws):
        means = [estimate(two_plot_request(draws=draws, seed=s, per_plot_mc="never")).total.net.mc.mean for s in range(8)]
        return float(np.std(means, ddof=1))
    small, large = spread(250), spread(16_000)
    assert large < small / 3  # expected ratio sqrt(64) = 8

"""Monte Carlo behaviour: reproducibility, consistency with the point estimate, per-plot cap."""

from __future__ import annotations

import numpy as np
import pytest
from ce_helpers import request, rice_season
from pydantic import ValidationError

from carbon_engine import estimate
from carbon_engine.factors import default_library
from carbon_engine.montecarlo import Draws, sample_factor


def two_plot_request(**kw):
    req = request(
        baseline=rice_season(
            synthetic_n_kg_per_ha=100, organic_amendments=[{"type": "farmyard_manure", "t_per_ha": 4}]
        ),
        project=rice_season(water_regime="multiple_drainage", synthetic_n_kg_per_ha=100),
        **kw,
    )
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
    # adding a factor to the file (sorted first) must not shift the draws of the existing ones
    import json
    from importlib import resources

    from carbon_engine.factors import FactorLibrary

    doc = json.loads(resources.files("carbon_engine.factors").joinpath("ipcc2019.v1.json").read_text(encoding="utf-8"))
    extra = {"aaa.extra": {"value": 1.0, "low": 0.5, "high": 1.5, "distribution": "normal", "source": "test, Table 0"}}
    doc2 = dict(doc, factors={**extra, **doc["factors"]})
    a = Draws.sample(FactorLibrary.from_dict(doc).for_region("south_asia"), 500, seed=9)
    b = Draws.sample(FactorLibrary.from_dict(doc2).for_region("south_asia"), 500, seed=9)
    for name in ("rice.ef_c", "n2o.ef1fr.drainage", "soc.ref.tropical_wet.hac"):
        assert np.array_equal(a[name], b[name])


ASYMMETRIC = [  # (factor, low, value, high) from the factors file; both bounds are 2.5 / 97.5 % quantiles
    ("n2o.frac_gasf", 0.02, 0.11, 0.33),
    ("n2o.frac_leach", 0.01, 0.24, 0.73),
    ("n2o.ef1.aggregated", 0.001, 0.010, 0.018),
    ("rice.cfoa.straw_gt_30d", 0.11, 0.19, 0.28),
    ("rice.cfoa.compost", 0.09, 0.17, 0.29),
    ("rice.ef_c", 0.58, 0.85, 1.26),
    ("rice.sf_w.continuously_flooded", 0.73, 1.00, 1.27),
    ("rice.sf_p.flooded_gt_30", 2.13, 2.41, 2.73),
]


@pytest.mark.parametrize("name,low,value,high", ASYMMETRIC)
def test_sampled_quantiles_reproduce_the_table_bounds(name, low, value, high):
    # M2: 2.5 % = low, 50 % = value, 97.5 % = high within Monte Carlo error (200,000 draws: the sd of a 2.5 %
    # sample quantile is ~ sqrt(0.025 x 0.975 / 200,000) / density, well under 1 % of the range)
    spec = default_library().for_region("south_asia").spec(name)
    x = sample_factor(spec, 200_000, 1)
    lo, med, hi = np.quantile(x, [0.025, 0.5, 0.975])
    tol = 0.01 * (high - low)
    assert (
        lo == pytest.approx(low, abs=tol)
        and med == pytest.approx(value, abs=tol)
        and hi == pytest.approx(high, abs=tol)
    )


@pytest.mark.parametrize(
    "name,value,high",
    [
        ("n2o.ef1fr.continuous", 0.003, 0.010),
        ("n2o.ef1fr.drainage", 0.005, 0.016),
        ("n2o.frac_gasm", 0.21, 0.31),
        ("n2o.ef5", 0.011, 0.020),
    ],
)
def test_ranges_starting_at_zero_are_truncated_not_clipped(name, value, high):
    # low = 0.000 is the physical limit: no draw piles up at 0 (clipping put 12 % of EF1FR draws there),
    # the median is the table value and the 97.5 % quantile the table's high
    spec = default_library().for_region("south_asia").spec(name)
    x = sample_factor(spec, 200_000, 2)
    assert (x <= 0).sum() == 0
    assert np.quantile(x, 0.5) == pytest.approx(value, abs=0.01 * high)
    assert np.quantile(x, 0.975) == pytest.approx(high, abs=0.01 * high)
    # the lower tail is spread over (0, value): 2.5 % of the draws lie below 16 % of the value
    assert 0.0 < np.quantile(x, 0.025) < 0.2 * value


def test_point_estimate_is_the_table_value_model():
    # both plots (1 ha and 2.5 ha = 3.5 ha): baseline CF with 4 t FYM and 100 kg N, project multiple drainage, 100 kg N
    # CH4: 0.85 x 112 d x 3.5 ha x [(1 + 4 x 0.21)^0.59 - 0.55] kg; N2O: 3.5 x 100 x (0.003 - 0.005) kg N2O-N
    # (volatilisation and leaching are equal in both scenarios); AR5 28 / 265
    r = estimate(two_plot_request())
    d_ch4 = 0.85 * 112 * 3.5 * ((1 + 4 * 0.21) ** 0.59 - 0.55) / 1000
    d_n2o = 3.5 * 100 * (0.003 - 0.005) * 44 / 28 / 1000
    assert r.total.net.point == pytest.approx(d_ch4 * 28 + d_n2o * 265, rel=1e-12)
    # per-plot points: the 2.5 ha plot is 2.5 x the 1 ha plot, and they add up to the project
    p1, p2 = r.plots.point["net"]
    assert p2 == pytest.approx(2.5 * p1, rel=1e-12) and p1 + p2 == pytest.approx(r.total.net.point, rel=1e-12)
    # the median of a factor's draws is its table value, so a request whose only uncertain factor enters
    # linearly has its MC median at the point: CO2 from urea/lime is exact; here check the CH4 draws' median
    # is within MC error of the point (EF_c median 0.85)
    assert r.total.gases["CH4"].baseline.mc.median == pytest.approx(r.total.gases["CH4"].baseline.point, rel=0.1)


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


@pytest.mark.parametrize("confidence", ["ab", ["0.9"], [None], {"a": 1}, [0.9, [0.95]]])
def test_confidence_that_is_not_numbers_is_a_validation_error(confidence):
    # the before-validator compared raw input with numbers: a string or None raised TypeError, not the
    # ValidationError naming the field that estimate() promises for invalid input
    with pytest.raises(ValidationError) as err:
        estimate(two_plot_request(confidence=confidence))
    assert err.value.errors()[0]["loc"] == ("confidence",)


def test_per_plot_mc_matches_project_and_cap():
    r = estimate(two_plot_request(draws=2000))
    assert r.plots.mc_included
    # means are linear: the per-plot MC means add up to the project MC mean
    assert sum(r.plots.mc["net"].mean) == pytest.approx(r.total.net.mc.mean, rel=1e-10)
    # distinct signatures x draws above the cap: statistics over the first 2,000 draws (with a note)
    req = two_plot_request(draws=10_000)
    base = req["plots"][0]
    req["plots"] = [
        dict(base, plot_id=f"p{i}", project=dict(base["project"], synthetic_n_kg_per_ha=50 + i)) for i in range(201)
    ]  # 201 distinct signatures: 2,010,000 signature-draws
    big = estimate(req)
    assert big.plots.mc_included and "over the first 500 of 10,000 draws" in big.plots.mc_note
    assert len(big.plots.point["net"]) == 201 and len(big.plots.mc["net"].ci["90"]["low"]) == 201
    # "always" keeps them exact up to PER_PLOT_MC_EXACT_MAX
    assert "exact over all draws" in estimate(dict(req, per_plot_mc="always")).plots.mc_note
    # the same 201 plots with one practice (areas differ): one signature, statistics included at any plot count
    req["plots"] = [dict(base, plot_id=f"p{i}", area_ha=0.1 + i / 100) for i in range(201)]
    same = estimate(req)
    assert same.plots.mc_included and "1 distinct" in same.plots.mc_note
    forced = estimate(two_plot_request(draws=2000, per_plot_mc="never"))
    assert forced.plots.mc is None


def test_linear_quantities_have_mc_mean_near_point():
    # CO2 from urea is exact (constant factors): MC equals the point in every draw
    r = estimate(request(baseline=rice_season(urea_kg_per_ha=100, synthetic_n_kg_per_ha=46), draws=500))
    co2 = r.total.gases["CO2"].baseline
    assert co2.mc.sd == pytest.approx(0.0, abs=1e-15) and co2.mc.mean == pytest.approx(co2.point, rel=1e-12)


def test_activity_errors_do_not_cancel_between_scenarios():
    # M3: identical baseline and project seasons: with a shared error the reduction would be 0 in every
    # draw; scenario-specific N errors leave a spread, while a pure area error still cancels exactly
    s = rice_season(synthetic_n_kg_per_ha=100)
    r = estimate(request(baseline=s, project=s, draws=2000, activity_uncertainty={"synthetic_n": 0.2}))
    assert r.total.net.point == 0.0 and r.total.net.mc.sd > 0
    r = estimate(request(baseline=s, project=s, draws=2000, activity_uncertainty={"area": 0.2}))
    assert r.total.net.mc.sd == 0.0
    assert "activity_uncertainty_correlation" in {a.id for a in r.assumptions}


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
        means = [
            estimate(two_plot_request(draws=draws, seed=s, per_plot_mc="never")).total.net.mc.mean for s in range(8)
        ]
        return float(np.std(means, ddof=1))

    small, large = spread(250), spread(16_000)
    assert large < small / 3  # expected ratio sqrt(64) = 8

"""Per-plot statistics above the exact cap (evaluation.per_plot_mc_sampled): each plot's statistics over
the first M draws. With M = all draws they equal the exact per-signature statistics; with M < D each
bound is an order statistic of an i.i.d. subsample, so its coverage in the full draws is within the
binomial Monte Carlo error of the quantile's level."""

from __future__ import annotations

import numpy as np
import pytest
from ce_naive import synthetic_request

from carbon_engine import estimate
from carbon_engine.engine import per_plot, per_plot_mc, per_plot_mc_sampled, prepare, totals
from carbon_engine.models import Request
from carbon_engine.montecarlo import Draws

METRICS = ("net", "net_in_scope", "reductions", "removals")


@pytest.mark.parametrize("profile", ["vm0051", "vm0042_qa3", "ipcc_tier1", "ccts_ag04_002"])
def test_sampled_with_all_draws_equals_exact(profile):
    req = Request.model_validate({**synthetic_request(40, 600, seed=11, profile=profile), "per_plot_mc": "never"})
    prep = prepare(req)
    draws = Draws.sample(prep.factors, req.draws, req.seed, req.activity_uncertainty)
    exact = per_plot_mc(prep, draws, req.confidence)
    sampled = per_plot_mc_sampled(prep, draws, req.confidence, req.draws)
    # float32 work arrays: equal to rounding (1e-5 of the plot's largest value)
    for k in METRICS:
        scale = np.abs(np.asarray(exact[k]["ci"]["95"]["low"] + exact[k]["ci"]["95"]["high"])).max() + 1e-30
        tol = {"rtol": 1e-5, "atol": 1e-5 * scale}
        np.testing.assert_allclose(sampled[k]["mean"], exact[k]["mean"], **tol)
        np.testing.assert_allclose(sampled[k]["median"], exact[k]["median"], **tol)
        for lv in ("90", "95"):
            for side in ("low", "high"):
                np.testing.assert_allclose(sampled[k]["ci"][lv][side], exact[k]["ci"][lv][side], **tol)


def test_sampled_quantiles_cover_their_level_in_the_full_draws():
    # M = 1000 of D = 8000 draws: the bound q^_M estimated from the first M draws has, among all D draws of the
    # same plot, an empirical CDF F_D(q^_M) within the binomial error of its level p: sd sqrt(p(1-p)/M)
    # (the subsample's error; F_D itself is exact for the D draws). 5 sd over every plot and bound.
    d, m = 8000, 1000
    req = Request.model_validate({**synthetic_request(60, d, seed=4, profile="vm0051"), "per_plot_mc": "never"})
    prep = prepare(req)
    draws = Draws.sample(prep.factors, req.draws, req.seed, req.activity_uncertainty)
    full = per_plot(prep, draws, slice(None))
    sampled = per_plot_mc_sampled(prep, draws, req.confidence, m)
    worst = 0.0
    for k in METRICS:
        x = full[k]
        spread = x.max(axis=1) > x.min(axis=1)  # plots whose metric varies (others: every bound equals the value)
        for lv, p in (("90", 0.05), ("90", 0.95), ("95", 0.025), ("95", 0.975)):
            side = "low" if p < 0.5 else "high"
            q = np.asarray(sampled[k]["ci"][lv][side])
            tol = 1e-9 * np.abs(x).max(axis=1, keepdims=True)
            below = (x < q[:, None] - tol).mean(axis=1)  # F_D(q-) .. F_D(q): an atom at q covers a range of levels
            upto = (x <= q[:, None] + tol).mean(axis=1)
            dist = np.maximum(below - p, 0) + np.maximum(p - upto, 0)
            z = dist[spread] / np.sqrt(p * (1 - p) / m)
            worst = max(worst, float(z.max(initial=0.0)))
            # the bound is one of the plot's own first-M values (interpolated between neighbours): inside their range
            head = x[:, :m]
            assert np.all(q >= head.min(axis=1) - 1e-9 * np.abs(head).max()) and np.all(
                q <= head.max(axis=1) + 1e-9 * np.abs(head).max()
            )
    assert worst < 5.0, worst
    # the means over the first M draws: within 5 standard errors of the all-draws mean
    for k in METRICS:
        x = full[k]
        se = x[:, :m].std(axis=1) / np.sqrt(m)
        err = np.abs(np.asarray(sampled[k]["mean"]) - x.mean(axis=1))
        assert np.all(err <= 5 * se + 1e-9 * np.abs(x).max())


def test_auto_uses_the_sampled_method_above_the_cap_and_says_so():
    raw = synthetic_request(250, 10_000, seed=2, profile="vm0051")  # 250 distinct plots x 10k draws > 2e6
    r = estimate(raw)
    assert r.plots.mc_included and "first 500 of 10,000 draws" in r.plots.mc_note
    prep = prepare(Request.model_validate(raw))
    draws = Draws.sample(prep.factors, 10_000, raw["seed"], {})
    ref = per_plot_mc_sampled(prep, draws, r.confidence, 500)
    np.testing.assert_allclose(r.plots.mc["net"].ci["90"]["low"], ref["net"]["ci"]["90"]["low"], rtol=1e-12)
    # project totals keep every draw (the mean of all 10,000, not of the first 2,000)
    net = totals(prep, draws)["net"]
    assert r.total.net.mc.mean == pytest.approx(float(net.mean()), rel=1e-12)
    assert r.total.net.mc.mean != pytest.approx(float(net[:500].mean()), rel=1e-9)


def test_auto_omits_them_above_the_sampled_cap_and_sampled_forces_them(monkeypatch):
    from carbon_engine import engine

    monkeypatch.setattr(engine, "PER_PLOT_SAMPLED_CAP", 100 * 500)  # 100 signatures at M = 500
    raw = synthetic_request(250, 10_000, seed=2, profile="vm0051")  # 2.5e6 signature-draws > 2e6
    auto = estimate(raw)
    assert not auto.plots.mc_included and "per_plot_mc='sampled' or 'always'" in auto.plots.mc_note
    forced = estimate({**raw, "per_plot_mc": "sampled"})
    assert forced.plots.mc_included and "first 500 of 10,000 draws" in forced.plots.mc_note
    # "always" never omits them: exact here (2.5e6 <= PER_PLOT_MC_EXACT_MAX), sampled above
    assert "exact over all draws" in estimate({**raw, "per_plot_mc": "always"}).plots.mc_note
    monkeypatch.setattr(engine, "PER_PLOT_MC_EXACT_MAX", 1_000_000)
    assert "first 500 of 10,000 draws" in estimate({**raw, "per_plot_mc": "always"}).plots.mc_note
    # sampled is sampled even where exact would be cheap: the figures do not depend on the request's size
    small = estimate({**raw, "plots": raw["plots"][:3], "per_plot_mc": "sampled"})
    big = estimate({**raw, "per_plot_mc": "sampled"})
    for side in ("low", "high"):
        np.testing.assert_allclose(
            small.plots.mc["net"].ci["90"][side], big.plots.mc["net"].ci["90"][side][:3], rtol=1e-6
        )

"""Per-plot Monte Carlo statistics per distinct signature (engine.plot_signatures), mapped back by area,
equal the statistics of each plot's own draws."""

from __future__ import annotations

import numpy as np
import pytest
from ce_naive import synthetic_request

from carbon_engine import estimate
from carbon_engine.engine import per_plot, plot_signatures, prepare
from carbon_engine.models import Request
from carbon_engine.montecarlo import Draws, summarize_rows


def _templated(n: int, draws: int) -> dict:
    """Synthetic plots drawn from 6 practice templates with random areas (few signatures)."""
    raw = synthetic_request(6, draws, seed=5, profile="vm0051")
    rng = np.random.default_rng(1)
    # area-independent blocks (agroforestry area_ha, tree inventories) would make each area its own signature
    templates = [
        {
            **p,
            "tree_inventory_years": None,
            "baseline": {k: v for k, v in p["baseline"].items() if k not in ("trees", "agroforestry")},
            "project": {k: v for k, v in p["project"].items() if k not in ("trees", "agroforestry")},
        }
        for p in raw["plots"]
    ]
    raw["plots"] = [
        dict(templates[i % 6], plot_id=f"T{i:04d}", area_ha=float(np.round(rng.uniform(0.1, 3), 3))) for i in range(n)
    ]
    return raw


@pytest.mark.parametrize(
    "raw",
    [_templated(60, 800), synthetic_request(25, 800, seed=3, profile="vm0042_qa3")],
    ids=["templated", "all-distinct"],
)
def test_signature_statistics_equal_each_plots_own(raw):
    req = Request.model_validate({**raw, "per_plot_mc": "always"})
    prep = prepare(req)
    rep, inverse = plot_signatures(prep)
    assert len(inverse) == prep.plots.n and rep.max() < prep.plots.n
    if raw["plots"][0]["plot_id"].startswith("T"):
        assert len(rep) <= 6  # templates
    result = estimate(req)
    draws = Draws.sample(prep.factors, req.draws, req.seed, req.activity_uncertainty)
    direct = per_plot(prep, draws, slice(None))
    assert set(result.plots.mc) == {"net", "net_in_scope", "reductions", "removals"}
    for metric in ("net", "net_in_scope", "reductions", "removals"):
        ref = summarize_rows(direct[metric], req.confidence)
        got = result.plots.mc[metric]
        np.testing.assert_allclose(got.mean, ref["mean"], rtol=1e-9, atol=1e-9)
        np.testing.assert_allclose(got.median, ref["median"], rtol=1e-9, atol=1e-9)
        for lv in ("90", "95"):
            np.testing.assert_allclose(got.ci[lv]["low"], ref["ci"][lv]["low"], rtol=1e-9, atol=1e-9)
            np.testing.assert_allclose(got.ci[lv]["high"], ref["ci"][lv]["high"], rtol=1e-9, atol=1e-9)
    assert not any(k.startswith(("red_in_", "cond_")) for k in result.plots.point)

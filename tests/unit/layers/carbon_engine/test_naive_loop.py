"""The engine against the naive per-plot, per-draw loop (ce_naive.py), on a small synthetic
project covering every method, both climates, every profile's scope and activity-data errors."""

from __future__ import annotations

import numpy as np
import pytest
from ce_naive import naive_net_per_draw, synthetic_request

from carbon_engine.engine import prepare, totals
from carbon_engine.models import Request
from carbon_engine.montecarlo import Draws
from carbon_engine.profiles import PROFILES


@pytest.mark.parametrize(
    "profile,climate",
    [("ipcc_tier1", "wet"), ("vm0051", "wet"), ("vm0051", "dry"), ("ccts_ag04_002", "dry"), ("vm0042_qa3", "wet")],
)
def test_engine_matches_naive_loop_per_draw(profile, climate):
    raw = synthetic_request(60, 40, seed=11, profile=profile, climate=climate, crops=True)
    raw["activity_uncertainty"] = {
        "area": 0.05,
        "synthetic_n": 0.1,
        "cultivation_days": 0.05,
        "amendments": 0.2,
        "residue_burnt": 0.2,
        "trees": 0.1,
        "urea": 0.1,
        "lime": 0.1,
        "organic_n": 0.1,
        "residue_n": 0.1,
    }
    req = Request.model_validate(raw)
    prep = prepare(req)
    draws = Draws.sample(prep.factors, req.draws, req.seed, req.activity_uncertainty)
    eng = totals(prep, draws)
    naive = np.array(naive_net_per_draw(req, draws))
    assert np.allclose(eng["net"], naive, rtol=1e-11, atol=1e-9)
    scoped = np.array(naive_net_per_draw(req, draws, scope=PROFILES[profile].counted))
    assert np.allclose(eng["net_in_scope"], scoped, rtol=1e-11, atol=1e-9)
    # the synthetic project exercises removals, so the scope matters for the rice profiles
    if profile in ("vm0051", "ccts_ag04_002"):
        assert not np.allclose(eng["net"], eng["net_in_scope"])

"""Chunked evaluation: per-chunk draw totals sum to the single-request totals; summaries match estimate()."""

from __future__ import annotations

import numpy as np
import pytest

from carbon_engine import ChunkTotals, chunk_totals, estimate, sum_totals, summarize_totals
from ce_helpers import rice_season


def _plots(n: int) -> list[dict]:
    out = []
    for i in range(n):
        regime = ("multiple_drainage", "single_drainage", "continuously_flooded")[i % 3]
        out.append({"plot_id": f"p{i}", "area_ha": 0.5 + (i % 7) * 0.3,
                    "baseline": rice_season(synthetic_n_kg_per_ha=80 + i % 5, cultivation_days=100 + i % 20),
                    "project": rice_season(water_regime=regime, synthetic_n_kg_per_ha=80 + i % 5,
                                           cultivation_days=100 + i % 20,
                                           organic_amendments=[{"type": "compost", "t_per_ha": 1 + i % 2}])})
    return out


def _req(plots, profile="vm0051"):
    return {"gwp": "AR5", "profile": profile, "region": "south_asia", "climate": "wet", "draws": 500, "seed": 11,
            "confidence": [0.9, 0.95], "plots": plots}


@pytest.mark.parametrize("profile", ["vm0051", "ipcc_tier1", "ccts_ag04_002"])
def test_two_chunks_sum_to_the_single_request(profile):
    plots = _plots(40)
    whole, rows = chunk_totals(_req(plots, profile))
    a, rows_a = chunk_totals(_req(plots[:17], profile))
    b, rows_b = chunk_totals(_req(plots[17:], profile))
    summed = a + b
    assert summed.plots == whole.plots == 40
    for metric, vec in whole.draws.items():
        np.testing.assert_allclose(summed.draws[metric], vec, rtol=1e-12, atol=1e-9)
        assert summed.point[metric] == pytest.approx(whole.point[metric], rel=1e-12, abs=1e-9)
    assert summed.awd_switch_n_kg == pytest.approx(whole.awd_switch_n_kg)
    assert rows_a["net"] + rows_b["net"] == pytest.approx(rows["net"])


@pytest.mark.parametrize("profile", ["vm0051", "ccts_ag04_002"])
def test_summary_of_summed_chunks_equals_estimate(profile):
    plots = _plots(30)
    parts = [chunk_totals(_req(plots[i:i + 10], profile))[0] for i in range(0, 30, 10)]
    settings = {k: v for k, v in _req(plots, profile).items() if k != "plots"}
    summary = summarize_totals(settings, sum_totals(parts))
    reference = estimate(_req(plots, profile)).total
    assert summary["plots"] == 30
    assert summary["total"]["net"]["point"] == pytest.approx(reference.net.point, rel=1e-12)
    assert summary["total"]["net"]["mc"]["sd"] == pytest.approx(reference.net.mc.sd, rel=1e-9)
    assert summary["total"]["net"]["mc"]["ci"]["90"][0] == pytest.approx(reference.net.mc.ci["90"][0], rel=1e-9)
    assert summary["total"]["creditable_net"] == pytest.approx(reference.creditable_net, rel=1e-9)
    assert [d["rule"] for d in summary["total"]["deductions"]] == [d.rule for d in reference.deductions]


def test_npz_round_trip_is_exact():
    totals, _ = chunk_totals(_req(_plots(5)))
    back = ChunkTotals.from_npz(totals.to_npz())
    assert back.point == totals.point and back.plots == 5
    for k, v in totals.draws.items():
        assert np.array_equal(back.draws[k], v)


def test_conservative_profile_is_refused_not_approximated():
    totals, _ = chunk_totals(_req(_plots(3), "vm0042_qa3"))
    with pytest.raises(ValueError, match="chunk by chunk"):
        summarize_totals(_req(_plots(1), "vm0042_qa3"), totals)


def _mixed_plots(n: int) -> list[dict]:
    """Plots whose urea, lime, SOC and tree removals fall outside the rice-only scope of vm0051 and
    ccts_ag04_002, so that net_in_scope differs from net."""
    trees = [{"species": "Tectona grandis", "count": 40, "dbh_cm": 12.0, "height_m": 9.0, "wood_density": 0.6}]
    out = []
    for i, p in enumerate(_plots(n)):
        extra = {"synthetic_n_kg_per_ha": 100, "urea_kg_per_ha": 150, "limestone_kg_per_ha": 200 * (i % 2)}
        p["baseline"] = {**p["baseline"], **extra}
        p["project"] = {**p["project"], **extra}
        if i % 3 == 0:
            p["soil"] = {"climate_zone": "tropical_moist", "soil_type": "lac"}
            p["baseline"]["soc"] = {"land_use": "paddy_rice", "tillage": "full", "input": "medium"}
            p["project"]["soc"] = {"land_use": "paddy_rice", "tillage": "reduced", "input": "high_without_manure"}
        elif i % 3 == 1:
            p["baseline"]["trees"], p["project"]["trees"], p["tree_inventory_years"] = [], trees, 3
        out.append(p)
    return out


@pytest.mark.parametrize("profile", ["vm0051", "ccts_ag04_002"])
def test_chunks_keep_the_profile_scope(profile):
    """The deductions apply to the in-scope net: summed chunks give the single request's basis and net_in_scope."""
    plots = _mixed_plots(24)
    parts = [chunk_totals(_req(plots[i:i + 8], profile))[0] for i in range(0, 24, 8)]
    whole, _ = chunk_totals(_req(plots, profile))
    summed = sum_totals(parts)
    for metric in ("net", "net_in_scope", "removals", "removals_in_scope"):
        np.testing.assert_allclose(summed.draws[metric], whole.draws[metric], rtol=1e-12, atol=1e-9)
    reference = estimate(_req(plots, profile)).total
    assert reference.net_in_scope.point != pytest.approx(reference.net.point, rel=1e-3)  # the case under test
    settings = {k: v for k, v in _req(plots, profile).items() if k != "plots"}
    total = summarize_totals(settings, summed)["total"]
    assert total["creditable_basis"] == pytest.approx(reference.creditable_basis, rel=1e-12)
    assert total["net_in_scope"]["point"] == pytest.approx(reference.net_in_scope.point, rel=1e-12)
    assert total["net_in_scope"]["mc"]["ci"]["90"][0] == pytest.approx(reference.net_in_scope.mc.ci["90"][0], rel=1e-9)
    assert total["creditable_net"] == pytest.approx(reference.creditable_net, rel=1e-9)

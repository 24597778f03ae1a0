"""Chunked evaluation: per-chunk draw totals sum to the single-request totals; summaries match estimate()."""

from __future__ import annotations

import json

import numpy as np
import pytest
from ce_helpers import rice_season

from carbon_engine import (
    ChunkTotals,
    choose_conservative,
    chunk_basis,
    chunk_totals,
    estimate,
    sum_basis,
    sum_totals,
    summarize_totals,
)


def _plots(n: int) -> list[dict]:
    out = []
    for i in range(n):
        regime = ("multiple_drainage", "single_drainage", "continuously_flooded")[i % 3]
        out.append(
            {
                "plot_id": f"p{i}",
                "area_ha": 0.5 + (i % 7) * 0.3,
                "baseline": rice_season(synthetic_n_kg_per_ha=80 + i % 5, cultivation_days=100 + i % 20),
                "project": rice_season(
                    water_regime=regime,
                    synthetic_n_kg_per_ha=80 + i % 5,
                    cultivation_days=100 + i % 20,
                    organic_amendments=[{"type": "compost", "t_per_ha": 1 + i % 2}],
                ),
            }
        )
    return out


def _req(plots, profile="vm0051"):
    return {
        "gwp": "AR5",
        "profile": profile,
        "region": "south_asia",
        "climate": "wet",
        "draws": 500,
        "seed": 11,
        "confidence": [0.9, 0.95],
        "plots": plots,
    }


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
    parts = [chunk_totals(_req(plots[i : i + 10], profile))[0] for i in range(0, 30, 10)]
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


def test_conservative_profile_is_refused_without_pass_2():
    totals, _ = chunk_totals(_req(_plots(3), "vm0042_qa3"))
    with pytest.raises(ValueError, match="pass 2"):
        summarize_totals(_req(_plots(1), "vm0042_qa3"), totals)
    vm0051, _ = chunk_totals(_req(_plots(3)))
    with pytest.raises(ValueError, match="pass 2"):  # a basis for a default-factor profile is a caller error
        summarize_totals(_req(_plots(1)), vm0051, basis=vm0051.point)


def _two_pass(plots: list[dict], bounds: list[int]):
    """The chunked vm0042_qa3 result: pass 1 per chunk, one choice over the summed sensitivity, pass 2 per chunk."""
    reqs = [_req(plots[a:b], "vm0042_qa3") for a, b in zip(bounds, bounds[1:])]
    parts = [chunk_totals(r)[0] for r in reqs]
    summed = sum_totals(parts)
    chosen = choose_conservative(summed.sensitivity)
    basis = sum_basis(chunk_basis(r, chosen) for r in reqs)
    settings = {k: v for k, v in _req(plots, "vm0042_qa3").items() if k != "plots"}
    return chosen, basis, summarize_totals(settings, summed, basis=basis)


def _qa3_plots(n: int) -> list[dict]:
    """Rice plots moving to drainage with less N (urea, lime), a third with SOC records, a third adding
    Tier 1 agroforestry: a positive conservative basis with removals, so both VM0042 deductions apply."""
    out = []
    for i in range(n):
        regime = ("multiple_drainage", "single_drainage", "continuously_flooded")[i % 3]
        p = {
            "plot_id": f"p{i}",
            "area_ha": 0.5 + (i % 7) * 0.3,
            "baseline": rice_season(
                synthetic_n_kg_per_ha=80 + i % 5, urea_kg_per_ha=100, limestone_kg_per_ha=50 * (i % 2)
            ),
            "project": rice_season(
                water_regime=regime,
                synthetic_n_kg_per_ha=70 + i % 5,
                urea_kg_per_ha=100,
                limestone_kg_per_ha=50 * (i % 2),
            ),
        }
        if i % 3 == 0:
            p["soil"] = {"climate_zone": "tropical_moist", "soil_type": "lac"}
            p["baseline"]["soc"] = {"land_use": "paddy_rice", "tillage": "full", "input": "medium"}
            p["project"]["soc"] = {"land_use": "paddy_rice", "tillage": "reduced", "input": "high_without_manure"}
        elif i % 3 == 1:
            p["project"]["agroforestry"] = {"system": "default", "zone": "tropical_moist"}
        out.append(p)
    return out


def test_conservative_profile_in_two_passes_equals_the_single_request():
    from carbon_engine.engine import conservative_draws, prepare, totals
    from carbon_engine.models import Request

    plots = _qa3_plots(30)
    chosen, basis, summary = _two_pass(plots, [0, 4, 19, 30])  # 3 chunks of uneven size
    prep = prepare(Request.model_validate(_req(plots, "vm0042_qa3")))
    dc, reference_chosen = conservative_draws(prep)
    assert chosen == reference_chosen and len(chosen) >= 5  # several factors moved to a bound
    reference_basis = {k: float(v[0]) for k, v in totals(prep, dc).items()}
    for metric, value in reference_basis.items():
        assert basis[metric] == pytest.approx(value, rel=1e-9, abs=1e-9), metric
    reference = estimate(_req(plots, "vm0042_qa3")).total
    total = summary["total"]
    assert total["creditable_basis"] == pytest.approx(reference.creditable_basis, rel=1e-9)
    assert total["creditable_basis"] < reference.net_in_scope.point  # conservative: below the default point
    assert total["net"]["point"] == pytest.approx(reference.net.point, rel=1e-9)
    assert total["net_in_scope"]["mc"]["sd"] == pytest.approx(reference.net_in_scope.mc.sd, rel=1e-9)
    assert [(d["rule"], d["t_co2e"]) for d in total["deductions"]] == [
        (d.rule, pytest.approx(d.t_co2e, rel=1e-9)) for d in reference.deductions
    ]
    d = {x.rule: x.t_co2e for x in reference.deductions}
    assert d["vm0042_eq74_uncertainty"] == 0.0 and d["vm0042_buffer_stock_changes"] > 0  # QA3: no Eq 74 on top
    assert total["creditable_net"] == pytest.approx(reference.creditable_net, rel=1e-9)


def test_conservative_choice_is_made_over_the_project_not_per_chunk():
    """A chunk whose plots alone would pick the other bound: the project-wide choice still wins."""
    raise_n = {
        "plot_id": "up",
        "area_ha": 1,
        "baseline": {"crop": "wheat", "synthetic_n_kg_per_ha": 100},
        "project": {"crop": "wheat", "synthetic_n_kg_per_ha": 150},
    }
    lower_n = [
        {
            "plot_id": f"down{i}",
            "area_ha": 1,
            "baseline": {"crop": "wheat", "synthetic_n_kg_per_ha": 150},
            "project": {"crop": "wheat", "synthetic_n_kg_per_ha": 100},
        }
        for i in range(3)
    ]
    first = chunk_totals(_req([raise_n], "vm0042_qa3"))[0].sensitivity
    assert choose_conservative(first)["n2o.ef1.synthetic_wet"] == 0.019  # alone: more N, the high bound
    chosen, _, summary = _two_pass([raise_n, *lower_n], [0, 1, 3, 4])
    assert chosen["n2o.ef1.synthetic_wet"] == 0.013  # the project lowers N overall: the low bound
    reference = estimate(_req([raise_n, *lower_n], "vm0042_qa3")).total
    assert summary["total"]["creditable_basis"] == pytest.approx(reference.creditable_basis, rel=1e-9)


def test_sensitivity_survives_storage_and_ties_keep_the_default():
    from carbon_engine import Sensitivity

    totals, _ = chunk_totals(_req(_mixed_plots(6), "vm0042_qa3"))
    back = ChunkTotals.from_npz(totals.to_npz())
    assert back.sensitivity == totals.sensitivity
    assert Sensitivity.from_json(json.loads(json.dumps(totals.sensitivity.to_json()))) == totals.sensitivity
    s = Sensitivity(
        {"f": (1.0, 2.0, 3.0)}, low={"f": 10.0 - 1e-12}, high={"f": 10.0 - 1e-12}, default=10.0, scale=100.0
    )
    assert choose_conservative(s) == {}  # rounding-level differences are ties: the default stays
    s.low["f"] = 9.99
    assert choose_conservative(s) == {"f": 1.0}


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
    parts = [chunk_totals(_req(plots[i : i + 8], profile))[0] for i in range(0, 24, 8)]
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

"""Benchmark of the carbon engine (not a test; prints figures).

    .venv/bin/python bench/carbon_engine_bench.py [--plots 100000] [--draws 10000]
                                                   [--naive-plots 50] [--naive-draws 1000]

1. Builds a synthetic project of ``--plots`` plot-seasons (baseline + project season each;
   rice with every water regime, pre-season status, quantised organic-amendment rates, N,
   urea, lime, burning, SOC on 30 % of plots, Tier 1 agroforestry on 5 %, tree inventories
   (t1 and t2) on 5 %); profile vm0051 (tests/unit/layers/carbon_engine/ce_naive.py).
2. Times ``estimate()`` for the full result (point estimates per plot, project totals with 90 %
   and 95 % intervals, per-gas breakdown; per-plot statistics as ``--per-plot-mc`` asks) with
   ``--draws`` Monte Carlo draws; prints wall time, peak RSS, plot-draws per second.
3. Times a straightforward per-plot, per-draw Python loop (a deliberate second implementation of
   the equations, sharing only the random factor draws) on a subset and prints the speed ratio
   and the maximum relative difference of the per-draw project net against the engine.
"""

from __future__ import annotations

import argparse
import json
import math
import resource
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "layers" / "carbon_engine" / "python"))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "unit" / "layers" / "carbon_engine"))

# The synthetic project and the naive loop live in the tests (shared with the in-CI comparison,
# tests/unit/layers/carbon_engine/test_naive_loop.py).
from ce_naive import naive_net_per_draw, synthetic_request

from carbon_engine import Request, estimate, parse_request
from carbon_engine.engine import prepare, totals
from carbon_engine.montecarlo import Draws

# ----------------------------------------------------------------------------- main


def templated_request(n: int, draws: int, k: int, seed: int = 7) -> dict:
    """``n`` plots from ``k`` practice templates of the synthetic project, each with its own random area.
    Agroforestry and tree blocks are dropped: their removal does not scale with the plot area, so each such
    plot would be its own signature (see engine.plot_signatures)."""
    raw = synthetic_request(k, draws, seed=seed)
    drop = ("trees", "agroforestry")
    templates = [
        {
            **p,
            "tree_inventory_years": None,
            "baseline": {a: v for a, v in p["baseline"].items() if a not in drop},
            "project": {a: v for a, v in p["project"].items() if a not in drop},
        }
        for p in raw["plots"]
    ]
    rng = np.random.default_rng(seed + 1)
    areas = np.round(rng.uniform(0.1, 3.0, n), 3)
    raw["plots"] = [{**templates[i % k], "plot_id": f"T{i:06d}", "area_ha": float(areas[i])} for i in range(n)]
    return raw


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0  # Linux: KiB


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--plots", type=int, default=100_000)
    ap.add_argument("--draws", type=int, default=10_000)
    ap.add_argument("--naive-plots", type=int, default=50)
    ap.add_argument("--naive-draws", type=int, default=1_000)
    ap.add_argument("--repeat", type=int, default=3, help="estimate() runs; the best is reported (shared machine)")
    ap.add_argument(
        "--templates",
        type=int,
        default=0,
        help="build the plots from this many practice templates (random areas; no area-independent "
        "agroforestry/tree blocks): few distinct signatures, so per-plot statistics are computed",
    )
    ap.add_argument(
        "--per-plot-mc",
        choices=("auto", "always", "sampled", "never"),
        default="auto",
        help="per-plot statistics: auto omits them above 20,000 distinct plots; always/sampled compute them "
        "over the first 500 draws above the exact cap (engine README, decision 0018)",
    )
    args = ap.parse_args()

    t0 = time.perf_counter()
    raw = (
        templated_request(args.plots, args.draws, args.templates)
        if args.templates
        else synthetic_request(args.plots, args.draws)
    )
    raw["per_plot_mc"] = args.per_plot_mc
    body = json.dumps(raw)
    t_gen = time.perf_counter() - t0
    rss_before = peak_rss_mb()

    t0 = time.perf_counter()
    req = parse_request(body)  # Request.model_validate_json with the cyclic GC paused
    t_validate = time.perf_counter() - t0

    runs = []
    for _ in range(args.repeat):
        t0 = time.perf_counter()
        result = estimate(req)
        runs.append(time.perf_counter() - t0)
    t_estimate = min(runs)
    t0 = time.perf_counter()
    out_json = result.model_dump_json()
    t_dump = time.perf_counter() - t0
    rss_peak = peak_rss_mb()

    plot_draws = args.plots * args.draws
    tot = result.total
    print(
        f"synthetic project: {args.plots:,} plot-seasons x {args.draws:,} draws (generation {t_gen:.2f} s, JSON {len(body) / 1e6:.0f} MB)"
    )
    print(f"validate request JSON -> pydantic:      {t_validate:7.3f} s   (parse_request)")
    print(
        f"estimate(request) full result:          {t_estimate:7.3f} s   <- target < 5 s "
        f"(best of {len(runs)}: {', '.join(f'{r:.3f}' for r in runs)})"
    )
    print(f"result -> JSON:                          {t_dump:7.3f} s   ({len(out_json) / 1e6:.0f} MB)")
    print(f"end to end (validate+estimate+dump):     {t_validate + t_estimate + t_dump:7.3f} s")
    print(
        f"peak RSS: {rss_peak:,.0f} MB (after building the synthetic input: {rss_before:,.0f} MB)   <- target < 2048 MB"
    )
    print(f"plot-draws per second (estimate): {plot_draws / t_estimate:,.3e}")
    print(f"per-plot MC stats: {result.plots.mc_note}")
    if result.plots.mc_included:
        m = result.plots.mc["net"]
        print(
            f"  plot {result.plots.plot_id[0]}: net {result.plots.point['net'][0]:.4f} t CO2e, 90 % interval "
            f"{m.ci['90']['low'][0]:.4f} .. {m.ci['90']['high'][0]:.4f} (half-width {m.half_width_pct['90'][0]:.1f} %)"
        )
    print(
        f"net point {tot.net.point:,.1f} t CO2e; MC mean {tot.net.mc.mean:,.1f}; 90 % CI {tot.net.mc.ci['90']}; "
        f"95 % CI {tot.net.mc.ci['95']}; half-width 90 % {tot.net.mc.half_width_pct['90']:.2f} %"
    )
    for g, r in tot.gases.items():
        print(
            f"  {g}: baseline {r.baseline.point:,.1f}  project {r.project.point:,.1f}  reduction {r.reduction.point:,.1f} t CO2e"
        )
    print(
        f"  removals {tot.removals.point:,.1f} t CO2; in-scope net ({result.profile.id}: {', '.join(result.profile.counted_components)}) "
        f"{tot.net_in_scope.point:,.1f}, half-width 90 % {tot.net_in_scope.mc.half_width_pct['90']:.2f} %"
    )
    print(
        f"  deductions {[(d.rule, round(d.t_co2e, 1), d.note) for d in tot.deductions]}; eligible {tot.eligible}; "
        f"creditable {tot.creditable_net:,.1f}"
    )

    # naive loop on a subset, same seed and draws
    sub = Request.model_validate({**raw, "plots": raw["plots"][: args.naive_plots], "draws": args.naive_draws})
    prep = prepare(sub)
    draws = Draws.sample(prep.factors, sub.draws, sub.seed, sub.activity_uncertainty)
    engine_net = totals(prep, draws)["net"]
    t0 = time.perf_counter()
    naive = np.array(naive_net_per_draw(sub, draws))
    t_naive = time.perf_counter() - t0
    naive_rate = args.naive_plots * args.naive_draws / t_naive
    rel = np.max(np.abs(naive - engine_net) / np.maximum(np.abs(naive), 1e-12))
    print(
        f"naive per-plot Python loop: {args.naive_plots} plots x {args.naive_draws} draws in {t_naive:.2f} s "
        f"= {naive_rate:,.3e} plot-draws/s"
    )
    print(f"speed-up engine vs naive loop: {plot_draws / t_estimate / naive_rate:,.0f}x   <- goal >= 100x")
    print(f"max relative difference engine vs naive (per-draw net, {args.naive_draws} draws): {rel:.3e}")
    assert math.isfinite(rel) and rel < 1e-9, "engine and naive loop disagree"


if __name__ == "__main__":
    main()

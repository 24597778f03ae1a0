"""Field-visit sample: stratified random sampling, reproducible from a recorded seed.

Strata: (village, water regime). Size: ``n0 = (z * CV / E)^2`` with z the two-sided standard
normal quantile of the confidence, CV the coefficient of variation of the per-plot net result
(t CO2e, sd / |mean| over the population), E the target relative precision; finite-population
correction ``n = n0 / (1 + (n0 - 1) / N)``, rounded up. Allocation: proportional to area
(``n_h = round(n * A_h / A)``, at least 1 and at most N_h per stratum, so the total can exceed n
by the number of small strata). Neyman allocation is not used: stratum sds are estimates from the
same claimed data the sample is meant to check.

Each selected plot names its farmer and FPO, each stratum the FPOs of its members (``fpo_ids``):
an FPO manager reads their own FPO's plots and strata only (a project can cover several FPOs).

Draw: ``numpy.random.Generator(PCG64(seed))``; strata visited in sorted order, members sorted by
(plot_id, season_key), ``rng.choice(N_h, n_h, replace=False)``. An auditor recomputes it with::

    python -m functions.pipeline.sampling --rows rows.jsonl --seed 123 --confidence 0.9 --precision 0.1
"""

from __future__ import annotations

import argparse
import json
import math
from collections.abc import Iterable
from statistics import NormalDist
from typing import Any


def sample_size(cv: float, n_population: int, confidence: float, precision: float) -> dict[str, Any]:
    z = NormalDist().inv_cdf(0.5 + confidence / 2)
    n0 = (z * cv / precision) ** 2
    n = n0 / (1 + (n0 - 1) / n_population) if n_population > 0 and n0 > 0 else 0.0
    return {
        "z": z,
        "cv": cv,
        "precision": precision,
        "confidence": confidence,
        "n0": n0,
        "n_fpc": n,
        "n": min(n_population, max(1, math.ceil(n))) if n_population else 0,
        "formula": "n0 = (z*CV/E)^2; n = n0 / (1 + (n0-1)/N)",
    }


def draw_sample(rows: Iterable[dict[str, Any]], seed: int, confidence: float, precision: float) -> dict[str, Any]:
    import numpy as np

    rows = list(rows)
    strata: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for r in rows:
        strata.setdefault((r.get("village", ""), r.get("water_regime") or "none"), []).append(r)
    nets = np.array([r["net"] for r in rows], dtype=float) if rows else np.zeros(0)
    mean = float(nets.mean()) if nets.size else 0.0
    cv = float(nets.std(ddof=1) / abs(mean)) if nets.size > 1 and mean != 0 else 1.0
    size = sample_size(cv, len(rows), confidence, precision)
    total_area = sum(r["area_ha"] for r in rows) or 1.0
    rng = np.random.Generator(np.random.PCG64(seed))
    out_strata, selected = [], []
    for village, regime in sorted(strata):
        members = sorted(strata[(village, regime)], key=lambda r: (r["plot_id"], r["season_key"]))
        area = sum(r["area_ha"] for r in members)
        n_h = min(len(members), max(1, round(size["n"] * area / total_area)))
        picks = sorted(int(i) for i in rng.choice(len(members), size=n_h, replace=False))
        out_strata.append(
            {
                "village": village,
                "water_regime": regime,
                "population": len(members),
                "area_ha": area,
                "allocated": n_h,
                "fpo_ids": sorted({m["fpo_id"] for m in members if m.get("fpo_id")}),
            }
        )
        for i in picks:
            m = members[i]
            selected.append(
                {
                    "plot_id": m["plot_id"],
                    "season_key": m["season_key"],
                    "village": village,
                    "water_regime": regime,
                    "area_ha": m["area_ha"],
                    "centroid": m.get("centroid"),
                    "farmer_id": m.get("farmer_id"),
                    "fpo_id": m.get("fpo_id"),
                }
            )
    return {
        "seed": seed,
        "generator": "numpy PCG64",
        "allocation": "proportional to area, min 1 per stratum",
        "strata_key": ["village", "water_regime"],
        "size": size,
        "strata": out_strata,
        "plots": selected,
        "population": len(rows),
    }


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description="Recompute a run's field-visit sample from its rows and seed")
    p.add_argument(
        "--rows", required=True, help="JSON lines of the run's per-plot rows (the chunks' rows.jsonl, concatenated)"
    )
    p.add_argument("--seed", type=int, required=True)
    p.add_argument("--confidence", type=float, default=0.9)
    p.add_argument("--precision", type=float, default=0.1)
    a = p.parse_args(argv)
    with open(a.rows) as fh:
        rows = [json.loads(line) for line in fh if line.strip()]
    print(json.dumps(draw_sample(rows, a.seed, a.confidence, a.precision), indent=1))


if __name__ == "__main__":
    main()

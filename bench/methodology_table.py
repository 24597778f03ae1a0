"""The methodology comparison table, recomputed: what each profile credits for the reference rice projects.

    .venv/bin/python bench/methodology_table.py [--draws 20000] [--plots 200] [--area 0.4] [--worked]

Rows: 200 plots x 0.4 ha (80 ha), South Asia, wet climate, AR5 requested, 20,000 draws; the water-regime
change is the only difference between baseline and project (plus the N rate where stated). Columns: the
in-scope net (the profile's creditable scope, point), the basis the deductions start from (the profile's
factor choice), the 90 % half-width of the in-scope net's Monte Carlo distribution, the creditable net.
``--worked`` also prints, per profile, the CF -> AWD (no N) project's deductions in order.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "layers" / "carbon_engine" / "python"))

from carbon_engine import estimate

ROWS = [  # (label, project regime, N kg/ha, profile)
    ("continuous flooding -> AWD, no N", "multiple_drainage", 0, "ipcc_tier1"),
    ("continuous flooding -> AWD, no N", "multiple_drainage", 0, "vm0051"),
    ("continuous flooding -> AWD, no N", "multiple_drainage", 0, "vm0042_qa3"),
    ("continuous flooding -> AWD, 100 kg N", "multiple_drainage", 100, "vm0042_qa3"),
    ("continuous flooding -> single drainage, no N", "single_drainage", 0, "vm0051"),
    ("continuous flooding -> single drainage, no N", "single_drainage", 0, "vm0042_qa3"),
    ("continuous flooding -> AWD, no N", "multiple_drainage", 0, "ccts_ag04_002"),
    ("continuous flooding -> AWD, 100 kg N", "multiple_drainage", 100, "vm0051"),
]


def season(regime: str, n: float) -> dict:
    return {
        "crop": "rice",
        "cultivation_days": 112,
        "water_regime": regime,
        "preseason_water": "non_flooded_lt_180",
        "synthetic_n_kg_per_ha": n,
    }


def project_request(regime: str, n: float, profile: str, plots: int, area: float, draws: int) -> dict:
    return {
        "gwp": "AR5",
        "profile": profile,
        "region": "south_asia",
        "climate": "wet",
        "draws": draws,
        "seed": 42,
        "per_plot_mc": "never",
        "plots": [
            {
                "plot_id": f"P{i:04d}",
                "area_ha": area,
                "baseline": season("continuously_flooded", n),
                "project": season(regime, n),
            }
            for i in range(plots)
        ],
    }


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--draws", type=int, default=20_000)
    ap.add_argument("--plots", type=int, default=200)
    ap.add_argument("--area", type=float, default=0.4)
    ap.add_argument("--worked", action="store_true", help="print each profile's deductions for CF -> AWD, no N")
    args = ap.parse_args()
    print(
        f"{args.plots} plots x {args.area} ha ({args.plots * args.area:g} ha), South Asia, wet, AR5, {args.draws:,} draws"
    )
    print("| project | profile | in-scope net | basis | 90 % half-width | creditable |")
    print("| --- | --- | --- | --- | --- | --- |")
    for label, regime, n, profile in ROWS:
        t = estimate(project_request(regime, n, profile, args.plots, args.area, args.draws)).total
        hw = t.net_in_scope.mc.half_width_pct["90"]
        hw_txt = "n/a" if hw is None else f"{hw:.1f} %"
        cred = f"{t.creditable_net:.2f}" + ("" if t.eligible else " (not eligible)")
        print(f"| {label} | {profile} | {t.net_in_scope.point:.2f} | {t.creditable_basis:.2f} | {hw_txt} | {cred} |")
    if args.worked:
        for profile in ("ipcc_tier1", "vm0051", "vm0042_qa3", "ccts_ag04_002"):
            r = estimate(project_request("multiple_drainage", 0, profile, args.plots, args.area, args.draws))
            t = r.total
            print(
                f"\n{profile} (CF -> AWD, no N, {args.plots * args.area:g} ha): inventory net {t.net.point:.2f}; "
                f"in-scope net {t.net_in_scope.point:.2f}; basis {t.creditable_basis:.2f} t CO2e"
            )
            for d in t.deductions:
                print(f"  - {d.rule}: {d.t_co2e:.2f} t CO2e ({d.equation}; section {d.section}; {d.status})")
            for f in t.findings:
                print(f"  * finding {f.id}: {f.text}")
            print(f"  = creditable {t.creditable_net:.2f} t CO2e (eligible: {t.eligible})")


if __name__ == "__main__":
    main()

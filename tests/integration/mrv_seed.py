"""Seed farm data for the MRV pipeline tests and bench through the farm data's records and store
(not product code). Farmers in a few villages, each with plots and rice seasons."""

from __future__ import annotations

import random
from typing import Any

from agri_common.farm_table.records import FarmerRecord, PlotRecord, SeasonRecord

REGIMES = ("multiple_drainage", "single_drainage", "continuously_flooded")


def season_activity(rng: random.Random, year: int, season: str, regime: str) -> dict[str, Any]:
    return {
        "year": year,
        "season": season,
        "crop": "rice",
        "sowing_date": f"{year}-06-20",
        "harvest_date": f"{year}-10-20",
        "cultivation_days": rng.randint(100, 125),
        "water_regime": regime,
        "preseason_water": "non_flooded_lt_180",
        "synthetic_n_kg_per_ha": round(rng.uniform(80, 140), 1),
        "organic_amendments": [],
        "residue_fate": "incorporated",
    }


def farm_items(
    fpo_id: str, farmers: int, plots_per_farmer: int, seasons: list[str], seed: int = 7, prefix: str = "F"
) -> list[dict]:
    rng = random.Random(seed)
    now = "2025-01-01T00:00:00Z"
    items: list[dict] = []
    for f in range(farmers):
        fid = f"{prefix}{f:07d}"
        village = f"village-{f % 4}"
        items.append(
            FarmerRecord(
                farmer_id=fid,
                fpo_id=fpo_id,
                owner_user_id=f"user-{fid}",
                name=f"Farmer {f}",
                phone="+919800000000",
                village=village,
                district="Thanjavur",
                state="Tamil Nadu",
                preferred_language="ta",
                consent={"given": True, "version": "1", "at": now},
                created_by="seed",
                created_at=now,
            ).to_item()
        )
        for p in range(plots_per_farmer):
            pid = f"P{fid[1:]}{p}"
            area = round(rng.uniform(0.3, 2.0), 3)
            declared = area * (1.6 if (f * plots_per_farmer + p) % 37 == 5 else 1.0)
            items.append(
                PlotRecord(
                    plot_id=pid,
                    farmer_id=fid,
                    fpo_id=fpo_id,
                    owner_user_id=f"user-{fid}",
                    geometry_json='{"type":"Point","coordinates":[79.1,10.8]}',
                    area_ha=area,
                    declared_area_ha=round(declared, 3),
                    centroid=[79.1 + f * 1e-4, 10.8 + p * 1e-4],
                    geohash="tf0",
                    cells=["tf0"],
                    created_at=now,
                ).to_item()
            )
            for key in seasons:
                year, name = key.split("-")
                regime = REGIMES[(f + p) % len(REGIMES)]
                items.append(
                    SeasonRecord(
                        plot_id=pid,
                        season_key=key,
                        farmer_id=fid,
                        fpo_id=fpo_id,
                        owner_user_id=f"user-{fid}",
                        area_ha=area,
                        activity=season_activity(rng, int(year), name, regime),
                        created_at=now,
                    ).to_item()
                )
    return items


def seed(store: Any, items: list[dict]) -> None:
    """Put items with BatchWriteItem (seeding only: the farmers routes write through transactions,
    which moto makes slower as the table grows because it copies the table per transaction)."""
    from agri_common.single_table import to_dynamo

    with store._table.batch_writer() as batch:
        for item in items:
            batch.put_item(Item=to_dynamo(item))


def synthetic_observations(items: list[dict], season_key: str, every: int = 5, seed: int = 11) -> list[dict]:
    """A synthetic remote-sensing feed: per-plot flooded days for ``season_key``; every ``every``-th
    drained plot is observed flooded for 60 continuous days (contradicting its drainage claim)."""
    rng = random.Random(seed)
    out = []
    seasons = [i for i in items if i.get("kind") == "season" and i["season_key"] == season_key]
    for n, s in enumerate(seasons):
        drained = s["activity"]["water_regime"] != "continuously_flooded"
        longest = 60 if drained and n % every == 0 else (rng.randint(5, 14) if drained else rng.randint(80, 110))
        out.append(
            {
                "plot_id": s["plot_id"],
                "season_key": season_key,
                "source": "synthetic",
                "start_date": s["activity"]["sowing_date"],
                "end_date": s["activity"]["harvest_date"],
                "flooded_days": max(longest, rng.randint(longest, 115)),
                "max_continuous_flooded_days": longest,
                "method": "synthetic feed (tests)",
            }
        )
    return out

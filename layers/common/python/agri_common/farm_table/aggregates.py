"""FPO aggregates, maintained in the same transaction as the write that changes them.

Why in the transaction rather than from a DynamoDB stream: the totals can never disagree with the
records (no lag, no lost or doubled event), and nothing else has to run (the local twin's moto
does not run stream consumers). The cost: every write to an FPO also updates its ``AGG`` item,
a hot item under heavy concurrent writes (DynamoDB serialises them; a transaction cancelled by a
concurrent one is rebuilt from fresh reads and retried by :func:`~agri_common.single_table.commit`), and bulk import applies one summed
delta per batch instead of one per row. At ~1,000 writes/s per item this is far beyond what an
FPO's field staff produce; a stream-fed counter would be the next step if that ever changes.

Items (partition ``FPO#<id>``): ``AGG`` (the overview), ``AGG#VILLAGE#<village>`` and
``AGG#SEASON#<year-season>`` (the reports). Breakdowns inside an item are flat attributes
``<group>:<value>`` (e.g. ``crop_area_ha:rice``): ADD creates a missing number at 0, whereas a
nested map would have to exist first. Reading the overview is one GetItem whatever the FPO's size.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from typing import Any

from agri_common.farm_table import keys
from agri_common.single_table import Update

GROUP_SEPARATOR = ":"
COUNTERS = (
    "members",
    "plots",
    "area_ha",
    "seasons",
    "farmers_with_plots",
    "plots_with_seasons",
    "seasons_with_water_evidence",
    "evidence_files",
    "synthetic_n_kg",
)


def _clean(deltas: Mapping[str, float]) -> dict[str, float]:
    return {k: round(v, 6) if isinstance(v, float) else v for k, v in deltas.items() if v}


def fpo_totals(fpo_id: str, deltas: Mapping[str, float]) -> Update | None:
    clean = _clean(deltas)
    return Update(keys.fpo_agg(fpo_id), add=clean) if clean else None


def village_totals(fpo_id: str, village: str, deltas: Mapping[str, float]) -> Update | None:
    clean = _clean(deltas)
    return Update(keys.fpo_village_agg(fpo_id, village), add=clean, set={"village": village}) if clean else None


def season_totals(fpo_id: str, season_key: str, deltas: Mapping[str, float]) -> Update | None:
    clean = _clean(deltas)
    return Update(keys.fpo_season_agg(fpo_id, season_key), add=clean, set={"season_key": season_key}) if clean else None


def grouped(name: str, value: str) -> str:
    return f"{name}{GROUP_SEPARATOR}{value}"


def season_deltas(
    crop: str,
    water_regime: str | None,
    area_ha: float,
    synthetic_n_kg_per_ha: float,
    water_evidence: bool,
    sign: int = 1,
) -> dict[str, float]:
    """What one season record adds to the FPO and season totals (``sign=-1`` removes it)."""
    deltas: dict[str, float] = {
        "seasons": sign,
        grouped("crop_area_ha", crop): sign * area_ha,
        grouped("crop_seasons", crop): sign,
        "synthetic_n_kg": sign * synthetic_n_kg_per_ha * area_ha,
    }
    if water_regime:
        deltas[grouped("water_area_ha", water_regime)] = sign * area_ha
        deltas[grouped("water_seasons", water_regime)] = sign
    if water_evidence:
        deltas["seasons_with_water_evidence"] = sign
    return deltas


def merge(*parts: Mapping[str, float]) -> dict[str, float]:
    out: dict[str, float] = defaultdict(float)
    for part in parts:
        for k, v in part.items():
            out[k] += v
    return {k: (int(v) if float(v).is_integer() and not k.endswith(("_ha", "_kg")) else v) for k, v in out.items()}


def read_totals(item: Mapping[str, Any] | None) -> dict[str, Any]:
    """An aggregate item as ``{counter: n, group: {value: n}}``; absent counters are 0."""
    out: dict[str, Any] = {name: 0 for name in COUNTERS}
    for key, value in (item or {}).items():
        if GROUP_SEPARATOR in key:
            group, _, member = key.partition(GROUP_SEPARATOR)
            if value:
                out.setdefault(group, {})[member] = value
        elif key in COUNTERS:
            out[key] = value
    return out

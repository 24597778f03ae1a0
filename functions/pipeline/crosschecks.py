"""Automatic cross-checks: pure functions over a chunk's rows (and, for outliers, a stratum's rows).

A finding is ``{"check", "severity" (info | warning | critical), "plot_id", "season_key",
"fpo_id", "message", "value"}``: it points at the plot-season record the auditor must look at;
``fpo_id`` says whose it is (an FPO manager reads their own FPO's findings only).

- ``area_mismatch``: declared vs computed plot area (> 10 % warning, > 50 % critical);
- ``overlap``: plots that the farm data's overlap detection flagged (below its refusal threshold);
- ``activity_range`` / ``missing_activity``: activity data outside the regional plausible ranges
  (``activity_ranges.json``) or missing for a rice season; the yield against its crop's range (a
  crop without one is not range-checked), a missing yield as ``info``;
- ``regime_vs_observation``: a drainage claim (single/multiple drainage) contradicted by remote
  sensing: more than ``MAX_CONTINUOUS_FLOODED_DAYS`` continuous flooded days observed;
- ``tree_planting_unverified``: trees that earn removals (undated, or declared planted since the
  crediting start): the auditor checks planting evidence;
- ``stratum_outlier``: robust z-score (median/MAD) of net t CO2e per ha above 3.5 within a stratum.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from functools import lru_cache
from pathlib import Path
from typing import Any

AREA_WARNING, AREA_CRITICAL = 0.10, 0.50
MAX_CONTINUOUS_FLOODED_DAYS = 40  # an AWD field dries at least every ~2-3 weeks; > 40 days flooded contradicts it
DRAINAGE = frozenset({"single_drainage", "multiple_drainage"})
ROBUST_Z = 3.5


@lru_cache(maxsize=1)
def ranges() -> dict[str, Any]:
    limits: dict[str, Any] = json.loads((Path(__file__).with_name("activity_ranges.json")).read_text())
    return limits


def finding(check: str, severity: str, row: dict[str, Any], message: str, value: Any = None) -> dict[str, Any]:
    return {
        "check": check,
        "severity": severity,
        "plot_id": row["plot_id"],
        "season_key": row["season_key"],
        "fpo_id": row.get("fpo_id"),
        "message": message,
        "value": value,
    }


def area_check(row: dict[str, Any]) -> list[dict[str, Any]]:
    declared, computed = row.get("declared_area_ha"), row["area_ha"]
    if not declared or computed <= 0:
        return []
    rel = abs(declared - computed) / computed
    if rel <= AREA_WARNING:
        return []
    severity = "critical" if rel > AREA_CRITICAL else "warning"
    return [
        finding(
            "area_mismatch", severity, row, f"declared {declared:.3f} ha vs computed {computed:.3f} ha ({rel:.0%})", rel
        )
    ]


def overlap_check(row: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        finding("overlap", "warning", row, f"overlaps plot {other} by {info.get('overlap_ha', 0):.4f} ha", other)
        for other, info in sorted((row.get("overlaps") or {}).items())
    ]


def _range(row: dict[str, Any], name: str, value: float | None, limits: dict[str, Any]) -> list[dict[str, Any]]:
    if value is None:
        return []
    if value > limits.get("critical_high", float("inf")) or value < limits.get("critical_low", float("-inf")):
        return [finding("activity_range", "critical", row, f"{name} = {value} is implausible", value)]
    if value > limits["high"] or value < limits["low"]:
        return [
            finding(
                "activity_range", "warning", row, f"{name} = {value} outside {limits['low']}-{limits['high']}", value
            )
        ]
    return []


def crop_name(activity: dict[str, Any]) -> str:
    """The crop as the engine names it (seasons are stored so since the farmers API normalises
    them; older or imported items may still say "paddy")."""
    from agri_common.season_vocab import crop_key

    try:
        return crop_key(str(activity.get("crop") or ""))
    except ValueError:  # ambiguous: the engine refuses it, an invalid_activity finding says so
        return str(activity.get("crop") or "").lower()


def activity_check(row: dict[str, Any], region: str) -> list[dict[str, Any]]:
    activity = row.get("activity") or {}
    limits = ranges().get(region) or ranges()["south_asia"]
    out: list[dict[str, Any]] = []
    if crop_name(activity) == "rice":
        for name in ("cultivation_days", "water_regime"):
            if activity.get(name) in (None, ""):
                out.append(finding("missing_activity", "critical", row, f"{name} missing for a rice season"))
    out += _range(row, "synthetic_n_kg_per_ha", activity.get("synthetic_n_kg_per_ha"), limits["synthetic_n_kg_per_ha"])
    out += _range(row, "cultivation_days", activity.get("cultivation_days"), limits["cultivation_days"])
    organic = sum(a.get("t_per_ha", 0) for a in activity.get("organic_amendments") or [])
    out += _range(row, "organic_amendment_t_per_ha", organic or None, limits["organic_amendment_t_per_ha"])
    return out + yield_check(row, limits.get("yield_t_per_ha") or {}) + tree_check(row)


def tree_check(row: dict[str, Any]) -> list[dict[str, Any]]:
    """Every tree group that earns removals needs planting evidence: groups without a planting year
    (taken as planted by the project at its crediting start, calculate.engine_plot) and groups
    declared planted since then (the year is the farmer's word). Only groups declared planted
    before the crediting start, which sit in the baseline and earn nothing, need none."""
    start_year = int(str(row.get("crediting_start") or "0")[:4] or 0)
    trees = [
        t
        for t in (row.get("activity") or {}).get("trees") or []
        if t.get("planted_year") is None or t["planted_year"] >= start_year
    ]
    if not trees:
        return []
    count = sum(int(t.get("count") or 0) for t in trees)
    return [
        finding(
            "tree_planting_unverified",
            "warning",
            row,
            f"removals count {count} tree(s) as planted by the project since its crediting start: check "
            "planting evidence (dates, photos, nursery receipts)",
            count,
        )
    ]


def yield_check(row: dict[str, Any], by_crop: dict[str, Any]) -> list[dict[str, Any]]:
    """Every season carries a harvest date, so a missing yield is worth a note but not a warning: the
    farmer may not know it yet. Crops are keyed as the engine names them ("paddy" is rice)."""
    activity = row.get("activity") or {}
    value = activity.get("yield_t_per_ha")
    if value is None:
        return [finding("missing_activity", "info", row, "yield_t_per_ha not reported")]
    crop = crop_name(activity)
    return _range(row, f"yield_t_per_ha ({crop})", value, by_crop[crop]) if crop in by_crop else []


def regime_check(row: dict[str, Any], observations: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    """``observations``: source -> {"max_continuous_flooded_days", "flooded_days", ...} for this plot-season."""
    regime = (row.get("activity") or {}).get("water_regime")
    out = []
    for source, obs in sorted(observations.items()):
        days = obs.get("max_continuous_flooded_days")
        if regime in DRAINAGE and days is not None and days > MAX_CONTINUOUS_FLOODED_DAYS:
            out.append(
                finding(
                    "regime_vs_observation",
                    "critical",
                    row,
                    f"{regime} claimed but {source} observed {days} continuous flooded days "
                    f"(> {MAX_CONTINUOUS_FLOODED_DAYS})",
                    days,
                )
            )
    return out


def row_checks(
    row: dict[str, Any], region: str, observations: dict[str, dict[str, Any]] | None = None
) -> list[dict[str, Any]]:
    return area_check(row) + overlap_check(row) + activity_check(row, region) + regime_check(row, observations or {})


def stratum_outliers(rows: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """Robust z = 0.6745 (x - median) / MAD of net t CO2e per ha, per stratum (village, regime)."""
    import numpy as np

    strata: dict[tuple[Any, ...], list[dict[str, Any]]] = {}
    for row in rows:
        strata.setdefault((row.get("village", ""), row.get("water_regime") or ""), []).append(row)
    out = []
    for (village, regime), members in sorted(strata.items()):
        if len(members) < 5:
            continue
        x = np.array([m["net"] / m["area_ha"] if m["area_ha"] else 0.0 for m in members])
        med = float(np.median(x))
        mad = float(np.median(np.abs(x - med)))
        if mad == 0:
            continue
        z = 0.6745 * (x - med) / mad
        for m, zi, xi in zip(members, z, x):
            if abs(zi) > ROBUST_Z:
                out.append(
                    finding(
                        "stratum_outlier",
                        "warning",
                        m,
                        f"net {xi:.3f} t CO2e/ha vs stratum median {med:.3f} ({village}, {regime}): robust z {zi:.1f}",
                        float(zi),
                    )
                )
    return out

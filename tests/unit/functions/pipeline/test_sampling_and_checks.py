"""Sampling (size formula, allocation, reproducibility) and the cross-checks, as pure functions."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from functions.pipeline import crosschecks, sampling


def rows(n=200):
    out = []
    for i in range(n):
        out.append(
            {
                "plot_id": f"P{i:04d}",
                "season_key": "2025-kharif",
                "village": f"v{i % 3}",
                "water_regime": ("multiple_drainage", "continuously_flooded")[i % 2],
                "area_ha": 1.0 + (i % 3),
                "net": 2.0 + (i % 7) * 0.5,
                "centroid": [79.0, 10.0],
            }
        )
    return out


def test_sample_size_formula_with_finite_population_correction():
    s = sampling.sample_size(cv=0.5, n_population=1000, confidence=0.9, precision=0.1)
    assert s["z"] == pytest.approx(1.6448536, rel=1e-6)
    assert s["n0"] == pytest.approx((1.6448536 * 0.5 / 0.1) ** 2, rel=1e-6)
    assert s["n_fpc"] == pytest.approx(s["n0"] / (1 + (s["n0"] - 1) / 1000))
    assert s["n"] == 64


def test_sample_is_reproducible_from_the_seed_and_changes_with_it():
    a = sampling.draw_sample(rows(), seed=42, confidence=0.9, precision=0.1)
    b = sampling.draw_sample(list(reversed(rows())), seed=42, confidence=0.9, precision=0.1)
    c = sampling.draw_sample(rows(), seed=43, confidence=0.9, precision=0.1)
    assert a["plots"] == b["plots"]  # input order does not matter
    assert a["plots"] != c["plots"]


def test_allocation_is_proportional_to_area_with_one_per_stratum():
    data = rows(300) + [
        {
            "plot_id": "TINY",
            "season_key": "2025-kharif",
            "village": "remote",
            "water_regime": "upland",
            "area_ha": 0.1,
            "net": 1.0,
        }
    ]
    s = sampling.draw_sample(data, seed=1, confidence=0.9, precision=0.1)
    by = {(x["village"], x["water_regime"]): x for x in s["strata"]}
    assert by[("remote", "upland")]["allocated"] == 1
    total_area = sum(r["area_ha"] for r in data)
    for key, stratum in by.items():
        if key != ("remote", "upland"):
            assert stratum["allocated"] == max(1, round(s["size"]["n"] * stratum["area_ha"] / total_area))
    assert len(s["plots"]) == sum(x["allocated"] for x in s["strata"])


def test_auditor_can_recompute_with_the_cli(tmp_path):
    path = tmp_path / "rows.jsonl"
    path.write_text("\n".join(json.dumps(r) for r in rows()))
    out = subprocess.run(
        [sys.executable, "-m", "functions.pipeline.sampling", "--rows", str(path), "--seed", "42"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert json.loads(out)["plots"] == sampling.draw_sample(rows(), 42, 0.9, 0.1)["plots"]


def row(**kw):
    base = {
        "plot_id": "P1",
        "season_key": "2025-kharif",
        "area_ha": 1.0,
        "declared_area_ha": 1.0,
        "overlaps": {},
        "activity": {
            "crop": "rice",
            "cultivation_days": 110,
            "water_regime": "multiple_drainage",
            "synthetic_n_kg_per_ha": 100,
            "yield_t_per_ha": 4.5,
        },
    }
    base.update(kw)
    return base


def test_area_overlap_and_range_findings_point_at_the_record():
    assert crosschecks.row_checks(row(), "south_asia") == []
    (area,) = crosschecks.row_checks(row(declared_area_ha=1.6), "south_asia")
    assert (area["check"], area["severity"], area["plot_id"]) == ("area_mismatch", "critical", "P1")
    assert crosschecks.row_checks(row(declared_area_ha=1.2), "south_asia")[0]["severity"] == "warning"
    (ov,) = crosschecks.row_checks(row(overlaps={"P9": {"overlap_ha": 0.01}}), "south_asia")
    assert ov["check"] == "overlap" and ov["value"] == "P9"
    activity = {
        "crop": "rice",
        "cultivation_days": 20,
        "water_regime": None,
        "synthetic_n_kg_per_ha": 300,
        "yield_t_per_ha": 4.5,
    }
    checks = {(f["check"], f["severity"]) for f in crosschecks.row_checks(row(activity=activity), "south_asia")}
    assert checks == {("missing_activity", "critical"), ("activity_range", "critical"), ("activity_range", "warning")}


def yield_findings(crop, value):
    activity = {**row()["activity"], "crop": crop, "yield_t_per_ha": value}
    if crop != "rice":
        activity.update(water_regime=None, cultivation_days=None)
    return [
        (f["check"], f["severity"], f["value"])
        for f in crosschecks.row_checks(row(activity=activity), "south_asia")
        if "yield" in f["message"]
    ]


def test_yield_is_checked_against_its_crops_regional_range():
    rice = crosschecks.ranges()["south_asia"]["yield_t_per_ha"]["rice"]
    assert yield_findings("rice", (rice["low"] + rice["high"]) / 2) == []
    assert yield_findings("rice", rice["high"] + 0.5) == [("activity_range", "warning", rice["high"] + 0.5)]
    assert yield_findings("rice", rice["low"] - 0.1) == [("activity_range", "warning", rice["low"] - 0.1)]
    assert yield_findings("rice", rice["critical_high"] + 1) == [
        ("activity_range", "critical", rice["critical_high"] + 1)
    ]
    assert yield_findings("rice", 0) == [("activity_range", "critical", 0)]  # a reported crop failure is looked at
    wheat = crosschecks.ranges()["south_asia"]["yield_t_per_ha"]["wheat"]
    assert yield_findings("wheat", wheat["high"] + 0.5)[0][1] == "warning"  # wheat's own range, not rice's
    assert yield_findings("wheat", rice["high"] - 0.1) != []
    assert yield_findings("paddy", rice["critical_high"] + 1)[0][1] == "critical"  # the engine's synonym for rice
    assert yield_findings("mustard", 50) == []  # no range for the crop: not checked


def test_a_missing_yield_is_an_info_finding():
    activity = {k: v for k, v in row()["activity"].items() if k != "yield_t_per_ha"}
    (f,) = crosschecks.row_checks(row(activity=activity), "south_asia")
    assert (f["check"], f["severity"], f["plot_id"], f["season_key"]) == (
        "missing_activity",
        "info",
        "P1",
        "2025-kharif",
    )
    assert "yield_t_per_ha" in f["message"]


def test_paddy_is_rice_for_the_missing_data_checks():
    activity = {"crop": "Paddy", "cultivation_days": None, "water_regime": "", "yield_t_per_ha": 4.5}
    missing = [
        f["message"]
        for f in crosschecks.row_checks(row(activity=activity), "south_asia")
        if f["check"] == "missing_activity"
    ]
    assert missing == ["cultivation_days missing for a rice season", "water_regime missing for a rice season"]


def test_every_plot_with_trees_asks_for_planting_evidence():
    trees = [{"species": "teak", "count": 12}, {"species": "neem", "count": 3}]
    (f,) = [f for f in crosschecks.row_checks(row(activity={**row()["activity"], "trees": trees}), "south_asia")]
    assert (f["check"], f["severity"], f["plot_id"], f["value"]) == ("tree_planting_unverified", "warning", "P1", 15)
    assert crosschecks.row_checks(row(activity={**row()["activity"], "trees": []}), "south_asia") == []
    # a declared year is the farmer's word: every group that earns removals needs evidence; only groups
    # declared planted before the crediting start (in the baseline too, earning nothing) need none
    dated = [
        {"species": "teak", "count": 12, "planted_year": 2024},
        {"species": "neem", "count": 3},
        {"species": "mango", "count": 40, "planted_year": 2010},
    ]
    (f,) = crosschecks.row_checks(
        row(activity={**row()["activity"], "trees": dated}, crediting_start="2024-06-01"), "south_asia"
    )
    assert (f["check"], f["value"]) == ("tree_planting_unverified", 15)


def test_drainage_claim_against_observed_flooding():
    obs = {"synthetic": {"max_continuous_flooded_days": 60}}
    (f,) = crosschecks.row_checks(row(), "south_asia", obs)
    assert (f["check"], f["severity"]) == ("regime_vs_observation", "critical")
    assert crosschecks.row_checks(row(), "south_asia", {"synthetic": {"max_continuous_flooded_days": 12}}) == []
    flooded = row(
        activity={
            "crop": "rice",
            "cultivation_days": 110,
            "water_regime": "continuously_flooded",
            "yield_t_per_ha": 5.0,
        }
    )
    assert crosschecks.row_checks(flooded, "south_asia", obs) == []


def test_stratum_outliers_use_median_and_mad():
    data = [
        {
            "plot_id": f"P{i}",
            "season_key": "s",
            "village": "v",
            "water_regime": "w",
            "area_ha": 1.0,
            "net": 1.0 + 0.01 * i,
        }
        for i in range(20)
    ]
    data.append({"plot_id": "BIG", "season_key": "s", "village": "v", "water_regime": "w", "area_ha": 1.0, "net": 9.0})
    out = crosschecks.stratum_outliers(data)
    assert [f["plot_id"] for f in out] == ["BIG"]


def test_sampled_plots_strata_and_findings_name_their_fpo():
    """So the verification routes can show an FPO manager their own FPO's rows only (D2)."""
    data = [{**r, "fpo_id": ("FPO-1", "FPO-2")[i % 2], "farmer_id": f"F{i}"} for i, r in enumerate(rows(120))]
    s = sampling.draw_sample(data, seed=7, confidence=0.9, precision=0.1)
    fpo_of = {r["plot_id"]: r["fpo_id"] for r in data}
    assert s["plots"] and all(p["fpo_id"] == fpo_of[p["plot_id"]] for p in s["plots"])
    for stratum in s["strata"]:
        members = {
            r["fpo_id"]
            for r in data
            if (r["village"], r["water_regime"]) == (stratum["village"], stratum["water_regime"])
        }
        assert stratum["fpo_ids"] == sorted(members)
    without = sampling.draw_sample(rows(120), seed=7, confidence=0.9, precision=0.1)
    assert [p["plot_id"] for p in without["plots"]] == [p["plot_id"] for p in s["plots"]]  # the draw is unchanged
    flagged = crosschecks.area_check(
        {"plot_id": "P1", "season_key": "2025-kharif", "fpo_id": "FPO-2", "area_ha": 1.0, "declared_area_ha": 3.0}
    )
    assert flagged and flagged[0]["fpo_id"] == "FPO-2"
    outliers = crosschecks.stratum_outliers(
        [
            {**r, "net": 100.0 if i == 0 else 2.0 + (i // 6 % 3) * 0.1}
            for i, r in enumerate(data)
            if r["village"] == "v0" and r["water_regime"] == "multiple_drainage"
        ]
    )
    assert outliers and all(o["fpo_id"] == fpo_of[o["plot_id"]] for o in outliers)

"""The season's yield through a calculate step: the cross-checks see it, the carbon engine (whose
season model forbids unknown fields) does not."""

from __future__ import annotations

from functions.pipeline import calculate, core, plan
from functions.pipeline.sources import PlotSeason
from tests.unit.fakes.mrv import pipeline_context

PID, RID = "prj_00000001", "prj_00000001_2025_kharif"
RUN = {"project_id": PID, "run_id": RID, "attempt": 1, "period": "2025-kharif", "generation": 1}
RICE = {
    "crop": "rice",
    "cultivation_days": 110,
    "preseason_water": "non_flooded_lt_180",
    "water_regime": "multiple_drainage",
    "synthetic_n_kg_per_ha": 100,
}


class Source:
    def __init__(self, yields):
        self.seasons = {
            f"F{i}": [
                PlotSeason(
                    plot_id=f"P{i}",
                    season_key="2025-kharif",
                    farmer_id=f"F{i}",
                    fpo_id="FPO-1",
                    owner_user_id=None,
                    village="v",
                    area_ha=1.0,
                    declared_area_ha=None,
                    centroid=[79.0, 10.0],
                    activity={**RICE, **extra},
                )
            ]
            for i, extra in enumerate(yields)
        }

    def plan_units(self, fpo_ids):
        return sorted(self.seasons)

    def load(self, units, period):
        return [s for u in units for s in self.seasons[u]]


def test_yield_reaches_the_crosschecks_and_not_the_engine():
    ctx = pipeline_context(PID, RID, draws=50)
    objects = ctx.objects

    source = Source([{"yield_t_per_ha": 4.5}, {"yield_t_per_ha": 25.0}, {}])
    planned = plan.plan(RUN, ctx, source, chunk_units=10)
    assert planned["chunks"] == [0]
    calculate.calculate({**RUN, "index": 0}, ctx, source)
    findings = ctx.get_json(core.chunk_key(core.RunInput(**RUN), 0, "findings.json"))
    assert sorted((f["plot_id"], f["check"], f["severity"]) for f in findings) == [
        ("P1", "activity_range", "critical"),
        ("P2", "missing_activity", "info"),
    ]
    rows = objects.get(core.chunk_key(core.RunInput(**RUN), 0, "rows.jsonl")).decode().splitlines()
    assert len(rows) == 3  # all three seasons were computed: the yield did not make the engine refuse them

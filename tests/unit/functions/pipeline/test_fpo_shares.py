"""The aggregate step's per-FPO items (the FPO dashboard's carbon section): sums per FPO that add
up to the run's totals, the creditable net split on the ledger's basis, idempotent on retry."""

from __future__ import annotations

import pytest

from agri_common import pipeline_table
from agri_common.single_table import WriteConflict
from functions.pipeline import aggregate, core
from tests.unit.fakes.mrv import pipeline_context
from tests.unit.functions.pipeline.test_steps import PID, RID, RUN, Source, run_calc

FPOS = ["FPO-1", "FPO-2", "FPO-3"]  # FPO-3 is in the project but has no plot-season in the period


@pytest.fixture
def ctx():
    return pipeline_context(PID, RID, fpo_ids=FPOS)


def two_fpo_source() -> Source:
    """F000-F004 in FPO-1 (alternate wetting and drying on one plot each: a reduction); F005-F009 in
    FPO-2, continuously flooded as the baseline (net zero)."""
    source = Source()
    for fid, seasons in source.seasons.items():
        if fid >= "F005":
            for ps in seasons:
                ps.fpo_id = "FPO-2"
                ps.activity["water_regime"] = "continuously_flooded"
    return source


def fpo_items(ctx) -> dict[str, dict]:
    return {fpo_id: item for fpo_id in FPOS for item in ctx.store.query(f"FPO#{fpo_id}", prefix="RUN#")[0]}


def aggregated(ctx):
    planned, _ = run_calc(ctx, two_fpo_source())
    aggregate.aggregate({**RUN, "plan": planned}, ctx)
    return planned


def test_each_fpo_gets_its_sums_and_they_add_up_to_the_run(ctx):
    aggregated(ctx)
    total = ctx.get_json(core.summary_key(core.RunInput(**RUN)))["total"]
    items = fpo_items(ctx)
    assert set(items) == set(FPOS)
    assert items["FPO-1"]["sk"] == f"RUN#2025-kharif#{RID}" and items["FPO-1"]["project_id"] == PID
    assert [items[f]["plot_seasons"] for f in FPOS] == [10, 10, 0] and [items[f]["farmers"] for f in FPOS] == [5, 5, 0]
    for field, engine in aggregate.FPO_SUMS.items():
        assert sum(items[f][field] for f in FPOS) == pytest.approx(total[engine]["point"], abs=1e-5), field
    assert sum(items[f]["area_ha"] for f in FPOS) == pytest.approx(
        sum(ps.area_ha for seasons in Source().seasons.values() for ps in seasons), abs=1e-5
    )
    assert items["FPO-1"]["net_t"] > 0 and items["FPO-2"]["net_t"] == pytest.approx(0, abs=1e-9)
    assert items["FPO-2"]["emissions_project_t"] > 0  # its emissions count, its net is nil
    # the creditable net goes where the ledger puts the credits: FPO-2's farmers contribute nothing
    assert total["creditable_net"] > 1
    assert items["FPO-1"]["creditable_net_share_t"] == pytest.approx(total["creditable_net"], abs=1e-5)
    assert items["FPO-2"]["creditable_net_share_t"] == 0 and items["FPO-3"]["net_t"] == 0


def test_the_share_is_pro_rata_to_the_farmers_contributions(ctx):
    source = Source()  # every farmer contributes; split F000-F002 / the rest
    for fid in ("F000", "F001", "F002"):
        for ps in source.seasons[fid]:
            ps.fpo_id = "FPO-2"
    planned, _ = run_calc(ctx, source)
    aggregate.aggregate({**RUN, "plan": planned}, ctx)
    run = core.RunInput(**RUN)
    creditable = ctx.get_json(core.summary_key(run))["total"]["creditable_net"]
    nets = {c["farmer_id"]: c["net_t"] for c in ctx.get_json(core.contributions_key(run))}
    items = fpo_items(ctx)
    fpo2 = sum(nets[f] for f in ("F000", "F001", "F002")) / sum(nets.values())
    assert 0 < fpo2 < 1
    assert items["FPO-2"]["creditable_net_share_t"] == pytest.approx(creditable * fpo2, abs=1e-5)
    assert items["FPO-1"]["creditable_net_share_t"] + items["FPO-2"]["creditable_net_share_t"] == pytest.approx(
        creditable, abs=1e-5
    )


def test_a_retry_overwrites_the_same_items(ctx):
    planned = aggregated(ctx)
    first = fpo_items(ctx)
    count = len(ctx.store.items)
    aggregate.aggregate({**RUN, "plan": planned}, ctx)
    assert fpo_items(ctx) == first and len(ctx.store.items) == count


def test_a_late_retry_of_an_old_attempt_leaves_the_newer_figures(ctx):
    planned = aggregated(ctx)
    ctx.store.items[pipeline_table.run(PID, RID)]["attempt"] = 2  # restarted meanwhile
    newer = {**fpo_items(ctx)["FPO-1"], "net_t": 123.0}
    ctx.store.items[pipeline_table.fpo_run("FPO-1", "2025-kharif", RID)] = newer
    with pytest.raises(WriteConflict):
        aggregate.aggregate({**RUN, "plan": planned}, ctx)
    assert fpo_items(ctx)["FPO-1"]["net_t"] == 123.0

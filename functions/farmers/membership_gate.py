"""The gate on every write of a farmer's data, and what an approved farmer adds to the FPO's totals
(docs/decisions/0007-fpo-membership-consent.md; how the two keep the aggregates exact: the
``membership`` module's doc). Re-exported by ``functions.farmers.membership``."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from agri_common.farm_table import aggregates as agg
from agri_common.farm_table import keys
from agri_common.farm_table.records import (
    EvidenceRecord,
    FarmerRecord,
    PlotRecord,
    SeasonRecord,
)
from agri_common.platform.errors import ConflictError
from agri_common.single_table import Op, Put, Txn, Update
from functions.farmers.context import FarmContext


# ---- the gate on every write of a farmer's data --------------------------------------------------
def _is_aggregate(op: Op) -> bool:
    return keys.is_fpo_aggregate((op.item["pk"], op.item["sk"]) if isinstance(op, Put) else op.key)


def _guard_member(txn: Txn, farmer: FarmerRecord) -> Txn:
    """A member's write keeps its aggregate operations and bumps ``member_writes`` on the farmer,
    expecting ``member_epoch`` unchanged: if the member is removed meanwhile, the write is rebuilt
    (and then not counted); a removal built before the write sees ``member_writes`` move and is
    rebuilt with the write in the contribution it takes out."""
    guard = {"member_epoch": farmer.member_epoch}
    for index, op in enumerate(txn.ops):
        if isinstance(op, Update) and op.key == farmer.key():
            txn.ops[index] = replace(op, add={**op.add, "member_writes": 1}, expect={**op.expect, **guard})
            txn.races.add(index)
            return txn
    return txn.add(Update(farmer.key(), add={"member_writes": 1}, expect=guard, if_exists=True), race=True)


def gate(txn: Txn, farmer: FarmerRecord) -> Txn:
    """A member's write is counted (:func:`_guard_member`). A non-member's write loses its
    aggregate operations and bumps ``pending_writes`` on the farmer, expecting the status it was
    built on (a race guard: if the farmer is approved meanwhile, the write is rebuilt and counted)."""
    if farmer.counted:
        return _guard_member(txn, farmer)
    ops: list[Op] = []
    races: set[int] = set()
    errors: dict[int, Any] = {}
    merged = False
    for index, op in enumerate(txn.ops):
        if _is_aggregate(op):
            continue
        if isinstance(op, Update) and op.key == farmer.key():
            op = replace(op, add={**op.add, "pending_writes": 1}, expect={**op.expect, "membership": farmer.membership})
            merged = True
            races.add(len(ops))
        if index in txn.races:
            races.add(len(ops))
        if index in txn.errors:
            errors[len(ops)] = txn.errors[index]
        ops.append(op)
    if not merged:
        races.add(len(ops))
        ops.append(
            Update(farmer.key(), add={"pending_writes": 1}, expect={"membership": farmer.membership}, if_exists=True)
        )
    txn.ops, txn.races, txn.errors = ops, races, errors
    return txn


# ---- what an approved farmer adds to the FPO's totals -------------------------------------------
def _season_deltas(season: SeasonRecord) -> dict[str, float]:
    a = season.activity
    return agg.season_deltas(
        a["crop"],
        a.get("water_regime"),
        season.area_ha,
        a.get("synthetic_n_kg_per_ha", 0),
        a.get("water_regime_evidence") is not None,
    )


def farmer_plots(ctx: FarmContext, farmer: FarmerRecord) -> list[dict[str, Any]]:
    """Every plot item of ``farmer`` (all pages of the farmer's index), checked against the farmer
    record's ``plot_count``, which ``farmer`` was read with consistently. The index is eventually
    consistent on DynamoDB (moto is not), so a plot written a moment ago can be missing from it; an
    approval or removal counted without it would leave that plot out of the totals for good (the
    write counters cannot see it: the plot's write already moved them). A short read is a 409 to
    retry, never a silent undercount."""
    items: list[dict[str, Any]] = []
    start = None
    while True:
        page, start = ctx.store.query(keys.farmer_plots_index(farmer.farmer_id), index=True, start=start)
        items += page
        if not start:
            break
    if len(items) != farmer.plot_count:
        raise ConflictError(
            "The farmer's newest plots are still being indexed; try again in a moment", code="index_lagging"
        )
    return items


def contribution(ctx: FarmContext, farmer: FarmerRecord, sign: int = 1) -> list[Update]:
    """The aggregate updates that count ``farmer`` and all their data, exactly as the writes
    would have moved them had the farmer been a member all along (one Query for the plots, one per
    plot for its seasons and evidence). ``sign=-1`` takes them out (the migration)."""
    plots = farmer_plots(ctx, farmer)
    fpo: list[dict[str, float]] = [{"members": 1}]
    village: dict[str, float] = {"members": 1, "plots": 0, "area_ha": 0.0, "seasons": 0}
    by_season: dict[str, list[dict[str, float]]] = {}
    for raw in plots:
        plot = PlotRecord.from_item(raw)
        items, _ = ctx.store.query(keys.plot_partition(plot.plot_id))
        seasons = [SeasonRecord.from_item(i) for i in items if i["sk"].startswith(keys.SEASON_PREFIX)]
        stored = [
            i
            for i in items
            if i["sk"].startswith(keys.EVIDENCE_PREFIX) and EvidenceRecord.from_item(i).status == "stored"
        ]
        fpo.append(
            {
                "plots": 1,
                "area_ha": plot.area_ha,
                "plots_with_seasons": 1 if seasons else 0,
                "evidence_files": len(stored),
            }
        )
        village["plots"] += 1
        village["area_ha"] += plot.area_ha
        village["seasons"] += len(seasons)
        for season in seasons:
            deltas = _season_deltas(season)
            fpo.append(deltas)
            by_season.setdefault(season.season_key, []).append(deltas)
    if plots:
        fpo.append({"farmers_with_plots": 1})

    def signed(deltas: dict[str, float]) -> dict[str, float]:
        return {k: sign * v for k, v in deltas.items()}

    ops = [
        agg.fpo_totals(farmer.fpo_id, signed(agg.merge(*fpo))),
        agg.village_totals(farmer.fpo_id, farmer.village, signed(village)),
    ]
    ops += [
        agg.season_totals(farmer.fpo_id, key, signed(agg.merge(*parts))) for key, parts in sorted(by_season.items())
    ]
    return [op for op in ops if op is not None]

"""Plots: geometry checks, overlap detection without a Scan, optimistic concurrency.

Overlap: a plot is indexed under the geohash cells its bounding box touches (``GEO#<cell>`` /
``PLOT#<id>``, with the bbox). Candidates are the plots of the new plot's cells whose bbox meets
its bbox; the exact overlap is the geodesic area of the shapely intersection. Above the policy
(5 % of the smaller plot, or 0.05 ha) the plot is refused with 409, naming only the plots the
caller may see; below it, both plots are flagged. Each cell's ``LOCK`` item is version-checked in
the write's transaction, so two overlapping plots written at the same time cannot both pass.
"""

from __future__ import annotations

import json
from typing import Any

from agri_common.errors import ConflictError
from agri_common.farm import aggregates as agg
from agri_common.farm import keys
from agri_common.farm.records import FarmerRecord, PlotRecord
from agri_common.farm.store import MAX_TRANSACTION_OPS, Delete, Put, Txn, Update, commit
from agri_common.principal import Owned, Principal, Role, can_access, ensure_can_access, require_role

from functions.farmers import geometry, membership
from functions.farmers import models as m
from functions.farmers.context import FarmContext, Receipt, VersionConflict, field_error, new_id
from functions.farmers.logic import FarmerService

AREA_MISMATCH = 0.10  # flag a declared area more than 10 % off the computed one


def mismatch(declared: float | None, computed: float) -> bool:
    return declared is not None and abs(declared - computed) > AREA_MISMATCH * computed


def plot_out(caller: Principal, record: PlotRecord, seasons: list[m.SeasonOut] = (),
             evidence: list[m.EvidenceOut] = ()) -> m.PlotOut:
    overlaps = [m.OverlapOut(plot_id=pid if can_access(caller, Owned(owner_user_id=info.get("owner_user_id"),
                                                                      fpo_id=info.get("fpo_id"))) else None,
                             overlap_ha=info["overlap_ha"])
                for pid, info in sorted(record.overlaps.items())]
    return m.PlotOut(plot_id=record.plot_id, farmer_id=record.farmer_id, fpo_id=record.fpo_id, name=record.name,
                     external_id=record.external_id, geometry=record.geometry, area_ha=record.area_ha,
                     declared_area_ha=record.declared_area_ha, area_mismatch=record.area_mismatch,
                     centroid=record.centroid, geohash=record.geohash, overlaps=overlaps, version=record.version,
                     seasons=list(seasons), evidence=list(evidence), created_at=record.created_at,
                     updated_at=record.updated_at)


class OverlapRefused(ConflictError):
    code = "plot_overlap"


class PlotService:
    def __init__(self, ctx: FarmContext):
        self.ctx = ctx
        self.farmers = FarmerService(ctx)

    def load(self, plot_id: str) -> PlotRecord | None:
        return PlotRecord.from_item(self.ctx.store.get(keys.plot(plot_id)))

    def get_record(self, caller: Principal, plot_id: str) -> PlotRecord:
        record = self.load(plot_id)
        ensure_can_access(caller, record.owned() if record else None, what="plot")
        return record  # type: ignore[return-value]

    def get(self, caller: Principal, plot_id: str) -> m.PlotOut:
        """The plot with its seasons and evidence: one Query of the plot's partition."""
        from functions.farmers.logic_seasons import season_out
        from functions.farmers.logic_uploads import evidence_out

        items, _ = self.ctx.store.query(keys.plot_partition(plot_id))
        by_kind: dict[str, list[dict]] = {}
        for item in items:
            by_kind.setdefault(item.get("kind", ""), []).append(item)
        meta = by_kind.get("plot", [None])[0]
        record = PlotRecord.from_item(meta)
        ensure_can_access(caller, record.owned() if record else None, what="plot")
        from agri_common.farm.records import EvidenceRecord, SeasonRecord

        return plot_out(caller, record, [season_out(SeasonRecord.from_item(i)) for i in by_kind.get("season", [])],
                        [evidence_out(EvidenceRecord.from_item(i)) for i in by_kind.get("evidence", [])])

    def list_for_farmer(self, caller: Principal, farmer_id: str) -> m.PlotList:
        self.farmers.get(caller, farmer_id)
        items, _ = self.ctx.store.query(keys.farmer_plots_index(farmer_id), index=True)
        return m.PlotList(items=[m.PlotSummary(plot_id=i["plot_id"], name=i.get("name"), area_ha=i["area_ha"],
                                               centroid=i["centroid"], season_count=i.get("season_count", 0),
                                               version=i["version"]) for i in items])

    # ---- overlap ----------------------------------------------------------------------------------
    def _overlaps(self, shape: geometry.PlotShape, exclude: str | None) -> tuple[list[tuple[dict, float]], dict[str, int]]:
        """(overlapping plots with their overlap in ha, the version of each cell's lock)."""
        locks: dict[str, int] = {}
        candidates: dict[str, dict] = {}
        for cell in shape.cells:
            items, _ = self.ctx.store.query(keys.geo_cell(cell))
            locks[cell] = 0
            for item in items:
                if item["sk"] == keys.GEO_LOCK:
                    locks[cell] = item.get("version", 0)
                elif item["plot_id"] != exclude and geometry.bboxes_intersect(shape.bbox, tuple(item["bbox"])):
                    candidates[item["plot_id"]] = item
        found = []
        if candidates:
            for plot in self.ctx.store.batch_get([keys.plot(pid) for pid in candidates]):
                other = geometry.shape_of(json.loads(plot["geometry_json"]))
                area = geometry.overlap_ha(shape.shape, other)
                if area > 0:
                    found.append((plot, area))
        return found, locks

    def _refuse_or_flag(self, caller: Principal, shape: geometry.PlotShape, found: list[tuple[dict, float]]) -> None:
        policy = self.ctx.overlap
        refused = [(plot, area) for plot, area in found
                   if area > policy.max_ha or area > policy.max_fraction_of_smaller * min(shape.area_ha, plot["area_ha"])]
        if refused:
            visible = sorted(p["plot_id"] for p, _ in refused
                             if can_access(caller, Owned(owner_user_id=p.get("owner_user_id"), fpo_id=p.get("fpo_id"))))
            raise OverlapRefused(
                f"The plot overlaps {len(refused)} existing plot(s) beyond the allowed "
                f"{policy.max_ha} ha / {policy.max_fraction_of_smaller:.0%} of the smaller plot",
                details=[{"field": "body.geometry", "issue": "overlaps existing plots", "type": "plot_overlap",
                          "overlapping_plot_ids": visible, "hidden_overlapping_plots": len(refused) - len(visible),
                          "overlap_ha": [round(a, 4) for _, a in refused]}])

    def _cell_ops(self, txn: Txn, record: PlotRecord, shape: geometry.PlotShape, locks: dict[str, int],
                  old_cells: tuple[str, ...] = ()) -> None:
        for cell in shape.cells:
            txn.add(Update(keys.geo_lock(cell), add={"version": 1}, expect={"version": locks[cell]}), race=True)
            if cell not in old_cells:
                pk, sk = keys.geo_member(cell, record.plot_id)
                txn.add(Put({"pk": pk, "sk": sk, "kind": "geo", "plot_id": record.plot_id, "bbox": list(shape.bbox),
                             "fpo_id": record.fpo_id, "owner_user_id": record.owner_user_id}))
        for cell in old_cells:
            if cell not in shape.cells:
                txn.add(Delete(keys.geo_member(cell, record.plot_id)))

    @staticmethod
    def _flags(record: PlotRecord, found: list[tuple[dict, float]], previous: dict[str, Any]) -> tuple[dict, list[Update]]:
        """The plot's own overlap flags, and the updates that flag (or unflag) the other plots."""
        flags, ops = {}, []
        for plot, area in found:
            flags[plot["plot_id"]] = {"overlap_ha": area, "fpo_id": plot["fpo_id"], "owner_user_id": plot.get("owner_user_id")}
            ops.append(Update(keys.plot(plot["plot_id"]), set={f"overlaps.{record.plot_id}": {
                "overlap_ha": area, "fpo_id": record.fpo_id, "owner_user_id": record.owner_user_id}}, if_exists=True))
        for stale in sorted(set(previous) - set(flags)):
            ops.append(Update(keys.plot(stale), remove=(f"overlaps.{record.plot_id}",), if_exists=True))
        return flags, ops

    @staticmethod
    def _check_size(txn: Txn) -> None:
        if len(txn.ops) > MAX_TRANSACTION_OPS:
            raise field_error("body.geometry", "The plot touches too many cells and neighbouring plots to be written "
                              "atomically; split it into smaller plots", "plot_too_spread")

    # ---- create -----------------------------------------------------------------------------------
    def create(self, caller: Principal, farmer_id: str, feature: m.PlotFeature, *, plot_id: str | None = None,
               receipt: Receipt | None = None) -> PlotRecord:
        require_role(caller, Role.FARMER, Role.FPO_MANAGER, Role.ADMIN)
        shape = geometry.parse_plot(feature.geometry.model_dump())
        plot_id = plot_id or new_id("P")
        props = feature.properties

        def build():
            farmer: FarmerRecord = self.farmers.get(caller, farmer_id)
            found, locks = self._overlaps(shape, exclude=plot_id)
            self._refuse_or_flag(caller, shape, found)
            now = self.ctx.clock()
            record = PlotRecord(
                plot_id=plot_id, farmer_id=farmer.farmer_id, fpo_id=farmer.fpo_id, owner_user_id=farmer.owner_user_id,
                name=props.name, geometry_json=json.dumps(shape.geometry, separators=(",", ":")),
                area_ha=shape.area_ha, declared_area_ha=props.declared_area_ha,
                area_mismatch=mismatch(props.declared_area_ha, shape.area_ha), centroid=list(shape.centroid),
                geohash=shape.geohash, cells=list(shape.cells), external_id=props.external_id, created_at=now)
            record.overlaps, flag_ops = self._flags(record, found, {})
            txn = Txn()
            txn.add(Put(record.to_item(), if_absent=True),
                    on_fail=ConflictError(f"Plot {plot_id} already exists", code="plot_exists"))
            for op in flag_ops:
                txn.add(op)
            self._cell_ops(txn, record, shape, locks)
            txn.add(Update(farmer.key(), add={"plot_count": 1, "area_ha": shape.area_ha},
                           expect={"version": farmer.version, "plot_count": farmer.plot_count}), race=True)
            first = 1 if farmer.plot_count == 0 else 0
            txn.add(agg.fpo_totals(farmer.fpo_id, {"plots": 1, "area_ha": shape.area_ha, "farmers_with_plots": first}))
            txn.add(agg.village_totals(farmer.fpo_id, farmer.village, {"plots": 1, "area_ha": shape.area_ha}))
            self.ctx.with_receipt(txn, receipt, "plot", plot_id, record.version, now)
            membership.gate(txn, farmer)  # a non-member's plot moves no FPO totals (counted on approval)
            self._check_size(txn)
            return txn, record

        return commit(self.ctx.store, build)

    # ---- replace ------------------------------------------------------------------------------------
    def replace(self, caller: Principal, plot_id: str, feature: m.PlotFeature, version: int, *,
                receipt: Receipt | None = None) -> PlotRecord:
        require_role(caller, Role.FARMER, Role.FPO_MANAGER, Role.ADMIN)
        shape = geometry.parse_plot(feature.geometry.model_dump())
        props = feature.properties

        def build():
            current = self.get_record(caller, plot_id)
            if current.version != version:
                raise VersionConflict("plot", plot_out(caller, current).model_dump(mode="json"))
            farmer = self.farmers.load(current.farmer_id)
            found, locks = self._overlaps(shape, exclude=plot_id)
            self._refuse_or_flag(caller, shape, found)
            now = self.ctx.clock()
            flags, flag_ops = self._flags(current, found, current.overlaps)
            changes = {"name": props.name, "geometry_json": json.dumps(shape.geometry, separators=(",", ":")),
                       "area_ha": shape.area_ha, "declared_area_ha": props.declared_area_ha,
                       "area_mismatch": mismatch(props.declared_area_ha, shape.area_ha),
                       "centroid": list(shape.centroid), "geohash": shape.geohash, "cells": list(shape.cells),
                       "overlaps": flags, "updated_at": now}
            if props.external_id:
                changes["external_id"] = props.external_id
            updated = current.model_copy(update={**changes, "version": current.version + 1})
            sets = {k: v for k, v in changes.items() if v is not None}
            removes = tuple(k for k, v in changes.items() if v is None)
            txn = Txn()
            txn.add(Update(current.key(), set=sets, remove=removes, add={"version": 1}, expect={"version": current.version}),
                    on_fail=lambda: VersionConflict("plot", plot_out(caller, self.load(plot_id)).model_dump(mode="json")))
            for op in flag_ops:
                txn.add(op)
            self._cell_ops(txn, updated, shape, locks, old_cells=tuple(current.cells))
            delta = round(shape.area_ha - current.area_ha, 4)
            if delta:
                txn.add(Update(farmer.key(), add={"area_ha": delta}, expect={"version": farmer.version}), race=True)
                txn.add(agg.fpo_totals(current.fpo_id, {"area_ha": delta}))
                txn.add(agg.village_totals(current.fpo_id, farmer.village, {"area_ha": delta}))
            self.ctx.with_receipt(txn, receipt, "plot", plot_id, updated.version, now)
            membership.gate(txn, farmer)
            self._check_size(txn)
            return txn, updated

        return commit(self.ctx.store, build)

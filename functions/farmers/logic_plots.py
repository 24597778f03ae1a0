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
from collections.abc import Sequence
from typing import Any

from agri_common.farm_table import aggregates as agg
from agri_common.farm_table import keys
from agri_common.farm_table.records import FarmerRecord, GeoMember, PlotRecord
from agri_common.platform.errors import ConflictError, Detail
from agri_common.platform.principal import Owned, Principal, Role, can_access, ensure_can_access, require_role
from agri_common.single_table import MAX_TRANSACTION_OPS, Delete, Put, Txn, Update, commit
from functions.farmers import geometry, membership
from functions.farmers import models as m
from functions.farmers.context import FarmContext, Receipt, VersionConflict, field_error, new_id, not_found
from functions.farmers.logic import FarmerService

AREA_MISMATCH = 0.10  # flag a declared area more than 10 % off the computed one


class PlotOverlapDetail(Detail):
    """A new or moved outline's overlaps (the caller sees the ids of plots it may read only)."""

    overlapping_plot_ids: list[str]
    hidden_overlapping_plots: int
    overlap_ha: list[float]


class MemberOverlapDetail(Detail):
    """One of an applicant's plots overlapping a member's plot (the id only if the caller may read it)."""

    plot_id: str
    overlapping_plot_id: str | None
    overlap_ha: float


def mismatch(declared: float | None, computed: float) -> bool:
    return declared is not None and abs(declared - computed) > AREA_MISMATCH * computed


def plot_out(
    caller: Principal,
    record: PlotRecord,
    seasons: Sequence[m.SeasonOut] = (),
    evidence: Sequence[m.EvidenceOut] = (),
    hidden: frozenset[str] = frozenset(),
) -> m.PlotOut:
    """``hidden``: overlapping plots whose id the caller may not learn although their FPO is visible
    (an auditor and a non-member's plot)."""
    overlaps = [
        m.OverlapOut(
            plot_id=pid
            if pid not in hidden
            and can_access(caller, Owned(owner_user_id=info.get("owner_user_id"), fpo_id=info.get("fpo_id")))
            else None,
            overlap_ha=info["overlap_ha"],
        )
        for pid, info in sorted(record.overlaps.items())
    ]
    return m.PlotOut(
        plot_id=record.plot_id,
        farmer_id=record.farmer_id,
        fpo_id=record.fpo_id,
        name=record.name,
        external_id=record.external_id,
        geometry=record.geometry,
        area_ha=record.area_ha,
        declared_area_ha=record.declared_area_ha,
        area_mismatch=record.area_mismatch,
        centroid=record.centroid,
        geohash=record.geohash,
        overlaps=overlaps,
        version=record.version,
        seasons=list(seasons),
        evidence=list(evidence),
        created_at=record.created_at,
        updated_at=record.updated_at,
    )


class OverlapRefused(ConflictError):
    code = "plot_overlap"


class PlotService:
    def __init__(self, ctx: FarmContext):
        self.ctx = ctx
        self.farmers = FarmerService(ctx)

    def load(self, plot_id: str) -> PlotRecord | None:
        record: PlotRecord | None = PlotRecord.from_item(self.ctx.store.get(keys.plot(plot_id)))
        return record

    def get_record(self, caller: Principal, plot_id: str) -> PlotRecord:
        return self._ensure_visible(caller, self.load(plot_id))

    def _ensure_visible(self, caller: Principal, record: PlotRecord | None) -> PlotRecord:
        """404 as for a missing plot unless the caller may see it; an auditor sees approved members'
        plots only (one more GetItem, auditors only)."""
        if record is not None and caller.role is Role.AUDITOR and can_access(caller, record.owned()):
            farmer = self.farmers.load(record.farmer_id)
            if farmer is None or not farmer.counted:
                record = None
        if record is None:
            raise not_found("plot")  # the answer ensure_can_access gives one the caller may not see
        ensure_can_access(caller, record.owned(), what="plot")
        return record

    def counted_plots(self, plots: list[dict[str, Any]]) -> set[str]:
        """The ids of ``plots`` (plot items) whose farmer is an approved member (docs/decisions/0007);
        a plot whose farmer cannot be read counts (the old rule). One BatchGetItem."""
        if not plots:
            return set()
        farmers = {
            f["farmer_id"]: FarmerRecord.from_item(f)
            for f in self.ctx.store.batch_get([keys.farmer(fid) for fid in sorted({p["farmer_id"] for p in plots})])
        }
        return {p["plot_id"] for p in plots if p["farmer_id"] not in farmers or farmers[p["farmer_id"]].counted}

    def _hidden_overlaps(self, caller: Principal, record: PlotRecord) -> frozenset[str]:
        """For an auditor: the overlapping plots of non-members (their ids are not shown)."""
        if caller.role is not Role.AUDITOR or not record.overlaps:
            return frozenset()
        others = self.ctx.store.batch_get([keys.plot(pid) for pid in sorted(record.overlaps)])
        counted = self.counted_plots(others)
        return frozenset(pid for pid in record.overlaps if pid not in counted)

    def get(self, caller: Principal, plot_id: str) -> m.PlotOut:
        """The plot with its seasons and evidence: one Query of the plot's partition."""
        from functions.farmers.logic_seasons import season_out
        from functions.farmers.logic_uploads import evidence_out

        items, _ = self.ctx.store.query(keys.plot_partition(plot_id))
        by_kind: dict[str, list[dict[str, Any]]] = {}
        for item in items:
            by_kind.setdefault(item.get("kind", ""), []).append(item)
        meta = by_kind.get("plot", [None])[0]
        record = self._ensure_visible(caller, PlotRecord.from_item(meta))
        from agri_common.farm_table.records import EvidenceRecord, SeasonRecord

        return plot_out(
            caller,
            record,
            [season_out(SeasonRecord.from_item(i)) for i in by_kind.get("season", [])],
            [evidence_out(EvidenceRecord.from_item(i)) for i in by_kind.get("evidence", [])],
            self._hidden_overlaps(caller, record),
        )

    def list_for_farmer(self, caller: Principal, farmer_id: str) -> m.PlotList:
        self.farmers.get(caller, farmer_id)
        items, _ = self.ctx.store.query(keys.farmer_plots_index(farmer_id), index=True)
        return m.PlotList(
            items=[
                m.PlotSummary(
                    plot_id=i["plot_id"],
                    name=i.get("name"),
                    area_ha=i["area_ha"],
                    centroid=i["centroid"],
                    season_count=i.get("season_count", 0),
                    version=i["version"],
                )
                for i in items
            ]
        )

    # ---- overlap ----------------------------------------------------------------------------------
    def _overlaps(
        self, shape: geometry.PlotShape, exclude: str | None
    ) -> tuple[list[tuple[dict[str, Any], float]], dict[str, int]]:
        """(overlapping plots with their overlap in ha, the version of each cell's lock)."""
        locks: dict[str, int] = {}
        candidates: dict[str, dict[str, Any]] = {}
        for cell in shape.cells:
            items, _ = self.ctx.store.query(keys.geo_cell(cell))
            locks[cell] = 0
            for item in items:
                if item["sk"] == keys.GEO_LOCK:
                    locks[cell] = item.get("version", 0)
                elif item["plot_id"] != exclude and geometry.bboxes_intersect(shape.bbox, tuple(item["bbox"])):
                    candidates[item["plot_id"]] = item
        found: list[tuple[dict[str, Any], float]] = []
        if candidates:
            for plot in self.ctx.store.batch_get([keys.plot(pid) for pid in candidates]):
                other = geometry.shape_of(json.loads(plot["geometry_json"]))
                area = geometry.overlap_ha(shape.shape, other)
                if area > 0:
                    found.append((plot, area))
        return found, locks

    def _beyond_policy(self, area_ha: float, overlap: float, other_area_ha: float) -> bool:
        policy = self.ctx.overlap
        return overlap > policy.max_ha or overlap > policy.max_fraction_of_smaller * min(area_ha, other_area_ha)

    def _refuse_or_flag(
        self, caller: Principal, shape: geometry.PlotShape, found: list[tuple[dict[str, Any], float]]
    ) -> None:
        """Refuse an overlap beyond the policy with an approved member's plot only: a non-member's
        plot (a pending request, possibly fake) never blocks anyone; it is flagged on both plots
        and its farmer's approval is refused while it stands (:meth:`approval_overlaps`)."""
        policy = self.ctx.overlap
        beyond = [(plot, area) for plot, area in found if self._beyond_policy(shape.area_ha, area, plot["area_ha"])]
        counted = self.counted_plots([plot for plot, _ in beyond])
        refused = [(plot, area) for plot, area in beyond if plot["plot_id"] in counted]
        if refused:
            visible = sorted(
                p["plot_id"]
                for p, _ in refused
                if can_access(caller, Owned(owner_user_id=p.get("owner_user_id"), fpo_id=p.get("fpo_id")))
            )
            raise OverlapRefused(
                f"The plot overlaps {len(refused)} existing plot(s) beyond the allowed "
                f"{policy.max_ha} ha / {policy.max_fraction_of_smaller:.0%} of the smaller plot",
                details=[
                    PlotOverlapDetail(
                        field="body.geometry",
                        issue="overlaps existing plots",
                        type="plot_overlap",
                        overlapping_plot_ids=visible,
                        hidden_overlapping_plots=len(refused) - len(visible),
                        overlap_ha=[round(a, 4) for _, a in refused],
                    )
                ],
            )

    def approval_overlaps(self, caller: Principal, farmer: FarmerRecord, txn: Txn) -> None:
        """Before ``farmer`` becomes a member (approval, invitation code): refuse with 409
        ``plot_overlap`` while one of their plots overlaps an approved member's plot (or another of
        their own plots) beyond the policy, so members never overlap beyond it. Otherwise bump the
        lock of every cell of their plots in ``txn``: a plot written meanwhile over theirs, checked
        while they were not counted, fails its transaction and is checked again, against a member."""
        items = membership.farmer_plots(self.ctx, farmer)
        own = {i["plot_id"] for i in items}
        locks: dict[str, int] = {}
        clashes: list[tuple[str, dict[str, Any], float]] = []
        for raw in sorted(items, key=lambda i: i["plot_id"]):
            plot = PlotRecord.from_item(raw)
            shape = geometry.shape_of(plot.geometry)
            found, cell_locks = self._overlaps(
                geometry.PlotShape(
                    geometry=plot.geometry,
                    area_ha=plot.area_ha,
                    centroid=tuple(plot.centroid),
                    geohash=plot.geohash,
                    cells=tuple(plot.cells),
                    bbox=tuple(shape.bounds),
                    shape=shape,
                ),
                exclude=plot.plot_id,
            )
            locks.update(cell_locks)
            beyond = [(o, a) for o, a in found if self._beyond_policy(plot.area_ha, a, o["area_ha"])]
            counted = self.counted_plots([o for o, _ in beyond if o["plot_id"] not in own]) | own
            clashes += [(plot.plot_id, o, a) for o, a in beyond if o["plot_id"] in counted]
        if clashes:
            policy = self.ctx.overlap
            raise OverlapRefused(
                f"{len({c[0] for c in clashes})} of the farmer's plot(s) overlap members' plots beyond the allowed "
                f"{policy.max_ha} ha / {policy.max_fraction_of_smaller:.0%} of the smaller plot: correct the outlines "
                "(PUT /plots/{plot_id}) or reject the request",
                details=[
                    MemberOverlapDetail(
                        field="plot_id",
                        issue="overlaps a member's plot",
                        type="plot_overlap",
                        plot_id=pid,
                        overlapping_plot_id=o["plot_id"]
                        if can_access(caller, Owned(owner_user_id=o.get("owner_user_id"), fpo_id=o.get("fpo_id")))
                        else None,
                        overlap_ha=round(a, 4),
                    )
                    for pid, o, a in clashes
                ],
            )
        for cell, version in sorted(locks.items()):
            txn.add(Update(keys.geo_lock(cell), add={"version": 1}, expect={"version": version}), race=True)

    def _cell_ops(
        self,
        txn: Txn,
        record: PlotRecord,
        shape: geometry.PlotShape,
        locks: dict[str, int],
        old_cells: tuple[str, ...] = (),
    ) -> None:
        for cell in shape.cells:
            txn.add(Update(keys.geo_lock(cell), add={"version": 1}, expect={"version": locks[cell]}), race=True)
            if cell not in old_cells:
                txn.add(
                    Put(
                        GeoMember(
                            cell=cell,
                            plot_id=record.plot_id,
                            bbox=list(shape.bbox),
                            fpo_id=record.fpo_id,
                            owner_user_id=record.owner_user_id,
                        ).to_item()
                    )
                )
        for cell in old_cells:
            if cell not in shape.cells:
                txn.add(Delete(keys.geo_member(cell, record.plot_id)))

    @staticmethod
    def _flags(
        record: PlotRecord, found: list[tuple[dict[str, Any], float]], previous: dict[str, Any]
    ) -> tuple[dict[str, dict[str, Any]], list[Update]]:
        """The plot's own overlap flags, and the updates that flag (or unflag) the other plots."""
        flags: dict[str, dict[str, Any]] = {}
        ops: list[Update] = []
        for plot, area in found:
            flags[plot["plot_id"]] = {
                "overlap_ha": area,
                "fpo_id": plot["fpo_id"],
                "owner_user_id": plot.get("owner_user_id"),
            }
            ops.append(
                Update(
                    keys.plot(plot["plot_id"]),
                    set={
                        f"overlaps.{record.plot_id}": {
                            "overlap_ha": area,
                            "fpo_id": record.fpo_id,
                            "owner_user_id": record.owner_user_id,
                        }
                    },
                    if_exists=True,
                )
            )
        for stale in sorted(set(previous) - set(flags)):
            ops.append(Update(keys.plot(stale), remove=(f"overlaps.{record.plot_id}",), if_exists=True))
        return flags, ops

    @staticmethod
    def _check_size(txn: Txn) -> None:
        if len(txn.ops) > MAX_TRANSACTION_OPS:
            raise field_error(
                "body.geometry",
                "The plot touches too many cells and neighbouring plots to be written "
                "atomically; split it into smaller plots",
                "plot_too_spread",
            )

    # ---- create -----------------------------------------------------------------------------------
    def create(
        self,
        caller: Principal,
        farmer_id: str,
        feature: m.PlotFeature,
        *,
        plot_id: str | None = None,
        receipt: Receipt | None = None,
    ) -> PlotRecord:
        require_role(caller, Role.FARMER, Role.FPO_MANAGER, Role.ADMIN)
        shape = geometry.parse_plot(feature.geometry.model_dump())
        plot_id = plot_id or new_id("P")
        props = feature.properties

        def build() -> tuple[Txn, PlotRecord]:
            farmer: FarmerRecord = self.farmers.get(caller, farmer_id)
            found, locks = self._overlaps(shape, exclude=plot_id)
            self._refuse_or_flag(caller, shape, found)
            now = self.ctx.clock()
            record = PlotRecord(
                plot_id=plot_id,
                farmer_id=farmer.farmer_id,
                fpo_id=farmer.fpo_id,
                owner_user_id=farmer.owner_user_id,
                name=props.name,
                geometry_json=json.dumps(shape.geometry, separators=(",", ":")),
                area_ha=shape.area_ha,
                declared_area_ha=props.declared_area_ha,
                area_mismatch=mismatch(props.declared_area_ha, shape.area_ha),
                centroid=list(shape.centroid),
                geohash=shape.geohash,
                cells=list(shape.cells),
                external_id=props.external_id,
                created_at=now,
            )
            record.overlaps, flag_ops = self._flags(record, found, {})
            txn = Txn()
            txn.add(
                Put(record.to_item(), if_absent=True),
                on_fail=ConflictError(f"Plot {plot_id} already exists", code="plot_exists"),
            )
            for op in flag_ops:
                txn.add(op)
            self._cell_ops(txn, record, shape, locks)
            txn.add(
                Update(
                    farmer.key(),
                    add={"plot_count": 1, "area_ha": shape.area_ha},
                    expect={"version": farmer.version, "plot_count": farmer.plot_count},
                ),
                race=True,
            )
            first = 1 if farmer.plot_count == 0 else 0
            txn.add(agg.fpo_totals(farmer.fpo_id, {"plots": 1, "area_ha": shape.area_ha, "farmers_with_plots": first}))
            txn.add(agg.village_totals(farmer.fpo_id, farmer.village, {"plots": 1, "area_ha": shape.area_ha}))
            self.ctx.with_receipt(txn, receipt, "plot", plot_id, record.version, now)
            membership.gate(txn, farmer)  # a non-member's plot moves no FPO totals (counted on approval)
            self._check_size(txn)
            return txn, record

        created: PlotRecord = commit(self.ctx.store, build)
        return created

    # ---- replace ------------------------------------------------------------------------------------
    def replace(
        self, caller: Principal, plot_id: str, feature: m.PlotFeature, version: int, *, receipt: Receipt | None = None
    ) -> PlotRecord:
        require_role(caller, Role.FARMER, Role.FPO_MANAGER, Role.ADMIN)
        shape = geometry.parse_plot(feature.geometry.model_dump())
        props = feature.properties

        def build() -> tuple[Txn, PlotRecord]:
            current = self.get_record(caller, plot_id)
            if current.version != version:
                raise VersionConflict("plot", plot_out(caller, current).model_dump(mode="json"))
            farmer = self.farmers.load_existing(current.farmer_id)
            found, locks = self._overlaps(shape, exclude=plot_id)
            self._refuse_or_flag(caller, shape, found)
            now = self.ctx.clock()
            flags, flag_ops = self._flags(current, found, current.overlaps)
            changes = {
                "name": props.name,
                "geometry_json": json.dumps(shape.geometry, separators=(",", ":")),
                "area_ha": shape.area_ha,
                "declared_area_ha": props.declared_area_ha,
                "area_mismatch": mismatch(props.declared_area_ha, shape.area_ha),
                "centroid": list(shape.centroid),
                "geohash": shape.geohash,
                "cells": list(shape.cells),
                "overlaps": flags,
                "updated_at": now,
            }
            if props.external_id:
                changes["external_id"] = props.external_id
            updated = current.model_copy(update={**changes, "version": current.version + 1})
            sets = {k: v for k, v in changes.items() if v is not None}
            removes = tuple(k for k, v in changes.items() if v is None)
            txn = Txn()
            txn.add(
                Update(
                    current.key(), set=sets, remove=removes, add={"version": 1}, expect={"version": current.version}
                ),
                on_fail=lambda: VersionConflict(
                    "plot", plot_out(caller, self.get_record(caller, plot_id)).model_dump(mode="json")
                ),
            )
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

        replaced: PlotRecord = commit(self.ctx.store, build)
        return replaced

"""Where a run's plot-seasons come from: the ``ProjectSeasonSource`` interface and its farm-table
implementation (the farm data model, read through its generic store; no Scan).

Planning lists *units* (farmer ids: the FPO's member index is one paginated Query per FPO; only
approved members are in it, pending membership requests are not, see docs/decisions/0007), and
each chunk loads its units' plots and seasons (one Query per farmer and per plot). Chunking by
farmer keeps the plan step cheap for 1,000,000 plot-seasons; a chunk of 2,000 farmers is about
5,000 plot-seasons at the usual 2-3 plots per smallholder.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, Protocol


@dataclass
class PlotSeason:
    plot_id: str
    season_key: str
    farmer_id: str
    fpo_id: str
    owner_user_id: str | None
    village: str
    area_ha: float  # computed (geodesic) area of the plot
    declared_area_ha: float | None
    centroid: list[float]
    overlaps: dict[str, Any] = field(default_factory=dict)
    activity: dict[str, Any] = field(default_factory=dict)


class ProjectSeasonSource(Protocol):
    def plan_units(self, fpo_ids: list[str]) -> Iterable[str]:
        """Opaque unit ids (sorted, stable) that together cover every plot-season of the FPOs."""

    def load(self, units: list[str], period: str) -> list[PlotSeason]:
        """The plot-seasons of ``units`` whose season key starts with ``period``."""


def _member(item: dict[str, Any]) -> bool:
    """An approved FPO member's farmer item (the member index holds nothing else; checked anyway,
    since crediting a non-member is the defect this guards). No status = a member from before
    membership requests existed."""
    return item.get("kind") == "farmer" and item.get("membership", "approved") == "approved"


class FarmSeasonSource:
    """The farm table: FPO -> farmers (gsi1) -> plots (gsi1) -> seasons (pk prefix)."""

    def __init__(self, store: Any):
        self.store = store

    def plan_units(self, fpo_ids: list[str]) -> Iterable[str]:
        from agri_common.farm_table import keys

        units: list[str] = []
        for fpo in sorted(fpo_ids):
            start = None
            while True:
                items, start = self.store.query(keys.fpo_farmers_index(fpo), index=True, limit=1000, start=start)
                units.extend(i["farmer_id"] for i in items if _member(i))
                if not start:
                    break
        return sorted(set(units))

    def load(self, units: list[str], period: str) -> list[PlotSeason]:
        from agri_common.farm_table import keys
        from agri_common.farm_table.records import FarmerRecord, PlotRecord, SeasonRecord

        farmers = {
            f["farmer_id"]: FarmerRecord.from_item(f)
            for f in self.store.batch_get([keys.farmer(u) for u in units])
            if f.get("kind") == "farmer"
        }
        out: list[PlotSeason] = []
        for farmer_id in units:
            farmer = farmers.get(farmer_id)
            if farmer is None or not farmer.counted:  # only approved FPO members (docs/decisions/0007)
                continue
            plots, _ = self.store.query(keys.farmer_plots_index(farmer_id), index=True)
            for raw in sorted(plots, key=lambda p: p["plot_id"]):
                plot = PlotRecord.from_item(raw)
                seasons, _ = self.store.query(keys.plot_partition(plot.plot_id), prefix=f"{keys.SEASON_PREFIX}{period}")
                for s in seasons:
                    season = SeasonRecord.from_item(s)
                    out.append(
                        PlotSeason(
                            plot_id=plot.plot_id,
                            season_key=season.season_key,
                            farmer_id=farmer_id,
                            fpo_id=plot.fpo_id,
                            owner_user_id=plot.owner_user_id,
                            village=farmer.village,
                            area_ha=plot.area_ha,
                            declared_area_ha=plot.declared_area_ha,
                            centroid=list(plot.centroid),
                            overlaps=dict(plot.overlaps),
                            activity=dict(season.activity),
                        )
                    )
        return self._members_overlaps_only(out, farmers)

    def _members_overlaps_only(self, rows: list[PlotSeason], farmers: dict[str, Any]) -> list[PlotSeason]:
        """Drop overlap flags with non-members' plots (a pending, rejected or removed farmer's plot
        never refuses a member's, docs/decisions/0007 "Overlaps", but is flagged on it): they are
        no finding of the run, and an auditor does not learn such a plot's id. At most two
        BatchGetItem per chunk, and none when no plot of the chunk is flagged."""
        from agri_common.farm_table import keys
        from agri_common.farm_table.records import FarmerRecord

        others = sorted({pid for row in rows for pid in row.overlaps})
        if not others:
            return rows
        owner = {p["plot_id"]: p["farmer_id"] for p in self.store.batch_get([keys.plot(pid) for pid in others])}
        unknown = sorted({fid for fid in owner.values() if fid not in farmers})
        counted = {fid for fid, f in farmers.items() if f.counted}
        counted |= (
            {
                f["farmer_id"]
                for f in self.store.batch_get([keys.farmer(fid) for fid in unknown])
                if FarmerRecord.from_item(f).counted
            }
            if unknown
            else set()
        )
        for row in rows:  # a flag whose plot cannot be read stays (conservative)
            row.overlaps = {
                pid: info for pid, info in row.overlaps.items() if pid not in owner or owner[pid] in counted
            }
        return rows

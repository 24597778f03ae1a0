"""FPOs and their dashboards, read from the aggregates the farmers domain maintains on write.

Costs per request, whatever the FPO's size: overview = one BatchGetItem (the FPO and its ``AGG``
item); reports = one GetItem + one Query of the ``AGG#`` items (one per village and per season,
so it grows with villages and seasons, never with farmers or plots). Both add the carbon section:
one Query + one BatchGetItem of the pipeline table (``dal.py``), bounded by ``MAX_CARBON_RUNS``.
"""

from __future__ import annotations

from typing import Protocol

from agri_common import pipeline_table
from agri_common.farm_table import aggregates as agg
from agri_common.farm_table import keys
from agri_common.farm_table.records import FpoRecord
from agri_common.platform.errors import ConflictError, NotFoundError
from agri_common.platform.principal import Owned, Principal, Role, can_access, ensure_can_access, require_role
from agri_common.single_table import Put, TableStore, Txn, commit
from functions.fpo import models as m
from functions.fpo.dal import CarbonRuns


class Clock(Protocol):
    def __call__(self) -> str: ...


def _share(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


def _rounded(values: dict[str, float], digits: int = 4) -> dict[str, float]:
    return {k: round(v, digits) for k, v in sorted(values.items())}


class NoCarbonRuns:
    """For a service built without the pipeline table: no runs."""

    def runs(self, fpo_id: str) -> tuple[list[tuple[pipeline_table.FpoRunRecord, pipeline_table.RunStatus]], bool]:
        return [], False


class FpoService:
    def __init__(self, store: TableStore, clock: Clock, carbon: CarbonRuns = NoCarbonRuns()):
        self.store = store
        self.clock = clock
        self.carbon_runs = carbon

    def create(self, caller: Principal, req: m.CreateFpoRequest) -> FpoRecord:
        require_role(caller, Role.ADMIN)
        record = FpoRecord(**req.model_dump(), created_by=caller.user_id, created_at=self.clock())

        def build() -> tuple[Txn, FpoRecord]:
            txn = Txn()
            txn.add(
                Put(record.to_item(), if_absent=True),
                on_fail=ConflictError(f"FPO {req.fpo_id} already exists", code="fpo_exists"),
            )
            return txn, record

        created: FpoRecord = commit(self.store, build)
        return created

    def _visible(self, caller: Principal, fpo_id: str, record: FpoRecord | None) -> FpoRecord:
        """Admins see every FPO, managers and farmers their own, auditors the FPOs of their projects."""
        if record is None:
            raise NotFoundError("FPO not found")  # the answer ensure_can_access gives one the caller may not see
        owned: Owned | None = Owned(fpo_id=fpo_id)
        if caller.role is Role.FARMER:  # a farmer reads the dashboard of their own FPO, not others'
            owned = Owned(fpo_id=fpo_id, owner_user_id=caller.user_id) if caller.fpo_id == fpo_id else None
        ensure_can_access(caller, owned, what="FPO")
        return record

    def carbon(self, caller: Principal, fpo_id: str) -> m.Carbon:
        """The FPO's runs, once its dashboard is visible to the caller. An auditor sees only the runs
        of their projects (an FPO can be in several projects, audited by different people)."""
        runs, truncated = self.carbon_runs.runs(fpo_id)
        if caller.role is Role.AUDITOR:
            runs = [(r, s) for r, s in runs if can_access(caller, Owned(fpo_id=fpo_id, project_id=r.project_id))]
        rows = [m.CarbonRun(**r.model_dump(), status=status) for r, status in runs]
        approved = [r for r in rows if r.status == "approved"]
        totals = m.CarbonTotals(
            runs=len(approved),
            plot_seasons=sum(r.plot_seasons for r in approved),
            **{f: round(sum(getattr(r, f) for r in approved), 6) for f in m.CARBON_FIGURES},
        )
        return m.Carbon(runs=rows, approved=totals, runs_truncated=truncated)

    def get(self, caller: Principal, fpo_id: str) -> FpoRecord:
        return self._visible(caller, fpo_id, FpoRecord.from_item(self.store.get(keys.fpo(fpo_id))))

    def overview(self, caller: Principal, fpo_id: str) -> m.Overview:
        items = {item["sk"]: item for item in self.store.batch_get([keys.fpo(fpo_id), keys.fpo_agg(fpo_id)])}
        record = self._visible(caller, fpo_id, FpoRecord.from_item(items.get(keys.META)))
        t = agg.read_totals(items.get(keys.AGG))
        return m.Overview(
            fpo=m.FpoOut.model_validate(record.model_dump()),
            members=t["members"],
            plots=t["plots"],
            area_ha=round(t["area_ha"], 4),
            seasons_reported=t["seasons"],
            area_ha_by_crop=_rounded(t.get("crop_area_ha", {})),
            seasons_by_crop=dict(sorted(t.get("crop_seasons", {}).items())),
            area_ha_by_water_regime=_rounded(t.get("water_area_ha", {})),
            seasons_by_water_regime=dict(sorted(t.get("water_seasons", {}).items())),
            evidence_files=t["evidence_files"],
            completeness=m.Completeness(
                farmers_with_plots=_share(t["farmers_with_plots"], t["members"]),
                plots_with_seasons=_share(t["plots_with_seasons"], t["plots"]),
                seasons_with_water_evidence=_share(t["seasons_with_water_evidence"], t["seasons"]),
            ),
            carbon=self.carbon(caller, fpo_id),
        )

    def reports(self, caller: Principal, fpo_id: str) -> m.Reports:
        self.get(caller, fpo_id)
        items, _ = self.store.query(keys.fpo(fpo_id)[0], prefix=keys.AGG_PREFIX)
        seasons, villages = [], []
        for item in items:
            t = agg.read_totals(item)
            if item["sk"].startswith(keys.SEASON_AGG_PREFIX):
                seasons.append(
                    m.SeasonTrend(
                        season_key=item["season_key"],
                        seasons=t["seasons"],
                        area_ha_by_crop=_rounded(t.get("crop_area_ha", {})),
                        area_ha_by_water_regime=_rounded(t.get("water_area_ha", {})),
                        synthetic_n_kg=round(t["synthetic_n_kg"], 2),
                    )
                )
            elif item["sk"].startswith(keys.VILLAGE_AGG_PREFIX):
                villages.append(
                    m.VillageRow(
                        village=item["village"],
                        members=t["members"],
                        plots=t["plots"],
                        area_ha=round(t["area_ha"], 4),
                        seasons=t["seasons"],
                    )
                )
        seasons.sort(key=lambda s: s.season_key)
        villages.sort(key=lambda v: v.village.casefold())
        return m.Reports(fpo_id=fpo_id, seasons=seasons, villages=villages, carbon=self.carbon(caller, fpo_id))

"""Seasons: a plot's activity data per (year, kharif/rabi/zaid), one record each.

The aggregates count a season with the plot's area at the time it is recorded (stored on the
season), so a later change of the plot's outline does not silently rewrite past seasons' totals.
"""

from __future__ import annotations

from typing import Any

from agri_common.farm_table import aggregates as agg
from agri_common.farm_table import keys
from agri_common.farm_table.records import SeasonRecord
from agri_common.platform.errors import ConflictError
from agri_common.platform.principal import Principal, Role, ensure_can_access, require_role
from agri_common.single_table import Put, Txn, Update, commit
from functions.farmers import membership
from functions.farmers import models as m
from functions.farmers.context import FarmContext, Receipt, VersionConflict, not_found
from functions.farmers.logic_plots import PlotService


def season_out(record: SeasonRecord) -> m.SeasonOut:
    return m.SeasonOut.model_validate(record.model_dump())


def _deltas(activity: dict[str, Any], area_ha: float, sign: int) -> dict[str, float]:
    return agg.season_deltas(
        activity["crop"],
        activity.get("water_regime"),
        area_ha,
        activity.get("synthetic_n_kg_per_ha", 0),
        activity.get("water_regime_evidence") is not None,
        sign,
    )


class SeasonService:
    def __init__(self, ctx: FarmContext):
        self.ctx = ctx
        self.plots = PlotService(ctx)

    def create(
        self, caller: Principal, plot_id: str, data: m.SeasonData, *, receipt: Receipt | None = None
    ) -> SeasonRecord:
        require_role(caller, Role.FARMER, Role.FPO_MANAGER, Role.ADMIN)
        activity = data.model_dump(mode="json")

        def build() -> tuple[Txn, SeasonRecord]:
            plot = self.plots.get_record(caller, plot_id)
            farmer = self.plots.farmers.load_existing(plot.farmer_id)
            now = self.ctx.clock()
            record = SeasonRecord(
                plot_id=plot_id,
                season_key=data.season_key,
                farmer_id=plot.farmer_id,
                fpo_id=plot.fpo_id,
                owner_user_id=plot.owner_user_id,
                area_ha=plot.area_ha,
                activity=activity,
                created_at=now,
            )
            txn = Txn()
            txn.add(
                Put(record.to_item(), if_absent=True),
                on_fail=ConflictError(
                    f"Season {data.season_key} is already recorded for this plot; update it instead",
                    code="season_exists",
                ),
            )
            txn.add(
                Update(
                    plot.key(),
                    add={"season_count": 1},
                    expect={"version": plot.version, "season_count": plot.season_count},
                ),
                race=True,
            )
            txn.add(
                Update(
                    farmer.key(),
                    add={"season_count": 1},
                    expect={"version": farmer.version, "season_count": farmer.season_count},
                ),
                race=True,
            )
            deltas = _deltas(activity, plot.area_ha, 1)
            first = 1 if plot.season_count == 0 else 0
            txn.add(agg.fpo_totals(plot.fpo_id, {**deltas, "plots_with_seasons": first}))
            txn.add(agg.season_totals(plot.fpo_id, data.season_key, deltas))
            txn.add(agg.village_totals(plot.fpo_id, farmer.village, {"seasons": 1}))
            self.ctx.with_receipt(txn, receipt, "season", f"{plot_id}/{data.season_key}", record.version, now)
            return membership.gate(txn, farmer), record

        created: SeasonRecord = commit(self.ctx.store, build)
        return created

    def _reread(self, season: SeasonRecord) -> SeasonRecord:
        """The season as stored now (for a stale-version answer); seasons are never deleted, so a
        missing one answers 404 like a season the caller may not see."""
        current = SeasonRecord.from_item(self.ctx.store.get(season.key()))
        if current is None:
            raise not_found("season")
        return current

    def update(
        self, caller: Principal, plot_id: str, data: m.SeasonData, version: int, *, receipt: Receipt | None = None
    ) -> SeasonRecord:
        """Replace a season's activity data (same plot and season key), moving the aggregates."""
        require_role(caller, Role.FARMER, Role.FPO_MANAGER, Role.ADMIN)
        activity = data.model_dump(mode="json")

        def build() -> tuple[Txn, SeasonRecord]:
            current: SeasonRecord | None = SeasonRecord.from_item(
                self.ctx.store.get(keys.season(plot_id, data.season_key))
            )
            if current is None:
                raise not_found("season")  # the answer ensure_can_access gives one the caller may not see
            ensure_can_access(caller, current.owned(), what="season")
            if current.version != version:
                raise VersionConflict("season", season_out(current).model_dump(mode="json"))
            now = self.ctx.clock()
            updated = current.model_copy(
                update={"activity": activity, "version": current.version + 1, "updated_at": now}
            )
            txn = Txn()
            txn.add(
                Update(
                    current.key(),
                    set={"activity": activity, "updated_at": now},
                    add={"version": 1},
                    expect={"version": current.version},
                ),
                on_fail=lambda: VersionConflict("season", season_out(self._reread(current)).model_dump(mode="json")),
            )
            deltas = agg.merge(_deltas(current.activity, current.area_ha, -1), _deltas(activity, current.area_ha, 1))
            deltas.pop("seasons", None)
            txn.add(agg.fpo_totals(current.fpo_id, deltas))
            txn.add(agg.season_totals(current.fpo_id, current.season_key, deltas))
            self.ctx.with_receipt(txn, receipt, "season", f"{plot_id}/{data.season_key}", updated.version, now)
            return membership.gate(txn, self.plots.farmers.load_existing(current.farmer_id)), updated

        saved: SeasonRecord = commit(self.ctx.store, build)
        return saved

    def field_data(self, caller: Principal, req: m.FieldDataRequest) -> SeasonRecord:
        """The seed's one-call submission: the same rules as POST /plots/{plot_id}/seasons."""
        return self.create(caller, req.plot_id, req.season)

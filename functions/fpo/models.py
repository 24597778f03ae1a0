"""FPO domain models: inputs (``extra="forbid"``) and outputs."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from agri_common.pipeline_table import RunStatus
from agri_common.platform.inputs import Input
from functions.fpo import examples

FPO_ID = r"^[A-Za-z0-9_-]{1,64}$"


class CreateFpoRequest(Input):
    model_config = ConfigDict(json_schema_extra={"examples": [examples.CREATE_FPO]})
    fpo_id: str = Field(pattern=FPO_ID)
    name: str = Field(min_length=1, max_length=200)
    state: str = Field(min_length=1, max_length=100)
    district: str | None = Field(default=None, max_length=100)
    registration_number: str | None = Field(default=None, max_length=64)


class FpoOut(BaseModel):
    fpo_id: str
    name: str
    state: str
    district: str | None = None
    registration_number: str | None = None
    created_at: str


class Completeness(BaseModel):
    """Shares in [0, 1]; None when the denominator is 0."""

    farmers_with_plots: float | None
    plots_with_seasons: float | None
    seasons_with_water_evidence: float | None


CARBON_FIGURES = ("emissions_baseline_t", "emissions_project_t", "removals_t", "net_t", "creditable_net_share_t")


class CarbonFigures(BaseModel):
    """The FPO's part of monitoring runs (t CO2e; sums over its plot-season rows), as the aggregate
    step stored it. ``creditable_net_share_t``: the run's creditable net (after deductions) pro
    rata to the FPO's farmers' net contributions, the basis the ledger splits credits on."""

    plot_seasons: int
    emissions_baseline_t: float
    emissions_project_t: float
    removals_t: float
    net_t: float = Field(description="Net reduction: baseline minus project emissions plus removals (t CO2e)")
    creditable_net_share_t: float


class CarbonRun(CarbonFigures):
    period: str
    run_id: str
    project_id: str
    status: RunStatus = Field(description="The run's current status (read from the run: always current)")
    farmers: int
    area_ha: float


class CarbonTotals(CarbonFigures):
    """Over the approved runs listed. Farmers and area are not summed: the same farmers and plots
    recur in every run."""

    runs: int


class Carbon(BaseModel):
    """Per monitoring run of the FPO's projects (by period; an auditor sees the runs of their
    projects only). At most 100 runs are read (``dal.MAX_CARBON_RUNS``); ``runs_truncated`` says more exist."""

    runs: list[CarbonRun]
    approved: CarbonTotals
    runs_truncated: bool = False


class Overview(BaseModel):
    """Running totals of the farm data, maintained on every write, and ``carbon``: the FPO's share
    of each monitoring run (written by the pipeline's aggregate step, status from the run)."""

    fpo: FpoOut
    members: int
    plots: int
    area_ha: float
    seasons_reported: int
    area_ha_by_crop: dict[str, float]
    seasons_by_crop: dict[str, int]
    area_ha_by_water_regime: dict[str, float]
    seasons_by_water_regime: dict[str, int]
    evidence_files: int
    completeness: Completeness
    carbon: Carbon


class SeasonTrend(BaseModel):
    season_key: str
    seasons: int
    area_ha_by_crop: dict[str, float]
    area_ha_by_water_regime: dict[str, float]
    synthetic_n_kg: float


class VillageRow(BaseModel):
    village: str
    members: int
    plots: int
    area_ha: float
    seasons: int


class Reports(BaseModel):
    fpo_id: str
    seasons: list[SeasonTrend]
    villages: list[VillageRow]
    carbon: Carbon

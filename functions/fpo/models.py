"""FPO domain models: inputs (``extra="forbid"``) and outputs."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

FPO_ID = r"^[A-Za-z0-9_-]{1,64}$"


class CreateFpoRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

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


class Overview(BaseModel):
    """Running totals maintained on every write. Emissions and reductions are absent on purpose:
    they appear once the MRV pipeline (issue #5) produces real numbers."""

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

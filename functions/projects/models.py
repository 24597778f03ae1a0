"""Projects API models: inputs (``extra="forbid"``) and outputs, kept apart from the stored records
(agri_common.pipeline_table)."""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from agri_common import pipeline_table
from agri_common.platform.inputs import Input, Line
from agri_common.season_vocab import COUNTRY_FACTOR_NAMES, WaterRegime
from functions.projects import examples

FPO_ID = r"^[A-Za-z0-9_-]{1,64}$"
USERNAME = r"^[\w.@+-]{1,128}$"
MAX_PROJECT_FPOS = 49  # 1 + 2 x 49 = 99 operations: within DynamoDB's 100 per transaction
Methodology = Literal["vm0042", "vm0051", "gold_standard", "ccts"]
# Engine profiles the chunked pipeline can evaluate. vm0042_qa3's conservative factor choice needs the
# whole project's net per factor: the pipeline runs it in two passes over the chunks (carbon_engine/chunks.py).
PipelineProfile = Literal["ipcc_tier1", "vm0042_qa3", "vm0051", "ccts_ag04_002"]


class CountryFactorIn(Input):
    """A country-specific (Tier 2) factor: its value, 95 % range and source (the engine's CountryFactor)."""

    value: float = Field(gt=0, le=1000)
    low: float = Field(ge=0, le=1000, description="Lower bound of the 95 % range")
    high: float = Field(gt=0, le=1000, description="Upper bound of the 95 % range")
    source: Line = Field(min_length=1, max_length=300, description="The publication or national inventory")

    @model_validator(mode="after")
    def _range(self) -> CountryFactorIn:
        if not self.low <= self.value <= self.high:
            raise ValueError("a country-specific factor needs low <= value <= high (its 95 % range)")
        return self


class CreateProjectRequest(Input):
    model_config = ConfigDict(json_schema_extra={"examples": [examples.CREATE_PROJECT]})
    name: str = Field(min_length=3, max_length=200)
    fpo_ids: list[str] = Field(
        min_length=1,
        max_length=MAX_PROJECT_FPOS,
        description="Registered FPOs (one transaction writes the project and 2 items per FPO)",
    )
    methodology: Methodology = Field(description="Checklist template the auditor fills in")
    profile: PipelineProfile = Field(description="Carbon-engine methodology profile (deductions)")
    gwp: Literal["AR5", "AR6"] = "AR5"
    region: str = Field(default="south_asia", pattern=r"^[a-z_]{2,40}$")
    climate: Literal["wet", "dry"] = "wet"
    crediting_start: dt.date
    crediting_end: dt.date
    buffer_fraction: float | None = Field(default=None, ge=0, lt=1, description="Non-permanence buffer share")
    baseline_water_regime: WaterRegime = Field(
        default="continuously_flooded", description="Baseline scenario regime of rice seasons (the practice replaced)"
    )
    baseline_organic_amendments_unknown: bool = Field(
        default=False,
        description="The organic amendments of the practice replaced are not known: rice baselines count none "
        "of the season's own; VM0051 then applies its default of 5 t/ha straw (< 30 days), other profiles "
        "count none with a finding (docs/methodologies.md)",
    )
    country_factors: dict[str, CountryFactorIn] = Field(
        default_factory=dict,
        max_length=len(COUNTRY_FACTOR_NAMES),
        description="Country-specific (Tier 2) replacements of rice.ef_c, rice.sf_w.<regime>, rice.sf_p.<status>; "
        "VM0051 requires a country rice.ef_c above 60,000 t CO2e a year",
    )
    draws: int = Field(default=2000, ge=100, le=20000, description="Monte Carlo draws")
    confidence: float = Field(default=0.9, ge=0.8, le=0.99, description="Confidence of the sampling size formula")
    target_precision: float = Field(default=0.1, gt=0, le=0.5, description="Relative precision E of the sample size")

    @model_validator(mode="after")
    def _period(self) -> CreateProjectRequest:
        unknown = sorted(set(self.country_factors) - set(COUNTRY_FACTOR_NAMES))
        if unknown:
            raise ValueError(
                f"unknown country-specific factor(s) {unknown}; expected some of {list(COUNTRY_FACTOR_NAMES)}"
            )
        if self.crediting_end <= self.crediting_start:
            raise ValueError("crediting_end must be after crediting_start")
        if len(set(self.fpo_ids)) != len(self.fpo_ids):
            raise ValueError("fpo_ids must be distinct")
        import re

        for fpo in self.fpo_ids:
            if not re.match(FPO_ID, fpo):
                raise ValueError(f"invalid FPO id {fpo!r}")
        return self


class AssignAuditorRequest(Input):
    model_config = ConfigDict(json_schema_extra={"examples": [examples.ASSIGN_AUDITOR]})
    username: str = Field(pattern=USERNAME, description="The auditor's username (must hold the auditor role)")


class StartRunRequest(Input):
    model_config = ConfigDict(json_schema_extra={"examples": [examples.START_RUN]})
    period: str = Field(
        pattern=pipeline_table.PERIOD, description="A year (all its seasons) or one season, e.g. 2025-kharif"
    )


class ProjectOut(BaseModel):
    project_id: str
    name: str
    fpo_ids: list[str]
    methodology: str
    profile: str
    gwp: str
    region: str
    climate: str
    crediting_start: str
    crediting_end: str
    buffer_fraction: float | None = None
    baseline_water_regime: str
    baseline_organic_amendments_unknown: bool = False
    country_factors: dict[str, dict[str, Any]] = Field(default_factory=dict)
    draws: int
    confidence: float
    target_precision: float
    auditors: list[str] = Field(description="User ids (sub) of the assigned auditors")
    created_at: str


class ProjectList(BaseModel):
    items: list[ProjectOut]


class StepOut(BaseModel):
    step: str
    status: str
    attempt: int
    started_at: str
    finished_at: str | None = None
    detail: dict[str, Any] = Field(default_factory=dict)
    chunks_done: int | None = None
    chunks_reused: int | None = None


class RunOut(BaseModel):
    project_id: str
    run_id: str
    period: str
    status: str
    attempt: int
    execution_arn: str | None = None
    execution_status: str | None = Field(default=None, description="Step Functions' status of the current attempt")
    started_at: str
    updated_at: str
    error: dict[str, Any] | None = None
    summary: dict[str, Any] | None = None
    task_id: str | None = None
    outcome: dict[str, Any] | None = None
    steps: list[StepOut] = Field(default_factory=list)


class RunList(BaseModel):
    items: list[RunOut]

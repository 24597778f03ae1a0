"""Verification API models: inputs (``extra="forbid"``) and outputs."""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from agri_common.platform.inputs import Input
from functions.verification import examples

ID = r"^[A-Za-z0-9_-]{1,64}$"
SEASON_KEY = r"^\d{4}-(kharif|rabi|zaid)$"


class ChecklistAnswer(Input):
    answer: Literal["pass", "fail", "not_applicable"]
    note: str | None = Field(
        default=None, max_length=2000, description="Required when the answer is fail (the deviation)"
    )


class AuditorFinding(Input):
    plot_id: str | None = Field(default=None, pattern=ID)
    season_key: str | None = Field(default=None, pattern=SEASON_KEY)
    severity: Literal["info", "warning", "critical"]
    message: str = Field(min_length=3, max_length=2000)


class DecisionRequest(Input):
    model_config = ConfigDict(json_schema_extra={"examples": [examples.DECISION]})
    decision: Literal["approve", "reject", "request_corrections"]
    reason: str | None = Field(default=None, max_length=4000, description="Required to reject or request corrections")
    findings: list[AuditorFinding] = Field(default_factory=list, max_length=500)
    checklist: dict[str, ChecklistAnswer] = Field(description="Every item of the methodology's checklist, answered")

    @model_validator(mode="after")
    def _reason(self) -> DecisionRequest:
        if self.decision != "approve" and not self.reason:
            raise ValueError("a reason is required to reject or request corrections")
        return self


class Observation(Input):
    plot_id: str = Field(pattern=ID)
    season_key: str = Field(pattern=SEASON_KEY)
    source: str = Field(pattern=r"^[a-z0-9_]{2,40}$", description="e.g. sentinel1_sar, synthetic")
    start_date: dt.date
    end_date: dt.date
    flooded_days: int = Field(ge=0, le=366)
    max_continuous_flooded_days: int = Field(ge=0, le=366)
    method: str = Field(min_length=2, max_length=200)

    @model_validator(mode="after")
    def _dates(self) -> Observation:
        span = (self.end_date - self.start_date).days + 1
        if span <= 0:
            raise ValueError("end_date must not be before start_date")
        if self.flooded_days > span or self.max_continuous_flooded_days > self.flooded_days:
            raise ValueError("flooded days must fit the date range, continuous days within flooded days")
        return self


class ObservationBatch(Input):
    model_config = ConfigDict(json_schema_extra={"examples": [examples.OBSERVATIONS]})
    observations: list[Observation] = Field(min_length=1, max_length=500)


class ObservationResult(BaseModel):
    stored: int


class TaskSummary(BaseModel):
    task_id: str
    project_id: str
    run_id: str
    status: str
    methodology: str
    finding_counts: dict[str, int]
    created_at: str


class TaskList(BaseModel):
    items: list[TaskSummary]


class TaskDetail(TaskSummary):
    summary: dict[str, Any]
    findings: list[dict[str, Any]]
    sample: dict[str, Any]
    checklist: dict[str, Any]
    report_ids: list[str]
    decision: dict[str, Any] | None = None


class DecisionOut(BaseModel):
    task_id: str
    decision: str
    status: str


class SampleOut(BaseModel):
    run_id: str
    sample: dict[str, Any]


class ReportFile(BaseModel):
    format: Literal["pdf", "xlsx"]
    sha256: str
    url: str = Field(description="Presigned GET URL (short expiry)")
    expires_in: int


class ReportOut(BaseModel):
    report_id: str
    run_id: str
    kind: str
    created_at: str
    files: list[ReportFile]

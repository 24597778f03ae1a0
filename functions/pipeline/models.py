"""What each Step Functions task of the MRV pipeline reads and returns.

A task's input is the part of the execution state it is given (infra/pipeline.py: the whole state,
or a ``Payload`` built from it); its output is what the state's ``ResultSelector`` picks from the
Lambda's answer. Field names are the state machine's JSON paths (``$.plan.chunk_count``,
``$.Payload.findings_key``...): renaming one means changing the definition too.

Inputs ignore fields they do not read (the state carries every earlier result); outputs are dumped
with ``mode="json"`` and without ``None`` fields (:mod:`functions.pipeline.task`), so a payload is
plain JSON on the wire. Payloads stay small: S3 keys, counts and indexes, never bulk data (Step
Functions' 256 KB limit).
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field


class Payload(BaseModel):
    """A piece of the execution state: extra fields are the other steps' business."""

    model_config = ConfigDict(extra="ignore")


class RunInput(Payload):
    """The part of the execution state every task reads."""

    project_id: str = Field(min_length=1)
    run_id: str = Field(min_length=1)
    attempt: int = Field(ge=1)
    period: str = Field(min_length=1)
    generation: int = Field(1, ge=1)


# ---- Plan ----------------------------------------------------------------------------------------
class PlanOutput(Payload):
    """``$.plan``: the chunk indexes the CalculateChunks Map iterates over."""

    chunks: list[int]
    chunk_count: int = Field(ge=0)


class PlannedRunInput(RunInput):
    """A task that reads the stored chunks: ``$.plan`` tells how many there are."""

    plan: PlanOutput


# ---- one chunk (CalculateChunk, ConservativeChunk: the Maps' items) --------------------------------
class ChunkInput(RunInput):
    index: int = Field(ge=0, description="The chunk index ($$.Map.Item.Value)")


class ChunkOutput(Payload):
    index: int
    reused: bool = Field(description="True when an earlier attempt had stored this chunk's results")


# ---- ChooseFactors / Aggregate (one function, two states) ----------------------------------------
class ChooseInput(PlannedRunInput):
    phase: Literal["choose"] = "choose"


class ChooseOutput(Payload):
    """``$.conservative.chunks``: the chunks pass 2 evaluates (none unless the profile is conservative)."""

    chunks: list[int]


class AggregateInput(PlannedRunInput):
    phase: None = None


class AggregateOutput(Payload):
    summary_key: str
    plots: int


# ---- Verify (findings and the field sample) ------------------------------------------------------
class FindingCounts(Payload):
    info: int = Field(0, ge=0)
    warning: int = Field(0, ge=0)
    critical: int = Field(0, ge=0)


class VerifyOutput(Payload):
    """``$.verify``: where the findings and the sample are stored, and the findings per severity."""

    findings_key: str
    sample_key: str
    counts: FindingCounts


# ---- Reports -------------------------------------------------------------------------------------
class MonitoringReportInput(PlannedRunInput):
    phase: None = None


class VerificationReportInput(PlannedRunInput):
    """After the auditor's decision (VerificationReport, VerificationReportDeclined)."""

    phase: Literal["decided"] = "decided"


class ReportsOutput(Payload):
    report_ids: list[str]


# ---- AwaitAuditor --------------------------------------------------------------------------------
class AwaitInput(RunInput):
    task_token: str = Field(min_length=1)
    verify: VerifyOutput
    reports: ReportsOutput | None = None
    summary: dict[str, Any] = Field(default_factory=dict)


class AwaitOutput(Payload):
    task_id: str


# ---- Ledger (the approved run, handed to the writer by reference) --------------------------------
class RunRef(Payload):
    key: str
    sha256: str


class ApprovedRunOutput(Payload):
    """``$.ledger``: the first page of the writer's issuance (NextPage moves ``from_farmer``)."""

    run_ref: RunRef
    from_farmer: int = Field(ge=0)
    farmers: int = Field(ge=0)


# ---- RecordFailure / RecordDecision / RecordApproved ---------------------------------------------
class TaskError(Payload):
    """``$.error``: what a Catch passes on (``Error``, ``Cause``), plus ``step``, the run step whose
    state failed, which the state machine adds on its way to RecordFailure (the task may have failed
    before writing its step record, or never run: a timeout, an invalid payload)."""

    model_config = ConfigDict(extra="ignore", populate_by_name=True)

    error: str | None = Field(None, alias="Error")
    cause: Any = Field(None, alias="Cause")
    step: str | None = None


class IssuedPage(Payload):
    """``$.issued``: the ledger writer's answer to the last page (``body`` is its whole answer)."""

    ok: bool | None = None
    next_farmer: int | None = None
    body: dict[str, Any] | None = None


class OutcomeInput(RunInput):
    error: TaskError | None = None
    issued: IssuedPage | None = None
    ledger: dict[str, Any] | None = None
    decision: dict[str, Any] | None = None


class OutcomeOutput(Payload):
    status: Literal["approved", "rejected", "corrections_requested", "failed"]
    step: str | None = Field(None, description="With status failed: the step that failed")

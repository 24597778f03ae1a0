"""The scheduled late-upload sweep of erasures (docs/decisions/0022, docs/scheduled-jobs.md): every 15
minutes, each erased farmer whose sweep is due (the upload URLs issued before their erasure have expired)
gets the evidence eraser once more, so a file posted with such a URL after the erasure is deleted
(every version) without anyone asking. The logic is :class:`functions.farmers.erasure.ErasureSweeper`.

Its own role (infra/jobs.py): Query of the farm table's index, the evidence items' reads and writes of
the evidence eraser, and the uploads bucket's ``evidence/`` versions (list, delete). Nothing else.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel, Field

from agri_common.platform.schedule import ScheduledEvent, emit, scheduled_job
from agri_common.platform.settings import BaseSettingsModel, load_settings
from agri_common.single_table import DynamoTableStore
from functions.farmers.context import FarmContext
from functions.farmers.erasure import Eraser, ErasureSweeper, EvidenceEraser
from functions.farmers.erasure_stores import S3EvidenceFiles

JOB = "sweep_erasures"


class SweepErasuresSettings(BaseSettingsModel):
    farm_table: str
    uploads_bucket: str


class SweepErasuresOutput(BaseModel):
    swept: list[str] = Field(default_factory=list, description="farmer ids (tombstones) swept")
    failed: list[str] = Field(default_factory=list, description="farmer ids whose sweep failed (tried again)")
    more: bool = False


def _no_aadhaar_key() -> bytes:
    raise RuntimeError("the erasure sweep reads no Aadhaar number")


def default_erasers() -> tuple[FarmContext, list[Eraser]]:
    s = load_settings(SweepErasuresSettings)
    ctx = FarmContext(store=DynamoTableStore(s.farm_table), aadhaar_key=_no_aadhaar_key)
    return ctx, [EvidenceEraser(ctx, S3EvidenceFiles(s.uploads_bucket))]


def _utc_now() -> datetime:
    return datetime.now(UTC)


@scheduled_job(JOB, ScheduledEvent)
def sweep_erasures(
    event: ScheduledEvent, ctx: FarmContext, erasers: list[Eraser], *, now: Callable[[], datetime] = _utc_now
) -> SweepErasuresOutput:
    report = ErasureSweeper(ctx, erasers).sweep(event.fired_at(now))
    if report.swept:
        emit("ErasuresSwept", JOB, len(report.swept))
    if report.failed:
        emit("ErasureSweepErrors", JOB, len(report.failed))
    return SweepErasuresOutput(swept=report.swept, failed=report.failed, more=report.more)


def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    ctx, erasers = default_erasers()
    return sweep_erasures(event, ctx, erasers)

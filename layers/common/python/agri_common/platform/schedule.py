"""Scheduled jobs: the event EventBridge sends on a schedule, and the decorator every job uses.

    @scheduled_job("sweep_runs", SweepInput)
    def sweep(event: SweepInput, ctx: Context) -> SweepOutput: ...

    sweep(event_dict, ctx)  # -> the SweepOutput as a JSON-safe dict

A rule with a ``ScheduleExpression`` (rate or cron) invokes its target with
``{"version": "0", "id", "detail-type": "Scheduled Event", "source": "aws.events", "account",
"time", "region", "resources": [rule ARN], "detail": {}}`` (or the rule target's fixed ``Input``).
Around the job the decorator:

- validates the event with the job's model (a :class:`ScheduledEvent` subclass; fields the job
  does not read are ignored): an event it cannot read fails at once with :class:`InvalidJobInput`;
- logs with Powertools' Logger (``job`` and the event id as keys; a crash with its traceback);
- emits one metric per run (Embedded Metric Format, flushed at once): ``ScheduledJobSucceeded`` or
  ``ScheduledJobFailed`` (Count) with the dimensions ``service`` and ``job``;
- traces the job as an X-Ray subsegment ``## job.<name>``;
- dumps the output model with ``mode="json"``.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any, Concatenate, ParamSpec, TypeVar

from aws_lambda_powertools.metrics import MetricUnit, single_metric
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from agri_common.platform.observability import NAMESPACE, SERVICE, logger, tracer

SUCCEEDED, FAILED = "ScheduledJobSucceeded", "ScheduledJobFailed"


class ScheduledEvent(BaseModel):
    """What EventBridge sends a target of a scheduled rule (the fields a job may read)."""

    model_config = ConfigDict(extra="ignore", populate_by_name=True)

    id: str = ""
    detail_type: str = Field("Scheduled Event", alias="detail-type")
    source: str = "aws.events"
    time: datetime | None = None  # when the rule fired (UTC)
    resources: list[str] = Field(default_factory=list)  # the rule's ARN
    detail: dict[str, Any] = Field(default_factory=dict)

    def fired_at(self, now: Callable[[], datetime] | None = None) -> datetime:
        """The firing time (UTC), or now when the event has none (a manual invocation)."""
        if self.time is not None:
            return self.time if self.time.tzinfo else self.time.replace(tzinfo=UTC)
        return (now or (lambda: datetime.now(UTC)))()


class InvalidJobInput(ValueError):
    """The job was invoked with an event it cannot read."""

    def __init__(self, job: str, exc: ValidationError) -> None:
        self.job = job
        fields = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or '(event)'}: {e['msg']}"
            for e in exc.errors(include_url=False, include_input=False)[:10]
        )
        super().__init__(f"job {job}: invalid event ({fields})")


def emit(name: str, job: str, value: float = 1) -> None:
    """One metric with the ``job`` dimension, flushed now."""
    with single_metric(
        name=name,
        unit=MetricUnit.Count,
        value=value,
        namespace=NAMESPACE,
        default_dimensions={"service": SERVICE, "job": job},
    ):
        pass


In = TypeVar("In", bound=ScheduledEvent)
Out = TypeVar("Out", bound=BaseModel)
P = ParamSpec("P")


def scheduled_job(
    job: str, model: type[In]
) -> Callable[[Callable[Concatenate[In, P], Out]], Callable[Concatenate[Mapping[str, Any] | In, P], dict[str, Any]]]:
    """Make ``fn(event: model, ...) -> BaseModel`` a scheduled job named ``job`` (see the module doc)."""

    def decorate(
        fn: Callable[Concatenate[In, P], Out],
    ) -> Callable[Concatenate[Mapping[str, Any] | In, P], dict[str, Any]]:
        @functools.wraps(fn)
        def run(event: Mapping[str, Any] | In, /, *args: P.args, **kwargs: P.kwargs) -> dict[str, Any]:
            try:
                parsed = event if isinstance(event, model) else model.model_validate(dict(event))
            except ValidationError as exc:
                emit(FAILED, job)
                raise InvalidJobInput(job, exc) from exc
            logger.append_keys(job=job, event_id=parsed.id or None)
            try:
                with tracer.provider.in_subsegment(f"## job.{job}") as segment:
                    segment.put_annotation("job", job)
                    out = fn(parsed, *args, **kwargs)
            except Exception:
                logger.exception("scheduled job failed")
                emit(FAILED, job)
                raise
            finally:
                logger.remove_keys(["job", "event_id"])
            emit(SUCCEEDED, job)
            result: dict[str, Any] = out.model_dump(mode="json")
            logger.info("scheduled job done", extra={"result": result})
            return result

        return run

    return decorate

"""The decorator every pipeline task uses: typed input, one log context, one metric, one trace.

    @task("verify", VerifyInput)
    def verify(run: VerifyInput, ctx: core.Context) -> VerifyOutput: ...

    verify(event_dict, ctx)  # -> the VerifyOutput as a JSON-safe dict

The decorated function takes the state's payload (a dict, as Lambda gives it, or the model itself)
and returns a plain dict, so a task's Lambda entry point stays one line. Around the call it:

- validates the payload with the input model: a payload the task cannot read fails the step at once
  with :class:`InvalidTaskInput` (``errorType`` as Step Functions sees it; not retried), naming the
  step and the fields, never a ``KeyError`` from deep inside the task;
- logs with Powertools' Logger, the run id as correlation id and ``step``/``project_id``/``attempt``
  as keys; a crash is logged with its traceback and the step;
- emits one CloudWatch metric per step run (Embedded Metric Format, flushed at once):
  ``PipelineStepSucceeded`` or ``PipelineStepFailed`` (Count) with the dimensions ``service`` and
  ``step``, in the namespace of the API handlers (:mod:`agri_common.platform.observability`);
- traces the step as an X-Ray subsegment ``## pipeline.<step>`` annotated with the step and run;
- dumps the output model with ``mode="json"``, leaving out ``None`` fields;
- appends one activity event per step run (action ``pipeline.<step>``, target the run, outcome
  ``ok`` or the exception's class name), after an intent that covers a crash
  (:mod:`agri_common.platform.activity`).

An exception from the task is re-raised as it is (its class name is the ``errorType`` that the
state machine's Retry matches, e.g. ``ClientError``). The step a failed state belongs to reaches
RecordFailure through the state machine itself (``$.error.step``, see infra/pipeline.py), which
also covers what no code inside the Lambda sees: a timeout, an out-of-memory kill, an import error.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from typing import Any, Concatenate, ParamSpec, TypeVar

from aws_lambda_powertools.metrics import MetricUnit, single_metric
from pydantic import BaseModel, ValidationError

from agri_common.platform import activity
from agri_common.platform.observability import NAMESPACE, SERVICE, logger, tracer
from functions.pipeline.models import RunInput

In = TypeVar("In", bound=RunInput)
Out = TypeVar("Out", bound=BaseModel)
P = ParamSpec("P")

SUCCEEDED, FAILED = "PipelineStepSucceeded", "PipelineStepFailed"
LOG_KEYS = ("step", "run_id", "project_id", "attempt")


class InvalidTaskInput(ValueError):
    """The state handed a task a payload it cannot read (a definition/handler mismatch)."""

    def __init__(self, step: str, exc: ValidationError) -> None:
        self.step = step
        self.errors = [
            {"field": ".".join(str(p) for p in e["loc"]) or "(payload)", "problem": e["msg"]}
            for e in exc.errors(include_url=False, include_input=False)
        ]
        fields = "; ".join(f"{e['field']}: {e['problem']}" for e in self.errors[:10])
        super().__init__(f"step {step}: invalid task input ({fields})")


def emit(name: str, step: str) -> None:
    """One metric, flushed now (its ``step`` dimension must not stay on the process's other metrics)."""
    with single_metric(
        name=name,
        unit=MetricUnit.Count,
        value=1,
        namespace=NAMESPACE,
        default_dimensions={"service": SERVICE, "step": step},
    ):
        pass


def task(
    step: str, model: type[In]
) -> Callable[[Callable[Concatenate[In, P], Out]], Callable[Concatenate[Mapping[str, Any] | In, P], dict[str, Any]]]:
    """Make ``fn(run: model, ...) -> BaseModel`` a pipeline task named ``step`` (see the module doc)."""

    def decorate(
        fn: Callable[Concatenate[In, P], Out],
    ) -> Callable[Concatenate[Mapping[str, Any] | In, P], dict[str, Any]]:
        @functools.wraps(fn)
        def run_task(event: Mapping[str, Any] | In, /, *args: P.args, **kwargs: P.kwargs) -> dict[str, Any]:
            run_id = event.run_id if isinstance(event, RunInput) else _text(event, "run_id")
            project_id = event.project_id if isinstance(event, RunInput) else _text(event, "project_id")
            recording = activity.begin_step(step, run_id=run_id, project_id=project_id)  # raises: no step runs
            logger.set_correlation_id(run_id)
            logger.append_keys(step=step, run_id=run_id)
            outcome = "internal_error"
            try:
                payload = _validate(step, model, event)
                logger.append_keys(project_id=payload.project_id, attempt=payload.attempt)
                with tracer.provider.in_subsegment(name=f"## pipeline.{step}") as subsegment:
                    subsegment.put_annotation("step", step)
                    subsegment.put_annotation("run_id", payload.run_id)
                    try:
                        out = fn(payload, *args, **kwargs)
                    except Exception:
                        logger.exception("pipeline step failed")
                        emit(FAILED, step)
                        raise
                emit(SUCCEEDED, step)
                logger.info("pipeline step succeeded")
                outcome = "ok"
                return out.model_dump(mode="json", exclude_none=True)
            except Exception as exc:
                outcome = type(exc).__name__  # the errorType Step Functions sees
                raise
            finally:
                activity.finish(recording, outcome=outcome)
                logger.remove_keys(LOG_KEYS)
                logger.set_correlation_id(None)

        return run_task

    return decorate


def _validate(step: str, model: type[In], event: Mapping[str, Any] | In) -> In:
    if isinstance(event, model):
        return event
    try:
        return model.model_validate(event.model_dump() if isinstance(event, BaseModel) else event)
    except ValidationError as exc:
        error = InvalidTaskInput(step, exc)
        logger.error("pipeline step refused its input", extra={"errors": error.errors})
        emit(FAILED, step)
        raise error from None


def _text(event: object, key: str) -> str | None:
    value = event.get(key) if isinstance(event, Mapping) else None
    return value if isinstance(value, str) else None

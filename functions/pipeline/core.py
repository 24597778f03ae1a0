"""What every pipeline task shares: its settings, the stores, object keys and the step records.

Each task is a separate Lambda entry point (``functions/pipeline/<task>.py``) with its own role
(least privilege per task; the asset is shared). A task receives the small state of the execution
(``project_id``, ``run_id``, ``attempt``, ``generation``, plus earlier results that are S3 keys or
counts, never bulk data: Step Functions payloads are limited to 256 KB) and returns a small dict.

Idempotency: every object key is deterministic (run, data generation, chunk index) and every item
write is a conditional put or an overwrite of the same value, so a retried or restarted task
never duplicates what is stored. ``generation`` changes only when a run restarts after the
auditor requested corrections (the data changed); a restart after a failure keeps it and reuses
the stored plan and chunk results.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, Protocol

from agri_common import pipeline_objects, pipeline_table
from agri_common.platform.clock import utc_iso_micros_z
from agri_common.platform.settings import BaseSettingsModel, load_settings
from agri_common.single_table import Put, Update
from functions.pipeline.models import RunInput as RunInput  # every task's run fields (re-exported)


class PipelineSettings(BaseSettingsModel):
    pipeline_table: str
    pipeline_bucket: str
    farm_table: str | None = None
    audit_bucket: str | None = None
    chunk_units: int = 2000


class ObjectStore(Protocol):
    def put(self, key: str, body: bytes, content_type: str = "application/octet-stream") -> None: ...
    def get(self, key: str) -> bytes: ...
    def exists(self, key: str) -> bool: ...


class S3PipelineBucket:
    """:class:`ObjectStore` on the pipeline bucket: the runs' working data (plans, chunk inputs and results,
    findings, reports)."""

    def __init__(self, bucket: str):
        self.bucket = bucket

    @property
    def _s3(self) -> Any:  # a boto3 client (untyped)
        from agri_common.platform.aws import client

        return client("s3")

    def put(self, key: str, body: bytes, content_type: str = "application/octet-stream") -> None:
        self._s3.put_object(Bucket=self.bucket, Key=key, Body=body, ContentType=content_type)

    def get(self, key: str) -> bytes:
        body: bytes = self._s3.get_object(Bucket=self.bucket, Key=key)["Body"].read()
        return body

    def exists(self, key: str) -> bool:
        from botocore.exceptions import ClientError

        try:
            self._s3.head_object(Bucket=self.bucket, Key=key)
            return True
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound"):
                return False
            raise


# ---- object keys (deterministic: a retry overwrites the same object with the same bytes) ---------
# (the keys other domains read are spelled in agri_common.pipeline_objects)
def prefix(run: RunInput) -> str:
    return pipeline_objects.run_prefix(run.run_id, run.generation)


def plan_key(run: RunInput) -> str:
    return pipeline_objects.plan_key(run.run_id, run.generation)


def manifest_key(run: RunInput, index: int) -> str:
    return pipeline_objects.manifest_key(run.run_id, run.generation, index)


def chunk_key(run: RunInput, index: int, name: str) -> str:
    return pipeline_objects.chunk_key(run.run_id, run.generation, index, name)


def sensitivity_key(run: RunInput, index: int) -> str:
    """Pass 1 of the VM0042 conservative choice for one chunk (a few KB of JSON)."""
    return chunk_key(run, index, "sensitivity.json")


def engine_request_key(run: RunInput, index: int) -> str:
    """The chunk's engine request as evaluated in pass 1 (gzip JSON): pass 2 re-evaluates exactly these plots."""
    return chunk_key(run, index, "engine_request.json.gz")


def choice_key(run: RunInput) -> str:
    """The project's conservative factor choice (made once over the summed sensitivities)."""
    return f"{prefix(run)}/conservative_choice.json"


def basis_key(run: RunInput, index: int, digest: str) -> str:
    """Pass 2 of one chunk, keyed by the choice it used (a restart with the same choice reuses it)."""
    return chunk_key(run, index, f"basis-{digest}.json")


def summary_key(run: RunInput) -> str:
    return f"{prefix(run)}/summary.json"


def contributions_key(run: RunInput) -> str:
    return f"{prefix(run)}/contributions.json"


def findings_key(run: RunInput) -> str:
    return f"{prefix(run)}/findings.json"


def sample_key(run: RunInput) -> str:
    return f"{prefix(run)}/sample.json"


def chunk_marker(run: RunInput, index: int) -> pipeline_table.Key:
    return pipeline_table.chunk(run.run_id, run.generation, index)


def dumps(value: Any) -> bytes:
    return json.dumps(value, separators=(",", ":"), sort_keys=True, default=str).encode()


now = utc_iso_micros_z  # the pipeline table's timestamps


@dataclass
class Context:
    """The stores a task uses; tests build one with in-memory fakes."""

    store: Any
    objects: ObjectStore
    clock: Callable[[], str] = now
    extra: dict[str, Any] = field(default_factory=dict)

    def project(self, run: RunInput) -> pipeline_table.ProjectRecord:
        record: pipeline_table.ProjectRecord | None = pipeline_table.ProjectRecord.from_item(
            self.store.get(pipeline_table.project(run.project_id))
        )
        if record is None:
            raise ValueError(f"project {run.project_id} not found")
        return record

    def get_json(self, key: str) -> Any:
        return json.loads(self.objects.get(key))

    def put_json(self, key: str, value: Any) -> None:
        self.objects.put(key, dumps(value), "application/json")

    @contextmanager
    def step(self, run: RunInput, name: str, **detail: Any) -> Iterator[dict[str, Any]]:
        """Record the step as running, then succeeded with ``detail`` (or failed with the cause)."""
        started = self.clock()
        record = pipeline_table.StepRecord(
            run_id=run.run_id, step=name, attempt=run.attempt, status="running", started_at=started, detail=detail
        )
        self.store.transact([Put(record.to_item())])
        out: dict[str, Any] = dict(detail)
        try:
            yield out
        except Exception as exc:
            self.store.transact(
                [
                    Update(
                        record.key(),
                        set={
                            "status": "failed",
                            "finished_at": self.clock(),
                            "detail": {**out, "cause": f"{type(exc).__name__}: {exc}"[:1000]},
                        },
                    )
                ]
            )
            raise  # logged (with its traceback) and counted by the task decorator (functions/pipeline/task.py)
        self.store.transact(
            [Update(record.key(), set={"status": "succeeded", "finished_at": self.clock(), "detail": out})]
        )

    def set_run(self, run: RunInput, **values: Any) -> None:
        """Update the run item, only while it is still this attempt (a late retry of an old
        attempt cannot overwrite a newer one)."""
        self.store.transact(
            [
                Update(
                    pipeline_table.run(run.project_id, run.run_id),
                    set={**values, "updated_at": self.clock()},
                    expect={"attempt": run.attempt},
                    if_exists=True,
                )
            ]
        )


def audit_bucket() -> str:
    """The audit bucket of a task that writes there (reports, approved_run: infra/pipeline.py sets it)."""
    bucket = load_settings(PipelineSettings).audit_bucket
    if not bucket:
        raise RuntimeError("AUDIT_BUCKET is not set: this pipeline task has no audit bucket")
    return bucket


def farm_table() -> str:
    """The farm table of a task that reads farmers' seasons (plan, calculate: infra/pipeline.py sets it)."""
    table = load_settings(PipelineSettings).farm_table
    if not table:
        raise RuntimeError("FARM_TABLE is not set: this pipeline task has no farm table")
    return table


@lru_cache(maxsize=1)
def default_context() -> Context:
    from agri_common.single_table import DynamoTableStore

    s = load_settings(PipelineSettings)
    return Context(store=DynamoTableStore(s.pipeline_table), objects=S3PipelineBucket(s.pipeline_bucket))

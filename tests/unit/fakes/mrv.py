"""In-memory fakes for the MRV domains (projects, verification, pipeline): the item store (the farm
fakes' one: same contract as agri_common.single_table.DynamoTableStore), S3 objects, Step Functions,
and a pipeline task context."""

from __future__ import annotations

from typing import Any

from tests.unit.fakes.farm import InMemoryFarmStore

MemoryStore = InMemoryFarmStore  # the pipeline table's services use the farm store's contract


class MemoryObjects:
    """The object store interface of the pipeline (put/get/exists/list), in memory."""

    def __init__(self) -> None:
        self.objects: dict[str, bytes] = {}
        self.puts: list[str] = []

    def put(self, key: str, body: bytes, content_type: str = "application/octet-stream") -> None:
        self.puts.append(key)
        self.objects[key] = bytes(body)

    def get(self, key: str) -> bytes:
        return self.objects[key]

    def exists(self, key: str) -> bool:
        return key in self.objects


class FakeStepFunctions:
    def __init__(self) -> None:
        self.started: list[dict] = []
        self.successes: list[tuple[str, dict]] = []
        self.failures: list[tuple[str, str, str]] = []
        self.heartbeats: list[str] = []

    def start(self, name: str, payload: dict) -> str:
        self.started.append({"name": name, "input": payload})
        return f"arn:aws:states:ap-south-1:123456789012:execution:Mrv:{name}"

    def describe(self, execution_arn: str) -> dict:
        return {"status": "RUNNING", "executionArn": execution_arn}

    def send_success(self, token: str, output: dict) -> None:
        self.successes.append((token, output))

    def send_failure(self, token: str, error: str, cause: str) -> None:
        self.failures.append((token, error, cause))

    def heartbeat(self, token: str) -> None:
        self.heartbeats.append(token)


def pipeline_context(project_id: str, run_id: str, *, draws: int = 300, **project: Any):
    """A pipeline task context on in-memory stores holding one project (vm0051 unless overridden)
    and its running run of the 2025 kharif period."""
    from agri_common import pipeline_table
    from functions.pipeline import core

    store, objects = MemoryStore(), MemoryObjects()
    fields = dict(
        project_id=project_id,
        name="Delta",
        fpo_ids=["FPO-1"],
        methodology="vm0051",
        profile="vm0051",
        gwp="AR5",
        region="south_asia",
        climate="wet",
        crediting_start="2024-06-01",
        crediting_end="2030-05-31",
        draws=draws,
        created_by="a",
        created_at="t",
    )
    record = pipeline_table.ProjectRecord(**{**fields, **project})
    store.items[record.key()] = record.to_item()
    run = pipeline_table.RunRecord(
        project_id=project_id,
        run_id=run_id,
        period="2025-kharif",
        status="running",
        attempt=1,
        started_by="a",
        started_at="t",
        updated_at="t",
    )
    store.items[run.key()] = run.to_item()
    return core.Context(store=store, objects=objects, clock=lambda: "2025-01-01T00:00:00Z")


class FakeFpos:
    """The projects domain's FPO directory: ``known`` ids are registered (None: every id is)."""

    def __init__(self, known: set[str] | None = None) -> None:
        self.known = known

    def existing(self, fpo_ids) -> set[str]:
        return set(fpo_ids) if self.known is None else set(fpo_ids) & self.known

"""What a farmer's credit statement reads outside the farm table, behind two small interfaces:

- :class:`RunReads`: an approved run (pipeline table: the run, its project, the auditor's decision)
  and one farmer's plot-season rows of it (pipeline bucket: the plan, the chunk manifests, and the
  rows of the one chunk that holds the farmer). Rows are not indexed by farmer: chunks hold
  consecutive runs of the sorted farmer ids, so the farmer's chunk is found by a binary search over
  the manifests' first ids (about log2(chunks) + 1 small reads: 10 for a 1,000,000 plot-season run
  of 500 chunks), then one chunk's rows (about 5,000 lines) are read and filtered.
- :class:`LedgerReads`: the credits issued to the farmer by that run (ledger table: the farmer's
  salt, then the records on the ``by_farmer`` index under the farmer's salted reference, filtered to
  the project's issuance records; the farmer id itself is never written to the ledger).

Keys come from their owners' shared modules (``agri_common.pipeline_table``,
``agri_common.pipeline_objects``, ``agri_common.ledger_table``). No AWS client at import.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Protocol

from agri_common import ledger_table, pipeline_objects, pipeline_table
from agri_common.ledger_crypto import farmer_ref
from agri_common.single_table import TableStore
from functions.farmers.statement import CreditRange


@dataclass(frozen=True)
class ApprovedRun:
    project: pipeline_table.ProjectRecord
    run: pipeline_table.RunRecord
    approved_at: str | None


class RunReads(Protocol):
    def approved_run(self, run_id: str) -> ApprovedRun | None:
        """The run if it exists and is approved (else None: the caller cannot tell which)."""

    def farmer_rows(self, run: ApprovedRun, farmer_id: str) -> list[dict[str, Any]]:
        """The farmer's computed plot-season rows in the run (none: the run did not count them)."""


class LedgerReads(Protocol):
    def issued(self, farmer_id: str, project_id: str, run_id: str) -> list[CreditRange]:
        """The credit ranges the run issued to the farmer, in serial order."""


class Objects(Protocol):
    def get(self, key: str) -> bytes: ...


class PipelineRunReads:
    def __init__(self, store: TableStore, objects: Objects):
        self.store = store
        self.objects = objects

    def approved_run(self, run_id: str) -> ApprovedRun | None:
        if not pipeline_table.valid(pipeline_table.RUN_ID, run_id):
            return None
        project_id = pipeline_table.project_of_run(run_id)
        found = self.store.batch_get([pipeline_table.run(project_id, run_id), pipeline_table.project(project_id)])
        run = next((pipeline_table.RunRecord.from_item(i) for i in found if i.get("kind") == "run"), None)
        project = next((pipeline_table.ProjectRecord.from_item(i) for i in found if i.get("kind") == "project"), None)
        if run is None or project is None or run.status != "approved":
            return None
        task = pipeline_table.TaskRecord.from_item(
            self.store.get(pipeline_table.task(run.task_id or pipeline_table.task_id(run_id, run.attempt)))
        )
        decided = (task.decision or {}).get("decided_at") if task is not None else None
        return ApprovedRun(project=project, run=run, approved_at=str(decided) if decided else None)

    def _json(self, key: str) -> Any:
        return json.loads(self.objects.get(key))

    def farmer_rows(self, run: ApprovedRun, farmer_id: str) -> list[dict[str, Any]]:
        run_id, generation = run.run.run_id, run.run.generation
        count = int(self._json(pipeline_objects.plan_key(run_id, generation))["chunk_count"])
        manifests: dict[int, list[str]] = {}

        def units(index: int) -> list[str]:
            if index not in manifests:
                manifests[index] = list(self._json(pipeline_objects.manifest_key(run_id, generation, index))["units"])
            return manifests[index]

        low, high = 0, count - 1  # the last chunk whose first farmer id is <= farmer_id
        while low < high:
            middle = (low + high + 1) // 2
            first = units(middle)
            if first and first[0] <= farmer_id:
                low = middle
            else:
                high = middle - 1
        if count < 1 or farmer_id not in units(low):
            return []
        data = self.objects.get(pipeline_objects.chunk_key(run_id, generation, low, pipeline_objects.ROWS))
        rows = (json.loads(line) for line in data.decode().splitlines() if line)
        return [row for row in rows if row.get("farmer_id") == farmer_id]


class S3Objects:
    """GetObject on one bucket (the pipeline bucket: the farmers function may read runs/ only)."""

    def __init__(self, bucket: str):
        self.bucket = bucket

    def get(self, key: str) -> bytes:
        from agri_common.platform.aws import client

        body: bytes = client("s3").get_object(Bucket=self.bucket, Key=key)["Body"].read()
        return body


class DynamoLedgerReads:
    """The ledger table, read only: GetItem of the farmer's salt, Query of the ``by_farmer`` index."""

    def __init__(self, table_name: str):
        self.table_name = table_name

    def issued(self, farmer_id: str, project_id: str, run_id: str) -> list[CreditRange]:
        from boto3.dynamodb.conditions import Attr, Key

        from agri_common.platform.aws import dynamodb_table

        table = dynamodb_table(self.table_name)
        salt_item = table.get_item(Key=ledger_table.salt_key(farmer_id)).get("Item")
        if not salt_item or ledger_table.SALT_ATTR not in salt_item:  # no record names this farmer (yet, or any more)
            return []
        ref = farmer_ref(str(salt_item[ledger_table.SALT_ATTR]), farmer_id)
        index, attr = ledger_table.INDEXES["farmer_ref"]
        kwargs: dict[str, Any] = {
            "IndexName": index,
            "KeyConditionExpression": Key(attr).eq(ref),
            "FilterExpression": Attr(ledger_table.FILTER_ATTRS["project_id"]).eq(project_id)
            & Attr(ledger_table.KIND_ATTR).eq("issuance"),
        }
        bodies: list[dict[str, Any]] = []
        while True:
            page = table.query(**kwargs)
            bodies += [json.loads(item[ledger_table.BODY_ATTR]) for item in page.get("Items", [])]
            if "LastEvaluatedKey" not in page:
                break
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]
        return issued_ranges(bodies, run_id)


def issued_ranges(bodies: list[dict[str, Any]], run_id: str) -> list[CreditRange]:
    """The issuance records of ``run_id`` as serial ranges, in serial order."""
    mine = sorted((b for b in bodies if b.get("kind") == "issuance" and b.get("run_id") == run_id), key=_start)
    return [CreditRange(str(b["serial_start"]), str(b["serial_end"]), int(b["quantity"])) for b in mine]


def _start(body: dict[str, Any]) -> int:
    return int(body["start"])

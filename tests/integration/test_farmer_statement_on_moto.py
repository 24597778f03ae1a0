"""A farmer's credit statement reads across tables on moto (resources from the synthesized template):
the ledger records the real ledger code wrote, found by the farmer's salted reference; a run's rows in
the pipeline bucket under the keys the pipeline writes, read only where the farmers role may read."""

from __future__ import annotations

import json
from fnmatch import fnmatchcase

from agri_common import pipeline_objects, pipeline_table
from agri_common.single_table import DynamoTableStore, Put
from functions.farmers.statement import CreditRange
from functions.farmers.statement_reads import DynamoLedgerReads, PipelineRunReads, S3Objects
from functions.ledger import models as m
from functions.ledger.dal import DynamoLedgerStore, S3ArtifactStore
from functions.ledger.issuance import Issuer
from infra.domain_constructs.farmers import STATEMENT_OBJECTS
from tests.unit.functions.ledger.conftest import NOW, approved_run


def test_the_credits_issued_to_a_farmer_by_one_run_are_read_by_their_salted_reference(function_env):
    env = function_env("ledger-writer")
    issuer = Issuer(DynamoLedgerStore(env["LEDGER_TABLE"]), S3ArtifactStore(env["AUDIT_BUCKET"]), now=lambda: NOW)
    first = issuer.issue(approved_run("R1", net="10.7"))  # FARMER-0..2 with weights 1, 2, 3: 2, 3, 5 credits
    issuer.issue(approved_run("R2", net="6"))  # the same farmers, another run of the project
    issuer.issue(approved_run("R9", net="6", project_id="P2"))  # another project
    reads = DynamoLedgerReads(function_env("farmers")["LEDGER_TABLE"])

    series = m.series("P1", 2025, "R1")
    for index, block in enumerate(first.credits):
        assert reads.issued(f"FARMER-{index}", "P1", "R1") == [
            CreditRange(
                m.unit_serial(series, block.start), m.unit_serial(series, block.end), block.end - block.start + 1
            )
        ]
    assert [r.count for r in reads.issued("FARMER-2", "P1", "R1")] == [5]
    assert reads.issued("FARMER-2", "P1", "R3") == []  # no such run
    assert reads.issued("FARMER-2", "P2", "R1") == []  # R1 is not P2's
    assert reads.issued("FARMER-9", "P1", "R1") == []  # no salt: the ledger never named this farmer


def test_a_farmers_rows_are_read_from_the_keys_the_farmers_role_may_read(function_env):
    env = function_env("farmers")
    store = DynamoTableStore(env["PIPELINE_TABLE"])
    project_id = "prj_0000abcd"
    run_id = pipeline_table.run_id(project_id, "2025-kharif")
    project = pipeline_table.ProjectRecord(
        project_id=project_id,
        name="Delta AWD",
        fpo_ids=["FPO-1"],
        methodology="vm0051",
        profile="vm0051",
        gwp="AR5",
        region="south_asia",
        climate="wet",
        crediting_start="2024-06-01",
        crediting_end="2030-05-31",
        created_by="a",
        created_at="t",
    )
    run = pipeline_table.RunRecord(
        project_id=project_id,
        run_id=run_id,
        period="2025-kharif",
        status="approved",
        attempt=2,
        generation=3,
        started_by="a",
        started_at="t",
        updated_at="t",
    )
    store.transact([Put(project.to_item()), Put(run.to_item())])
    import boto3

    s3 = boto3.client("s3")
    bucket = env["PIPELINE_BUCKET"]
    units = [["F-a", "F-b"], ["F-c", "F-d"], ["F-e"]]
    s3.put_object(Bucket=bucket, Key=pipeline_objects.plan_key(run_id, 3), Body=json.dumps({"chunk_count": 3}))
    for index, group in enumerate(units):
        s3.put_object(
            Bucket=bucket, Key=pipeline_objects.manifest_key(run_id, 3, index), Body=json.dumps({"units": group})
        )
        rows = "\n".join(json.dumps({"farmer_id": u, "plot_id": f"P-{u}", "net": 1.5}) for u in group)
        s3.put_object(
            Bucket=bucket, Key=pipeline_objects.chunk_key(run_id, 3, index, pipeline_objects.ROWS), Body=rows + "\n"
        )

    read: list[str] = []

    class Recording(S3Objects):
        def get(self, key: str) -> bytes:
            read.append(key)
            return super().get(key)

    reads = PipelineRunReads(store, Recording(bucket))
    approved = reads.approved_run(run_id)
    assert approved is not None and approved.run.generation == 3 and approved.approved_at is None  # no task item
    assert reads.farmer_rows(approved, "F-d") == [{"farmer_id": "F-d", "plot_id": "P-F-d", "net": 1.5}]
    assert reads.farmer_rows(approved, "F-z") == []
    assert read and all(any(fnmatchcase(key, p) for p in STATEMENT_OBJECTS) for key in read), read

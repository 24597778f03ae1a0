"""The scheduled jobs on moto, resources provisioned from the synthesized template: the stuck-run
sweeper against the real pipeline table and Step Functions executions, and the daily ledger export
into the Object Lock audit bucket (with each function's own environment from the template)."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime, timedelta

import boto3
import pytest

from agri_common import pipeline_table
from agri_common.ledger_crypto import seal
from agri_common.single_table import DynamoTableStore
from functions.ledger import models as m
from functions.ledger.dal import DynamoLedgerStore
from functions.ledger.ports import Append

NOW = datetime.now(UTC)


def iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def scheduled(at: datetime) -> dict:
    return {
        "version": "0",
        "id": "ev-1",
        "detail-type": "Scheduled Event",
        "source": "aws.events",
        "account": "123456789012",
        "time": at.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "region": "ap-south-1",
        "resources": ["arn:aws:events:ap-south-1:123456789012:rule/x"],
        "detail": {},
    }


@pytest.fixture
def still_executions(monkeypatch):
    """Executions stay as started (a twin started earlier in this process may have turned moto's
    interpreter on): the test sets the execution states it needs. Before the state machine exists."""
    from moto.core.config import default_user_config

    monkeypatch.setitem(default_user_config, "stepfunctions", {"execute_state_machine": False})


@pytest.fixture
def sweep_env(still_executions, aws, function_env, synthesized):
    from functions.pipeline import core

    env = function_env("pipeline-sweep")
    core.default_context.cache_clear()
    (machine,) = [
        lid for lid, r in synthesized.template["Resources"].items() if r["Type"] == "AWS::StepFunctions::StateMachine"
    ]
    yield env, aws.ref(machine)
    core.default_context.cache_clear()


def _project(store, pid: str) -> None:
    record = pipeline_table.ProjectRecord(
        project_id=pid,
        name="P",
        fpo_ids=["FPO-1"],
        methodology="vm0051",
        profile="vm0051",
        gwp="AR5",
        region="south_asia",
        climate="wet",
        crediting_start="2024-06-01",
        crediting_end="2030-05-31",
        draws=10,
        created_by="a",
        created_at=iso(NOW - timedelta(days=9)),
    )
    from agri_common.single_table import Put

    store.transact([Put({**record.to_item(), **record.index()})])


def _run(store, pid: str, year: int, arn: str | None, updated: datetime) -> str:
    from agri_common.single_table import Put

    rid = pipeline_table.run_id(pid, str(year))
    run = pipeline_table.RunRecord(
        project_id=pid,
        run_id=rid,
        period=str(year),
        status="running",
        attempt=1,
        execution_arn=arn,
        started_by="m",
        started_at=iso(updated),
        updated_at=iso(updated),
    )
    store.transact([Put(run.to_item())])
    return rid


def test_the_sweeper_fails_stuck_runs_on_dynamodb_and_step_functions(sweep_env):
    from functions.pipeline import sweep

    env, machine_arn = sweep_env
    sfn = boto3.client("stepfunctions")
    store = DynamoTableStore(env["PIPELINE_TABLE"])
    pid = "prj_0123abcd"
    _project(store, pid)

    def execution(name: str) -> str:
        return sfn.start_execution(stateMachineArn=machine_arn, name=name, input="{}")["executionArn"]

    stalled = _run(store, pid, 2021, execution("stalled"), NOW - timedelta(hours=7))
    ended_arn = execution("ended")
    sfn.stop_execution(executionArn=ended_arn, error="Manual", cause="stopped by hand")
    ended = _run(store, pid, 2022, ended_arn, NOW - timedelta(minutes=20))
    lost = _run(store, pid, 2023, machine_arn.replace(":stateMachine:", ":execution:") + ":gone", NOW)
    healthy_arn = execution("healthy")
    healthy = _run(store, pid, 2024, healthy_arn, NOW - timedelta(minutes=5))

    out = sweep.lambda_handler(scheduled(NOW), None)

    assert out["errors"] == []
    assert {r["run_id"]: r["error"] for r in out["failed"]} == {
        stalled: "RunStalled",
        ended: "ExecutionEnded",
        lost: "ExecutionLost",
    }
    runs = {
        rid: pipeline_table.RunRecord.from_item(store.get(pipeline_table.run(pid, rid)))
        for rid in (stalled, ended, lost, healthy)
    }
    for rid in (stalled, ended, lost):
        assert runs[rid].status == "failed" and runs[rid].error["detected_by"] == "stuck-run sweeper", runs[rid]
    assert "ABORTED" in runs[ended].error["cause"]
    assert runs[healthy].status == "running"
    stopped = sfn.describe_execution(executionArn=runs[stalled].execution_arn)
    assert stopped["status"] == "ABORTED"
    assert sfn.describe_execution(executionArn=healthy_arn)["status"] == "RUNNING"
    # idempotent: nothing left to do, nothing rewritten
    before = {rid: store.get(pipeline_table.run(pid, rid)) for rid in runs}
    again = sweep.lambda_handler(scheduled(NOW + timedelta(minutes=15)), None)
    assert again == {"checked": 1, "failed": [], "errors": []}
    assert {rid: store.get(pipeline_table.run(pid, rid)) for rid in runs} == before


@pytest.fixture
def export_env(aws, function_env):
    return function_env("ledger-export_job")


def _append_day(store: DynamoLedgerStore, times: list[datetime]) -> list[dict]:
    seq, prev = store.head()
    bodies = []
    for at in times:
        seq += 1
        body = seal(
            {
                "record_id": f"R{seq}",
                "kind": "issuance",
                "project_id": "P1",
                "vintage": 2025,
                "quantity": 1,
                "series": "AGM-P1-2025-R1",
                "methodology_profile": "awd-rice-v1",
                "seq": seq,
                "prev_hash": prev,
                "recorded_at": at.strftime("%Y-%m-%dT%H:%M:%SZ"),
            }
        )
        store.append([Append(m.StoredRecord(body=body, owner_user_id="u", fpo_id="FPO-1"))], expected_seq=seq - 1)
        prev = body["record_hash"]
        bodies.append(body)
    return bodies


def test_the_export_lands_in_the_object_lock_bucket_once(export_env):
    from functions.ledger import export_job

    store = DynamoLedgerStore(export_env["LEDGER_TABLE"])
    yesterday = (NOW - timedelta(days=1)).replace(hour=0, minute=0, second=0, microsecond=0)
    bodies = _append_day(
        store, [yesterday - timedelta(hours=2), yesterday + timedelta(hours=3), yesterday + timedelta(hours=20), NOW]
    )
    out = export_job.lambda_handler(scheduled(NOW), None)
    assert out["status"] == "written" and out["records"] == 2
    assert out["key"] == f"ledger/exports/daily/{yesterday.date().isoformat()}.jsonl"

    s3 = boto3.client("s3")
    bucket = export_env["AUDIT_BUCKET"]
    assert s3.get_object_lock_configuration(Bucket=bucket)["ObjectLockConfiguration"]["ObjectLockEnabled"] == "Enabled"
    stored = s3.get_object(Bucket=bucket, Key=out["key"])
    data = stored["Body"].read()
    assert hashlib.sha256(data).hexdigest() == out["sha256"]
    assert stored.get("ObjectLockMode") and stored.get("ObjectLockRetainUntilDate")  # locked by the bucket default
    lines = [json.loads(line) for line in data.decode().splitlines()]
    assert lines[0]["prev_hash"] == bodies[0]["record_hash"] and lines[0]["from_seq"] == 2
    assert [line["record"] for line in lines[1:]] == bodies[1:3]
    checksum = s3.get_object(Bucket=bucket, Key=out["key"] + ".sha256")["Body"].read().decode()
    assert checksum == f"{out['sha256']}  {yesterday.date().isoformat()}.jsonl\n"  # sha256sum -c format

    # idempotent: same content, no new version of either object
    again = export_job.lambda_handler(scheduled(NOW + timedelta(hours=1)), None)
    assert again == {**out, "status": "unchanged"}
    versions = s3.list_object_versions(Bucket=bucket, Prefix="ledger/exports/")["Versions"]
    assert len(versions) == 2


def test_a_changed_past_is_refused_and_the_stored_export_kept(export_env):
    from functions.ledger import export_job

    store = DynamoLedgerStore(export_env["LEDGER_TABLE"])
    day = (NOW - timedelta(days=3)).date()
    _append_day(store, [datetime(day.year, day.month, day.day, 8, tzinfo=UTC)])
    first = export_job.lambda_handler({"day": day.isoformat()}, None)
    bucket = export_env["AUDIT_BUCKET"]
    s3 = boto3.client("s3")
    # someone's copy of that day differs (a forged or hand-made object): the job must not overwrite it
    s3.put_object(Bucket=bucket, Key=first["key"], Body=b'{"kind":"export"}\n', ChecksumAlgorithm="SHA256")
    with pytest.raises(export_job.ExportConflict):
        export_job.lambda_handler({"day": day.isoformat()}, None)
    latest = s3.get_object(Bucket=bucket, Key=first["key"])["Body"].read()
    assert latest == b'{"kind":"export"}\n'
    assert len(s3.list_object_versions(Bucket=bucket, Prefix=first["key"])["Versions"]) == 3  # jsonl x2, .sha256

"""Scheduled jobs on the twin, fired by the command ops and demos use (python -m infra.local.jobs):
the rules come from the template; the daily export lands in the Object Lock audit bucket once; the
sweeper fails a run whose execution ended without an outcome, and the API shows the cause."""

from __future__ import annotations

import json
import subprocess
import sys

import boto3
import pytest

from tests.e2e.conftest import ROOT, Client
from tests.e2e.test_api import unique
from tests.e2e.test_farm import RICE, somewhere, square
from tests.e2e.test_membership import new_manager
from tests.e2e.test_statement import join, wait_status

pytestmark = pytest.mark.e2e


def jobs(twin, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "infra.local.jobs", "--api", twin["api"], *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )


def moto(twin, service: str):
    return boto3.client(
        service,
        endpoint_url=twin["moto"],
        region_name=twin["region"],
        aws_access_key_id="local",
        aws_secret_access_key="local",
    )


def test_the_cli_lists_the_templates_rules(twin):
    listed = jobs(twin, "list")
    assert listed.returncode == 0, listed.stderr
    names = [line.split()[0] for line in listed.stdout.splitlines()]
    assert sorted(names) == [
        "activity-export",
        "activity-sweep",
        "jobs-export-ledger",
        "jobs-sweep-erasures",
        "jobs-sweep-runs",
        "ledger-anchor",
        "notifications-reminder",
    ]
    assert "cron(30 0 * * ? *)" in listed.stdout and "rate(15 minutes)" in listed.stdout
    assert twin["jobs"]["scheduled"] is False  # the e2e twin runs --no-schedules: nothing fires by itself


def test_the_daily_export_lands_in_the_audit_bucket_once(twin, synthesized):
    ambiguous = jobs(twin, "run", "export")  # two rules' names contain it: the CLI says which
    assert ambiguous.returncode == 2 and "activity-export, jobs-export-ledger" in ambiguous.stdout
    fired = jobs(twin, "run", "export-ledger")
    assert fired.returncode == 0, fired.stdout + fired.stderr
    (target,) = json.loads(fired.stdout)["targets"]
    result = target["result"]
    assert result["status"] in ("written", "unchanged") and result["key"].startswith("ledger/exports/daily/")
    (audit,) = [
        lid
        for lid, r in synthesized.template["Resources"].items()
        if (r.get("Metadata") or {}).get("agri:resource") == "audit"
    ]
    bucket = twin["resources"][audit]
    s3 = moto(twin, "s3")
    body = s3.get_object(Bucket=bucket, Key=result["key"])
    data = body["Body"].read()
    import hashlib

    assert hashlib.sha256(data).hexdigest() == result["sha256"]
    assert body.get("ObjectLockMode")  # the bucket's default retention applies
    header = json.loads(data.decode().splitlines()[0])
    assert header["kind"] == "export" and header["day"] == result["day"]
    again = jobs(twin, "run", "jobs-export-ledger")
    assert json.loads(again.stdout)["targets"][0]["result"] == {**result, "status": "unchanged"}
    assert len(s3.list_object_versions(Bucket=bucket, Prefix=result["key"])["Versions"]) == 2  # jsonl + .sha256


def test_the_sweeper_fails_a_run_whose_execution_ended_and_the_api_shows_why(twin):
    client = Client.of(twin)
    tokens = {u["role"]: client.login(u["username"], u["password"])["id_token"] for u in twin["users"]}
    admin, auditor = tokens["admin"], tokens["auditor"]
    fpo_id = unique("FPO-J-")
    assert client.call("POST", "/fpos", {"fpo_id": fpo_id, "name": "Jobs FPO", "state": "Punjab"}, token=admin).ok
    manager = new_manager(client, admin, fpo_id)
    farmer, farmer_id = join(client, manager, fpo_id, "Gurpreet Kaur", "9812345671")
    plot = client.call("POST", f"/farmers/{farmer_id}/plots", square(*somewhere(), size=0.004), token=farmer)
    assert plot.status_code == 201, plot.text
    season = {"plot_id": plot.json()["plot_id"], "season": RICE}
    assert client.call("POST", "/farmers/field-data", season, token=farmer).status_code == 201
    project = client.call(
        "POST",
        "/projects",
        {
            "name": "Jobs AWD",
            "fpo_ids": [fpo_id],
            "methodology": "vm0051",
            "profile": "vm0051",
            "gwp": "AR5",
            "crediting_start": "2025-06-01",
            "crediting_end": "2030-05-31",
        },
        token=admin,
    )
    assert project.status_code == 201, project.text
    pid = project.json()["project_id"]
    assert client.call("POST", f"/projects/{pid}/auditors", {"username": "demo-auditor"}, token=admin).ok
    started = client.call("POST", f"/projects/{pid}/runs", {"period": "2025-kharif"}, token=admin)
    assert started.status_code == 202, started.text
    run_id = started.json()["run_id"]
    run = wait_status(client, admin, pid, run_id, {"awaiting_auditor", "failed"})
    assert run["status"] == "awaiting_auditor", run
    assert any(t["run_id"] == run_id for t in client.call("GET", "/verification/tasks", token=auditor).json()["items"])

    # The execution ends behind the run's back (stopped by hand, or its state machine was replaced).
    sfn = moto(twin, "stepfunctions")
    arns = [
        e["executionArn"]
        for m in sfn.list_state_machines()["stateMachines"]
        for e in sfn.list_executions(stateMachineArn=m["stateMachineArn"])["executions"]
        if e["name"] == f"{run_id}_a1"
    ]
    (arn,) = arns
    sfn.stop_execution(executionArn=arn, error="Manual", cause="stopped by an operator")
    assert client.call("GET", f"/projects/{pid}/runs/{run_id}", token=admin).json()["status"] == "awaiting_auditor"

    swept = jobs(twin, "run", "sweep-runs")
    assert swept.returncode == 0, swept.stdout + swept.stderr
    result = json.loads(swept.stdout)["targets"][0]["result"]
    assert [(r["run_id"], r["error"]) for r in result["failed"]] == [(run_id, "ExecutionEnded")], (
        result,
        sfn.describe_execution(executionArn=arn)["status"],
    )

    run = client.call("GET", f"/projects/{pid}/runs/{run_id}", token=admin).json()
    assert run["status"] == "failed", run
    assert run["error"]["error"] == "ExecutionEnded" and "ABORTED" in run["error"]["cause"], run
    assert run["error"]["step"] == "await_decision"
    queue = client.call("GET", "/verification/tasks", token=auditor).json()["items"]
    assert not any(t["run_id"] == run_id for t in queue)  # nothing left for the auditor to decide
    again = json.loads(jobs(twin, "run", "sweep-runs").stdout)["targets"][0]["result"]
    assert not [r for r in again["failed"] if r["run_id"] == run_id]  # idempotent
    restarted = client.call("POST", f"/projects/{pid}/runs", {"period": "2025-kharif"}, token=admin)
    assert restarted.status_code == 202, restarted.text  # a swept run can be started again

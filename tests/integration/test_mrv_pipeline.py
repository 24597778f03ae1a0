"""The real MRV state machine (synthesized by CDK) in the local twin: start -> approve, start ->
reject, and a step killed midway then restarted without duplicating stored results.

The twin runs in this process (as `python -m infra.local` does in its own), so a test can make
one pipeline task fail on purpose.
"""

from __future__ import annotations

import json
import os
import time

import boto3
import pytest
import requests

from infra.local.twin import login_tokens
from tests.integration.mrv_seed import farm_items, seed, synthetic_observations

FPO = "FPO-DEMO-1"
CHECKLIST_PASS = None


@pytest.fixture(scope="module")
def twin(synthesized):
    from agri_common.platform.aws import reset_clients
    from agri_common.platform.settings import clear_settings_cache
    from infra.local.twin import LocalTwin

    saved = dict(os.environ)
    reset_clients()
    clear_settings_cache()
    twin = LocalTwin(template=synthesized.template, schedules=False).start()  # no job fires mid-test
    os.environ["CHUNK_UNITS"] = "8"  # several chunks from a small seed
    clear_settings_cache()
    from agri_common.single_table import DynamoTableStore

    farm = DynamoTableStore(twin.resolver.ref(_lid(synthesized.template, "farm")))
    items = farm_items(
        FPO, farmers=20, plots_per_farmer=2, seasons=["2024-kharif", "2025-kharif", "2023-kharif", "2022-kharif"]
    )
    seed(farm, items)
    twin.observations = synthetic_observations(items, "2025-kharif")
    yield twin
    twin.stop()
    os.environ.clear()
    os.environ.update(saved)
    reset_clients()
    clear_settings_cache()


def _lid(template: dict, resource: str) -> str:
    return next(
        k for k, v in template["Resources"].items() if (v.get("Metadata") or {}).get("agri:resource") == resource
    )


class Api:
    def __init__(self, twin):
        self.base = twin.base_url
        self.tokens = {}

        def post(path: str, body: dict) -> dict:
            answer: dict = requests.post(f"{self.base}{path}", json=body, timeout=30).json()
            return answer

        for u in twin.demo_users:
            self.tokens[u.role] = login_tokens(post, u.username, u.password, u.totp_secret)["id_token"]

    def __call__(self, method: str, path: str, role: str, body=None):
        return requests.request(
            method, self.base + path, json=body, timeout=60, headers={"Authorization": self.tokens[role]}
        )


@pytest.fixture(scope="module")
def api(twin):
    return Api(twin)


@pytest.fixture(scope="module")
def project(api):
    r = api(
        "POST",
        "/projects",
        "admin",
        {
            "name": "Cauvery delta AWD",
            "fpo_ids": [FPO],
            "methodology": "vm0051",
            "profile": "vm0051",
            "gwp": "AR5",
            "crediting_start": "2022-06-01",
            "crediting_end": "2030-05-31",
            "draws": 500,
        },
    )
    assert r.status_code == 201, r.text
    pid = r.json()["project_id"]
    r = api("POST", f"/projects/{pid}/auditors", "admin", {"username": "demo-auditor"})
    assert r.status_code == 200, r.text
    return r.json()


def wait_status(api, pid, rid, statuses, role="admin", timeout=120):
    deadline = time.monotonic() + timeout
    while True:
        run = api("GET", f"/projects/{pid}/runs/{rid}", role).json()
        if run["status"] in statuses or time.monotonic() > deadline:
            return run
        time.sleep(0.3)


def checklist(methodology: str, fail: str | None = None) -> dict:
    from functions.verification.logic import checklist as template

    answers = {i["id"]: {"answer": "pass"} for i in template(methodology)["items"]}
    if fail:
        answers[fail] = {"answer": "fail", "note": "AWD pipes missing on 3 sampled plots"}
    return answers


def start(api, pid, period, role="fpo_manager"):
    r = api("POST", f"/projects/{pid}/runs", role, {"period": period})
    assert r.status_code == 202, r.text
    return r.json()["run_id"]


def test_start_to_approval_writes_the_ledger(api, project, twin, monkeypatch):
    from functions.ledger import issuance

    monkeypatch.setattr(issuance, "ISSUE_PAGE", 7)  # 20 farmers: the state machine loops over 3 pages
    pid = project["project_id"]
    r = api("POST", "/verification/observations", "admin", {"observations": twin.observations})
    assert r.status_code == 200 and r.json()["stored"] == len(twin.observations)
    rid = start(api, pid, "2025-kharif")
    run = wait_status(api, pid, rid, {"awaiting_auditor", "failed"})
    assert run["status"] == "awaiting_auditor", run
    assert [s["step"] for s in run["steps"]][:6] == [
        "plan",
        "calculate",
        "aggregate",
        "verify",
        "reports",
        "await_decision",
    ]
    assert run["execution_status"] == "RUNNING"
    assert run["summary"]["plots"] == 40 and run["summary"]["farmers"] == 20

    queue = api("GET", "/verification/tasks", "auditor").json()["items"]
    task = next(t for t in queue if t["run_id"] == rid)
    detail = api("GET", f"/verification/tasks/{task['task_id']}", "auditor").json()
    assert detail["sample"]["plots"] and detail["sample"]["plots"][0]["centroid"]
    checks = {f["check"] for f in detail["findings"]}
    assert {"area_mismatch", "regime_vs_observation"} <= checks
    assert {i["id"] for i in detail["checklist"]["items"]} >= {"sample_visited", "deviations_explained"}
    assert len(detail["report_ids"]) == 2

    r = api(
        "POST",
        f"/verification/tasks/{task['task_id']}/decision",
        "auditor",
        {"decision": "approve", "checklist": checklist("vm0051")},
    )
    assert r.status_code == 200, r.text
    again = api(
        "POST",
        f"/verification/tasks/{task['task_id']}/decision",
        "auditor",
        {"decision": "approve", "checklist": checklist("vm0051")},
    )
    assert again.status_code == 409 and again.json()["error"]["code"] == "already_decided"

    run = wait_status(api, pid, rid, {"approved", "failed"})
    assert run["status"] == "approved", run
    assert run["outcome"]["ledger"]["farmers"] == 20 and run["outcome"]["ledger"]["next_farmer"] is None, run
    carbon = api("GET", f"/fpos/{FPO}/overview", "fpo_manager").json()["carbon"]  # the project's one FPO: all of it
    mine = next(c for c in carbon["runs"] if c["run_id"] == rid)
    assert (mine["status"], mine["project_id"], mine["plot_seasons"], mine["farmers"]) == ("approved", pid, 40, 20)
    assert mine["net_t"] == pytest.approx(run["summary"]["net_t"], abs=1e-4)
    assert mine["creditable_net_share_t"] == pytest.approx(run["summary"]["creditable_net_t"], abs=1e-4)
    assert carbon["approved"]["runs"] >= 1 and carbon["approved"]["net_t"] >= mine["net_t"] > 0
    sfn = boto3.client("stepfunctions", endpoint_url=f"http://127.0.0.1:{twin.moto_port}", region_name=twin.region)
    history = sfn.get_execution_history(executionArn=run["execution_arn"], maxResults=1000)["events"]
    entered = [e["stateEnteredEventDetails"]["name"] for e in history if "stateEnteredEventDetails" in e]
    assert entered.count("IssueCredits") == 3 and entered.count("NextPage") == 2, entered
    records = api("GET", f"/ledger/records?project_id={pid}&limit=100", "admin").json()["items"]
    issued = [r["record"] for r in records if r["record"]["kind"] == "issuance" and r["record"]["run_id"] == rid]
    assert len(issued) == len({r["farmer_index"] for r in issued}) > 0  # one record per farmer holding credits
    assert sum(r["quantity"] for r in issued) == issued[0]["run_issued"]
    assert all(r["anchored"] for r in records if r["record"]["run_id"] == rid)  # the last page anchored them all
    assert api("POST", f"/projects/{pid}/runs", "admin", {"period": "2025-kharif"}).status_code == 409

    import hashlib
    import io

    from openpyxl import load_workbook

    monitoring, verification = detail["report_ids"]
    report = api("GET", f"/verification/reports/{monitoring}", "auditor").json()
    pdf = next(f for f in report["files"] if f["format"] == "pdf")
    body = requests.get(pdf["url"], timeout=30).content
    assert body.startswith(b"%PDF") and hashlib.sha256(body).hexdigest() == pdf["sha256"]
    report = api("GET", f"/verification/reports/{verification}", "fpo_manager").json()
    xlsx = next(f for f in report["files"] if f["format"] == "xlsx")
    book = load_workbook(io.BytesIO(requests.get(xlsx["url"], timeout=30).content))
    assert {"Findings", "Sample plots", "Decision", "Checklist"} <= set(book.sheetnames)
    assert ["Decision", "approve"] == [c.value for c in book["Decision"][2]]


def test_start_to_rejection(api, project):
    pid = project["project_id"]
    rid = start(api, pid, "2024-kharif", role="admin")
    assert wait_status(api, pid, rid, {"awaiting_auditor", "failed"})["status"] == "awaiting_auditor"
    tid = f"{rid}_a1"
    r = api(
        "POST",
        f"/verification/tasks/{tid}/decision",
        "auditor",
        {
            "decision": "reject",
            "reason": "water regime claims not supported",
            "checklist": checklist("vm0051", "sample_visited"),
        },
    )
    assert r.status_code == 200, r.text
    run = wait_status(api, pid, rid, {"rejected", "failed"})
    assert run["status"] == "rejected", run
    assert run["outcome"]["reason"] == "water regime claims not supported"
    report = api("GET", f"/verification/reports/{tid}_ver", "auditor")
    assert report.status_code == 200 and {f["format"] for f in report.json()["files"]} == {"pdf", "xlsx"}
    assert api("POST", f"/projects/{pid}/runs", "admin", {"period": "2024-kharif"}).status_code == 409


def test_killed_step_then_restart_reuses_stored_chunks(api, project, twin, monkeypatch):
    from functions.pipeline import calculate as calc

    original = calc.calculate
    killed = []

    def dying(event, ctx, source, observations=None):
        if int(event["index"]) == 2 and not killed:
            killed.append(event["index"])
            raise RuntimeError("container killed midway")
        return original(event, ctx, source, observations)

    monkeypatch.setattr(calc, "calculate", dying)
    pid = project["project_id"]
    rid = start(api, pid, "2023-kharif")
    run = wait_status(api, pid, rid, {"failed", "awaiting_auditor"})
    assert run["status"] == "failed", run
    assert run["error"]["step"] == "calculate" and "killed midway" in json.dumps(run["error"])
    assert run["execution_status"] == "FAILED"

    rid2 = start(api, pid, "2023-kharif")
    assert rid2 == rid
    run = wait_status(api, pid, rid, {"awaiting_auditor", "failed"})
    assert run["status"] == "awaiting_auditor" and run["attempt"] == 2, run
    calc_step = next(s for s in run["steps"] if s["step"] == "calculate")
    assert calc_step["chunks_reused"] >= 1 and calc_step["chunks_done"] >= 1
    assert calc_step["chunks_reused"] + calc_step["chunks_done"] == calc_step["detail"]["chunks"]

    s3 = boto3.client("s3")
    bucket = twin.resolver.ref(_lid(twin.template, "pipeline-data"))
    versions = s3.list_object_versions(Bucket=bucket, Prefix=f"runs/{rid}/g1/chunks/")["Versions"]
    keys = [v["Key"] for v in versions]
    assert len(keys) == len(set(keys)), "a stored chunk object was written twice"
    assert run["summary"]["plots"] == 40


def test_a_failed_auditor_wait_fails_the_run_cleanly(api, project, twin):
    """The wait's catch-all path, which a lapsed heartbeat (States.HeartbeatTimeout) or task timeout
    (States.Timeout) takes on AWS: the run ends failed at the auditor step, the task leaves the
    queue, a late decision is refused, and the run can be restarted. The token is failed here with
    a non-auditor error: moto refuses ``States.*`` error names in SendTaskFailure and a real
    7-day heartbeat cannot lapse in a test (its settings are asserted on the template)."""
    from agri_common import pipeline_table
    from agri_common.single_table import DynamoTableStore

    pid = project["project_id"]
    rid = start(api, pid, "2022-kharif")
    assert wait_status(api, pid, rid, {"awaiting_auditor", "failed"})["status"] == "awaiting_auditor"
    table = twin.resolver.ref(_lid(twin.template, "pipeline"))
    task = DynamoTableStore(table).get(pipeline_table.task(f"{rid}_a1"))
    boto3.client("stepfunctions").send_task_failure(
        taskToken=task["task_token"], error="WaitLapsed", cause="no heartbeat"
    )
    run = wait_status(api, pid, rid, {"failed"})
    assert run["status"] == "failed" and run["error"]["step"] == "await_decision", run
    assert run["error"]["error"] == "WaitLapsed"
    assert run["execution_status"] == "FAILED"
    assert f"{rid}_a1" not in [t["task_id"] for t in api("GET", "/verification/tasks", "auditor").json()["items"]]
    late = api(
        "POST",
        f"/verification/tasks/{rid}_a1/decision",
        "auditor",
        {"decision": "approve", "checklist": checklist("vm0051")},
    )
    assert late.status_code == 409 and late.json()["error"]["code"] == "task_closed"
    assert start(api, pid, "2022-kharif") == rid  # restartable


def test_vm0042_qa3_runs_both_passes_through_the_state_machine(api, twin, synthesized):
    """Conservative factors: ChooseFactors then a second Map (pass 2 per chunk); the summary's
    basis is the single engine request's (the equivalence itself: tests/unit/functions/pipeline/test_steps.py).
    Its own FPO: the demo FPO is already in a project for the same crediting period."""
    from agri_common.single_table import DynamoTableStore

    r = api("POST", "/fpos", "admin", {"fpo_id": "FPO-QA3", "name": "Kaveri QA3 FPO", "state": "Tamil Nadu"})
    assert r.status_code == 201, r.text
    farm = DynamoTableStore(twin.resolver.ref(_lid(synthesized.template, "farm")))
    seed(farm, farm_items("FPO-QA3", farmers=20, plots_per_farmer=2, seasons=["2025-kharif"], seed=11, prefix="Q"))
    over_demo = api(
        "POST",
        "/projects",
        "admin",
        {
            "name": "Overlap",
            "fpo_ids": [FPO],
            "methodology": "vm0042",
            "profile": "vm0042_qa3",
            "crediting_start": "2023-06-01",
            "crediting_end": "2030-05-31",
        },
    )
    assert over_demo.status_code == 409 and over_demo.json()["error"]["code"] == "fpo_in_project"  # no double counting
    r = api(
        "POST",
        "/projects",
        "admin",
        {
            "name": "Cauvery delta QA3",
            "fpo_ids": ["FPO-QA3"],
            "methodology": "vm0042",
            "profile": "vm0042_qa3",
            "crediting_start": "2023-06-01",
            "crediting_end": "2030-05-31",
            "draws": 300,
            # stored on DynamoDB and read back by every chunk's engine request (floats as numbers)
            "country_factors": {"rice.ef_c": {"value": 1.62, "low": 1.2, "high": 2.1, "source": "national inventory"}},
        },
    )
    assert r.status_code == 201, r.text
    pid = r.json()["project_id"]
    stored = api("GET", f"/projects/{pid}", "admin").json()["country_factors"]
    assert stored == {"rice.ef_c": {"value": 1.62, "low": 1.2, "high": 2.1, "source": "national inventory"}}
    rid = start(api, pid, "2025-kharif", role="admin")
    run = wait_status(api, pid, rid, {"awaiting_auditor", "failed"})
    assert run["status"] == "awaiting_auditor", run
    steps = {s["step"]: s["status"] for s in run["steps"]}
    assert steps["conservative_choice"] == steps["conservative_basis"] == steps["aggregate"] == "succeeded"
    sfn = boto3.client("stepfunctions", endpoint_url=f"http://127.0.0.1:{twin.moto_port}", region_name=twin.region)
    history = sfn.get_execution_history(executionArn=run["execution_arn"], maxResults=1000)["events"]
    entered = [e["stateEnteredEventDetails"]["name"] for e in history if "stateEnteredEventDetails" in e]
    assert entered.count("ConservativeChunk") == entered.count("CalculateChunk") >= 3, entered

    s3 = boto3.client("s3")
    bucket = twin.resolver.ref(_lid(twin.template, "pipeline-data"))
    summary = json.loads(s3.get_object(Bucket=bucket, Key=f"runs/{rid}/g1/summary.json")["Body"].read())
    assert summary["profile"] == "vm0042_qa3" and summary["conservative_factors"]
    assert summary["total"]["creditable_basis"] != summary["total"]["net_in_scope"]["point"]


def test_villages_named_like_formulas_or_holding_control_characters_do_not_stop_an_approved_run(api, twin, synthesized):
    """Farmers stored before input hygiene (written here straight into the farm table) live in
    villages named ``=HYPERLINK(...)``, ``+1``, ``@SUM`` or holding U+0001: the run still gets its
    reports, the auditor's approval still issues credits, and every text cell of the verification
    report is a string (never a formula) carrying the village as stored."""
    import io

    from openpyxl import load_workbook

    from agri_common.single_table import DynamoTableStore

    villages = ['=HYPERLINK("http://x","y")', "+1+2", "@SUM(A1)", "bad\x01village"]
    r = api("POST", "/fpos", "admin", {"fpo_id": "FPO-FORMULA", "name": "Formula FPO", "state": "Tamil Nadu"})
    assert r.status_code == 201, r.text
    items = farm_items("FPO-FORMULA", farmers=8, plots_per_farmer=1, seasons=["2025-kharif"], seed=5, prefix="X")
    for item in items:
        if item.get("kind") == "farmer":
            item["village"] = villages[int(item["farmer_id"][1:]) % len(villages)]
    seed(DynamoTableStore(twin.resolver.ref(_lid(synthesized.template, "farm"))), items)
    r = api(
        "POST",
        "/projects",
        "admin",
        {
            "name": "=Formula <b>project</b> &",
            "fpo_ids": ["FPO-FORMULA"],
            "methodology": "vm0051",
            "profile": "vm0051",
            "gwp": "AR5",
            "crediting_start": "2023-06-01",
            "crediting_end": "2030-05-31",
            "draws": 300,
        },
    )
    assert r.status_code == 201, r.text
    pid = r.json()["project_id"]
    assert api("POST", f"/projects/{pid}/auditors", "admin", {"username": "demo-auditor"}).status_code == 200
    rid = start(api, pid, "2025-kharif", role="admin")
    run = wait_status(api, pid, rid, {"awaiting_auditor", "failed"})
    assert run["status"] == "awaiting_auditor", run
    tid = run["task_id"]
    r = api(
        "POST",
        f"/verification/tasks/{tid}/decision",
        "auditor",
        {"decision": "approve", "reason": "=1+1", "checklist": checklist("vm0051")},
    )
    assert r.status_code == 200, r.text
    run = wait_status(api, pid, rid, {"approved", "failed"})
    assert run["status"] == "approved", run
    assert run["outcome"]["ledger"]["farmers"] == 8, run
    report = api("GET", f"/verification/reports/{tid}_ver", "auditor").json()
    xlsx = next(f for f in report["files"] if f["format"] == "xlsx")
    book = load_workbook(io.BytesIO(requests.get(xlsx["url"], timeout=30).content))
    for sheet in book.worksheets:
        for row in sheet.iter_rows():
            assert all(c.data_type == "s" for c in row if isinstance(c.value, str)), sheet.title
    strata = {row[0].value for row in book["Sample strata"].iter_rows(min_row=2)}
    assert strata == {*villages[:3], "bad\ufffdvillage"}
    assert dict((r[0].value, r[1].value) for r in book["Decision"].iter_rows(min_row=2))["Reason"] == "=1+1"


def test_a_step_that_crashes_before_writing_its_step_record_is_named(api, twin, synthesized, monkeypatch):
    """Reports crashes inside its task before its first write (no step record of its own; the
    steps before it all succeeded): the run still names it. The state machine's "Reports failed"
    state adds ``step`` to the error it passes on to RecordFailure (before, the run said
    ``"unknown"``), and the outcome writes the step's failed record."""
    from agri_common.single_table import DynamoTableStore
    from functions.pipeline import reports

    def crash(run, ctx, uploader, *, decided):
        raise KeyError("chunk_count")

    monkeypatch.setattr(reports, "_report", crash)
    r = api("POST", "/fpos", "admin", {"fpo_id": "FPO-CRASH", "name": "Crash FPO", "state": "Tamil Nadu"})
    assert r.status_code == 201, r.text
    seed(
        DynamoTableStore(twin.resolver.ref(_lid(synthesized.template, "farm"))),
        farm_items("FPO-CRASH", farmers=6, plots_per_farmer=1, seasons=["2025-kharif"], seed=13, prefix="C"),
    )
    r = api(
        "POST",
        "/projects",
        "admin",
        {
            "name": "Crash project",
            "fpo_ids": ["FPO-CRASH"],
            "methodology": "vm0051",
            "profile": "vm0051",
            "gwp": "AR5",
            "crediting_start": "2023-06-01",
            "crediting_end": "2030-05-31",
            "draws": 200,
        },
    )
    assert r.status_code == 201, r.text
    pid = r.json()["project_id"]
    rid = start(api, pid, "2025-kharif", role="admin")
    run = wait_status(api, pid, rid, {"failed", "awaiting_auditor"})
    assert run["status"] == "failed" and run["execution_status"] == "FAILED", run
    assert run["error"]["step"] == "reports", run
    assert run["error"]["error"] == "KeyError" and "chunk_count" in json.dumps(run["error"]["cause"])
    steps = {s["step"]: s["status"] for s in run["steps"]}
    assert steps["verify"] == "succeeded" and steps["reports"] == "failed", steps
    sfn = boto3.client("stepfunctions", endpoint_url=f"http://127.0.0.1:{twin.moto_port}", region_name=twin.region)
    history = sfn.get_execution_history(executionArn=run["execution_arn"], maxResults=1000)["events"]
    entered = [e["stateEnteredEventDetails"]["name"] for e in history if "stateEnteredEventDetails" in e]
    assert entered[-3:] == ["Reports failed", "RecordFailure", "Failed"], entered
    assert start(api, pid, "2025-kharif", role="admin") == rid  # a failed run is restartable as before

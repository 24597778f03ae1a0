"""Verification routes: queue, task, decision (once, assigned auditor only), samples, reports,
observations; every role boundary is crossed once."""

from __future__ import annotations

import json

import pytest

from agri_common import pipeline_table
from agri_common.platform.revocation import InMemoryRevocationStore
from functions.verification import handler
from functions.verification.logic import VerificationService, checklist
from tests.unit.fakes.mrv import FakeStepFunctions, MemoryObjects, MemoryStore
from tests.unit.functions.conftest import call, claims_for

ADMIN = claims_for("admin", user="a-1", username="root", fpo=None)
AUDITOR = claims_for("auditor", user="aud-1", username="audrey", fpo=None)
OTHER_AUDITOR = claims_for("auditor", user="aud-2", username="otto", fpo=None)
MANAGER = claims_for("fpo_manager", user="m-1", username="mgr", fpo="FPO-1")
OTHER_MANAGER = claims_for("fpo_manager", user="m-2", username="mgr2", fpo="FPO-9")
FARMER = claims_for("farmer", user="f-1", username="farmer", fpo="FPO-1")
PID, RID = "prj_0000abcd", "prj_0000abcd_2025_kharif"
TID = f"{RID}_a1"
PREFIX = f"runs/{RID}/g1"


class Presigner:
    def url(self, key, expires_in):
        return f"https://signed.example/{key}?X-Amz-Expires={expires_in}"


@pytest.fixture
def env(revocations, monkeypatch):
    store, objects, sfn = MemoryStore(), MemoryObjects(), FakeStepFunctions()
    project = pipeline_table.ProjectRecord(
        project_id=PID,
        name="Delta",
        fpo_ids=["FPO-1"],
        methodology="vm0051",
        profile="vm0051",
        gwp="AR5",
        region="south_asia",
        climate="wet",
        crediting_start="2024-06-01",
        crediting_end="2030-05-31",
        auditors=["aud-1"],
        created_by="a-1",
        created_at="t0",
    )
    store.items[project.key()] = project.to_item()
    # as the projects domain writes them: the FPO's projects and the auditor's projects on gsi1
    for record in (
        pipeline_table.ProjectFpoRecord(project_id=PID, fpo_id="FPO-1"),
        pipeline_table.AuditorAssignmentRecord(
            project_id=PID, user_id="aud-1", username="aud-1", assigned_by="a-1", assigned_at="t0"
        ),
    ):
        store.items[record.key()] = record.to_item()
    run = pipeline_table.RunRecord(
        project_id=PID,
        run_id=RID,
        period="2025-kharif",
        status="awaiting_auditor",
        attempt=1,
        started_by="m-1",
        started_at="t0",
        updated_at="t0",
        task_id=TID,
    )
    store.items[run.key()] = run.to_item()
    task = pipeline_table.TaskRecord(
        task_id=TID,
        project_id=PID,
        run_id=RID,
        attempt=1,
        status="pending",
        task_token="tok-1",
        methodology="vm0051",
        findings_key=f"{PREFIX}/findings.json",
        sample_key=f"{PREFIX}/sample.json",
        finding_counts={"critical": 1},
        created_at="t1",
        report_ids=[f"{TID}_mon"],
    )
    store.items[task.key()] = task.to_item()
    objects.put(f"{PREFIX}/findings.json", json.dumps([{"check": "area_mismatch", "severity": "critical"}]).encode())
    objects.put(
        f"{PREFIX}/sample.json",
        json.dumps({"seed": 5, "plots": [{"plot_id": "P1", "centroid": [79.1, 10.8]}]}).encode(),
    )
    report = pipeline_table.ReportRecord(
        report_id=f"{TID}_mon",
        project_id=PID,
        run_id=RID,
        report_kind="monitoring",
        pdf_key="reports/x.pdf",
        pdf_sha256="ab" * 32,
        xlsx_key="reports/x.xlsx",
        xlsx_sha256="cd" * 32,
        created_at="t2",
    )
    store.items[report.key()] = report.to_item()
    pk, sk = pipeline_table.sample(RID)  # only what the handler reads of the sample item
    store.items[(pk, sk)] = {"pk": pk, "sk": sk, "object_key": f"{PREFIX}/sample.json"}
    handler.app.dependency_overrides[handler.get_service] = lambda: VerificationService(
        store, objects, Presigner(), sfn, now=lambda: "2025-03-01T10:00:00.000000Z"
    )
    monkeypatch.setattr(handler, "_revocation", lambda: revocations)
    yield store, sfn
    handler.app.dependency_overrides.clear()


def get_task(claims, tid=TID):
    return call(
        handler,
        "GET",
        f"/verification/tasks/{tid}",
        claims=claims,
        resource="/verification/tasks/{task_id}",
        params={"task_id": tid},
    )


def answers(fail=None, note=True):
    out = {i["id"]: {"answer": "pass"} for i in checklist("vm0051")["items"]}
    if fail:
        out[fail] = {"answer": "fail", **({"note": "pipes missing"} if note else {})}
    return out


def decide(body, claims=AUDITOR, tid=TID):
    return call(
        handler,
        "POST",
        f"/verification/tasks/{tid}/decision",
        body,
        claims=claims,
        resource="/verification/tasks/{task_id}/decision",
        params={"task_id": tid},
    )


def test_queue_holds_the_assigned_auditors_pending_tasks(env):
    assert [t["task_id"] for t in call(handler, "GET", "/verification/tasks", claims=AUDITOR).body["items"]] == [TID]
    assert call(handler, "GET", "/verification/tasks", claims=OTHER_AUDITOR).body["items"] == []
    assert [t["task_id"] for t in call(handler, "GET", "/verification/tasks", claims=MANAGER).body["items"]] == [TID]
    assert call(handler, "GET", "/verification/tasks", claims=OTHER_MANAGER).body["items"] == []
    assert call(handler, "GET", "/verification/tasks", claims=FARMER).status == 403


def test_task_detail_and_heartbeat(env):
    _, sfn = env
    r = get_task(AUDITOR)
    assert r.status == 200, r.body
    assert r.body["sample"]["plots"][0]["centroid"] == [79.1, 10.8] and r.body["checklist"]["id"] == "vm0051"
    assert sfn.heartbeats == ["tok-1"]
    store, _ = env
    assert store.items[pipeline_table.task(TID)]["heartbeat_at"]  # the auditor reminder counts from it
    assert get_task(OTHER_AUDITOR).status == 404
    assert get_task(ADMIN).status == 200 and sfn.heartbeats == ["tok-1"]  # admins read, no heartbeat


def test_approve_once_resumes_the_execution_with_a_small_output(env):
    store, sfn = env
    r = decide({"decision": "approve", "checklist": answers()})
    assert r.status == 200, r.body
    assert sfn.successes == [("tok-1", {"task_id": TID, "decided_by": "aud-1"})]
    decision = store.items[pipeline_table.task(TID)]["decision"]
    assert decision["decision"] == "approve" and set(decision["checklist"]) == {
        i["id"] for i in checklist("vm0051")["items"]
    }
    again = decide({"decision": "approve", "checklist": answers()})
    assert again.status == 409 and again.body["error"]["code"] == "already_decided"
    assert len(sfn.successes) == 1
    assert store.items[pipeline_table.task(TID)]["status"] == "decided"


@pytest.mark.parametrize(
    "decision",
    [
        {"decision": "approve", "checklist": answers()},
        {"decision": "reject", "reason": "wrong areas", "checklist": answers("areas_verified")},
    ],
)
def test_a_decided_task_leaves_the_queue(env, decision):
    """Through the real code path: the decision moves the task's queue entry (its index sort key)
    out of the pending ones, for every role that reads the queue, and the task still opens."""
    store, _ = env
    assert decide(decision).status == 200
    for claims in (AUDITOR, ADMIN, MANAGER):
        assert call(handler, "GET", "/verification/tasks", claims=claims).body["items"] == []
    stored = store.items[pipeline_table.task(TID)]
    assert {k: stored[k] for k in ("gsi1pk", "gsi1sk")} == pipeline_table.TaskRecord.model_validate(stored).index()
    assert get_task(AUDITOR).body["status"] == "decided"


def test_reject_and_corrections_resume_with_failure(env):
    _, sfn = env
    r = decide({"decision": "request_corrections", "reason": "fix areas", "checklist": answers("areas_verified")})
    assert r.status == 200
    assert sfn.failures[0][1] == "CorrectionsRequested"


@pytest.mark.parametrize("claims,status", [(OTHER_AUDITOR, 404), (ADMIN, 403), (MANAGER, 403), (FARMER, 403)])
def test_only_an_assigned_auditor_decides(env, claims, status):
    _, sfn = env
    assert decide({"decision": "approve", "checklist": answers()}, claims=claims).status == status
    assert not sfn.successes


def test_checklist_must_be_complete_and_failures_explained(env):
    body = {"decision": "approve", "checklist": {k: v for k, v in list(answers().items())[1:]}}
    r = decide(body)
    assert r.status == 422 and r.body["error"]["details"][0]["field"] == "body.checklist.data_completeness"
    r = decide({"decision": "approve", "checklist": answers("sample_visited", note=False)})
    assert r.status == 422 and r.body["error"]["details"][0]["field"] == "body.checklist.sample_visited.note"
    r = decide({"decision": "reject", "checklist": answers()})
    assert r.status == 422  # a rejection needs its reason


def test_samples_and_reports_follow_project_access(env):
    r = call(
        handler,
        "GET",
        f"/verification/samples/{RID}",
        claims=MANAGER,
        resource="/verification/samples/{run_id}",
        params={"run_id": RID},
    )
    assert r.status == 200 and r.body["sample"]["seed"] == 5
    r = call(
        handler,
        "GET",
        f"/verification/samples/{RID}",
        claims=OTHER_MANAGER,
        resource="/verification/samples/{run_id}",
        params={"run_id": RID},
    )
    assert r.status == 404
    rid = f"{TID}_mon"
    r = call(
        handler,
        "GET",
        f"/verification/reports/{rid}",
        claims=AUDITOR,
        resource="/verification/reports/{report_id}",
        params={"report_id": rid},
    )
    assert r.status == 200 and {f["format"] for f in r.body["files"]} == {"pdf", "xlsx"}
    assert r.body["files"][0]["sha256"] == "ab" * 32 and "X-Amz-Expires=300" in r.body["files"][0]["url"]
    r = call(
        handler,
        "GET",
        f"/verification/reports/{rid}",
        claims=OTHER_AUDITOR,
        resource="/verification/reports/{report_id}",
        params={"report_id": rid},
    )
    assert r.status == 404


OBS = {
    "plot_id": "P1",
    "season_key": "2025-kharif",
    "source": "synthetic",
    "start_date": "2025-06-20",
    "end_date": "2025-10-20",
    "flooded_days": 90,
    "max_continuous_flooded_days": 60,
    "method": "test feed",
}


def test_observations_are_admin_only_and_idempotent(env):
    store, _ = env
    body = {"observations": [OBS, {**OBS, "source": "sentinel1_sar"}]}
    assert call(handler, "POST", "/verification/observations", body, claims=AUDITOR).status == 403
    r = call(handler, "POST", "/verification/observations", body, claims=ADMIN)
    assert r.status == 200 and r.body["stored"] == 2
    call(handler, "POST", "/verification/observations", body, claims=ADMIN)
    item = store.items[pipeline_table.observation("P1", "2025-kharif")]
    assert set(k for k in item if k.startswith("src_")) == {"src_synthetic", "src_sentinel1_sar"}
    bad = call(
        handler,
        "POST",
        "/verification/observations",
        {"observations": [{**OBS, "max_continuous_flooded_days": 120}]},
        claims=ADMIN,
    )
    assert bad.status == 422


def test_a_closed_task_cannot_be_decided(env):
    store, sfn = env
    store.items[pipeline_table.task(TID)]["status"] = "closed"
    r = decide({"decision": "approve", "checklist": answers()})
    assert r.status == 409 and r.body["error"]["code"] == "task_closed"
    assert not sfn.successes


@pytest.fixture
def unassign(env, monkeypatch):
    """Unassign through the projects route, on the verification tests' table."""
    from functions.projects import handler as projects
    from functions.projects.logic import ProjectService
    from tests.unit.fakes.mrv import FakeFpos, FakeStepFunctions

    store, _ = env
    projects.app.dependency_overrides[projects.get_service] = lambda: ProjectService(
        store, None, FakeStepFunctions(), FakeFpos(), now=lambda: "2025-03-01T10:00:00.000000Z"
    )
    monkeypatch.setattr(projects, "_revocation", lambda: InMemoryRevocationStore())

    def run(user_id="aud-1", index_lags=False):
        lagging = dict(store.items[pipeline_table.project_auditor(PID, user_id)])
        r = call(
            projects,
            "DELETE",
            f"/projects/{PID}/auditors/{user_id}",
            claims=ADMIN,
            resource="/projects/{project_id}/auditors/{username_or_id}",
            params={"project_id": PID, "username_or_id": user_id},
        )
        assert r.status == 200 and user_id not in r.body["auditors"]
        if index_lags:  # the auditor's index may still list the deleted assignment for a moment
            store.items[pipeline_table.project_auditor(PID, user_id)] = lagging
        return r

    yield run
    projects.app.dependency_overrides.clear()


@pytest.mark.parametrize("index_lags", [False, True])
def test_an_unassigned_auditor_loses_the_queue_the_task_and_the_decision(env, unassign, index_lags):
    store, sfn = env
    assert get_task(AUDITOR).status == 200
    unassign(index_lags=index_lags)
    assert call(handler, "GET", "/verification/tasks", claims=AUDITOR).body["items"] == []
    assert get_task(AUDITOR).status == 404
    r = decide({"decision": "approve", "checklist": answers()})
    assert r.status == 404
    assert not sfn.successes and store.items[pipeline_table.task(TID)]["status"] == "pending"
    assert [t["task_id"] for t in call(handler, "GET", "/verification/tasks", claims=ADMIN).body["items"]] == [TID]


def test_the_decision_records_the_auditor_by_name_and_each_question_asked(env):
    """What the verification report prints: the auditor's name (not only a user id) and every
    checklist item with its question as worded when the auditor answered it."""
    store, _ = env
    named = {**AUDITOR, "name": "Asha Verma"}
    assert decide({"decision": "approve", "checklist": answers("sample_visited")}, claims=named).status == 200
    decision = store.items[pipeline_table.task(TID)]["decision"]
    template = checklist("vm0051")
    assert (decision["decided_by"], decision["decided_by_name"], decision["decided_by_username"]) == (
        "aud-1",
        "Asha Verma",
        "audrey",
    )
    assert decision["checklist_order"] == [i["id"] for i in template["items"]]
    assert decision["checklist_template"] == {k: template[k] for k in ("id", "title", "version")}
    for item in template["items"]:
        assert decision["checklist"][item["id"]]["question"] == item["text"]
    assert decision["checklist"]["sample_visited"] == {
        "answer": "fail",
        "note": "pipes missing",
        "question": template["items"][2]["text"],
    }

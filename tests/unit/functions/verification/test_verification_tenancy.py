"""Verification tenancy on a project over two FPOs:

- D2: each FPO's manager reads their own FPO's sample rows, strata and findings only (through the
  task and the sample routes); the project's auditor and admins read all of them;
- D3: the queue and the task agree for every role (farmer, manager of a project FPO, manager of
  another FPO, assigned auditor, unassigned auditor, admin);
- D4: another tenant's task, sample or report answers exactly like a missing one (status, code
  and message), on every verification route and every projects route with an id.
"""

from __future__ import annotations

import json

import pytest

from agri_common import pipeline_table
from agri_common.platform.revocation import InMemoryRevocationStore
from functions.projects import handler as projects
from functions.projects.logic import ProjectService
from functions.verification import handler
from functions.verification.logic import VerificationService, checklist
from tests.unit.fakes.mrv import FakeFpos, FakeStepFunctions, MemoryObjects, MemoryStore
from tests.unit.functions.conftest import call, claims_for

ADMIN = claims_for("admin", user="a-1", username="root", fpo=None)
AUDITOR = claims_for("auditor", user="aud-1", username="audrey", fpo=None)
UNASSIGNED = claims_for("auditor", user="aud-2", username="otto", fpo=None)
MANAGER_1 = claims_for("fpo_manager", user="m-1", username="mgr1", fpo="FPO-1")
MANAGER_2 = claims_for("fpo_manager", user="m-2", username="mgr2", fpo="FPO-2")
STRANGER = claims_for("fpo_manager", user="m-9", username="mgr9", fpo="FPO-9")  # manages an FPO outside the project
FARMER = claims_for("farmer", user="f-1", username="farmer", fpo="FPO-1")

PID, RID = "prj_0000abcd", "prj_0000abcd_2025_kharif"
TID = f"{RID}_a1"
PREFIX = f"runs/{RID}/g1"
MISSING_PID = "prj_0000dead"
MISSING_RID = f"{MISSING_PID}_2025_kharif"
MISSING_TID = f"{MISSING_RID}_a1"

FINDINGS = [
    {
        "check": "area_mismatch",
        "severity": "critical",
        "plot_id": "P1",
        "season_key": "2025-kharif",
        "fpo_id": "FPO-1",
        "message": "declared 2 ha vs computed 1 ha",
        "value": 1.0,
    },
    {
        "check": "overlap",
        "severity": "warning",
        "plot_id": "P2",
        "season_key": "2025-kharif",
        "fpo_id": "FPO-2",
        "message": "overlaps plot P9",
        "value": "P9",
    },
]
SAMPLE = {
    "seed": 5,
    "population": 40,
    "size": {"n": 3},
    "strata": [
        {
            "village": "Rampur",
            "water_regime": "awd",
            "population": 25,
            "area_ha": 30.0,
            "allocated": 2,
            "fpo_ids": ["FPO-1", "FPO-2"],
        },
        {
            "village": "Sitapur",
            "water_regime": "awd",
            "population": 15,
            "area_ha": 12.0,
            "allocated": 1,
            "fpo_ids": ["FPO-2"],
        },
    ],
    "plots": [
        {"plot_id": "P1", "farmer_id": "F1", "fpo_id": "FPO-1", "village": "Rampur", "centroid": [79.1, 10.8]},
        {"plot_id": "P2", "farmer_id": "F2", "fpo_id": "FPO-2", "village": "Rampur", "centroid": [79.2, 10.9]},
        {"plot_id": "P3", "farmer_id": "F3", "fpo_id": "FPO-2", "village": "Sitapur", "centroid": [79.3, 11.0]},
    ],
}
DECISION = {
    "decision": "request_corrections",
    "reason": "areas",
    "decided_by": "aud-1",
    "decided_at": "t3",
    "checklist": {},
    "findings": [
        {"severity": "warning", "plot_id": "P1", "season_key": None, "message": "P1 boundary off"},
        {"severity": "warning", "plot_id": "P3", "season_key": None, "message": "P3 not reachable"},
        {"severity": "info", "plot_id": None, "season_key": None, "message": "whole run: late data"},
    ],
}


def project_items(
    store: MemoryStore, pid: str, fpo_ids: list[str], auditors: list[str]
) -> pipeline_table.ProjectRecord:
    """A project as the projects domain stores it: the item, its FPOs and auditors on gsi1."""
    project = pipeline_table.ProjectRecord(
        project_id=pid,
        name="Delta",
        fpo_ids=fpo_ids,
        methodology="vm0051",
        profile="vm0051",
        gwp="AR5",
        region="south_asia",
        climate="wet",
        crediting_start="2024-06-01",
        crediting_end="2030-05-31",
        auditors=auditors,
        created_by="a-1",
        created_at="t0",
    )
    store.items[project.key()] = project.to_item()
    links: list[pipeline_table.ProjectFpoRecord | pipeline_table.AuditorAssignmentRecord] = [
        pipeline_table.ProjectFpoRecord(project_id=pid, fpo_id=fpo) for fpo in fpo_ids
    ]
    links += [
        pipeline_table.AuditorAssignmentRecord(
            project_id=pid, user_id=user, username=user, assigned_by="a-1", assigned_at="t0"
        )
        for user in auditors
    ]
    for record in links:
        store.items[record.key()] = record.to_item()
    return project


@pytest.fixture
def world(monkeypatch):
    store, objects, sfn = MemoryStore(), MemoryObjects(), FakeStepFunctions()
    project_items(store, PID, ["FPO-1", "FPO-2"], ["aud-1"])
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
        finding_counts={"critical": 1, "warning": 1},
        created_at="t1",
        report_ids=[f"{TID}_mon", f"{TID}_ver"],
    )
    store.items[task.key()] = task.to_item()
    objects.put(f"{PREFIX}/findings.json", json.dumps(FINDINGS).encode())
    objects.put(f"{PREFIX}/sample.json", json.dumps(SAMPLE).encode())
    pk, sk = pipeline_table.sample(RID)  # only what the handler reads of the sample item
    store.items[(pk, sk)] = {"pk": pk, "sk": sk, "object_key": f"{PREFIX}/sample.json"}
    for kind in ("monitoring", "verification"):
        rid = pipeline_table.report_id(TID, kind)
        report = pipeline_table.ReportRecord(
            report_id=rid,
            project_id=PID,
            run_id=RID,
            report_kind=kind,
            pdf_key=f"reports/{rid}.pdf",
            pdf_sha256="ab" * 32,
            xlsx_key=f"reports/{rid}.xlsx",
            xlsx_sha256="cd" * 32,
            created_at="t2",
        )
        store.items[report.key()] = report.to_item()
    revocations = InMemoryRevocationStore()
    handler.app.dependency_overrides[handler.get_service] = lambda: VerificationService(
        store, objects, Presigner(), sfn, now=lambda: "2025-03-01T10:00:00.000000Z"
    )
    monkeypatch.setattr(handler, "_revocation", lambda: revocations)
    projects.app.dependency_overrides[projects.get_service] = lambda: ProjectService(
        store, None, FakeStepFunctions(), FakeFpos(), now=lambda: "2025-03-01T10:00:00.000000Z"
    )
    monkeypatch.setattr(projects, "_revocation", lambda: revocations)
    yield store
    handler.app.dependency_overrides.clear()
    projects.app.dependency_overrides.clear()


class Presigner:
    def url(self, key, expires_in):
        return f"https://signed.example/{key}?X-Amz-Expires={expires_in}"


def get(path: str, resource: str, params: dict, claims: dict, module=handler, method="GET", body=None):
    return call(module, method, path, body, claims=claims, resource=resource, params=params)


def task(claims, tid=TID):
    return get(f"/verification/tasks/{tid}", "/verification/tasks/{task_id}", {"task_id": tid}, claims)


def sample(claims, rid=RID):
    return get(f"/verification/samples/{rid}", "/verification/samples/{run_id}", {"run_id": rid}, claims)


def report(claims, report_id):
    return get(
        f"/verification/reports/{report_id}", "/verification/reports/{report_id}", {"report_id": report_id}, claims
    )


def queue(claims):
    return call(handler, "GET", "/verification/tasks", claims=claims)


# ---- D2: rows scoped to the caller's FPO --------------------------------------------------------------
@pytest.mark.parametrize(
    "claims,fpo,plots,villages",
    [
        (MANAGER_1, "FPO-1", ["P1"], ["Rampur"]),
        (MANAGER_2, "FPO-2", ["P2", "P3"], ["Rampur", "Sitapur"]),
    ],
)
def test_each_manager_reads_their_own_fpos_rows_only(world, claims, fpo, plots, villages):
    detail = task(claims)
    assert detail.status == 200, detail.body
    for s in (detail.body["sample"], sample(claims).body["sample"]):
        assert [p["plot_id"] for p in s["plots"]] == plots and {p["fpo_id"] for p in s["plots"]} == {fpo}
        assert [st["village"] for st in s["strata"]] == villages
        assert all(st["fpo_ids"] == [fpo] for st in s["strata"])  # other FPOs sharing a village are not named
        assert s["seed"] == 5 and s["size"] == {"n": 3}  # the design is the project's
    assert [f["plot_id"] for f in detail.body["findings"]] == [p for p in ("P1", "P2") if p in plots]
    seen = json.dumps(detail.body) + json.dumps(sample(claims).body)
    for other in {"P1", "P2", "P3"} - set(plots):
        assert f'"{other}"' not in seen and other not in seen


@pytest.mark.parametrize("claims", [AUDITOR, ADMIN])
def test_the_projects_auditor_and_admins_read_every_row(world, claims):
    detail = task(claims).body
    assert [p["plot_id"] for p in detail["sample"]["plots"]] == ["P1", "P2", "P3"]
    assert [f["plot_id"] for f in detail["findings"]] == ["P1", "P2"]
    assert detail["sample"]["strata"] == SAMPLE["strata"]
    assert sample(claims).body["sample"] == SAMPLE


def test_the_auditors_plot_findings_are_scoped_like_the_rows(world):
    world.items[pipeline_table.task(TID)].update(status="decided", decision=DECISION)
    assert [f["message"] for f in task(MANAGER_1).body["decision"]["findings"]] == [
        "P1 boundary off",
        "whole run: late data",
    ]
    assert [f["message"] for f in task(MANAGER_2).body["decision"]["findings"]] == [
        "P3 not reachable",
        "whole run: late data",
    ]
    assert task(AUDITOR).body["decision"]["findings"] == DECISION["findings"]
    assert task(MANAGER_1).body["decision"]["reason"] == "areas"  # what to correct: the project's


def test_rows_stored_before_they_named_their_fpo_are_hidden_from_managers_of_a_multi_fpo_project(world):
    old = {
        **SAMPLE,
        "plots": [{k: v for k, v in p.items() if k != "fpo_id"} for p in SAMPLE["plots"]],
        "strata": [{k: v for k, v in s.items() if k != "fpo_ids"} for s in SAMPLE["strata"]],
    }
    world_objects = handler.app.dependency_overrides[handler.get_service]().objects
    world_objects.put(f"{PREFIX}/sample.json", json.dumps(old).encode())
    world_objects.put(
        f"{PREFIX}/findings.json",
        json.dumps([{k: v for k, v in f.items() if k != "fpo_id"} for f in FINDINGS]).encode(),
    )
    mine = task(MANAGER_1).body
    assert mine["sample"]["plots"] == [] and mine["sample"]["strata"] == [] and mine["findings"] == []
    assert len(task(AUDITOR).body["sample"]["plots"]) == 3


def test_the_verification_report_holds_every_fpos_rows_so_only_readers_of_all_of_them_get_it(world):
    ver, mon = f"{TID}_ver", f"{TID}_mon"
    for claims in (MANAGER_1, MANAGER_2):
        assert report(claims, mon).status == 200
        same(report(claims, ver), report(claims, f"{RID}_a7_ver"))  # like a report that does not exist
        assert task(claims).body["report_ids"] == [mon]
    for claims in (AUDITOR, ADMIN):
        assert report(claims, ver).status == 200 and task(claims).body["report_ids"] == [mon, ver]


# ---- D3: the queue and the task agree for every role ---------------------------------------------------
@pytest.mark.parametrize(
    "claims,reads",
    [
        (FARMER, None),
        (MANAGER_1, True),
        (MANAGER_2, True),
        (STRANGER, False),
        (AUDITOR, True),
        (UNASSIGNED, False),
        (ADMIN, True),
    ],
)
def test_the_queue_lists_exactly_the_tasks_the_caller_may_open(world, claims, reads):
    listed, opened = queue(claims), task(claims)
    if reads is None:  # farmers have no verification route
        assert listed.status == opened.status == 403
        return
    assert listed.status == 200
    assert ([t["task_id"] for t in listed.body["items"]] == [TID]) is reads
    assert opened.status == (200 if reads else 404)


def test_a_decided_task_leaves_the_queue_but_still_opens(world):
    world.items[pipeline_table.task(TID)].update(status="decided", decision=DECISION, gsi1sk=f"decided#t1#{TID}")
    for claims in (MANAGER_1, AUDITOR, ADMIN):
        assert queue(claims).body["items"] == [] and task(claims).status == 200


# ---- D4: not yours answers exactly like does not exist ---------------------------------------------------
def same(a, b) -> None:
    assert a.status == b.status == 404
    strip = lambda r: {**r.body["error"], "request_id": None}
    assert strip(a) == strip(b), (a.body, b.body)


CHECKLIST = lambda: {i["id"]: {"answer": "pass"} for i in checklist("vm0051")["items"]}


@pytest.mark.parametrize("claims", [STRANGER, UNASSIGNED])
def test_verification_routes_answer_a_foreign_id_like_a_missing_one(world, claims):
    same(task(claims), task(claims, MISSING_TID))
    same(task(claims), task(claims, f"{RID}_a9"))  # the project's, another attempt
    same(sample(claims), sample(claims, MISSING_RID))
    same(report(claims, f"{TID}_mon"), report(claims, f"{MISSING_TID}_mon"))
    same(report(claims, f"{TID}_ver"), report(claims, f"{MISSING_TID}_ver"))
    assert task(claims).body["error"]["message"] == "Task not found"
    assert sample(claims).body["error"]["message"] == "Sample not found"
    assert report(claims, f"{TID}_mon").body["error"]["message"] == "Report not found"


def test_the_decision_route_answers_a_foreign_task_like_a_missing_one(world):
    body = {"decision": "approve", "checklist": CHECKLIST()}

    def decide(tid):
        return get(
            f"/verification/tasks/{tid}/decision",
            "/verification/tasks/{task_id}/decision",
            {"task_id": tid},
            UNASSIGNED,
            method="POST",
            body=body,
        )

    same(decide(TID), decide(MISSING_TID))
    assert decide(TID).body["error"]["message"] == "Task not found"
    assert world.items[pipeline_table.task(TID)]["status"] == "pending"
    for claims in (STRANGER, MANAGER_1, ADMIN):  # not deciders: refused by role, whatever the id
        a = get(
            f"/verification/tasks/{TID}/decision",
            "/verification/tasks/{task_id}/decision",
            {"task_id": TID},
            claims,
            method="POST",
            body=body,
        )
        b = get(
            f"/verification/tasks/{MISSING_TID}/decision",
            "/verification/tasks/{task_id}/decision",
            {"task_id": MISSING_TID},
            claims,
            method="POST",
            body=body,
        )
        assert a.status == b.status == 403 and {**a.body["error"], "request_id": None} == {
            **b.body["error"],
            "request_id": None,
        }


def test_a_visible_project_without_the_sample_answers_like_a_foreign_one(world):
    del world.items[pipeline_table.sample(RID)]
    same(sample(MANAGER_1), sample(STRANGER, MISSING_RID))


def project_route(claims, path, resource, params, method="GET", body=None):
    return get(path, resource, params, claims, module=projects, method=method, body=body)


@pytest.mark.parametrize("claims", [STRANGER, UNASSIGNED])
def test_projects_routes_answer_a_foreign_id_like_a_missing_one(world, claims):
    for pid in (PID, MISSING_PID):
        assert pipeline_table.valid(pipeline_table.PROJECT_ID, pid)

    def routes(pid):
        rid = pipeline_table.run_id(pid, "2025-kharif")
        return [
            project_route(claims, f"/projects/{pid}", "/projects/{project_id}", {"project_id": pid}),
            project_route(claims, f"/projects/{pid}/runs", "/projects/{project_id}/runs", {"project_id": pid}),
            project_route(
                claims,
                f"/projects/{pid}/runs/{rid}",
                "/projects/{project_id}/runs/{run_id}",
                {"project_id": pid, "run_id": rid},
            ),
        ]

    for foreign, missing in zip(routes(PID), routes(MISSING_PID)):
        same(foreign, missing)
        assert foreign.body["error"]["message"] == "Project not found"
    if claims is STRANGER:  # a manager may start runs: of their own projects only
        start = lambda pid: project_route(
            claims,
            f"/projects/{pid}/runs",
            "/projects/{project_id}/runs",
            {"project_id": pid},
            method="POST",
            body={"period": "2025-rabi"},
        )
        same(start(PID), start(MISSING_PID))


def test_a_visible_project_answers_a_missing_run_with_the_runs_404(world):
    rid = pipeline_table.run_id(PID, "2026-kharif")
    r = project_route(
        MANAGER_1,
        f"/projects/{PID}/runs/{rid}",
        "/projects/{project_id}/runs/{run_id}",
        {"project_id": PID, "run_id": rid},
    )
    assert r.status == 404 and r.body["error"]["message"] == "Run not found"

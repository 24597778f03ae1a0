"""Projects routes: creation, assignment, runs; every role boundary is crossed once."""

from __future__ import annotations

import pytest

from agri_common import pipeline_table
from functions.projects import handler
from functions.projects.logic import ProjectService
from tests.unit.fakes.mrv import FakeFpos, FakeStepFunctions, MemoryStore
from tests.unit.functions.conftest import call, claims_for

ADMIN = claims_for("admin", user="a-1", username="root", fpo=None)
MANAGER = claims_for("fpo_manager", user="m-1", username="mgr", fpo="FPO-1")
OTHER_MANAGER = claims_for("fpo_manager", user="m-2", username="mgr2", fpo="FPO-9")
AUDITOR = claims_for("auditor", user="aud-1", username="audrey", fpo=None)
OTHER_AUDITOR = claims_for("auditor", user="aud-2", username="otto", fpo=None)
FARMER = claims_for("farmer", user="f-1", username="farmer", fpo="FPO-1")
BODY = {
    "name": "Delta AWD",
    "fpo_ids": ["FPO-1", "FPO-2"],
    "methodology": "vm0051",
    "profile": "vm0051",
    "crediting_start": "2024-06-01",
    "crediting_end": "2030-05-31",
}


class Directory:
    users = {"audrey": "aud-1", "otto": "aud-2"}

    def auditor_user_id(self, username):
        return self.users.get(username)


@pytest.fixture
def env(revocations, monkeypatch):
    store, sfn = MemoryStore(), FakeStepFunctions()
    ids = iter(f"prj_{i:08x}" for i in range(1, 100))
    handler.app.dependency_overrides[handler.get_service] = lambda: ProjectService(
        store,
        Directory(),
        sfn,
        FakeFpos({"FPO-1", "FPO-2", "FPO-3"}),
        now=lambda: "2025-01-01T00:00:00Z",
        new_id=lambda: next(ids),
    )
    monkeypatch.setattr(handler, "_revocation", lambda: revocations)
    yield store, sfn
    handler.app.dependency_overrides.clear()


def project(claims=ADMIN, body=BODY):
    return call(handler, "POST", "/projects", body, claims=claims)


def path(method, p, resource, params, claims, body=None):
    return call(handler, method, p, body, claims=claims, resource=resource, params=params)


def assign(pid, username="audrey", claims=ADMIN):
    return path(
        "POST",
        f"/projects/{pid}/auditors",
        "/projects/{project_id}/auditors",
        {"project_id": pid},
        claims,
        {"username": username},
    )


def unassign(pid, who="audrey", claims=ADMIN):
    return path(
        "DELETE",
        f"/projects/{pid}/auditors/{who}",
        "/projects/{project_id}/auditors/{username_or_id}",
        {"project_id": pid, "username_or_id": who},
        claims,
    )


def start(pid, claims=MANAGER, period="2025-kharif"):
    return path(
        "POST", f"/projects/{pid}/runs", "/projects/{project_id}/runs", {"project_id": pid}, claims, {"period": period}
    )


def get(pid, claims):
    return path("GET", f"/projects/{pid}", "/projects/{project_id}", {"project_id": pid}, claims)


def test_admin_creates_a_project_and_assigns_an_auditor(env):
    r = project()
    assert r.status == 201, r.body
    pid = r.body["project_id"]
    r = assign(pid)
    assert r.status == 200 and r.body["auditors"] == ["aud-1"]
    assert assign(pid).body["auditors"] == ["aud-1"]  # idempotent


@pytest.mark.parametrize("claims", [MANAGER, AUDITOR])
def test_only_admins_create_and_assign(env, claims):
    assert project(claims).status == 403
    pid = project().body["project_id"]
    assert assign(pid, claims=claims).status in (403, 404)


def test_farmers_have_no_project_routes(env):
    pid = project().body["project_id"]
    assert get(pid, FARMER).status == 403
    assert call(handler, "GET", "/projects", claims=FARMER).status == 403


def test_assigning_a_non_auditor_names_the_field(env):
    pid = project().body["project_id"]
    r = assign(pid, username="nobody")
    assert r.status == 422 and r.body["error"]["details"][0]["field"] == "body.username"


def test_visibility_per_role(env):
    pid = project().body["project_id"]
    assign(pid)
    assert get(pid, MANAGER).status == 200
    assert get(pid, AUDITOR).status == 200
    assert get(pid, OTHER_MANAGER).status == 404
    assert get(pid, OTHER_AUDITOR).status == 404
    assert [p["project_id"] for p in call(handler, "GET", "/projects", claims=AUDITOR).body["items"]] == [pid]
    assert call(handler, "GET", "/projects", claims=OTHER_AUDITOR).body["items"] == []
    assert [p["project_id"] for p in call(handler, "GET", "/projects", claims=MANAGER).body["items"]] == [pid]


def test_invalid_body_is_422_with_fields(env):
    r = project(body={**BODY, "crediting_end": "2020-01-01", "extra": 1})
    assert r.status == 422
    assert {"body.extra"} <= {d["field"] for d in r.body["error"]["details"]}
    r = project(body={**BODY, "profile": "vm0042"})  # a methodology, not an engine profile
    assert r.status == 422 and r.body["error"]["details"][0]["field"] == "body.profile"
    assert project(body={**BODY, "profile": "vm0042_qa3"}).status == 201  # two passes in the pipeline


def test_a_project_names_registered_fpos_only(env):
    r = project(body={**BODY, "fpo_ids": ["FPO-1", "FPO-NOPE"]})
    assert r.status == 422 and r.body["error"]["code"] == "unknown_fpo"
    assert r.body["error"]["details"] == [
        {"field": "body.fpo_ids", "issue": "not a registered FPO: FPO-NOPE", "type": "unknown_fpo"}
    ]
    assert env[0].items == {}  # nothing written


def test_an_fpo_is_in_one_project_per_crediting_period(env):
    first = project().body["project_id"]
    r = project(
        body={**BODY, "fpo_ids": ["FPO-3", "FPO-2"], "crediting_start": "2030-05-31", "crediting_end": "2031-05-31"}
    )
    assert r.status == 409 and r.body["error"]["code"] == "fpo_in_project"  # one day of overlap is enough
    assert first in r.body["error"]["message"] and r.body["error"]["details"][0]["issue"] == f"FPO-2 in {first}"
    adjacent = project(body={**BODY, "crediting_start": "2030-06-01", "crediting_end": "2036-05-31"})
    assert adjacent.status == 409  # both would run period "2030": runs are years or seasons of a year
    later = project(body={**BODY, "crediting_start": "2031-01-01", "crediting_end": "2036-12-31"})
    assert later.status == 201  # the next crediting years over the same FPOs
    assert project(body={**BODY, "fpo_ids": ["FPO-3"]}).status == 201  # another FPO, the same period


def test_the_fpo_membership_item_decides_even_when_the_index_lags(env):
    store, _ = env
    first = project().body["project_id"]
    for key in [k for k, item in store.items.items() if item.get("kind") == "project_fpo"]:
        del store.items[key]  # the eventually consistent index does not list the first project yet
    r = project(body={**BODY, "fpo_ids": ["FPO-1"]})
    assert r.status == 409 and first in r.body["error"]["message"]


def test_a_membership_item_without_its_project_list_falls_back_to_the_index(env):
    store, _ = env
    first = project().body["project_id"]
    for fpo in ("FPO-1", "FPO-2"):  # as written before the item listed the projects
        store.items[(f"FPO#{fpo}", "PROJECTS")].pop("projects")
    r = project(body={**BODY, "fpo_ids": ["FPO-2"]})
    assert r.status == 409 and first in r.body["error"]["message"]
    assert (
        project(
            body={**BODY, "fpo_ids": ["FPO-2"], "crediting_start": "2031-01-01", "crediting_end": "2035-12-31"}
        ).status
        == 201
    )
    assert sorted(store.items[("FPO#FPO-2", "PROJECTS")]["projects"]) == sorted(
        [
            first,
            *[i["project_id"] for i in store.items.values() if i.get("kind") == "project" and i["project_id"] != first],
        ]
    )


def test_a_project_names_at_most_49_fpos(env):
    r = project(body={**BODY, "fpo_ids": [f"FPO-{i}" for i in range(50)]})
    assert r.status == 422 and r.body["error"]["details"][0]["field"] == "body.fpo_ids"


def test_two_concurrent_projects_over_one_fpo_cannot_both_pass_the_check(env):
    """The second creation reads the FPO as free; the first commits in between: the FPO's counter
    has moved, the second re-reads and is refused."""
    store, _ = env
    transact, raced = store.transact, []

    def racing(ops):
        if not raced:
            raced.append(True)
            assert project(body={**BODY, "fpo_ids": ["FPO-1"]}).status == 201  # the competitor commits first
        return transact(ops)

    store.transact = racing
    r = project(body={**BODY, "fpo_ids": ["FPO-1"], "name": "Second"})
    assert r.status == 409 and r.body["error"]["code"] == "fpo_in_project"
    projects = [i for i in store.items.values() if i.get("kind") == "project"]
    assert [p["name"] for p in projects] == ["Delta AWD"]


def test_a_run_period_must_be_in_the_crediting_period_and_overlap_no_other_run(env):
    store, _ = env
    pid = project().body["project_id"]
    r = start(pid, period="2031")
    assert r.status == 422 and r.body["error"]["details"][0]["field"] == "body.period"
    assert start(pid, period="2023-kharif").status == 422
    assert start(pid, period="2025-kharif").status == 202
    r = start(pid, period="2025")  # the whole year includes the kharif season
    assert r.status == 409 and r.body["error"]["code"] == "period_overlaps"
    assert start(pid, period="2025-rabi").status == 202  # another season of the year
    store.items[(f"PROJECT#{pid}", f"RUN#{pid}_2025_kharif")]["status"] = "failed"
    assert start(pid, period="2025").status == 409  # a failed run is restarted, not replaced
    for season in ("kharif", "rabi"):
        store.items[(f"PROJECT#{pid}", f"RUN#{pid}_2025_{season}")]["status"] = "rejected"
    assert start(pid, period="2025").status == 202  # rejected runs credit nothing
    assert start(pid, period="2026").status == 202


def test_run_start_is_refused_while_running_and_restarts_after_failure(env):
    store, sfn = env
    pid = project().body["project_id"]
    r = start(pid)
    assert r.status == 202, r.body
    rid = r.body["run_id"]
    assert rid == f"{pid}_2025_kharif" and sfn.started[0]["name"] == f"{rid}_a1"
    assert sfn.started[0]["input"]["generation"] == 1
    again = start(pid, claims=ADMIN)
    assert again.status == 409 and again.body["error"]["code"] == "run_exists"
    key = (f"PROJECT#{pid}", f"RUN#{rid}")
    store.items[key]["status"] = "failed"
    r = start(pid)
    assert r.status == 202 and r.body["attempt"] == 2
    assert sfn.started[-1]["name"] == f"{rid}_a2" and sfn.started[-1]["input"]["generation"] == 1
    store.items[key]["status"] = "corrections_requested"
    r = start(pid)
    assert r.body["attempt"] == 3 and sfn.started[-1]["input"]["generation"] == 2
    store.items[key]["status"] = "approved"
    assert start(pid).status == 409


@pytest.mark.parametrize("claims,status", [(AUDITOR, 403), (OTHER_MANAGER, 404), (FARMER, 403)])
def test_who_may_start_a_run(env, claims, status):
    pid = project().body["project_id"]
    assign(pid)
    assert start(pid, claims=claims).status == status


def test_run_status_shows_steps_and_execution(env):
    store, _ = env
    pid = project().body["project_id"]
    rid = start(pid).body["run_id"]
    step = pipeline_table.StepRecord(
        run_id=rid, step="plan", attempt=1, status="succeeded", started_at="t", detail={"chunks": 3}
    )
    store.items[step.key()] = step.to_item()
    r = path(
        "GET",
        f"/projects/{pid}/runs/{rid}",
        "/projects/{project_id}/runs/{run_id}",
        {"project_id": pid, "run_id": rid},
        MANAGER,
    )
    assert r.status == 200, r.body
    assert r.body["execution_status"] == "RUNNING" and r.body["steps"][0]["detail"] == {"chunks": 3}
    r = path(
        "GET",
        f"/projects/{pid}/runs/{rid}",
        "/projects/{project_id}/runs/{run_id}",
        {"project_id": pid, "run_id": rid},
        OTHER_MANAGER,
    )
    assert r.status == 404


def test_a_failed_start_leaves_a_restartable_run(env):
    store, sfn = env
    from agri_common.platform.errors import DependencyError

    def boom(name, payload):
        raise DependencyError("Step Functions failed: ServiceUnavailable")

    sfn.start = boom
    pid = project().body["project_id"]
    assert start(pid).status == 503
    run = store.items[(f"PROJECT#{pid}", f"RUN#{pid}_2025_kharif")]
    assert run["status"] == "failed" and run["error"]["step"] == "start"


def test_admin_unassigns_an_auditor_and_a_second_unassign_is_harmless(env):
    store, _ = env
    pid = project().body["project_id"]
    assign(pid)
    assign(pid, "otto")
    r = unassign(pid)
    assert r.status == 200, r.body
    assert r.body["auditors"] == ["aud-2"]
    assert (f"PROJECT#{pid}", "AUDITOR#aud-1") not in store.items
    assert get(pid, AUDITOR).status == 404
    assert call(handler, "GET", "/projects", claims=AUDITOR).body["items"] == []
    again = unassign(pid)
    assert again.status == 200 and again.body["auditors"] == ["aud-2"]
    assert unassign(pid, "aud-2").body["auditors"] == []  # by user id, as the project lists them
    assert "auditors" not in store.items[(f"PROJECT#{pid}", "META")]  # the last one takes the set with it
    assert assign(pid).body["auditors"] == ["aud-1"]  # and can be assigned again


def test_an_auditor_who_lost_the_role_is_still_removed(env, monkeypatch):
    """The username they were assigned with (kept on the assignment item) or their id is enough."""
    pid = project().body["project_id"]
    assign(pid)
    assign(pid, "otto")
    monkeypatch.setattr(Directory, "users", {})
    assert unassign(pid, "audrey").body["auditors"] == ["aud-2"]
    assert unassign(pid, "aud-2").body["auditors"] == []


@pytest.mark.parametrize("claims", [MANAGER, AUDITOR, FARMER])
def test_only_admins_unassign(env, claims):
    pid = project().body["project_id"]
    assign(pid)
    r = unassign(pid, claims=claims)
    assert r.status == 403
    assert get(pid, ADMIN).body["auditors"] == ["aud-1"]


def test_unassign_from_a_missing_project_is_404_and_a_bad_name_422(env):
    assert unassign("prj_0000ffff").status == 404
    pid = project().body["project_id"]
    r = unassign(pid, "bad name")
    assert r.status == 422 and r.body["error"]["details"][0]["field"] == "path.username_or_id"


def test_unassign_leaves_an_index_entry_without_effect(env):
    """The auditor's index may still list the deleted assignment for a moment: the project item decides."""
    store, _ = env
    pid = project().body["project_id"]
    assign(pid)
    lagging = dict(store.items[(f"PROJECT#{pid}", "AUDITOR#aud-1")])
    unassign(pid)
    store.items[(f"PROJECT#{pid}", "AUDITOR#aud-1")] = lagging
    assert call(handler, "GET", "/projects", claims=AUDITOR).body["items"] == []
    assert get(pid, AUDITOR).status == 404


def test_a_username_the_directory_resolves_differently_still_matches(env, monkeypatch):
    """E.g. typed in another case on a case-insensitive pool: the directory's user id decides."""
    pid = project().body["project_id"]
    assign(pid)
    monkeypatch.setattr(Directory, "users", {"Audrey": "aud-1"})
    assert unassign(pid, "Audrey").body["auditors"] == []


EF_C = {"value": 1.62, "low": 1.2, "high": 2.1, "source": "India national GHG inventory"}


def test_a_project_takes_country_factors_and_unknown_baseline_amendments(env):
    store, _ = env
    body = {**BODY, "country_factors": {"rice.ef_c": EF_C}, "baseline_organic_amendments_unknown": True}
    r = project(body=body)
    assert r.status == 201, r.body
    assert r.body["country_factors"] == {"rice.ef_c": EF_C} and r.body["baseline_organic_amendments_unknown"] is True
    again = get(r.body["project_id"], ADMIN).body
    assert again["country_factors"] == {"rice.ef_c": EF_C} and again["baseline_organic_amendments_unknown"] is True
    plain = project(body={**BODY, "fpo_ids": ["FPO-3"]}).body
    assert plain["country_factors"] == {} and plain["baseline_organic_amendments_unknown"] is False


@pytest.mark.parametrize(
    "factors, field",
    [
        ({"rice.ef_x": EF_C}, "body"),  # not a factor the engine can replace
        ({"rice.ef_c": {**EF_C, "low": 1.7}}, "body.country_factors.rice.ef_c"),  # low above the value
        ({"rice.ef_c": {**EF_C, "value": 0}}, "body.country_factors.rice.ef_c.value"),
        ({"rice.ef_c": {**EF_C, "source": "inventory\u202e"}}, "body.country_factors"),  # bidi: the body's rule
        ({"rice.ef_c": {**EF_C, "source": None}}, "body.country_factors.rice.ef_c.source"),
        ({"rice.ef_c": {**EF_C, "extra": 1}}, "body.country_factors.rice.ef_c.extra"),
    ],
)
def test_bad_country_factors_are_422_and_store_nothing(env, factors, field):
    store, _ = env
    before = dict(store.items)
    r = project(body={**BODY, "country_factors": factors})
    assert r.status == 422, r.body
    assert field in {d["field"] for d in r.body["error"]["details"]}, r.body
    assert store.items == before


def test_the_country_factor_body_mirrors_the_engines_model():
    """functions/projects cannot import the carbon engine (its layer is not attached): the body repeats
    the engine's CountryFactor, and this keeps the two equal (fields, bounds, the range rule)."""
    from carbon_engine.models import CountryFactor
    from functions.projects.models import CountryFactorIn

    def bounds(model):
        return {name: (f.annotation, repr(f.metadata)) for name, f in model.model_fields.items() if name != "source"}

    assert set(CountryFactorIn.model_fields) == set(CountryFactor.model_fields)
    assert bounds(CountryFactorIn) == bounds(CountryFactor)
    for values in ({"value": 2, "low": 2.5, "high": 3}, {"value": 2, "low": 1, "high": 1.5}):
        for model in (CountryFactorIn, CountryFactor):
            with pytest.raises(ValueError):
                model.model_validate({**values, "source": "x"})

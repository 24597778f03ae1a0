"""Swagger UI's "Try it out", done by a test: every request-body example of the published OpenAPI
document, posted as is to the twin's API (the deployed handlers and route table), never gets a 422
(nor a 5xx). Path parameters are the ids the earlier examples created, so the farmer, plot, season,
FPO invitation, user and role examples really succeed; the rest reach their route function and answer
what it decides with such ids (404 for the example project's runs, 401 for a made-up token...)."""

from __future__ import annotations

import json
import re

import pytest

from infra.openapi import SPEC_PATH
from infra.routes import HTTP_METHODS
from tests.e2e.conftest import Client

pytestmark = pytest.mark.e2e
SPEC = json.loads(SPEC_PATH.read_text(encoding="utf-8"))
# who tries each route out (public routes: nobody); anything else: the admin
ROLE = {
    "/farmers": "fpo_manager",
    "/farmers/{farmer_id}": "fpo_manager",
    "/farmers/{farmer_id}/plots": "fpo_manager",
    "/plots/{plot_id}": "fpo_manager",
    "/plots/{plot_id}/seasons": "fpo_manager",
    "/fpos/{fpo_id}/invitations": "fpo_manager",
    "/farmers/field-data": "fpo_manager",
    "/sync": "fpo_manager",
    "/uploads": "fpo_manager",
    "/imports/farmers": "fpo_manager",
    "/imports/plots": "fpo_manager",
    "/farmers/{farmer_id}/join": "farmer",
    "/verification/observations": "auditor",
    "/verification/tasks/{task_id}/decision": "auditor",
}
# the examples that must succeed outright, in this order (later ones use the ids the earlier ones created)
MUST_SUCCEED = [
    ("POST", "/farmers", 201),
    ("PATCH", "/farmers/{farmer_id}", 200),
    ("POST", "/farmers/{farmer_id}/plots", 201),
    ("PUT", "/plots/{plot_id}", 200),
    ("POST", "/plots/{plot_id}/seasons", 201),
    ("POST", "/fpos/{fpo_id}/invitations", 201),
    ("POST", "/admin/users", 201),
    ("PUT", "/admin/users/{username}/role", 200),
]
LAST = {("POST", "/auth/logout")}  # it revokes the caller's session


def operations() -> list[tuple[str, str, dict]]:
    ops = [
        (m.upper(), p, item[m])
        for p, item in SPEC["paths"].items()
        for m in HTTP_METHODS
        if "requestBody" in item.get(m, {})
    ]
    first = {(m, p): i for i, (m, p, _) in enumerate(MUST_SUCCEED)}
    return sorted(ops, key=lambda o: (o[:2] in LAST, first.get(o[:2], len(first)), o[1], o[0]))


@pytest.fixture(scope="module")
def tokens(twin) -> dict[str, str]:
    client = Client.of(twin)
    return {u["role"]: client.login(u["username"], u["password"])["id_token"] for u in twin["users"]}


def test_every_example_is_accepted_by_the_deployed_handlers(twin, tokens):
    client = Client.of(twin)
    ids = {
        "fpo_id": "FPO-DEMO-1",
        "username": "ravi.kumar",
        "project_id": "prj_0000abcd",
        "task_id": "prj_0000abcd_2025_kharif_a1",
        "farmer_id": "F-EXAMPLE",
        "plot_id": "P-EXAMPLE",
    }
    seen: dict[tuple[str, str], int] = {}
    failures: list[tuple[str, str, int, str]] = []
    for method, path, op in operations():
        example = op["requestBody"]["content"]["application/json"]["example"]
        url = re.sub(r"\{(\w+)\}", lambda m: ids[m.group(1)], path)
        token = tokens[ROLE.get(path, "admin")] if op.get("security") else None
        r = client.call(method, url, example, token=token)
        seen[(method, path)] = r.status_code
        if r.status_code >= 400:
            assert set(r.json()["error"]) >= {"code", "message"}, r.text
        if r.status_code == 422 or r.status_code >= 500:
            failures.append((method, path, r.status_code, r.text[:300]))
        if (method, path) == ("POST", "/farmers"):
            ids["farmer_id"] = r.json()["farmer_id"]
        if (method, path) == ("POST", "/farmers/{farmer_id}/plots"):
            ids["plot_id"] = r.json()["plot_id"]
    assert failures == []
    assert {(m, p): seen[(m, p)] for m, p, _ in MUST_SUCCEED} == {(m, p): s for m, p, s in MUST_SUCCEED}
    assert len(seen) >= 30

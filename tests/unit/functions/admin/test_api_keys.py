"""POST/GET/DELETE /admin/api-keys through the admin handler, over an in-memory API Gateway."""

from __future__ import annotations

import pytest

from functions.admin import handler
from functions.admin.api_keys import ApiKeyService, parse_plans
from tests.unit.fakes.api_keys import FakeKeyGateway
from tests.unit.functions.conftest import call, claims_for

ADMIN = claims_for("admin", user="a-1", username="root-admin", fpo=None)
PLANS = {"agri-mrv-dev-trial": "plan-trial", "agri-mrv-dev-standard": "plan-standard"}
BODY = {"name": "registry-sync", "owner": "Example Registry", "contact": "ops@registry.example", "plan": "trial"}


@pytest.fixture
def gateway(revocations, monkeypatch):
    gw = FakeKeyGateway(PLANS)
    plans = parse_plans("standard=agri-mrv-dev-standard,trial=agri-mrv-dev-trial")
    handler.app.dependency_overrides[handler.get_api_keys] = lambda: ApiKeyService(gw, plans)
    monkeypatch.setattr(handler, "_revocation", lambda: revocations)
    yield gw
    handler.app.dependency_overrides.clear()


def create(body, claims=ADMIN):
    return call(handler, "POST", "/admin/api-keys", body, claims=claims)


def listed(claims=ADMIN):
    return call(handler, "GET", "/admin/api-keys", claims=claims)


def delete(key_id, claims=ADMIN):
    return call(
        handler,
        "DELETE",
        f"/admin/api-keys/{key_id}",
        claims=claims,
        resource="/admin/api-keys/{key_id}",
        params={"key_id": key_id},
    )


def test_create_answers_the_value_once_and_list_never_shows_it(gateway):
    r = create(BODY)
    assert r.status == 201, r.body
    assert r.body["value"] == f"value-of-{r.body['key_id']}"
    assert {k: r.body[k] for k in ("name", "owner", "contact", "plan", "enabled", "created_by")} == {
        **{k: BODY[k] for k in ("name", "owner", "contact", "plan")},
        "enabled": True,
        "created_by": "root-admin",
    }
    assert gateway.plan_keys["plan-trial"] == {r.body["key_id"]}
    items = listed().body["items"]
    assert [i["key_id"] for i in items] == [r.body["key_id"]]
    assert "value" not in items[0] and r.body["value"] not in str(items)


def test_delete_revokes_and_a_second_delete_is_404(gateway):
    key_id = create(BODY).body["key_id"]
    r = delete(key_id)
    assert r.status == 200 and r.body["key_id"] == key_id and r.body["enabled"] is False
    assert gateway.keys == {} and listed().body["items"] == []
    again = delete(key_id)
    assert again.status == 404 and again.body["error"]["code"] == "not_found"


def test_a_key_of_another_api_answers_like_an_unknown_one(gateway):
    other = gateway.create_key("someone-else", {})  # in no plan of this API
    r, unknown = delete(other.key_id), delete("k999999999")
    assert r.status == unknown.status == 404
    assert (r.body["error"]["code"], r.body["error"]["message"]) == (
        unknown.body["error"]["code"],
        unknown.body["error"]["message"],
    )
    assert other.key_id in gateway.keys


def test_a_name_in_use_is_409_and_creates_nothing(gateway):
    create(BODY)
    r = create({**BODY, "plan": "standard", "owner": "Someone else"})
    assert r.status == 409 and r.body["error"]["code"] == "api_key_exists"
    assert len(gateway.keys) == 1


def test_a_key_that_cannot_join_its_plan_is_deleted_again(gateway):
    gateway.fail_add_to_plan = True
    r = create(BODY)
    assert r.status == 500
    assert gateway.keys == {}  # no unmetered key is left behind


@pytest.mark.parametrize(
    "change, field",
    [
        ({"plan": "gold"}, "body.plan"),
        ({"plan": "Trial"}, "body.plan"),
        ({"name": "x"}, "body.name"),
        ({"name": "has space"}, "body.name"),
        ({"contact": "not-an-email"}, "body.contact"),
        ({"owner": "two\nlines"}, "body.owner"),
        ({"owner": ""}, "body.owner"),
        ({"owner": "Bidi \u202e name"}, "body.owner"),
        ({"extra": 1}, "body.extra"),
    ],
)
def test_bad_input_is_422_naming_the_field_and_stores_nothing(gateway, change, field):
    r = create({**BODY, **change})
    assert r.status == 422, r.body
    assert field in [d["field"] for d in r.body["error"]["details"]]
    assert gateway.keys == {}


@pytest.mark.parametrize("key_id", ["a-b", "x" * 65, "k%2F1"])
def test_a_malformed_key_id_is_422(gateway, key_id):
    r = delete(key_id)
    assert r.status == 422 and r.body["error"]["details"][0]["field"] == "path.key_id"


@pytest.mark.parametrize("role", ["farmer", "fpo_manager", "auditor"])
def test_other_roles_are_refused_on_every_key_route(gateway, role):
    caller = claims_for(role)
    key_id = create(BODY).body["key_id"]
    for r in (create({**BODY, "name": "another-key"}, caller), listed(caller), delete(key_id, caller)):
        assert r.status == 403 and r.body["error"]["code"] == "role_forbidden"
    assert list(gateway.keys) == [key_id]


def test_without_a_token_the_routes_answer_401(gateway):
    assert create(BODY, claims=None).status == 401
    assert gateway.keys == {}

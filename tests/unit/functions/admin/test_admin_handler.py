import pytest

from functions.admin import handler
from functions.admin.logic import AdminService
from tests.unit.functions.conftest import call, claims_for

ADMIN = claims_for("admin", user="a-1", username="root-admin", fpo=None)


@pytest.fixture(autouse=True)
def wire(idp, revocations, monkeypatch):
    handler.app.dependency_overrides[handler.get_service] = lambda: AdminService(idp, revocations)
    monkeypatch.setattr(handler, "_revocation", lambda: revocations)
    yield
    handler.app.dependency_overrides.clear()


def create(body, claims=ADMIN):
    return call(handler, "POST", "/admin/users", body, claims=claims)


AUDITOR = {
    "username": "audrey",
    "role": "auditor",
    "name": "Audrey",
    "email": "a@example.org",
    "temporary_password": "Temp-Passw0rd!x",
}


def test_admin_creates_an_auditor(idp):
    r = create(AUDITOR)
    assert r.status == 201, r.body
    assert r.body["role"] == "auditor" and r.body["fpo_id"] is None
    assert idp.groups["audrey"] == {"auditor"}


@pytest.mark.parametrize("role", ["farmer", "fpo_manager", "auditor"])
def test_every_other_role_is_refused_on_every_admin_route(role, idp):
    caller = claims_for(role)
    for method, path, body in [
        ("POST", "/admin/users", AUDITOR),
        ("GET", "/admin/users", None),
        ("GET", "/admin/users/x", None),
        ("POST", "/admin/users/x/disable", None),
        ("PUT", "/admin/users/x/role", {"role": "admin"}),
    ]:
        r = call(
            handler,
            method,
            path,
            body,
            claims=caller,
            resource=path.replace("/x", "/{username}"),
            params={"username": "x"} if "/x" in path else None,
        )
        assert r.status == 403, (method, path)
        assert r.body["error"]["code"] == "role_forbidden"
    assert idp.users == {}


@pytest.mark.parametrize(
    "body, field",
    [
        ({**AUDITOR, "role": "farmer"}, "body"),  # farmer needs fpo_id
        ({**AUDITOR, "fpo_id": "FPO-1"}, "body"),  # auditor must not have one
        ({**AUDITOR, "role": "superuser"}, "body.role"),
        ({k: v for k, v in AUDITOR.items() if k != "username"}, "body.username"),
    ],
)
def test_role_and_fpo_rules_are_validated(body, field):
    r = create(body)
    assert r.status == 422
    assert any(d["field"] == field for d in r.body["error"]["details"]), r.body


def test_list_users_paginates_and_keeps_the_filter_with_the_token(idp):
    for i in range(5):
        assert create({**AUDITOR, "username": f"aud{i}"}).status == 201
    assert create({"username": "fa1", "role": "farmer", "fpo_id": "FPO-1", "name": "F"}).status == 201
    first = call(handler, "GET", "/admin/users", claims=ADMIN, query="limit=2&role=auditor")
    assert first.status == 200
    assert [u["username"] for u in first.body["items"]] == ["aud0", "aud1"]
    token = first.body["next_token"]
    second = call(handler, "GET", "/admin/users", claims=ADMIN, query=f"limit=2&role=auditor&next_token={token}")
    assert [u["username"] for u in second.body["items"]] == ["aud2", "aud3"]
    mixed = call(handler, "GET", "/admin/users", claims=ADMIN, query=f"limit=2&next_token={token}")
    assert mixed.status == 400 and mixed.body["error"]["code"] == "invalid_next_token"
    tampered = call(handler, "GET", "/admin/users", claims=ADMIN, query="next_token=%%%")
    assert tampered.status == 400
    everyone = call(handler, "GET", "/admin/users", claims=ADMIN, query="limit=60")
    assert {u["username"]: u["role"] for u in everyone.body["items"]}["fa1"] == "farmer"


def test_limit_out_of_range_is_422():
    r = call(handler, "GET", "/admin/users", claims=ADMIN, query="limit=1000")
    assert r.status == 422 and r.body["error"]["details"][0]["field"] == "query.limit"


def test_disable_revokes_tokens_and_enable_restores(idp, revocations):
    create(AUDITOR)
    user_id = idp.users["audrey"].user_id
    r = call(
        handler,
        "POST",
        "/admin/users/audrey/disable",
        claims=ADMIN,
        resource="/admin/users/{username}/disable",
        params={"username": "audrey"},
    )
    assert r.status == 200 and r.body["enabled"] is False
    assert f"user#{user_id}" in revocations.items and "audrey" in idp.signed_out
    r = call(
        handler,
        "POST",
        "/admin/users/audrey/enable",
        claims=ADMIN,
        resource="/admin/users/{username}/enable",
        params={"username": "audrey"},
    )
    assert r.body["enabled"] is True


def test_change_role_moves_groups_sets_fpo_and_revokes_old_tokens(idp, revocations):
    create(AUDITOR)
    r = call(
        handler,
        "PUT",
        "/admin/users/audrey/role",
        {"role": "fpo_manager", "fpo_id": "FPO-7"},
        claims=ADMIN,
        resource="/admin/users/{username}/role",
        params={"username": "audrey"},
    )
    assert r.status == 200, r.body
    assert idp.groups["audrey"] == {"fpo_manager"}
    assert r.body["role"] == "fpo_manager" and r.body["fpo_id"] == "FPO-7"
    assert f"user#{idp.users['audrey'].user_id}" in revocations.items


def test_admin_cannot_lock_themselves_out():
    r = call(
        handler,
        "POST",
        "/admin/users/root-admin/disable",
        claims=ADMIN,
        resource="/admin/users/{username}/disable",
        params={"username": "root-admin"},
    )
    assert r.status == 409 and r.body["error"]["code"] == "cannot_modify_self"


def test_unknown_user_is_404():
    r = call(
        handler,
        "GET",
        "/admin/users/ghost",
        claims=ADMIN,
        resource="/admin/users/{username}",
        params={"username": "ghost"},
    )
    assert r.status == 404 and r.body["error"]["code"] == "user_not_found"

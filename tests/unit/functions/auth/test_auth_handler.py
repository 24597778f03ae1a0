import pytest

from functions.auth import handler
from functions.auth.logic import AuthService
from functions.auth.mfa_sessions import InMemoryMfaSessionStore
from tests.unit.functions.conftest import call, claims_for

GOOD = {"username": "ravi", "password": "Str0ng-Passw0rd!", "name": "Ravi Kumar", "phone_number": "+919812345678"}


@pytest.fixture
def mfa_store():
    return InMemoryMfaSessionStore()


@pytest.fixture(autouse=True)
def wire(idp, revocations, mfa_store, monkeypatch):
    handler.app.dependency_overrides[handler.get_service] = lambda: AuthService(idp, revocations, mfa_store)
    monkeypatch.setattr(handler, "_revocation", lambda: revocations)
    yield
    handler.app.dependency_overrides.clear()


def test_register_puts_the_user_in_the_farmer_group_chosen_by_the_server(idp):
    r = call(handler, "POST", "/auth/register", GOOD)
    assert r.status == 201, r.body
    assert r.body["role"] == "farmer" and r.body["next_step"] == "confirm_registration"
    assert idp.groups["ravi"] == {"farmer"}
    assert idp.users["ravi"].attributes == {"name": "Ravi Kumar", "phone_number": "+919812345678"}


@pytest.mark.parametrize("extra", [{"role": "admin"}, {"group": "admin"}, {"fpo_id": "FPO-9"}, {"custom:fpo_id": "x"}])
def test_client_cannot_choose_role_or_fpo(extra, idp):
    r = call(handler, "POST", "/auth/register", {**GOOD, **extra})
    assert r.status == 422
    assert [d["field"] for d in r.body["error"]["details"]] == [f"body.{next(iter(extra))}"]
    assert idp.users == {}


def test_register_rolls_back_when_the_group_cannot_be_assigned(idp):
    idp.fail_on = {"add_to_group"}
    r = call(handler, "POST", "/auth/register", GOOD)
    assert r.status == 503 and r.body["error"]["code"] == "service_unavailable"
    assert "ravi" not in idp.users  # no role-less account left behind
    assert ("admin_delete_user", "ravi") in idp.calls


def test_register_twice_is_a_conflict(idp):
    assert call(handler, "POST", "/auth/register", GOOD).status == 201
    r = call(handler, "POST", "/auth/register", GOOD)
    assert r.status == 409 and r.body["error"]["code"] == "username_taken"


@pytest.mark.parametrize(
    "body, field",
    [
        ({**GOOD, "password": "short"}, "body.password"),
        ({k: v for k, v in GOOD.items() if k != "name"}, "body.name"),
        ({**GOOD, "phone_number": "98123"}, "body.phone_number"),
        ({**GOOD, "username": "a b"}, "body.username"),
    ],
)
def test_bad_fields_are_named(body, field):
    r = call(handler, "POST", "/auth/register", body)
    assert r.status == 422
    assert r.body["error"]["code"] == "validation_error"
    assert field in [d["field"] for d in r.body["error"]["details"]]
    assert r.body["error"]["request_id"]


def test_login_then_challenge_for_a_new_password(idp):
    idp.admin_create_user("asha", {"name": "Asha"}, "Temp-Passw0rd!x")
    r = call(handler, "POST", "/auth/login", {"username": "asha", "password": "Temp-Passw0rd!x"})
    assert r.status == 200 and r.body["tokens"] is None
    session = r.body["challenge"]["session"]
    r = call(
        handler,
        "POST",
        "/auth/challenge",
        {
            "challenge_name": "NEW_PASSWORD_REQUIRED",
            "session": session,
            "username": "asha",
            "new_password": "New-Passw0rd!xyz",
        },
    )
    assert r.status == 200 and r.body["tokens"]["id_token"] == "id2"
    assert (
        "challenge",
        "NEW_PASSWORD_REQUIRED",
        session,
        {"USERNAME": "asha", "NEW_PASSWORD": "New-Passw0rd!xyz"},
    ) in idp.calls


def test_challenge_needs_its_answer():
    r = call(
        handler, "POST", "/auth/challenge", {"challenge_name": "SOFTWARE_TOKEN_MFA", "session": "s", "username": "asha"}
    )
    assert r.status == 422


def test_wrong_password_is_401_without_saying_which_part_was_wrong(idp):
    r = call(handler, "POST", "/auth/login", {"username": "nobody", "password": "x"})
    assert r.status == 401 and r.body["error"]["code"] == "invalid_credentials"


def test_forgot_password_answers_the_same_for_unknown_users(idp):
    idp.sign_up("ravi", "Str0ng-Passw0rd!", {})
    known = call(handler, "POST", "/auth/forgot-password", {"username": "ravi"})
    unknown = call(handler, "POST", "/auth/forgot-password", {"username": "ghost"})
    assert known.status == unknown.status == 202
    assert known.body == unknown.body


def test_logout_revokes_refresh_token_and_session_then_old_token_is_refused(idp, revocations):
    caller = claims_for("farmer")
    assert call(handler, "GET", "/auth/me", claims=caller).status == 200
    r = call(handler, "POST", "/auth/logout", {"refresh_token": "refresh-ravi"}, claims=caller)
    assert r.status == 200
    assert idp.revoked == ["refresh-ravi"]
    again = call(handler, "GET", "/auth/me", claims=caller)
    assert again.status == 401 and again.body["error"]["code"] == "token_revoked"


def test_me_reports_role_and_fpo():
    r = call(handler, "GET", "/auth/me", claims=claims_for("fpo_manager", user="m-1", username="meena"))
    assert r.status == 200
    assert (r.body["user_id"], r.body["username"], r.body["role"], r.body["fpo_id"]) == (
        "m-1",
        "meena",
        "fpo_manager",
        "FPO-1",
    )


def test_me_without_claims_is_401():
    r = call(handler, "GET", "/auth/me")
    assert r.status == 401 and r.body["error"]["code"] == "unauthorized"

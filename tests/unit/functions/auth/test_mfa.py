"""TOTP for admins and auditors, optional for others (decision 0015), over the fake Cognito.

The fake's codes are not RFC 6238 (tests/unit/fakes/idp.py ``code_for``); the twin's are, and the
e2e test (tests/e2e/test_mfa_and_claim.py) computes real ones.
"""

import pytest

from functions.auth import handler
from functions.auth.logic import AuthService
from functions.auth.mfa_sessions import MAX_ATTEMPTS, InMemoryMfaSessionStore, session_key
from tests.unit.fakes.idp import FakeIdp
from tests.unit.functions.conftest import call, claims_for

PASSWORD = "Str0ng-Passw0rd!"
NEW_PASSWORD = "Naya-Passw0rd!xyz"


class Clock:
    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock():
    return Clock()


@pytest.fixture
def store(clock):
    return InMemoryMfaSessionStore(clock)


@pytest.fixture(autouse=True)
def wire(idp, revocations, store, clock, monkeypatch):
    handler.app.dependency_overrides[handler.get_service] = lambda: AuthService(idp, revocations, store, clock)
    monkeypatch.setattr(handler, "_revocation", lambda: revocations)
    yield
    handler.app.dependency_overrides.clear()


def user(idp: FakeIdp, name: str, role: str, *, temporary: bool = False) -> None:
    idp.admin_create_user(name, {"name": name}, PASSWORD)
    if not temporary:
        idp.users[name].status = "CONFIRMED"
    idp.add_to_group(name, role)


def login(name: str, password: str = PASSWORD):
    return call(handler, "POST", "/auth/login", {"username": name, "password": password})


def verify(session: str, code: str):
    return call(handler, "POST", "/auth/mfa/verify", {"session": session, "totp_code": code})


def wrong(code: str) -> str:
    return str((int(code) + 1) % 1_000_000).zfill(6)


@pytest.mark.parametrize("role", ["admin", "auditor"])
def test_admins_and_auditors_without_totp_get_mfa_setup_instead_of_tokens(idp, store, role):
    user(idp, "audrey", role)
    r = login("audrey")
    assert r.status == 200, r.body
    assert r.body["tokens"] is None
    challenge = r.body["challenge"]
    assert challenge["challenge_name"] == "MFA_SETUP"
    secret = challenge["secret_code"]
    assert secret == idp.pending_totp["audrey"]
    assert (
        challenge["otpauth_uri"]
        == f"otpauth://totp/AgriMRV%3Aaudrey?secret={secret}&issuer=AgriMRV&algorithm=SHA1&digits=6&period=30"
    )
    assert challenge["expires_in"] == 600
    # the session is opaque and kept server-side by its hash only; the access token never leaves
    assert challenge["session"] not in str(store.items)
    assert set(store.items) == {session_key(challenge["session"])}
    assert "access" not in str(r.body)


@pytest.mark.parametrize("role", ["farmer", "fpo_manager"])
def test_farmers_and_managers_get_tokens_without_totp(idp, role):
    user(idp, "ravi", role)
    r = login("ravi")
    assert r.status == 200 and r.body["tokens"]["id_token"] == "id" and r.body["challenge"] is None


def test_enrolment_then_every_login_is_a_totp_challenge(idp, store):
    user(idp, "audrey", "auditor")
    setup = login("audrey").body["challenge"]
    r = verify(setup["session"], FakeIdp.code_for(setup["secret_code"]))
    assert r.status == 200, r.body
    assert r.body["status"] == "ok"
    assert idp.totp["audrey"] == setup["secret_code"]
    assert store.items == {}  # used up
    assert "refresh-audrey" in idp.revoked  # the password-only login's refresh token dies
    again = login("audrey").body
    assert again["tokens"] is None and again["challenge"]["challenge_name"] == "SOFTWARE_TOKEN_MFA"
    assert again["challenge"]["secret_code"] is None
    answer = {
        "challenge_name": "SOFTWARE_TOKEN_MFA",
        "session": again["challenge"]["session"],
        "username": "audrey",
        "totp_code": FakeIdp.code_for(idp.totp["audrey"]),
    }
    r = call(handler, "POST", "/auth/challenge", answer)
    assert r.status == 200 and r.body["tokens"]["id_token"] == "id2"


def test_a_replayed_session_is_refused_and_changes_nothing(idp):
    user(idp, "audrey", "admin")
    setup = login("audrey").body["challenge"]
    code = FakeIdp.code_for(setup["secret_code"])
    assert verify(setup["session"], code).status == 200
    idp.totp.clear()  # even if the user were not enrolled now, the session stays spent
    r = verify(setup["session"], code)
    assert r.status == 401 and r.body["error"]["code"] == "invalid_session"
    assert idp.totp == {}


def test_a_wrong_code_enrols_nothing_and_the_session_dies_after_five(idp, store):
    user(idp, "audrey", "admin")
    setup = login("audrey").body["challenge"]
    bad = wrong(FakeIdp.code_for(setup["secret_code"]))
    for left in range(MAX_ATTEMPTS - 1, -1, -1):
        r = verify(setup["session"], bad)
        assert r.status == 400 and r.body["error"]["code"] == "invalid_totp_code"
        assert (f"{left} attempts left" in r.body["error"]["message"]) == (left > 0)
    assert idp.totp == {} and store.items == {}
    r = verify(setup["session"], FakeIdp.code_for(setup["secret_code"]))  # even the right code now
    assert r.status == 401 and r.body["error"]["code"] == "invalid_session"
    assert idp.totp == {}


def test_an_expired_session_is_refused(idp, clock):
    user(idp, "audrey", "admin")
    setup = login("audrey").body["challenge"]
    clock.now += 601
    r = verify(setup["session"], FakeIdp.code_for(setup["secret_code"]))
    assert r.status == 401 and r.body["error"]["code"] == "invalid_session"
    assert idp.totp == {}


@pytest.mark.parametrize("session", ["made-up-session-0123456789", "x" * 43])
def test_an_unknown_session_is_refused(session):
    r = verify(session, "123456")
    assert r.status == 401 and r.body["error"]["code"] == "invalid_session"


def test_admin_created_user_changes_password_then_enrols(idp):
    user(idp, "adi", "admin", temporary=True)
    first = login("adi").body["challenge"]
    assert first["challenge_name"] == "NEW_PASSWORD_REQUIRED"
    answer = {"challenge_name": "NEW_PASSWORD_REQUIRED", "session": first["session"], "username": "adi"}
    r = call(handler, "POST", "/auth/challenge", {**answer, "new_password": NEW_PASSWORD})
    assert r.status == 200 and r.body["tokens"] is None
    assert r.body["challenge"]["challenge_name"] == "MFA_SETUP"
    assert verify(r.body["challenge"]["session"], FakeIdp.code_for(r.body["challenge"]["secret_code"])).status == 200
    assert login("adi", NEW_PASSWORD).body["challenge"]["challenge_name"] == "SOFTWARE_TOKEN_MFA"


def test_an_admins_refresh_token_without_totp_mints_nothing_and_is_revoked(idp):
    user(idp, "adi", "admin")
    r = call(handler, "POST", "/auth/refresh", {"refresh_token": "refresh-adi", "username": "adi"})
    assert r.status == 403 and r.body["error"]["code"] == "mfa_enrollment_required"
    assert "refresh-adi" in idp.revoked
    assert "id3" not in str(r.body)


def test_refresh_works_for_farmers_and_enrolled_admins(idp):
    user(idp, "ravi", "farmer")
    user(idp, "adi", "admin")
    idp.totp["adi"] = "SECRETADI"
    for name in ("ravi", "adi"):
        r = call(handler, "POST", "/auth/refresh", {"refresh_token": f"refresh-{name}", "username": name})
        assert r.status == 200 and r.body["id_token"] == "id3" and r.body["username"] == name


def test_refresh_needs_the_tokens_username(idp):
    user(idp, "ravi", "farmer")
    missing = call(handler, "POST", "/auth/refresh", {"refresh_token": "refresh-ravi"})
    assert missing.status == 422 and missing.body["error"]["details"][0]["field"] == "body.username"
    other = call(handler, "POST", "/auth/refresh", {"refresh_token": "refresh-ravi", "username": "adi"})
    assert other.status == 401 and other.body["error"]["code"] == "invalid_refresh_token"


def test_a_farmer_enrols_optionally_and_then_gets_the_totp_challenge(idp):
    user(idp, "ravi", "farmer")
    tokens = login("ravi").body["tokens"]
    caller = claims_for("farmer", user=idp.users["ravi"].user_id, username="ravi")
    r = call(handler, "POST", "/auth/mfa/setup", {"access_token": tokens["access_token"]}, claims=caller)
    assert r.status == 200, r.body
    assert r.body["otpauth_uri"].startswith("otpauth://totp/AgriMRV%3Aravi?secret=")
    assert verify(r.body["session"], FakeIdp.code_for(r.body["secret_code"])).status == 200
    assert "refresh-ravi" not in idp.revoked  # their own session stays
    assert login("ravi").body["challenge"]["challenge_name"] == "SOFTWARE_TOKEN_MFA"
    again = call(handler, "POST", "/auth/mfa/setup", {"access_token": tokens["access_token"]}, claims=caller)
    assert again.status == 409 and again.body["error"]["code"] == "mfa_already_enrolled"


def test_setup_with_someone_elses_access_token_is_refused(idp, store):
    user(idp, "ravi", "farmer")
    user(idp, "sita", "farmer")
    sitas = login("sita").body["tokens"]["access_token"]
    caller = claims_for("farmer", user=idp.users["ravi"].user_id, username="ravi")
    r = call(handler, "POST", "/auth/mfa/setup", {"access_token": sitas}, claims=caller)
    assert r.status == 401 and r.body["error"]["code"] == "invalid_access_token"
    assert store.items == {} and idp.pending_totp == {}


def test_setup_needs_a_token():
    r = call(handler, "POST", "/auth/mfa/setup", {"access_token": "a"})
    assert r.status == 401


@pytest.mark.parametrize("code", ["12345", "1234567", "abcdef", "12 456"])
def test_codes_are_six_digits(code):
    r = verify("made-up-session-0123456789", code)
    assert r.status == 422 and r.body["error"]["details"][0]["field"] == "body.totp_code"

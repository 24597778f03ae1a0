"""TOTP for admins and auditors, end to end on the twin with real RFC 6238 codes computed from the
secret the API hands out (decision 0015): an admin-created auditor's first login (new password,
then MFA_SETUP), enrolment, then every login is a SOFTWARE_TOKEN_MFA challenge; wrong codes fail."""

from __future__ import annotations

import time

import pytest

from infra.local.moto_ext import totp_code
from tests.e2e.conftest import Client
from tests.e2e.test_api import PASSWORD, unique

pytestmark = pytest.mark.e2e

TEMPORARY = "Temp-Passw0rd!x"


def code(secret: str) -> str:
    return totp_code(secret, time.time())


def wrong(right: str) -> str:
    return str((int(right) + 500_000) % 1_000_000).zfill(6)


def created_user(client: Client, admin: str, role: str, **extra) -> str:
    username = unique(role[:3])
    body = {"username": username, "role": role, "name": f"New {role}", "temporary_password": TEMPORARY, **extra}
    r = client.call("POST", "/admin/users", body, token=admin)
    assert r.status_code == 201, r.text
    return username


def first_login_with_totp(client: Client, username: str) -> tuple[dict, str]:
    """An admin-created admin or auditor: NEW_PASSWORD_REQUIRED, then MFA_SETUP, enrolment with a
    real code, then the TOTP login. Answers (tokens, secret)."""
    first = client.call("POST", "/auth/login", {"username": username, "password": TEMPORARY}).json()
    assert first["challenge"]["challenge_name"] == "NEW_PASSWORD_REQUIRED", first
    answer = {
        "challenge_name": "NEW_PASSWORD_REQUIRED",
        "username": username,
        "session": first["challenge"]["session"],
        "new_password": PASSWORD,
    }
    r = client.call("POST", "/auth/challenge", answer)
    assert r.status_code == 200, r.text
    setup = r.json()
    assert setup["tokens"] is None and setup["challenge"]["challenge_name"] == "MFA_SETUP", setup
    secret = setup["challenge"]["secret_code"]
    r = client.call("POST", "/auth/mfa/verify", {"session": setup["challenge"]["session"], "totp_code": code(secret)})
    assert r.status_code == 200, r.text
    client.totp_secrets[username] = secret
    return client.login(username, PASSWORD), secret


def test_an_auditors_first_login_enrols_totp_then_logins_need_a_real_code(client, users):
    admin = client.login(users["admin"]["username"], users["admin"]["password"])["id_token"]
    username = created_user(client, admin, "auditor")
    # password step: no tokens, the MFA_SETUP challenge with what an authenticator app needs
    first = client.call("POST", "/auth/login", {"username": username, "password": TEMPORARY}).json()
    new_password = {
        "challenge_name": "NEW_PASSWORD_REQUIRED",
        "username": username,
        "session": first["challenge"]["session"],
        "new_password": PASSWORD,
    }
    setup = client.call("POST", "/auth/challenge", new_password).json()
    assert setup["tokens"] is None
    challenge = setup["challenge"]
    assert challenge["challenge_name"] == "MFA_SETUP"
    secret = challenge["secret_code"]
    assert challenge["otpauth_uri"].startswith(f"otpauth://totp/AgriMRV%3A{username}?secret={secret}&issuer=AgriMRV")
    # a wrong code: a clear 400, nothing enrolled (the password login still gives MFA_SETUP, not a TOTP challenge)
    r = client.call("POST", "/auth/mfa/verify", {"session": challenge["session"], "totp_code": wrong(code(secret))})
    assert r.status_code == 400 and r.json()["error"]["code"] == "invalid_totp_code", r.text
    # the right code enrols; the session is then spent
    r = client.call("POST", "/auth/mfa/verify", {"session": challenge["session"], "totp_code": code(secret)})
    assert r.status_code == 200, r.text
    replay = client.call("POST", "/auth/mfa/verify", {"session": challenge["session"], "totp_code": code(secret)})
    assert replay.status_code == 401 and replay.json()["error"]["code"] == "invalid_session"
    # every login is now a SOFTWARE_TOKEN_MFA challenge: a wrong code fails, a real one gives tokens
    login = client.call("POST", "/auth/login", {"username": username, "password": PASSWORD}).json()
    assert login["tokens"] is None and login["challenge"]["challenge_name"] == "SOFTWARE_TOKEN_MFA"
    answer = {"challenge_name": "SOFTWARE_TOKEN_MFA", "username": username, "session": login["challenge"]["session"]}
    bad = client.call("POST", "/auth/challenge", {**answer, "totp_code": wrong(code(secret))})
    assert bad.status_code == 400 and bad.json()["error"]["code"] == "invalid_code", bad.text
    r = client.call("POST", "/auth/challenge", {**answer, "totp_code": code(secret)})
    assert r.status_code == 200, r.text
    tokens = r.json()["tokens"]
    me = client.call("GET", "/auth/me", token=tokens["id_token"])
    assert me.status_code == 200 and me.json()["role"] == "auditor"
    assert client.call("GET", "/verification/tasks", token=tokens["id_token"]).status_code == 200
    refreshed = client.call("POST", "/auth/refresh", {"refresh_token": tokens["refresh_token"], "username": username})
    assert refreshed.status_code == 200, refreshed.text


def test_an_admin_without_totp_gets_no_tokens_from_login_or_refresh(client, users):
    admin = client.login(users["admin"]["username"], users["admin"]["password"])["id_token"]
    username = created_user(client, admin, "admin")
    first = client.call("POST", "/auth/login", {"username": username, "password": TEMPORARY}).json()
    answer = {
        "challenge_name": "NEW_PASSWORD_REQUIRED",
        "username": username,
        "session": first["challenge"]["session"],
        "new_password": PASSWORD,
    }
    assert client.call("POST", "/auth/challenge", answer).json()["challenge"]["challenge_name"] == "MFA_SETUP"
    again = client.call("POST", "/auth/login", {"username": username, "password": PASSWORD}).json()
    assert again["tokens"] is None and again["challenge"]["challenge_name"] == "MFA_SETUP"


def test_a_password_alone_gets_no_tokens_from_cognito_around_our_routes(client, users, twin):
    """Decision 0023: the app client is confidential, so an admin who has not enrolled TOTP (our
    /auth/login answers MFA_SETUP) cannot sign in by calling Cognito directly with the password."""
    from botocore.exceptions import ClientError

    from agri_common.platform.identity import secret_hash
    from tests.e2e.test_jobs import moto

    idp = moto(twin, "cognito-idp")
    pool = idp.list_user_pools(MaxResults=10)["UserPools"][0]["Id"]
    app = idp.list_user_pool_clients(UserPoolId=pool, MaxResults=10)["UserPoolClients"][0]["ClientId"]
    admin = client.login(users["admin"]["username"], users["admin"]["password"])["id_token"]
    username = created_user(client, admin, "auditor")
    params = {"USERNAME": username, "PASSWORD": TEMPORARY}
    with pytest.raises(ClientError) as exc:
        idp.initiate_auth(ClientId=app, AuthFlow="USER_PASSWORD_AUTH", AuthParameters=params)
    assert exc.value.response["Error"]["Code"] == "NotAuthorizedException"
    # the control: the same call with the secret's proof (which only the auth function can read) works
    secret = idp.describe_user_pool_client(UserPoolId=pool, ClientId=app)["UserPoolClient"]["ClientSecret"]
    proven = {**params, "SECRET_HASH": secret_hash(secret, app, username)}
    assert idp.initiate_auth(ClientId=app, AuthFlow="USER_PASSWORD_AUTH", AuthParameters=proven)["ChallengeName"] == (
        "NEW_PASSWORD_REQUIRED"
    )
    first = client.call("POST", "/auth/login", {"username": username, "password": TEMPORARY}).json()
    with pytest.raises(ClientError) as exc:  # our route's challenge session cannot be answered directly either
        idp.respond_to_auth_challenge(
            ClientId=app,
            ChallengeName="NEW_PASSWORD_REQUIRED",
            Session=first["challenge"]["session"],
            ChallengeResponses={"USERNAME": username, "NEW_PASSWORD": PASSWORD},
        )
    assert exc.value.response["Error"]["Code"] == "NotAuthorizedException"


def test_a_farmer_may_enrol_and_then_gets_the_totp_challenge(client):
    username = unique("mfa")
    body = {"username": username, "password": PASSWORD, "name": "Asha", "phone_number": "+919812345678"}
    assert client.call("POST", "/auth/register", body).status_code == 201
    assert (
        client.call("POST", "/auth/confirm-registration", {"username": username, "code": "123456"}).status_code == 200
    )
    tokens = client.login(username, PASSWORD)  # no TOTP needed
    r = client.call("POST", "/auth/mfa/setup", {"access_token": tokens["access_token"]}, token=tokens["id_token"])
    assert r.status_code == 200, r.text
    secret = r.json()["secret_code"]
    r = client.call("POST", "/auth/mfa/verify", {"session": r.json()["session"], "totp_code": code(secret)})
    assert r.status_code == 200, r.text
    login = client.call("POST", "/auth/login", {"username": username, "password": PASSWORD}).json()
    assert login["challenge"]["challenge_name"] == "SOFTWARE_TOKEN_MFA"
    client.totp_secrets[username] = secret
    assert client.login(username, PASSWORD)["id_token"]


# ---- claiming a profile -------------------------------------------------------------------------
def texted(twin, phone: str) -> list[str]:
    """The SMS moto's SNS (in the twin's process) kept for ``phone``, oldest first."""
    import requests

    data = requests.get(f"{twin['moto']}/moto-api/data.json", timeout=60).json()
    return [m["message"] for m in data.get("sns", {}).get("SMS", []) if m["phone_number"] == phone]


def _outbox(twin) -> dict:
    """What the twin's SNS and SES "sent", with each text's message attributes (infra/local/outbox.py)."""
    import requests

    return requests.get(f"{twin['moto']}/moto-api/agri/sent-messages", timeout=60).json()


def signed_up_farmer(client: Client) -> dict:
    username = unique("clm")
    body = {"username": username, "password": PASSWORD, "name": "Asha", "phone_number": "+919812345678"}
    assert client.call("POST", "/auth/register", body).status_code == 201
    assert (
        client.call("POST", "/auth/confirm-registration", {"username": username, "code": "123456"}).status_code == 200
    )
    return client.login(username, PASSWORD)


def test_a_manager_issues_a_claim_code_by_sms_and_the_farmer_claims_sees_and_edits_the_profile(client, users, twin):
    import re

    from tests.e2e.test_farm import RICE, farmer_body, somewhere, square

    manager = client.login(users["fpo_manager"]["username"], users["fpo_manager"]["password"])["id_token"]
    r = client.call("POST", "/farmers", farmer_body(), token=manager)
    assert r.status_code == 201, r.text
    fid, phone = r.json()["farmer_id"], r.json()["phone"]
    lon, lat = somewhere()
    plot = client.call("POST", f"/farmers/{fid}/plots", square(lon, lat), token=manager)
    assert plot.status_code == 201, plot.text
    pid = plot.json()["plot_id"]
    assert client.call("POST", f"/plots/{pid}/seasons", RICE, token=manager).status_code == 201

    r = client.call("POST", f"/farmers/{fid}/claim-code", {"send_sms": True}, token=manager)
    assert r.status_code == 201, r.text
    code = r.json()["code"]
    (sms,) = texted(twin, phone)
    assert re.search(r"code ([A-Z2-7]{4}(?:-[A-Z2-7]{4}){3})", sms).group(1) == code  # the code, read from the SMS
    (sent,) = [s for s in _outbox(twin)["sms"] if s["phone"] == phone]  # through the shared sender: transactional
    assert sent["attributes"] == {"AWS.SNS.SMS.SMSType": "Transactional"}  # dev registers no DLT ids

    farmer = signed_up_farmer(client)
    assert client.call("GET", f"/farmers/{fid}", token=farmer["id_token"]).status_code == 404  # not theirs yet
    wrong_code = client.call("POST", f"/farmers/{fid}/claim", {"code": "AAAA-BBBB-CCCC-DDDD"}, token=farmer["id_token"])
    assert wrong_code.status_code == 400 and wrong_code.json()["error"]["code"] == "invalid_claim_code"
    r = client.call("POST", f"/farmers/{fid}/claim", {"code": code}, token=farmer["id_token"])
    assert r.status_code == 200, r.text
    assert r.json()["owner_user_id"] == client.call("GET", "/auth/me", token=farmer["id_token"]).json()["user_id"]

    # the farmer's own token now reads and edits the profile, its plot and seasons
    profile = client.call("GET", f"/farmers/{fid}", token=farmer["id_token"])
    assert profile.status_code == 200, profile.text
    edit = {"version": profile.json()["version"], "village": "Sonepur"}
    r = client.call("PATCH", f"/farmers/{fid}", edit, token=farmer["id_token"])
    assert r.status_code == 200 and r.json()["village"] == "Sonepur", r.text
    r = client.call("GET", f"/plots/{pid}", token=farmer["id_token"])
    assert r.status_code == 200 and [s["season_key"] for s in r.json()["seasons"]] == ["2025-kharif"], r.text
    rabi = {"year": 2025, "season": "rabi", "crop": "wheat", "sowing_date": "2025-11-15", "harvest_date": "2026-04-10"}
    r = client.call("POST", f"/plots/{pid}/seasons", rabi, token=farmer["id_token"])
    assert r.status_code == 201, r.text

    # the code is spent: another account gets the wrong-code answer, and the manager cannot issue another
    other = signed_up_farmer(client)
    reused = client.call("POST", f"/farmers/{fid}/claim", {"code": code}, token=other["id_token"])
    assert reused.status_code == 400 and reused.json()["error"]["code"] == "invalid_claim_code"
    assert client.call("GET", f"/farmers/{fid}", token=other["id_token"]).status_code == 404
    again = client.call("POST", f"/farmers/{fid}/claim-code", {}, token=manager)
    assert again.status_code == 409 and again.json()["error"]["code"] == "profile_claimed"

"""The issue's end-to-end scenarios, over HTTP against the local twin, as a client would."""

from __future__ import annotations

import json
import time
import uuid

from infra.local.moto_ext import totp_code
from infra.openapi import SPEC_PATH

PASSWORD = "Str0ng-Passw0rd!"


def unique(prefix: str) -> str:
    return f"{prefix}{uuid.uuid4().hex[:8]}"


def register_and_confirm(client, username: str) -> None:
    r = client.call(
        "POST",
        "/auth/register",
        {"username": username, "password": PASSWORD, "name": "Ravi Kumar", "phone_number": "+919812345678"},
    )
    assert r.status_code == 201, r.text
    assert r.json()["role"] == "farmer"
    r = client.call("POST", "/auth/confirm-registration", {"username": username, "code": "123456"})
    assert r.status_code == 200, r.text


def test_register_login_me_refresh_logout_then_old_token_refused(client):
    username = unique("ravi")
    register_and_confirm(client, username)
    tokens = client.login(username, PASSWORD)

    me = client.call("GET", "/auth/me", token=tokens["id_token"])
    assert me.status_code == 200, me.text
    assert me.json()["username"] == username and me.json()["role"] == "farmer" and me.json()["fpo_id"] is None

    assert tokens["username"] == username  # what POST /auth/refresh takes with the refresh token
    refreshed = client.call("POST", "/auth/refresh", {"refresh_token": tokens["refresh_token"], "username": username})
    assert refreshed.status_code == 200, refreshed.text
    new_id = refreshed.json()["id_token"]
    assert client.call("GET", "/auth/me", token=new_id).status_code == 200

    out = client.call("POST", "/auth/logout", {"refresh_token": tokens["refresh_token"]}, token=tokens["id_token"])
    assert out.status_code == 200, out.text
    for token in (tokens["id_token"], new_id):  # every token of the session, not only the one presented
        old = client.call("GET", "/auth/me", token=token)
        assert old.status_code == 401 and old.json()["error"]["code"] == "token_revoked"
    again = client.call("POST", "/auth/refresh", {"refresh_token": tokens["refresh_token"], "username": username})
    assert again.status_code == 401 and again.json()["error"]["code"] == "invalid_refresh_token"
    assert client.call("GET", "/auth/me", token=client.login(username, PASSWORD)["id_token"]).status_code == 200


def test_admin_creates_an_auditor_who_sets_a_password_and_signs_in(client, users):
    admin = client.login(users["admin"]["username"], users["admin"]["password"])
    username = unique("aud")
    r = client.call(
        "POST",
        "/admin/users",
        {
            "username": username,
            "role": "auditor",
            "name": "Audrey",
            "email": f"{username}@example.org",
            "temporary_password": "Temp-Passw0rd!x",
        },
        token=admin["id_token"],
    )
    assert r.status_code == 201, r.text
    assert r.json()["role"] == "auditor"

    first = client.call("POST", "/auth/login", {"username": username, "password": "Temp-Passw0rd!x"})
    assert first.status_code == 200 and first.json()["challenge"]["challenge_name"] == "NEW_PASSWORD_REQUIRED", (
        first.text
    )
    done = client.call(
        "POST",
        "/auth/challenge",
        {
            "challenge_name": "NEW_PASSWORD_REQUIRED",
            "username": username,
            "session": first.json()["challenge"]["session"],
            "new_password": PASSWORD,
        },
    )
    assert done.status_code == 200, done.text
    # an auditor gets no tokens before enrolling TOTP (decision 0015): enrol with a real code, log in with one
    setup = done.json()["challenge"]
    assert done.json()["tokens"] is None and setup["challenge_name"] == "MFA_SETUP", done.text
    code = totp_code(setup["secret_code"], time.time())
    assert client.call("POST", "/auth/mfa/verify", {"session": setup["session"], "totp_code": code}).status_code == 200
    client.totp_secrets[username] = setup["secret_code"]
    me = client.call("GET", "/auth/me", token=client.login(username, PASSWORD)["id_token"])
    assert me.json()["role"] == "auditor"

    listed = client.call("GET", "/admin/users?role=auditor&limit=60", token=admin["id_token"])
    assert username in [u["username"] for u in listed.json()["items"]]


def test_every_non_admin_role_gets_403_on_admin_routes(client, users):
    for role in ("farmer", "fpo_manager", "auditor"):
        token = client.login(users[role]["username"], users[role]["password"])["id_token"]
        r = client.call(
            "POST", "/admin/users", {"username": unique("x"), "role": "admin", "name": "Mallory"}, token=token
        )
        assert r.status_code == 403, (role, r.text)
        assert r.json()["error"]["code"] == "role_forbidden"
        assert client.call("GET", "/admin/users", token=token).status_code == 403


def test_no_token_or_a_forged_token_is_401_with_the_envelope(client, users):
    r = client.call("GET", "/admin/users")
    assert r.status_code == 401
    assert r.json()["error"]["code"] == "unauthorized" and r.json()["error"]["request_id"]
    token = client.login(users["farmer"]["username"], users["farmer"]["password"])["id_token"]
    head, payload, sig = token.split(".")
    import base64

    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    claims["cognito:groups"] = ["admin"]
    forged = ".".join([head, base64.urlsafe_b64encode(json.dumps(claims).encode()).decode().rstrip("="), sig])
    assert client.call("GET", "/admin/users", token=forged).status_code == 401


def test_malformed_body_is_422_naming_the_field_and_bad_json_is_400(client, users):
    admin = client.login(users["admin"]["username"], users["admin"]["password"])
    r = client.call(
        "POST",
        "/admin/users",
        {"username": unique("u"), "role": "farmer", "name": "No FPO", "email": "nope"},
        token=admin["id_token"],
    )
    assert r.status_code == 422
    fields = [d["field"] for d in r.json()["error"]["details"]]
    assert "body.email" in fields
    r = client.call("POST", "/auth/login", raw='{"username": ')
    assert r.status_code == 400 and r.json()["error"]["code"] == "malformed_json"
    r = client.call("POST", "/auth/login", {"username": 42})
    assert r.status_code == 422 and {"body.username", "body.password"} <= {
        d["field"] for d in r.json()["error"]["details"]
    }


def test_bodies_that_are_not_utf8_json_objects_are_4xx_with_the_envelope_on_every_domain(client, users):
    """Over HTTP through the twin's API front: a public route (auth) and a private one (farmers)."""
    admin = client.login(users["admin"]["username"], users["admin"]["password"])
    deep = "[" * 600 + "]" * 600
    cases = [  # (raw body, headers, status, code)
        ('{"username": "ravi\xff"}'.encode("latin-1"), {}, 400, "invalid_encoding"),
        (b'{"username": "ravi", "password": "x"}', {"Content-Type": "text/plain"}, 415, "unsupported_media_type"),
        (b"<login/>", {"Content-Type": "application/xml"}, 415, "unsupported_media_type"),
        (deep.encode(), {}, 400, "malformed_json"),
        (b'{"n": ' + b"9" * 5000 + b"}", {}, 400, "malformed_json"),
        (b'[{"username": "a"}, {"username": "b"}]', {}, 422, "validation_error"),
    ]
    for path, token in (("/auth/login", None), ("/farmers", admin["id_token"])):
        for raw, headers, status, code in cases:
            r = client.call("POST", path, raw=raw, token=token, headers=headers)
            assert r.status_code == status, (path, raw[:40], r.status_code, r.text)
            error = r.json()["error"]
            assert error["code"] == code and error["message"] and error["request_id"], (path, raw[:40], r.text)


def test_unknown_route_is_404_with_the_envelope(client):
    r = client.call("GET", "/no/such/route")
    assert r.status_code == 404 and r.json()["error"]["code"] == "route_not_found"


def test_role_change_cuts_off_old_tokens(client, users):
    admin = client.login(users["admin"]["username"], users["admin"]["password"])["id_token"]
    username = unique("fa")
    assert (
        client.call(
            "POST",
            "/admin/users",
            {"username": username, "role": "farmer", "fpo_id": "FPO-2", "name": "F", "temporary_password": PASSWORD},
            token=admin,
        ).status_code
        == 201
    )
    first = client.call("POST", "/auth/login", {"username": username, "password": PASSWORD}).json()
    tokens = client.call(
        "POST",
        "/auth/challenge",
        {
            "challenge_name": "NEW_PASSWORD_REQUIRED",
            "username": username,
            "session": first["challenge"]["session"],
            "new_password": PASSWORD + "x",
        },
    ).json()["tokens"]
    assert client.call("GET", "/auth/me", token=tokens["id_token"]).json()["role"] == "farmer"
    import time

    time.sleep(1.1)  # tokens are stamped in whole seconds; the cut-off covers the second of the change
    changed = client.call(
        "PUT", f"/admin/users/{username}/role", {"role": "fpo_manager", "fpo_id": "FPO-2"}, token=admin
    )
    assert changed.status_code == 200, changed.text
    assert client.call("GET", "/auth/me", token=tokens["id_token"]).status_code == 401
    time.sleep(1.1)
    fresh = client.login(username, PASSWORD + "x")
    assert client.call("GET", "/auth/me", token=fresh["id_token"]).json()["role"] == "fpo_manager"


def test_disabled_user_is_locked_out(client, users):
    admin = client.login(users["admin"]["username"], users["admin"]["password"])["id_token"]
    username = unique("gone")
    register_and_confirm(client, username)
    tokens = client.login(username, PASSWORD)
    import time

    time.sleep(1.1)
    r = client.call("POST", f"/admin/users/{username}/disable", token=admin)
    assert r.status_code == 200 and r.json()["enabled"] is False
    assert client.call("GET", "/auth/me", token=tokens["id_token"]).status_code == 401
    assert client.call("POST", "/auth/login", {"username": username, "password": PASSWORD}).status_code == 401


def test_password_reset(client):
    username = unique("pw")
    register_and_confirm(client, username)
    assert client.call("POST", "/auth/forgot-password", {"username": username}).status_code == 202
    assert client.call("POST", "/auth/forgot-password", {"username": "nobody-here"}).status_code == 202
    # moto accepts any code that does not start with its own prefix (it cannot send SMS or email)
    r = client.call(
        "POST",
        "/auth/confirm-forgot-password",
        {"username": username, "code": "654321", "new_password": "N3w-Passw0rd!!"},
    )
    assert r.status_code == 200, r.text
    client.login(username, "N3w-Passw0rd!!")


def test_health_docs_and_spec_are_public(client):
    assert client.call("GET", "/health").json()["status"] == "ok"
    spec = client.call("GET", "/openapi.json")
    served = spec.json()
    assert served.pop("servers") == [{"url": "/", "description": "this API"}]  # the base it was fetched under
    assert spec.status_code == 200 and served == json.loads(SPEC_PATH.read_text())
    page = client.http.get(client.base + "/docs", timeout=10)
    assert page.status_code == 200 and "swagger-ui-bundle.js" in page.text
    asset = client.http.get(client.base + "/docs/swagger-ui-bundle.js", timeout=10)
    assert asset.status_code == 200 and len(asset.content) > 100_000
    assert client.http.get(client.base + "/docs/../../package.json", timeout=10).status_code in (400, 404)


def test_cors_preflight(client):
    r = client.http.options(
        client.base + "/auth/login",
        headers={"Origin": "http://localhost:3000", "Access-Control-Request-Method": "POST"},
        timeout=10,
    )
    assert r.status_code in (200, 204)
    assert r.headers.get("Access-Control-Allow-Methods")

"""python -m infra.local.login: a demo user's ID token, the TOTP challenge answered for admins and auditors."""

from __future__ import annotations

import time

import pytest

from infra.local import moto_ext
from infra.local.login import id_token

SECRET = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"
INFO = {
    "api": "http://127.0.0.1:1",
    "users": [
        {"username": "demo-admin", "password": "pw-a", "totp_secret": SECRET},
        {"username": "demo-fpo-manager", "password": "pw-m", "totp_secret": None},
    ],
}


class Twin:
    """Answers like the twin's auth routes: a challenge for the admin, tokens for a right code only."""

    def __init__(self):
        self.calls = []

    def __call__(self, path, body):
        self.calls.append((path, body))
        if path == "/auth/login" and body["username"] == "demo-admin":
            return {"challenge": {"challenge_name": "SOFTWARE_TOKEN_MFA", "session": "S1"}}
        if path == "/auth/login":
            return {"tokens": {"id_token": f"id-{body['username']}"}}
        if path == "/auth/challenge" and body["totp_code"] == moto_ext.totp_code(SECRET, time.time()):
            return {"tokens": {"id_token": "id-admin-after-totp"}}
        return {"error": {"code": "invalid_totp_code"}}


def test_an_admin_answers_the_totp_challenge_with_the_current_code_of_the_secret():
    twin = Twin()
    assert id_token(INFO, "demo-admin", twin) == "id-admin-after-totp"
    (_, challenge) = twin.calls[1]
    assert challenge["session"] == "S1" and challenge["challenge_name"] == "SOFTWARE_TOKEN_MFA"


def test_a_manager_gets_tokens_from_the_password_alone():
    twin = Twin()
    assert id_token(INFO, "demo-fpo-manager", twin) == "id-demo-fpo-manager"
    assert [p for p, _ in twin.calls] == ["/auth/login"]


def test_an_unknown_user_names_the_demo_users():
    with pytest.raises(SystemExit, match="demo-admin, demo-fpo-manager"):
        id_token(INFO, "nobody", Twin())

"""The twin's Cognito checks real TOTP codes against a per-user secret (infra/local/moto_ext.py):
moto alone shares one fixed secret and accepts any code."""

from __future__ import annotations

import time

import boto3
import pytest
from botocore.exceptions import ClientError
from moto import mock_aws

from infra.local import moto_ext

PASSWORD = "Str0ng-Passw0rd!"


@pytest.fixture
def idp(monkeypatch):
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.delenv("MOTO_COGNITO_IDP_USER_POOL_ENABLE_TOTP", raising=False)
    moto_ext.install()
    with mock_aws():
        client = boto3.client("cognito-idp", region_name="ap-south-1")
        pool = client.create_user_pool(PoolName="p", MfaConfiguration="OPTIONAL")["UserPool"]["Id"]
        app = client.create_user_pool_client(
            UserPoolId=pool,
            ClientName="app",
            ExplicitAuthFlows=["ALLOW_USER_PASSWORD_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"],
        )["UserPoolClient"]["ClientId"]
        for name in ("asha", "ravi"):
            client.admin_create_user(UserPoolId=pool, Username=name, TemporaryPassword=PASSWORD)
            client.admin_set_user_password(UserPoolId=pool, Username=name, Password=PASSWORD, Permanent=True)
        yield client, app


def login(client, app, name="asha"):
    return client.initiate_auth(
        ClientId=app, AuthFlow="USER_PASSWORD_AUTH", AuthParameters={"USERNAME": name, "PASSWORD": PASSWORD}
    )


def error_code(call) -> str:
    with pytest.raises(ClientError) as err:
        call()
    return err.value.response["Error"]["Code"]


def wrong(code: str) -> str:
    return str((int(code) + 500_000) % 1_000_000).zfill(6)


def enrol(client, app, name="asha") -> str:
    access = login(client, app, name)["AuthenticationResult"]["AccessToken"]
    secret = client.associate_software_token(AccessToken=access)["SecretCode"]
    code = moto_ext.totp_code(secret, time.time())
    assert client.verify_software_token(AccessToken=access, UserCode=code)["Status"] == "SUCCESS"
    client.set_user_mfa_preference(AccessToken=access, SoftwareTokenMfaSettings={"Enabled": True, "PreferredMfa": True})
    return secret


def test_rfc_6238_reference_values():
    """RFC 6238 appendix B (SHA-1 seed "12345678901234567890"), last six digits."""
    import base64

    secret = base64.b32encode(b"12345678901234567890").decode()
    assert moto_ext.totp_code(secret, 59) == "287082"
    assert moto_ext.totp_code(secret, 1111111109) == "081804"
    assert moto_ext.totp_code(secret, 2000000000) == "279037"


def test_each_user_gets_their_own_random_secret(idp):
    client, app = idp
    secrets = set()
    for name in ("asha", "ravi", "asha"):
        access = login(client, app, name)["AuthenticationResult"]["AccessToken"]
        secrets.add(client.associate_software_token(AccessToken=access)["SecretCode"])
    assert len(secrets) == 3 and "asdfasdfasdf" not in secrets
    assert all(len(s) == 32 for s in secrets)


def test_a_wrong_code_does_not_verify(idp):
    client, app = idp
    access = login(client, app)["AuthenticationResult"]["AccessToken"]
    secret = client.associate_software_token(AccessToken=access)["SecretCode"]
    bad = wrong(moto_ext.totp_code(secret, time.time()))
    assert error_code(lambda: client.verify_software_token(AccessToken=access, UserCode=bad)) == "CodeMismatchException"
    assert client.get_user(AccessToken=access)["UserMFASettingList"] == []


def test_another_users_code_does_not_verify(idp):
    client, app = idp
    ravi = enrol(client, app, "ravi")
    access = login(client, app)["AuthenticationResult"]["AccessToken"]
    client.associate_software_token(AccessToken=access)
    code = moto_ext.totp_code(ravi, time.time())
    assert (
        error_code(lambda: client.verify_software_token(AccessToken=access, UserCode=code)) == "CodeMismatchException"
    )


def test_enrolled_login_is_a_challenge_only_the_right_code_answers(idp):
    client, app = idp
    secret = enrol(client, app)
    first = login(client, app)
    assert first["ChallengeName"] == "SOFTWARE_TOKEN_MFA" and "AuthenticationResult" not in first

    def answer(code, name="asha"):
        return client.respond_to_auth_challenge(
            ClientId=app,
            ChallengeName="SOFTWARE_TOKEN_MFA",
            Session=first["Session"],
            ChallengeResponses={"USERNAME": name, "SOFTWARE_TOKEN_MFA_CODE": code},
        )

    code = moto_ext.totp_code(secret, time.time())
    assert error_code(lambda: answer(wrong(code))) == "CodeMismatchException"
    assert error_code(lambda: answer(code, name="ravi")) == "NotAuthorizedException"  # not someone else's login
    assert answer(code)["AuthenticationResult"]["IdToken"]
    assert error_code(lambda: answer(code)) == "NotAuthorizedException"  # the session is spent

"""The twin's Cognito refuses app-client calls that do not prove a confidential client's secret, as
AWS does (infra/local/moto_ext.py; decision 0023). moto itself checks only SRP, refresh and
SOFTWARE_TOKEN_MFA, so without the patch a password alone would still sign an admin in."""

from __future__ import annotations

import boto3
import pytest
from botocore.exceptions import ClientError
from moto import mock_aws

from agri_common.platform.identity import secret_hash
from infra.local import moto_ext

PASSWORD = "Str0ng-Passw0rd!"
NEW_PASSWORD = "Str0ng-Passw0rd!2"


@pytest.fixture
def cognito(monkeypatch):
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    moto_ext.install()
    with mock_aws():
        client = boto3.client("cognito-idp", region_name="ap-south-1")
        pool = client.create_user_pool(PoolName="p")["UserPool"]["Id"]
        app = client.create_user_pool_client(
            UserPoolId=pool, ClientName="app", GenerateSecret=True, ExplicitAuthFlows=["ALLOW_USER_PASSWORD_AUTH"]
        )["UserPoolClient"]
        yield client, pool, app["ClientId"], app["ClientSecret"]


def refused(call) -> bool:
    with pytest.raises(ClientError) as err:
        call()
    return err.value.response["Error"]["Code"] == "NotAuthorizedException"


def test_password_login_needs_the_secret_hash(cognito):
    client, pool, app, secret = cognito
    client.admin_create_user(UserPoolId=pool, Username="adi", MessageAction="SUPPRESS")
    client.admin_set_user_password(UserPoolId=pool, Username="adi", Password=PASSWORD, Permanent=True)

    def login(**extra):
        return client.initiate_auth(
            ClientId=app,
            AuthFlow="USER_PASSWORD_AUTH",
            AuthParameters={"USERNAME": "adi", "PASSWORD": PASSWORD, **extra},
        )

    assert refused(login)
    assert refused(lambda: login(SECRET_HASH=secret_hash(secret, app, "someone-else")))
    assert refused(lambda: login(SECRET_HASH=secret_hash("not-the-secret", app, "adi")))
    tokens = login(SECRET_HASH=secret_hash(secret, app, "adi"))["AuthenticationResult"]
    refresh = tokens["RefreshToken"]
    assert refused(lambda: client.revoke_token(Token=refresh, ClientId=app))
    assert refused(lambda: client.revoke_token(Token=refresh, ClientId=app, ClientSecret="w" * 52))
    client.revoke_token(Token=refresh, ClientId=app, ClientSecret=secret)


def test_a_new_password_challenge_needs_the_secret_hash(cognito):
    client, pool, app, secret = cognito
    client.admin_create_user(UserPoolId=pool, Username="ravi", TemporaryPassword="Temp-Passw0rd!1")
    first = client.initiate_auth(
        ClientId=app,
        AuthFlow="USER_PASSWORD_AUTH",
        AuthParameters={
            "USERNAME": "ravi",
            "PASSWORD": "Temp-Passw0rd!1",
            "SECRET_HASH": secret_hash(secret, app, "ravi"),
        },
    )
    assert first["ChallengeName"] == "NEW_PASSWORD_REQUIRED"
    answer = {"USERNAME": "ravi", "NEW_PASSWORD": NEW_PASSWORD}

    def respond(responses):
        return client.respond_to_auth_challenge(
            ClientId=app, ChallengeName="NEW_PASSWORD_REQUIRED", Session=first["Session"], ChallengeResponses=responses
        )

    assert refused(lambda: respond(answer))
    tokens = respond({**answer, "SECRET_HASH": secret_hash(secret, app, "ravi")})
    assert tokens["AuthenticationResult"]["IdToken"]


def test_sign_up_and_password_reset_need_the_secret_hash(cognito):
    client, _, app, secret = cognito
    assert refused(lambda: client.sign_up(ClientId=app, Username="asha", Password=PASSWORD))
    client.sign_up(ClientId=app, Username="asha", Password=PASSWORD, SecretHash=secret_hash(secret, app, "asha"))
    assert refused(lambda: client.confirm_sign_up(ClientId=app, Username="asha", ConfirmationCode="123456"))
    client.confirm_sign_up(
        ClientId=app, Username="asha", ConfirmationCode="123456", SecretHash=secret_hash(secret, app, "asha")
    )
    assert refused(lambda: client.forgot_password(ClientId=app, Username="asha"))
    client.forgot_password(ClientId=app, Username="asha", SecretHash=secret_hash(secret, app, "asha"))


def test_a_public_client_is_not_asked_for_one(cognito):
    client, pool, _, _ = cognito
    public = client.create_user_pool_client(
        UserPoolId=pool, ClientName="public", ExplicitAuthFlows=["ALLOW_USER_PASSWORD_AUTH"]
    )["UserPoolClient"]["ClientId"]
    client.sign_up(ClientId=public, Username="neha", Password=PASSWORD)
    client.confirm_sign_up(ClientId=public, Username="neha", ConfirmationCode="123456")
    login = client.initiate_auth(
        ClientId=public, AuthFlow="USER_PASSWORD_AUTH", AuthParameters={"USERNAME": "neha", "PASSWORD": PASSWORD}
    )
    assert login["AuthenticationResult"]["IdToken"]

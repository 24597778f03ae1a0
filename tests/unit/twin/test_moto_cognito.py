"""The twin's Cognito answers unknown users as AWS does when the app client prevents user-existence
errors (infra/local/moto_ext.py): CodeMismatchException, like a wrong code."""

from __future__ import annotations

import boto3
import pytest
from botocore.exceptions import ClientError
from moto import mock_aws

from infra.local import moto_ext


@pytest.fixture
def idp(monkeypatch):
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    moto_ext.install()
    with mock_aws():
        client = boto3.client("cognito-idp", region_name="ap-south-1")
        pool = client.create_user_pool(PoolName="p")["UserPool"]["Id"]
        hidden = client.create_user_pool_client(
            UserPoolId=pool, ClientName="hidden", PreventUserExistenceErrors="ENABLED"
        )["UserPoolClient"]["ClientId"]
        legacy = client.create_user_pool_client(
            UserPoolId=pool, ClientName="legacy", PreventUserExistenceErrors="LEGACY"
        )["UserPoolClient"]["ClientId"]
        client.sign_up(ClientId=hidden, Username="asha", Password="Str0ng-Passw0rd!")
        yield client, hidden, legacy


def code_of(call) -> str:
    with pytest.raises(ClientError) as err:
        call()
    return err.value.response["Error"]["Code"]


def test_unknown_users_look_like_a_wrong_code_when_the_client_hides_them(idp):
    client, hidden, _ = idp
    assert (
        code_of(lambda: client.confirm_sign_up(ClientId=hidden, Username="nobody", ConfirmationCode="123456"))
        == "CodeMismatchException"
    )
    assert (
        code_of(
            lambda: client.confirm_forgot_password(
                ClientId=hidden, Username="nobody", ConfirmationCode="123456", Password="Str0ng-Passw0rd!"
            )
        )
        == "CodeMismatchException"
    )


def test_known_users_and_legacy_clients_keep_motos_answers(idp):
    client, hidden, legacy = idp
    client.confirm_sign_up(ClientId=hidden, Username="asha", ConfirmationCode="123456")
    assert (
        code_of(lambda: client.confirm_sign_up(ClientId=legacy, Username="nobody", ConfirmationCode="1"))
        == "UserNotFoundException"
    )


def test_an_unknown_challenge_session_is_not_authorized_as_on_aws(idp):
    """AWS answers a made-up or expired session with NotAuthorizedException (our API: 401
    challenge_failed); moto's ResourceNotFoundException would read as a provider outage (503)."""
    client, hidden, _ = idp
    respond = lambda: client.respond_to_auth_challenge(
        ClientId=hidden,
        ChallengeName="NEW_PASSWORD_REQUIRED",
        Session="made-up-session-" + "x" * 20,
        ChallengeResponses={"USERNAME": "asha", "NEW_PASSWORD": "Str0ng-Passw0rd!2"},
    )
    assert code_of(respond) == "NotAuthorizedException"


def test_a_known_challenge_session_still_answers_the_challenge(idp):
    client, hidden, _ = idp
    pool = client.list_user_pools(MaxResults=1)["UserPools"][0]["Id"]
    client.admin_create_user(UserPoolId=pool, Username="ravi", TemporaryPassword="Temp-Passw0rd!1")
    first = client.admin_initiate_auth(
        UserPoolId=pool,
        ClientId=hidden,
        AuthFlow="ADMIN_USER_PASSWORD_AUTH",
        AuthParameters={"USERNAME": "ravi", "PASSWORD": "Temp-Passw0rd!1"},
    )
    assert first["ChallengeName"] == "NEW_PASSWORD_REQUIRED"
    tokens = client.respond_to_auth_challenge(
        ClientId=hidden,
        ChallengeName="NEW_PASSWORD_REQUIRED",
        Session=first["Session"],
        ChallengeResponses={"USERNAME": "ravi", "NEW_PASSWORD": "Str0ng-Passw0rd!2"},
    )
    assert tokens["AuthenticationResult"]["IdToken"]

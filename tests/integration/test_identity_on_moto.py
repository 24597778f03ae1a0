"""CognitoIdentityProvider and the revocation table against moto, provisioned from the template."""

from __future__ import annotations

import jwt
import pytest

from agri_common.platform.errors import ConflictError, UnauthorizedError, UnprocessableError
from agri_common.platform.identity import CognitoIdentityProvider, Tokens
from agri_common.platform.principal import principal_from_claims
from agri_common.platform.revocation import DynamoRevocationStore

PASSWORD = "Str0ng-Passw0rd!"


@pytest.fixture
def idp(aws, function_env):
    env = function_env("auth")
    return CognitoIdentityProvider(env["USER_POOL_ID"], env["USER_POOL_CLIENT_ID"])


def test_sign_up_group_confirm_login_carries_role_in_the_id_token(idp):
    idp.sign_up("ravi", PASSWORD, {"name": "Ravi", "phone_number": "+919812345678"})
    idp.add_to_group("ravi", "farmer")
    idp.confirm_sign_up("ravi", "123456")
    tokens = idp.login("ravi", PASSWORD)
    assert isinstance(tokens, Tokens)
    claims = jwt.decode(tokens.id_token, options={"verify_signature": False})
    principal = principal_from_claims(claims)
    assert principal.role.value == "farmer" and principal.username == "ravi" and principal.session_id


def test_errors_are_mapped_to_domain_errors(idp):
    idp.sign_up("ravi", PASSWORD, {"name": "Ravi"})
    with pytest.raises(ConflictError):
        idp.sign_up("ravi", PASSWORD, {"name": "Ravi"})
    with pytest.raises(UnprocessableError):
        idp.sign_up("weak", "password", {"name": "Weak"})  # the pool's policy, from the template
    with pytest.raises(UnauthorizedError) as exc:
        idp.login("ghost", PASSWORD)
    assert exc.value.code == "invalid_credentials"


def test_revoked_refresh_token_no_longer_refreshes(idp):
    idp.sign_up("ravi", PASSWORD, {"name": "Ravi"})
    idp.confirm_sign_up("ravi", "123456")
    tokens = idp.login("ravi", PASSWORD)
    assert idp.refresh(tokens.refresh_token, "ravi").id_token
    idp.revoke_refresh_token(tokens.refresh_token)
    with pytest.raises(UnauthorizedError):
        idp.refresh(tokens.refresh_token, "ravi")


def test_the_client_is_confidential_so_a_password_alone_signs_no_one_in(idp):
    """Decision 0023: an admin not yet enrolled in TOTP cannot get tokens by calling Cognito with the
    password (our /auth/login would answer MFA_SETUP); only the secret's holder can sign in."""
    import boto3
    from botocore.exceptions import ClientError

    idp.admin_create_user("adi", {"name": "Adi"}, "Temp-Passw0rd!x")
    idp.add_to_group("adi", "admin")
    direct = boto3.client("cognito-idp")
    for call in (
        lambda: direct.initiate_auth(
            ClientId=idp.client_id,
            AuthFlow="USER_PASSWORD_AUTH",
            AuthParameters={"USERNAME": "adi", "PASSWORD": "Temp-Passw0rd!x"},
        ),
        lambda: direct.sign_up(ClientId=idp.client_id, Username="mallory", Password=PASSWORD),
    ):
        with pytest.raises(ClientError) as exc:
            call()
        assert exc.value.response["Error"]["Code"] == "NotAuthorizedException"
    challenge = idp.login("adi", "Temp-Passw0rd!x")  # the auth function's own call proves the secret
    assert not isinstance(challenge, Tokens) and challenge.challenge_name == "NEW_PASSWORD_REQUIRED"
    with pytest.raises(ClientError) as exc:
        direct.respond_to_auth_challenge(
            ClientId=idp.client_id,
            ChallengeName="NEW_PASSWORD_REQUIRED",
            Session=challenge.session,
            ChallengeResponses={"USERNAME": "adi", "NEW_PASSWORD": PASSWORD},
        )
    assert exc.value.response["Error"]["Code"] == "NotAuthorizedException"
    tokens = idp.respond_to_challenge(
        "NEW_PASSWORD_REQUIRED", challenge.session, {"USERNAME": "adi", "NEW_PASSWORD": PASSWORD}
    )
    assert isinstance(tokens, Tokens)
    with pytest.raises(ClientError) as exc:  # nor can the refresh token be used around /auth/refresh
        direct.initiate_auth(
            ClientId=idp.client_id,
            AuthFlow="REFRESH_TOKEN_AUTH",
            AuthParameters={"REFRESH_TOKEN": tokens.refresh_token},
        )
    assert exc.value.response["Error"]["Code"] == "NotAuthorizedException"
    with pytest.raises(UnauthorizedError):  # a refresh names the token's own user
        idp.refresh(tokens.refresh_token, "ravi")
    assert idp.refresh(tokens.refresh_token, "adi").id_token


def test_admin_user_lifecycle(aws, function_env):
    env = function_env("admin")
    admin = CognitoIdentityProvider(env["USER_POOL_ID"], client_id="")
    admin.admin_create_user("audrey", {"name": "Audrey", "custom:fpo_id": "FPO-1"}, "Temp-Passw0rd!x")
    admin.add_to_group("audrey", "auditor")
    assert admin.groups_for_user("audrey") == ["auditor"]
    users, _ = admin.list_users(10, None, group="auditor")
    assert [u.username for u in users] == ["audrey"] and users[0].attributes["custom:fpo_id"] == "FPO-1"
    admin.set_enabled("audrey", False)
    assert admin.admin_get_user("audrey").enabled is False


def test_revocation_table_from_the_template(aws, function_env):
    env = function_env("auth")
    store = DynamoRevocationStore(env["REVOCATION_TABLE"], clock=lambda: 2000)
    me = principal_from_claims(
        {"sub": "u-1", "cognito:groups": "farmer", "iat": 1999, "origin_jti": "o-1", "jti": "j-1"}
    )
    other_device = principal_from_claims(
        {"sub": "u-1", "cognito:groups": "farmer", "iat": 2001, "origin_jti": "o-2", "jti": "j-2"}
    )
    assert not store.is_revoked(me)
    store.revoke_session(me)
    assert store.is_revoked(me) and not store.is_revoked(other_device)
    store.revoke_user_tokens("u-1")
    assert not store.is_revoked(other_device)  # issued after the cut-off
    import boto3

    item = boto3.resource("dynamodb").Table(env["REVOCATION_TABLE"]).get_item(Key={"pk": "user#u-1"})["Item"]
    assert int(item["expires_at"]) > 2000  # expires through the table's TTL


def test_a_users_page_token_cognito_refuses_is_invalid_next_token(aws, function_env):
    """GET /admin/users hands Cognito's own token back to it: one it refuses (edited) is a 400
    invalid_next_token, not invalid_parameter or a 503."""
    from agri_common.platform.errors import BadRequestError

    env = function_env("admin")
    admin = CognitoIdentityProvider(env["USER_POOL_ID"], client_id="")
    for name in ("u1", "u2", "u3"):
        admin.admin_create_user(name, {"name": name}, "Temp-Passw0rd!x")
        admin.add_to_group(name, "auditor")
    for group in (None, "auditor"):
        first, token = admin.list_users(1, None, group=group)
        assert len(first) == 1 and token
        assert admin.list_users(1, token, group=group)[0][0].username != first[0].username
        with pytest.raises(BadRequestError) as err:
            admin.list_users(1, token + "x", group=group)
        assert err.value.code == "invalid_next_token"

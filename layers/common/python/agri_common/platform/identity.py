"""Cognito behind a small interface, shared by the auth and admin functions.

Each function's IAM role allows only the Cognito actions it uses (see infra/), so sharing this
code does not share permissions. Cognito errors become domain errors here, once.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from typing import Any

from pydantic import BaseModel

from agri_common.platform.errors import (
    AppError,
    BadRequestError,
    ConflictError,
    DependencyError,
    ForbiddenError,
    NotFoundError,
    TooManyRequestsError,
    UnauthorizedError,
    UnprocessableError,
)


class Tokens(BaseModel):
    id_token: str
    access_token: str
    refresh_token: str | None = None
    expires_in: int
    token_type: str = "Bearer"


class Challenge(BaseModel):
    challenge_name: str
    session: str
    parameters: dict[str, str] = {}


class AccessUser(BaseModel):
    """Who an access token belongs to (Cognito GetUser): the canonical username, ``sub`` and whether
    a TOTP authenticator is enrolled (``SOFTWARE_TOKEN_MFA`` in the user's MFA settings)."""

    username: str
    user_id: str | None = None
    totp_enabled: bool = False


class IdpUser(BaseModel):
    username: str
    user_id: str | None = None
    enabled: bool = True
    status: str | None = None
    attributes: dict[str, str] = {}
    created_at: str | None = None


def _map_error(exc: Exception, overrides: dict[str, AppError] | None = None) -> AppError:
    code = getattr(exc, "response", {}).get("Error", {}).get("Code", "")
    message = getattr(exc, "response", {}).get("Error", {}).get("Message", str(exc))
    if overrides and code in overrides:
        return overrides[code]
    table: dict[str, AppError] = {
        "UsernameExistsException": ConflictError("That username is already registered", code="username_taken"),
        "InvalidPasswordException": UnprocessableError(
            "The password does not meet the policy",
            details=[{"field": "body.password", "issue": message, "type": "password_policy"}],
        ),
        "NotAuthorizedException": UnauthorizedError("Not authorized", code="not_authorized"),
        "UserNotFoundException": NotFoundError("User not found", code="user_not_found"),
        "UserNotConfirmedException": ForbiddenError("The account is not confirmed yet", code="user_not_confirmed"),
        "CodeMismatchException": BadRequestError("The code is wrong", code="invalid_code"),
        "ExpiredCodeException": BadRequestError("The code has expired", code="expired_code"),
        "TooManyRequestsException": TooManyRequestsError("Too many requests"),
        "LimitExceededException": TooManyRequestsError("Too many attempts, try later"),
        "TooManyFailedAttemptsException": TooManyRequestsError("Too many failed attempts"),
        "InvalidParameterException": BadRequestError(message, code="invalid_parameter"),
        "AliasExistsException": ConflictError("That phone number or email is already in use", code="alias_taken"),
    }
    return table.get(code, DependencyError(f"Identity provider error: {code or type(exc).__name__}"))


def _attrs(raw: list[dict[str, str]] | None) -> dict[str, str]:
    return {a["Name"]: a["Value"] for a in (raw or [])}


def _tokens(result: dict[str, Any], refresh_token: str | None = None) -> Tokens:
    return Tokens(
        id_token=result["IdToken"],
        access_token=result["AccessToken"],
        refresh_token=result.get("RefreshToken", refresh_token),
        expires_in=int(result.get("ExpiresIn", 0)),
        token_type=result.get("TokenType", "Bearer"),
    )


def secret_hash(client_secret: str, client_id: str, username: str) -> str:
    """Cognito's SecretHash: Base64(HMAC-SHA256(client secret, username + client id))."""
    digest = hmac.new(client_secret.encode(), (username + client_id).encode(), hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


# (user pool, client) -> the client's secret, read once per container (DescribeUserPoolClient)
_CLIENT_SECRETS: dict[tuple[str, str], str | None] = {}


class CognitoIdentityProvider:
    """Cognito behind the calls our functions make.

    The app client is confidential (decision 0023): every app-client call proves the client's
    secret (``SecretHash``/``SECRET_HASH`` of the user, ``ClientSecret`` to revoke), so only a
    holder of the secret, the auth function, can sign anyone in. The secret is never configured:
    it is read from Cognito once per container (``DescribeUserPoolClient``, granted to the auth
    function only) the first time a call needs it.
    """

    def __init__(self, user_pool_id: str, client_id: str):
        self.user_pool_id = user_pool_id
        self.client_id = client_id

    def _client_secret(self) -> str | None:
        key = (self.user_pool_id, self.client_id)
        if key not in _CLIENT_SECRETS:
            described = self._call("describe_user_pool_client", UserPoolId=self.user_pool_id, ClientId=self.client_id)
            _CLIENT_SECRETS[key] = described["UserPoolClient"].get("ClientSecret")
        return _CLIENT_SECRETS[key]

    def _hash(self, username: str) -> str | None:
        secret = self._client_secret()
        return secret_hash(secret, self.client_id, username) if secret else None

    def _with_hash(self, username: str, values: dict[str, Any], key: str = "SecretHash") -> dict[str, Any]:
        """``values`` plus the user's secret hash under ``key``: ``SecretHash`` beside the sign-up and
        password-reset calls' parameters, ``SECRET_HASH`` inside auth parameters and challenge responses."""
        digest = self._hash(username)
        return {**values, **({key: digest} if digest else {})}

    def _call(self, op: str, overrides: dict[str, AppError] | None = None, **kwargs: Any) -> dict[str, Any]:
        from botocore.exceptions import BotoCoreError, ClientError

        from agri_common.platform.aws import client

        try:
            answer: dict[str, Any] = getattr(client("cognito-idp"), op)(**kwargs)
            return answer
        except ClientError as exc:
            raise _map_error(exc, overrides) from exc
        except BotoCoreError as exc:
            raise DependencyError("Identity provider unreachable") from exc

    # ---- user-facing flows (app client) -------------------------------------------------------
    def sign_up(self, username: str, password: str, attributes: dict[str, str]) -> str:
        resp = self._call(
            "sign_up",
            **self._with_hash(
                username,
                {
                    "ClientId": self.client_id,
                    "Username": username,
                    "Password": password,
                    "UserAttributes": [{"Name": k, "Value": v} for k, v in attributes.items()],
                },
            ),
        )
        sub: str = resp["UserSub"]
        return sub

    def confirm_sign_up(self, username: str, code: str) -> None:
        self._call(
            "confirm_sign_up",
            **self._with_hash(username, {"ClientId": self.client_id, "Username": username, "ConfirmationCode": code}),
        )

    def login(self, username: str, password: str) -> Tokens | Challenge:
        invalid = UnauthorizedError("Wrong username or password", code="invalid_credentials")
        resp = self._call(
            "initiate_auth",
            {"NotAuthorizedException": invalid, "UserNotFoundException": invalid},
            ClientId=self.client_id,
            AuthFlow="USER_PASSWORD_AUTH",
            AuthParameters=self._with_hash(username, {"USERNAME": username, "PASSWORD": password}, "SECRET_HASH"),
        )
        return self._auth_outcome(resp)

    def respond_to_challenge(self, name: str, session: str, responses: dict[str, str]) -> Tokens | Challenge:
        resp = self._call(
            "respond_to_auth_challenge",
            {"NotAuthorizedException": UnauthorizedError("Challenge failed", code="challenge_failed")},
            ClientId=self.client_id,
            ChallengeName=name,
            Session=session,
            ChallengeResponses=self._with_hash(responses.get("USERNAME", ""), responses, "SECRET_HASH"),
        )
        return self._auth_outcome(resp)

    @staticmethod
    def _auth_outcome(resp: dict[str, Any]) -> Tokens | Challenge:
        if "AuthenticationResult" in resp and resp["AuthenticationResult"]:
            return _tokens(resp["AuthenticationResult"])
        return Challenge(
            challenge_name=resp["ChallengeName"],
            session=resp["Session"],
            parameters=resp.get("ChallengeParameters") or {},
        )

    def refresh(self, refresh_token: str, username: str) -> Tokens:
        """``username``: the user's Cognito username (the ID token's ``cognito:username``), which a
        confidential client's SECRET_HASH is computed over; a wrong one fails like a bad token."""
        resp = self._call(
            "initiate_auth",
            {
                "NotAuthorizedException": UnauthorizedError(
                    "The refresh token is invalid or revoked", code="invalid_refresh_token"
                )
            },
            ClientId=self.client_id,
            AuthFlow="REFRESH_TOKEN_AUTH",
            AuthParameters=self._with_hash(username, {"REFRESH_TOKEN": refresh_token}, "SECRET_HASH"),
        )
        return _tokens(resp["AuthenticationResult"], refresh_token)

    def revoke_refresh_token(self, refresh_token: str) -> None:
        secret = self._client_secret()
        kwargs: dict[str, Any] = {"Token": refresh_token, "ClientId": self.client_id}
        if secret:
            kwargs["ClientSecret"] = secret
        self._call("revoke_token", **kwargs)

    # ---- TOTP (software token) MFA: public APIs authorized by the user's access token -------------
    def get_user(self, access_token: str) -> AccessUser:
        resp = self._call(
            "get_user",
            {"NotAuthorizedException": UnauthorizedError("The access token is invalid", code="invalid_access_token")},
            AccessToken=access_token,
        )
        return AccessUser(
            username=resp["Username"],
            user_id=_attrs(resp.get("UserAttributes")).get("sub"),
            totp_enabled="SOFTWARE_TOKEN_MFA" in (resp.get("UserMFASettingList") or []),
        )

    def associate_software_token(self, access_token: str) -> str:
        """A new TOTP secret (base32) for the token's user; not active until verified."""
        resp = self._call(
            "associate_software_token",
            {"NotAuthorizedException": UnauthorizedError("The access token is invalid", code="invalid_access_token")},
            AccessToken=access_token,
        )
        secret: str = resp["SecretCode"]
        return secret

    def verify_software_token(self, access_token: str, code: str) -> None:
        """Check a code of the associated secret, then make TOTP the user's preferred second factor
        (from then on every login answers a ``SOFTWARE_TOKEN_MFA`` challenge)."""
        wrong = BadRequestError("The authenticator code is wrong", code="invalid_totp_code")
        resp = self._call(
            "verify_software_token",
            {
                "CodeMismatchException": wrong,
                "EnableSoftwareTokenMFAException": wrong,
                "NotAuthorizedException": UnauthorizedError("The access token is invalid", code="invalid_access_token"),
            },
            AccessToken=access_token,
            UserCode=code,
            FriendlyDeviceName="authenticator",
        )
        if resp.get("Status", "SUCCESS") != "SUCCESS":
            raise wrong
        self._call(
            "set_user_mfa_preference",
            AccessToken=access_token,
            SoftwareTokenMfaSettings={"Enabled": True, "PreferredMfa": True},
        )

    def forgot_password(self, username: str) -> None:
        self._call("forgot_password", **self._with_hash(username, {"ClientId": self.client_id, "Username": username}))

    def confirm_forgot_password(self, username: str, code: str, new_password: str) -> None:
        self._call(
            "confirm_forgot_password",
            **self._with_hash(
                username,
                {"ClientId": self.client_id, "Username": username, "ConfirmationCode": code, "Password": new_password},
            ),
        )

    # ---- administration (user pool) -----------------------------------------------------------
    def admin_create_user(self, username: str, attributes: dict[str, str], temporary_password: str | None) -> IdpUser:
        kwargs: dict[str, Any] = {
            "UserPoolId": self.user_pool_id,
            "Username": username,
            "UserAttributes": [{"Name": k, "Value": v} for k, v in attributes.items()],
        }
        if temporary_password:
            kwargs["TemporaryPassword"] = temporary_password
        resp = self._call("admin_create_user", **kwargs)
        return self._user(resp["User"])

    def admin_get_user(self, username: str) -> IdpUser:
        resp = self._call("admin_get_user", UserPoolId=self.user_pool_id, Username=username)
        return IdpUser(
            username=resp["Username"],
            enabled=resp.get("Enabled", True),
            status=resp.get("UserStatus"),
            attributes=_attrs(resp.get("UserAttributes")),
            user_id=_attrs(resp.get("UserAttributes")).get("sub"),
            created_at=str(resp.get("UserCreateDate")) if resp.get("UserCreateDate") else None,
        )

    def admin_delete_user(self, username: str) -> None:
        self._call("admin_delete_user", UserPoolId=self.user_pool_id, Username=username)

    def add_to_group(self, username: str, group: str) -> None:
        self._call("admin_add_user_to_group", UserPoolId=self.user_pool_id, Username=username, GroupName=group)

    def remove_from_group(self, username: str, group: str) -> None:
        self._call("admin_remove_user_from_group", UserPoolId=self.user_pool_id, Username=username, GroupName=group)

    def groups_for_user(self, username: str) -> list[str]:
        resp = self._call("admin_list_groups_for_user", UserPoolId=self.user_pool_id, Username=username)
        return [g["GroupName"] for g in resp.get("Groups", [])]

    def list_users(self, limit: int, token: str | None, group: str | None = None) -> tuple[list[IdpUser], str | None]:
        """A page of users; a ``token`` Cognito refuses (InvalidParameterException; moto and other
        emulators say InvalidToken) is a 400 ``invalid_next_token``: it came back from a client."""
        from agri_common.platform.pagination import invalid_token

        refused: dict[str, AppError] | None = (
            {"InvalidParameterException": invalid_token(), "InvalidToken": invalid_token()} if token else None
        )
        if group:
            kwargs: dict[str, Any] = {"UserPoolId": self.user_pool_id, "GroupName": group, "Limit": limit}
            if token:
                kwargs["NextToken"] = token
            resp = self._call("list_users_in_group", refused, **kwargs)
            return [self._user(u) for u in resp.get("Users", [])], resp.get("NextToken")
        kwargs = {"UserPoolId": self.user_pool_id, "Limit": limit}
        if token:
            kwargs["PaginationToken"] = token
        resp = self._call("list_users", refused, **kwargs)
        return [self._user(u) for u in resp.get("Users", [])], resp.get("PaginationToken")

    def set_enabled(self, username: str, enabled: bool) -> None:
        self._call(
            "admin_enable_user" if enabled else "admin_disable_user", UserPoolId=self.user_pool_id, Username=username
        )

    def update_attributes(self, username: str, attributes: dict[str, str]) -> None:
        self._call(
            "admin_update_user_attributes",
            UserPoolId=self.user_pool_id,
            Username=username,
            UserAttributes=[{"Name": k, "Value": v} for k, v in attributes.items()],
        )

    def global_sign_out(self, username: str) -> None:
        self._call("admin_user_global_sign_out", UserPoolId=self.user_pool_id, Username=username)

    @staticmethod
    def _user(raw: dict[str, Any]) -> IdpUser:
        attrs = _attrs(raw.get("Attributes"))
        created = raw.get("UserCreateDate")
        return IdpUser(
            username=raw["Username"],
            user_id=attrs.get("sub"),
            enabled=raw.get("Enabled", True),
            status=raw.get("UserStatus"),
            attributes=attrs,
            created_at=str(created) if created else None,
        )

"""Auth domain models: request bodies (input) and response bodies (output), kept apart.

No stored records here: Cognito is the store. Inputs forbid unknown fields, so a client cannot
slip in ``role`` or ``fpo_id`` at sign-up: the server decides both.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from agri_common.platform.inputs import Input
from functions.auth import examples

USERNAME = r"^[A-Za-z0-9._@+-]{3,128}$"
PHONE_E164 = r"^\+[1-9][0-9]{7,14}$"
EMAIL = r"^[^@\s]+@[^@\s]+\.[^@\s]+$"
CODE = r"^[A-Za-z0-9:-]{4,64}$"
Password = Field(
    min_length=12, max_length=256, description="At least 12 characters with upper, lower, digit and symbol"
)


class _In(Input):
    pass


class RegisterRequest(_In):
    model_config = ConfigDict(json_schema_extra={"examples": [examples.REGISTER]})
    username: str = Field(pattern=USERNAME, description="Chosen sign-in name (often the phone number)")
    password: str = Password
    name: str = Field(min_length=1, max_length=200)
    phone_number: str | None = Field(default=None, pattern=PHONE_E164, description="E.164, e.g. +919812345678")
    email: str | None = Field(default=None, pattern=EMAIL, max_length=254)
    preferred_language: str | None = Field(
        default=None, pattern=r"^[a-z]{2}(-[A-Z]{2})?$", description="BCP 47, e.g. hi-IN"
    )

    @model_validator(mode="after")
    def _contact(self) -> RegisterRequest:
        if not self.phone_number and not self.email:
            raise ValueError("phone_number or email is required to receive the confirmation code")
        return self


class ConfirmRegistrationRequest(_In):
    model_config = ConfigDict(json_schema_extra={"examples": [examples.CONFIRM_REGISTRATION]})
    username: str = Field(pattern=USERNAME)
    code: str = Field(pattern=CODE)


class LoginRequest(_In):
    model_config = ConfigDict(json_schema_extra={"examples": [examples.LOGIN]})
    username: str = Field(pattern=USERNAME)
    password: str = Field(min_length=1, max_length=256)


class ChallengeRequest(_In):
    model_config = ConfigDict(json_schema_extra={"examples": [examples.CHALLENGE, examples.TOTP_CHALLENGE]})
    challenge_name: Literal["NEW_PASSWORD_REQUIRED", "SOFTWARE_TOKEN_MFA"]
    session: str = Field(min_length=1, max_length=4096)
    username: str = Field(pattern=USERNAME)
    # Optional: a SOFTWARE_TOKEN_MFA answer has none (``Password`` alone has no default, which made
    # the TOTP challenge unanswerable: every answer without a new password was a 422)
    new_password: str | None = Field(
        default=None, min_length=12, max_length=256, description="NEW_PASSWORD_REQUIRED: the new password"
    )
    totp_code: str | None = Field(
        default=None, pattern=r"^[0-9]{6}$", description="SOFTWARE_TOKEN_MFA: the authenticator's 6-digit code"
    )

    @model_validator(mode="after")
    def _answer(self) -> ChallengeRequest:
        if self.challenge_name == "NEW_PASSWORD_REQUIRED" and not self.new_password:
            raise ValueError("new_password is required for NEW_PASSWORD_REQUIRED")
        if self.challenge_name == "SOFTWARE_TOKEN_MFA" and not self.totp_code:
            raise ValueError("totp_code is required for SOFTWARE_TOKEN_MFA")
        return self


TOTP_CODE = Field(pattern=r"^[0-9]{6}$", description="The 6-digit code the authenticator app shows now")


class MfaSetupRequest(_In):
    model_config = ConfigDict(json_schema_extra={"examples": [examples.MFA_SETUP]})
    access_token: str = Field(
        min_length=1, max_length=8192, description="The caller's access token from login (Cognito needs it to enrol)"
    )


class MfaVerifyRequest(_In):
    model_config = ConfigDict(json_schema_extra={"examples": [examples.MFA_VERIFY]})
    session: str = Field(
        min_length=16, max_length=128, description="From the MFA_SETUP challenge or POST /auth/mfa/setup"
    )
    totp_code: str = TOTP_CODE


class RefreshRequest(_In):
    model_config = ConfigDict(json_schema_extra={"examples": [examples.REFRESH]})
    refresh_token: str = Field(min_length=1, max_length=8192)
    username: str = Field(
        pattern=USERNAME,
        description="The username the tokens belong to, as the login answered it (`tokens.username`; also the "
        "ID token's `cognito:username` and `GET /auth/me`): the app client is confidential and its proof is "
        "computed over it",
    )


class LogoutRequest(_In):
    model_config = ConfigDict(json_schema_extra={"examples": [examples.LOGOUT]})
    refresh_token: str = Field(min_length=1, max_length=8192)


class ForgotPasswordRequest(_In):
    model_config = ConfigDict(json_schema_extra={"examples": [examples.FORGOT_PASSWORD]})
    username: str = Field(pattern=USERNAME)


class ConfirmForgotPasswordRequest(_In):
    model_config = ConfigDict(json_schema_extra={"examples": [examples.CONFIRM_FORGOT_PASSWORD]})
    username: str = Field(pattern=USERNAME)
    code: str = Field(pattern=CODE)
    new_password: str = Password


# ---- outputs ------------------------------------------------------------------------------------


class RegisterResponse(BaseModel):
    user_id: str
    username: str
    role: str
    next_step: Literal["confirm_registration"] = "confirm_registration"


class TokensOut(BaseModel):
    id_token: str = Field(description="Send as `Authorization: <id_token>` on private routes")
    access_token: str
    refresh_token: str | None = None
    expires_in: int
    token_type: str = "Bearer"
    username: str | None = Field(
        default=None,
        description="The account's username exactly as Cognito holds it (the sign-in name is case-insensitive): "
        "send it with the refresh token to POST /auth/refresh",
    )


class ChallengeOut(BaseModel):
    challenge_name: str = Field(
        description="NEW_PASSWORD_REQUIRED or SOFTWARE_TOKEN_MFA: answer with POST /auth/challenge; "
        "MFA_SETUP (admins and auditors without an authenticator): enrol with POST /auth/mfa/verify"
    )
    session: str
    secret_code: str | None = Field(default=None, description="MFA_SETUP only: the TOTP secret (base32)")
    otpauth_uri: str | None = Field(default=None, description="MFA_SETUP only: the secret as a QR-code URI")
    expires_in: int | None = Field(default=None, description="MFA_SETUP only: seconds the session stays valid")


class MfaSetupOut(BaseModel):
    session: str = Field(description="Opaque, single use: send it with a code to POST /auth/mfa/verify")
    secret_code: str = Field(description="The TOTP secret (base32): type it into the authenticator app")
    otpauth_uri: str = Field(description="The same secret as an otpauth:// URI (show it as a QR code)")
    expires_in: int


class LoginResponse(BaseModel):
    """Either ``tokens`` or ``challenge`` (new password or TOTP code needed) is set."""

    tokens: TokensOut | None = None
    challenge: ChallengeOut | None = None


class MeResponse(BaseModel):
    user_id: str
    username: str
    role: str
    fpo_id: str | None = None
    email: str | None = None
    name: str | None = None
    token_expires_at: int


class Accepted(BaseModel):
    status: Literal["accepted", "ok"]
    message: str

"""Auth routes: thin wrappers over Cognito for web and mobile clients."""

from __future__ import annotations

from typing import Annotated

from aws_lambda_powertools.event_handler import Depends

from agri_common.platform.activity import audited
from agri_common.platform.identity import CognitoIdentityProvider
from agri_common.platform.principal import Principal
from agri_common.platform.resolver import PRIVATE, current_principal, make_handler, make_resolver
from agri_common.platform.revocation import revocation_store
from agri_common.platform.settings import BaseSettingsModel, load_settings
from functions.auth import models as m
from functions.auth.logic import AuthService
from functions.auth.mfa_sessions import DynamoMfaSessionStore

app = make_resolver()
TAGS = ["auth"]


class AuthSettings(BaseSettingsModel):
    user_pool_id: str
    user_pool_client_id: str
    revocation_table: str  # also holds the TOTP enrolment sessions (functions/auth/mfa_sessions.py)


_revocation = revocation_store  # looked up per call by make_handler: tests swap it


def get_service() -> AuthService:
    s = load_settings(AuthSettings)
    return AuthService(
        CognitoIdentityProvider(s.user_pool_id, s.user_pool_client_id),
        _revocation(),
        DynamoMfaSessionStore(s.revocation_table),
    )


def get_principal() -> Principal:
    return current_principal(app)


Service = Annotated[AuthService, Depends(get_service)]
Caller = Annotated[Principal, Depends(get_principal)]


@app.post(
    "/auth/register",
    status_code=201,
    tags=TAGS,
    summary="Farmer self sign-up (role farmer, set by the server)",
    openapi_extensions=audited("user.register"),
)
def register(body: m.RegisterRequest, svc: Service) -> m.RegisterResponse:
    return svc.register(body)


@app.post(
    "/auth/confirm-registration",
    tags=TAGS,
    summary="Confirm sign-up with the code sent by SMS or email",
    openapi_extensions=audited("user.confirm_registration"),
)
def confirm_registration(body: m.ConfirmRegistrationRequest, svc: Service) -> m.Accepted:
    return svc.confirm_registration(body)


@app.post(
    "/auth/login",
    tags=TAGS,
    summary="Log in with username and password (admins and auditors without TOTP: the MFA_SETUP challenge)",
    openapi_extensions=audited("session.login"),
)
def login(body: m.LoginRequest, svc: Service) -> m.LoginResponse:
    return svc.login(body)


@app.post(
    "/auth/challenge",
    tags=TAGS,
    summary="Answer a login challenge (new password, TOTP code)",
    openapi_extensions=audited("session.challenge"),
)
def challenge(body: m.ChallengeRequest, svc: Service) -> m.LoginResponse:
    return svc.challenge(body)


@app.post(
    "/auth/refresh",
    tags=TAGS,
    summary="Exchange a refresh token for new ID and access tokens (admins and auditors: only with TOTP enrolled)",
    openapi_extensions=audited("session.refresh"),
)
def refresh(body: m.RefreshRequest, svc: Service) -> m.TokensOut:
    return svc.refresh(body)


@app.post(
    "/auth/mfa/setup",
    tags=TAGS,
    security=PRIVATE,
    summary="Start enrolling an authenticator app (optional for farmers and FPO managers)",
    openapi_extensions=audited("mfa.setup", errors=[409]),
)
def mfa_setup(body: m.MfaSetupRequest, svc: Service, caller: Caller) -> m.MfaSetupOut:
    return svc.mfa_setup(caller, body)


@app.post(
    "/auth/mfa/verify",
    tags=TAGS,
    summary="Finish enrolling: a code of the new secret, with the MFA_SETUP (or setup) session",
    openapi_extensions=audited("mfa.verify"),
)
def mfa_verify(body: m.MfaVerifyRequest, svc: Service) -> m.Accepted:
    return svc.mfa_verify(body)


@app.post(
    "/auth/logout",
    tags=TAGS,
    security=PRIVATE,
    summary="Revoke the refresh token; the current tokens stop working",
    openapi_extensions=audited("session.logout"),
)
def logout(body: m.LogoutRequest, svc: Service, caller: Caller) -> m.Accepted:
    return svc.logout(caller, body)


@app.post(
    "/auth/forgot-password",
    status_code=202,
    tags=TAGS,
    summary="Send a password-reset code",
    openapi_extensions=audited("user.request_password_reset"),
)
def forgot_password(body: m.ForgotPasswordRequest, svc: Service) -> m.Accepted:
    return svc.forgot_password(body)


@app.post(
    "/auth/confirm-forgot-password",
    tags=TAGS,
    summary="Set a new password with the reset code",
    openapi_extensions=audited("user.confirm_password_reset"),
)
def confirm_forgot_password(body: m.ConfirmForgotPasswordRequest, svc: Service) -> m.Accepted:
    return svc.confirm_forgot_password(body)


@app.get("/auth/me", tags=TAGS, security=PRIVATE, summary="The caller's identity, role and FPO")
def me(caller: Caller) -> m.MeResponse:
    return AuthService.me(caller)


lambda_handler = make_handler(app, revocation=lambda: _revocation())  # looked up per call: tests swap it

"""Auth rules. No boto3 here: Cognito and the revocation table come in through interfaces."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Protocol
from urllib.parse import quote, urlencode

from agri_common.platform.errors import (
    AppError,
    BadRequestError,
    ConflictError,
    ForbiddenError,
    NotFoundError,
    UnauthorizedError,
)
from agri_common.platform.identity import AccessUser, Challenge, Tokens
from agri_common.platform.observability import logger
from agri_common.platform.principal import Principal, Role
from agri_common.platform.revocation import RevocationStore
from functions.auth import models as m
from functions.auth.mfa_sessions import SESSION_SECONDS, MfaSession, MfaSessionStore, new_session_id

SELF_SIGN_UP_ROLE = Role.FARMER  # the server, never the client, picks the group
MFA_REQUIRED_ROLES = frozenset({Role.ADMIN.value, Role.AUDITOR.value})  # TOTP before any token (decision 0015)
TOTP_ISSUER = "AgriMRV"


class AuthIdentityProvider(Protocol):
    def sign_up(self, username: str, password: str, attributes: dict[str, str]) -> str: ...
    def confirm_sign_up(self, username: str, code: str) -> None: ...
    def login(self, username: str, password: str) -> Tokens | Challenge: ...
    def respond_to_challenge(self, name: str, session: str, responses: dict[str, str]) -> Tokens | Challenge: ...
    def refresh(self, refresh_token: str, username: str) -> Tokens: ...
    def revoke_refresh_token(self, refresh_token: str) -> None: ...
    def forgot_password(self, username: str) -> None: ...
    def confirm_forgot_password(self, username: str, code: str, new_password: str) -> None: ...
    def add_to_group(self, username: str, group: str) -> None: ...
    def admin_delete_user(self, username: str) -> None: ...
    def groups_for_user(self, username: str) -> list[str]: ...
    def get_user(self, access_token: str) -> AccessUser: ...
    def associate_software_token(self, access_token: str) -> str: ...
    def verify_software_token(self, access_token: str, code: str) -> None: ...


def otpauth_uri(username: str, secret: str, issuer: str = TOTP_ISSUER) -> str:
    """The Key Uri Format authenticator apps scan (RFC 6238 TOTP: SHA-1, 6 digits, 30 s, as Cognito)."""
    label = quote(f"{issuer}:{username}", safe="")
    query = urlencode({"secret": secret, "issuer": issuer, "algorithm": "SHA1", "digits": 6, "period": 30})
    return f"otpauth://totp/{label}?{query}"


def invalid_session() -> UnauthorizedError:
    return UnauthorizedError("The MFA setup session is invalid, used or expired: log in again", code="invalid_session")


def _login_response(outcome: Tokens | Challenge, username: str | None = None) -> m.LoginResponse:
    if isinstance(outcome, Tokens):
        return m.LoginResponse(tokens=m.TokensOut(**outcome.model_dump(), username=username))
    return m.LoginResponse(challenge=m.ChallengeOut(challenge_name=outcome.challenge_name, session=outcome.session))


class AuthService:
    def __init__(
        self,
        idp: AuthIdentityProvider,
        revocation: RevocationStore,
        mfa_sessions: MfaSessionStore,
        clock: Callable[[], float] = time.time,
    ):
        self.idp = idp
        self.revocation = revocation
        self.mfa_sessions = mfa_sessions
        self.clock = clock

    def register(self, req: m.RegisterRequest) -> m.RegisterResponse:
        attributes = {"name": req.name}
        if req.phone_number:
            attributes["phone_number"] = req.phone_number
        if req.email:
            attributes["email"] = req.email
        if req.preferred_language:
            attributes["locale"] = req.preferred_language
        user_id = self.idp.sign_up(req.username, req.password, attributes)
        try:
            self.idp.add_to_group(req.username, SELF_SIGN_UP_ROLE.value)
        except AppError:
            # Never leave a user without a role: undo the sign-up so the client can simply retry.
            logger.warning("group assignment failed; rolling back sign-up", extra={"username": req.username})
            self.idp.admin_delete_user(req.username)
            raise
        return m.RegisterResponse(user_id=user_id, username=req.username, role=SELF_SIGN_UP_ROLE.value)

    def confirm_registration(self, req: m.ConfirmRegistrationRequest) -> m.Accepted:
        self.idp.confirm_sign_up(req.username, req.code)
        return m.Accepted(status="ok", message="Registration confirmed; you can log in")

    def login(self, req: m.LoginRequest) -> m.LoginResponse:
        return self._gate(self.idp.login(req.username, req.password))

    def challenge(self, req: m.ChallengeRequest) -> m.LoginResponse:
        responses = {"USERNAME": req.username}
        if req.challenge_name == "NEW_PASSWORD_REQUIRED":
            responses["NEW_PASSWORD"] = req.new_password or ""
        else:
            responses["SOFTWARE_TOKEN_MFA_CODE"] = req.totp_code or ""
        return self._gate(self.idp.respond_to_challenge(req.challenge_name, req.session, responses))

    def refresh(self, req: m.RefreshRequest) -> m.TokensOut:
        """A refresh token of an admin or auditor without TOTP (issued before the rule, or by a login
        that skipped our routes) mints nothing: it is revoked and the answer says to log in again."""
        tokens = self.idp.refresh(req.refresh_token, req.username)
        user = self.idp.get_user(tokens.access_token)
        if self._needs_enrolment(user):
            self.idp.revoke_refresh_token(req.refresh_token)
            raise ForbiddenError(
                "Admins and auditors must enrol an authenticator app: log in again to set it up",
                code="mfa_enrollment_required",
            )
        return m.TokensOut(**tokens.model_dump(), username=user.username)

    # ---- TOTP (decision 0015) ---------------------------------------------------------------------
    def _needs_enrolment(self, user: AccessUser) -> bool:
        return not user.totp_enabled and bool(MFA_REQUIRED_ROLES & set(self.idp.groups_for_user(user.username)))

    def _gate(self, outcome: Tokens | Challenge) -> m.LoginResponse:
        """Tokens only for users who need no TOTP or passed it; an admin or auditor without an
        authenticator gets the MFA_SETUP challenge instead (the tokens stay server-side)."""
        if isinstance(outcome, Challenge):
            return _login_response(outcome)
        user = self.idp.get_user(outcome.access_token)
        if not self._needs_enrolment(user):
            return _login_response(outcome, user.username)
        logger.info("MFA enrolment required before tokens", extra={"username": user.username})
        setup = self._start_enrolment(user, outcome.access_token, outcome.refresh_token)
        return m.LoginResponse(
            challenge=m.ChallengeOut(
                challenge_name="MFA_SETUP",
                session=setup.session,
                secret_code=setup.secret_code,
                otpauth_uri=setup.otpauth_uri,
                expires_in=setup.expires_in,
            )
        )

    def _start_enrolment(self, user: AccessUser, access_token: str, refresh_token: str | None) -> m.MfaSetupOut:
        secret = self.idp.associate_software_token(access_token)
        session_id = new_session_id()
        self.mfa_sessions.put(
            session_id,
            MfaSession(
                username=user.username,
                user_id=user.user_id,
                access_token=access_token,
                refresh_token=refresh_token,
                expires_at=int(self.clock()) + SESSION_SECONDS,
            ),
        )
        return m.MfaSetupOut(
            session=session_id,
            secret_code=secret,
            otpauth_uri=otpauth_uri(user.username, secret),
            expires_in=SESSION_SECONDS,
        )

    def mfa_setup(self, principal: Principal, req: m.MfaSetupRequest) -> m.MfaSetupOut:
        """Optional enrolment for a signed-in user (farmers, FPO managers). The access token must be
        the caller's own; an enrolled user cannot swap the authenticator with a token alone."""
        user = self.idp.get_user(req.access_token)
        if user.user_id != principal.user_id:
            raise UnauthorizedError("The access token is not the caller's", code="invalid_access_token")
        if user.totp_enabled:
            raise ConflictError("An authenticator app is already enrolled", code="mfa_already_enrolled")
        return self._start_enrolment(user, req.access_token, None)

    def mfa_verify(self, req: m.MfaVerifyRequest) -> m.Accepted:
        session = self.mfa_sessions.get(req.session)
        if session is None:
            raise invalid_session()
        try:
            self.idp.verify_software_token(session.access_token, req.totp_code)
        except BadRequestError as exc:
            left = self.mfa_sessions.record_failure(req.session)
            raise BadRequestError(
                "The authenticator code is wrong"
                + (f" ({left} attempts left)" if left else ": too many attempts, log in again"),
                code="invalid_totp_code",
            ) from exc
        if not self.mfa_sessions.delete(req.session):
            raise invalid_session()  # a concurrent replay used it first
        if session.refresh_token:
            self.idp.revoke_refresh_token(session.refresh_token)  # the password-only login never yields tokens
        return m.Accepted(
            status="ok", message="Authenticator enrolled: log in again; every login now asks for its code"
        )

    def logout(self, principal: Principal, req: m.LogoutRequest) -> m.Accepted:
        """Revoke the refresh token at Cognito and the caller's session in our own routes."""
        self.revocation.revoke_session(principal)
        self.idp.revoke_refresh_token(req.refresh_token)
        return m.Accepted(status="ok", message="Logged out")

    def forgot_password(self, req: m.ForgotPasswordRequest) -> m.Accepted:
        try:
            self.idp.forgot_password(req.username)
        except NotFoundError:
            pass  # the same answer whether or not the user exists: no account enumeration
        return m.Accepted(status="accepted", message="If the account exists, a code has been sent")

    def confirm_forgot_password(self, req: m.ConfirmForgotPasswordRequest) -> m.Accepted:
        self.idp.confirm_forgot_password(req.username, req.code, req.new_password)
        return m.Accepted(status="ok", message="Password changed")

    @staticmethod
    def me(principal: Principal) -> m.MeResponse:
        return m.MeResponse(
            user_id=principal.user_id,
            username=principal.username,
            role=principal.role.value,
            fpo_id=principal.fpo_id,
            email=principal.email,
            name=principal.name,
            token_expires_at=principal.expires_at,
        )

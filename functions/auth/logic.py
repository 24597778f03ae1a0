"""Auth rules. No boto3 here: Cognito and the revocation table come in through interfaces."""

from __future__ import annotations

from typing import Protocol

from agri_common.platform.errors import AppError, NotFoundError
from agri_common.platform.identity import Challenge, Tokens
from agri_common.platform.observability import logger
from agri_common.platform.principal import Principal, Role
from agri_common.platform.revocation import RevocationStore
from functions.auth import models as m

SELF_SIGN_UP_ROLE = Role.FARMER  # the server, never the client, picks the group


class AuthIdentityProvider(Protocol):
    def sign_up(self, username: str, password: str, attributes: dict[str, str]) -> str: ...
    def confirm_sign_up(self, username: str, code: str) -> None: ...
    def login(self, username: str, password: str) -> Tokens | Challenge: ...
    def respond_to_challenge(self, name: str, session: str, responses: dict[str, str]) -> Tokens | Challenge: ...
    def refresh(self, refresh_token: str) -> Tokens: ...
    def revoke_refresh_token(self, refresh_token: str) -> None: ...
    def forgot_password(self, username: str) -> None: ...
    def confirm_forgot_password(self, username: str, code: str, new_password: str) -> None: ...
    def add_to_group(self, username: str, group: str) -> None: ...
    def admin_delete_user(self, username: str) -> None: ...


def _login_response(outcome: Tokens | Challenge) -> m.LoginResponse:
    if isinstance(outcome, Tokens):
        return m.LoginResponse(tokens=m.TokensOut(**outcome.model_dump()))
    return m.LoginResponse(challenge=m.ChallengeOut(challenge_name=outcome.challenge_name, session=outcome.session))


class AuthService:
    def __init__(self, idp: AuthIdentityProvider, revocation: RevocationStore):
        self.idp = idp
        self.revocation = revocation

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
        return _login_response(self.idp.login(req.username, req.password))

    def challenge(self, req: m.ChallengeRequest) -> m.LoginResponse:
        responses = {"USERNAME": req.username}
        if req.challenge_name == "NEW_PASSWORD_REQUIRED":
            responses["NEW_PASSWORD"] = req.new_password or ""
        else:
            responses["SOFTWARE_TOKEN_MFA_CODE"] = req.totp_code or ""
        return _login_response(self.idp.respond_to_challenge(req.challenge_name, req.session, responses))

    def refresh(self, req: m.RefreshRequest) -> m.TokensOut:
        return m.TokensOut(**self.idp.refresh(req.refresh_token).model_dump())

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

"""In-memory stand-ins for Cognito, used by the unit tests (no network)."""

from __future__ import annotations

import uuid

from agri_common.platform.errors import (
    BadRequestError,
    ConflictError,
    DependencyError,
    NotFoundError,
    UnauthorizedError,
)
from agri_common.platform.identity import AccessUser, Challenge, IdpUser, Tokens


class FakeIdp:
    def __init__(self, fail_on: set[str] | None = None):
        self.users: dict[str, IdpUser] = {}
        self.groups: dict[str, set[str]] = {}
        self.passwords: dict[str, str] = {}
        self.revoked: list[str] = []
        self.signed_out: list[str] = []
        self.calls: list[tuple] = []
        self.fail_on = fail_on or set()
        self.access: dict[str, str] = {}  # access token -> username
        self.pending_totp: dict[str, str] = {}  # username -> associated, unverified secret
        self.totp: dict[str, str] = {}  # username -> enrolled secret
        self.mfa_sessions: dict[str, str] = {}  # Cognito challenge session -> username

    def _tokens(self, username, tag=""):
        access = f"access{tag}-{username}-{uuid.uuid4().hex[:8]}"
        self.access[access] = username
        return Tokens(id_token=f"id{tag}", access_token=access, refresh_token=f"refresh-{username}", expires_in=1800)

    @staticmethod
    def code_for(secret: str) -> str:
        """The fake's 'TOTP': the code of a secret is its first six digits' worth, fixed (the twin and
        the e2e test check real RFC 6238 codes)."""
        return str(int.from_bytes(secret.encode(), "big") % 1_000_000).zfill(6)

    def _maybe_fail(self, op: str) -> None:
        self.calls.append((op,))
        if op in self.fail_on:
            raise DependencyError(f"{op} failed")

    def sign_up(self, username, password, attributes):
        self._maybe_fail("sign_up")
        if username in self.users:
            raise ConflictError("taken", code="username_taken")
        user = IdpUser(username=username, user_id=str(uuid.uuid4()), attributes=dict(attributes), status="UNCONFIRMED")
        self.users[username] = user
        self.passwords[username] = password
        return user.user_id

    def confirm_sign_up(self, username, code):
        self._maybe_fail("confirm_sign_up")
        self.users[username].status = "CONFIRMED"

    def login(self, username, password):
        self._maybe_fail("login")
        if self.passwords.get(username) != password:
            raise UnauthorizedError("Wrong username or password", code="invalid_credentials")
        if self.users[username].status == "FORCE_CHANGE_PASSWORD":
            return Challenge(challenge_name="NEW_PASSWORD_REQUIRED", session="s-" + username)
        if username in self.totp:
            session = "mfa-" + uuid.uuid4().hex
            self.mfa_sessions[session] = username
            return Challenge(challenge_name="SOFTWARE_TOKEN_MFA", session=session)
        return self._tokens(username)

    def respond_to_challenge(self, name, session, responses):
        self._maybe_fail("respond_to_challenge")
        self.calls.append(("challenge", name, session, dict(responses)))
        username = responses["USERNAME"]
        if name == "SOFTWARE_TOKEN_MFA":
            if self.mfa_sessions.get(session) != username:
                raise UnauthorizedError("Challenge failed", code="challenge_failed")
            if responses["SOFTWARE_TOKEN_MFA_CODE"] != self.code_for(self.totp[username]):
                raise BadRequestError("The code is wrong", code="invalid_code")
            del self.mfa_sessions[session]
        elif name == "NEW_PASSWORD_REQUIRED" and username in self.users:
            self.users[username].status = "CONFIRMED"
            self.passwords[username] = responses["NEW_PASSWORD"]
        return self._tokens(username, "2")

    def refresh(self, refresh_token, username):
        self._maybe_fail("refresh")
        if refresh_token in self.revoked or refresh_token.removeprefix("refresh-") != username:
            # a confidential client's SECRET_HASH over another username fails like a bad token
            raise UnauthorizedError("revoked", code="invalid_refresh_token")
        tokens = self._tokens(username, "3")
        return tokens.model_copy(update={"refresh_token": refresh_token})

    def get_user(self, access_token):
        username = self.access.get(access_token)
        if username is None:
            raise UnauthorizedError("The access token is invalid", code="invalid_access_token")
        user = self.users.get(username)
        return AccessUser(username=username, user_id=user.user_id if user else None, totp_enabled=username in self.totp)

    def associate_software_token(self, access_token):
        username = self.get_user(access_token).username
        self.pending_totp[username] = "SECRET" + uuid.uuid4().hex.upper()[:10]
        return self.pending_totp[username]

    def verify_software_token(self, access_token, code):
        username = self.get_user(access_token).username
        secret = self.pending_totp.get(username)
        if secret is None or code != self.code_for(secret):
            raise BadRequestError("The authenticator code is wrong", code="invalid_totp_code")
        self.totp[username] = self.pending_totp.pop(username)

    def revoke_refresh_token(self, refresh_token):
        self._maybe_fail("revoke")
        self.revoked.append(refresh_token)

    def forgot_password(self, username):
        self._maybe_fail("forgot_password")
        if username not in self.users:
            raise NotFoundError("User not found", code="user_not_found")

    def confirm_forgot_password(self, username, code, new_password):
        self._maybe_fail("confirm_forgot_password")
        self.passwords[username] = new_password

    def admin_create_user(self, username, attributes, temporary_password):
        self._maybe_fail("admin_create_user")
        if username in self.users:
            raise ConflictError("taken", code="username_taken")
        user = IdpUser(
            username=username, user_id=str(uuid.uuid4()), attributes=dict(attributes), status="FORCE_CHANGE_PASSWORD"
        )
        self.users[username] = user
        self.passwords[username] = temporary_password or "generated"
        return user

    def admin_get_user(self, username):
        if username not in self.users:
            raise NotFoundError("User not found", code="user_not_found")
        return self.users[username]

    def admin_delete_user(self, username):
        self.calls.append(("admin_delete_user", username))
        self.users.pop(username, None)
        self.groups.pop(username, None)

    def add_to_group(self, username, group):
        self._maybe_fail("add_to_group")
        self.groups.setdefault(username, set()).add(group)

    def remove_from_group(self, username, group):
        self.groups.get(username, set()).discard(group)

    def groups_for_user(self, username):
        return sorted(self.groups.get(username, set()))

    def list_users(self, limit, token, group=None):
        names = sorted(u for u in self.users if group is None or group in self.groups.get(u, set()))
        if token is not None and not token.isdigit():  # Cognito refuses a token it did not issue
            from agri_common.platform.pagination import invalid_token

            raise invalid_token()
        start = int(token or 0)
        page = names[start : start + limit]
        nxt = str(start + limit) if start + limit < len(names) else None
        return [self.users[n] for n in page], nxt

    def set_enabled(self, username, enabled):
        self.admin_get_user(username).enabled = enabled

    def update_attributes(self, username, attributes):
        self.admin_get_user(username).attributes.update(attributes)

    def global_sign_out(self, username):
        self.signed_out.append(username)

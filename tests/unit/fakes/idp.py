"""In-memory stand-ins for Cognito, used by the unit tests (no network)."""

from __future__ import annotations

import uuid

from agri_common.platform.errors import ConflictError, DependencyError, NotFoundError, UnauthorizedError
from agri_common.platform.identity import Challenge, IdpUser, Tokens


class FakeIdp:
    def __init__(self, fail_on: set[str] | None = None):
        self.users: dict[str, IdpUser] = {}
        self.groups: dict[str, set[str]] = {}
        self.passwords: dict[str, str] = {}
        self.revoked: list[str] = []
        self.signed_out: list[str] = []
        self.calls: list[tuple] = []
        self.fail_on = fail_on or set()

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
        return Tokens(id_token="id", access_token="access", refresh_token="refresh-" + username, expires_in=1800)

    def respond_to_challenge(self, name, session, responses):
        self._maybe_fail("respond_to_challenge")
        self.calls.append(("challenge", name, session, dict(responses)))
        return Tokens(id_token="id2", access_token="access2", refresh_token="r2", expires_in=1800)

    def refresh(self, refresh_token):
        self._maybe_fail("refresh")
        if refresh_token in self.revoked:
            raise UnauthorizedError("revoked", code="invalid_refresh_token")
        return Tokens(id_token="id3", access_token="access3", refresh_token=refresh_token, expires_in=1800)

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

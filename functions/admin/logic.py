"""User administration rules (admin role only; the handler enforces the role for every route)."""

from __future__ import annotations

from typing import Protocol

from agri_common.platform.errors import AppError, ConflictError
from agri_common.platform.identity import IdpUser
from agri_common.platform.observability import logger
from agri_common.platform.pagination import check_opaque_position, page_position, page_token
from agri_common.platform.principal import FPO_CLAIM, ROLES_NEEDING_FPO, Principal, Role
from agri_common.platform.revocation import RevocationStore
from functions.admin import models as m

ROLE_GROUPS = frozenset(r.value for r in Role)


class AdminIdentityProvider(Protocol):
    def admin_create_user(
        self, username: str, attributes: dict[str, str], temporary_password: str | None
    ) -> IdpUser: ...
    def admin_get_user(self, username: str) -> IdpUser: ...
    def admin_delete_user(self, username: str) -> None: ...
    def add_to_group(self, username: str, group: str) -> None: ...
    def remove_from_group(self, username: str, group: str) -> None: ...
    def groups_for_user(self, username: str) -> list[str]: ...
    def list_users(
        self, limit: int, token: str | None, group: str | None = None
    ) -> tuple[list[IdpUser], str | None]: ...
    def set_enabled(self, username: str, enabled: bool) -> None: ...
    def update_attributes(self, username: str, attributes: dict[str, str]) -> None: ...
    def global_sign_out(self, username: str) -> None: ...


def _single_role(groups: list[str]) -> Role | None:
    roles = [g for g in groups if g in ROLE_GROUPS]
    return Role(roles[0]) if len(roles) == 1 else None


def _out(user: IdpUser, role: Role | None) -> m.UserOut:
    a = user.attributes
    return m.UserOut(
        username=user.username,
        user_id=user.user_id or a.get("sub"),
        role=role,
        fpo_id=a.get(FPO_CLAIM),
        name=a.get("name"),
        email=a.get("email"),
        phone_number=a.get("phone_number"),
        enabled=user.enabled,
        status=user.status,
        created_at=user.created_at,
    )


class AdminService:
    def __init__(self, idp: AdminIdentityProvider, revocation: RevocationStore):
        self.idp = idp
        self.revocation = revocation

    def create_user(self, req: m.CreateUserRequest) -> m.UserOut:
        attributes = {"name": req.name}
        for key in ("email", "phone_number"):
            if getattr(req, key):
                attributes[key] = getattr(req, key)
        if req.fpo_id:
            attributes[FPO_CLAIM] = req.fpo_id
        user = self.idp.admin_create_user(req.username, attributes, req.temporary_password)
        try:
            self.idp.add_to_group(req.username, req.role.value)
        except AppError:
            logger.warning("group assignment failed; deleting the new user", extra={"username": req.username})
            self.idp.admin_delete_user(req.username)
            raise
        return _out(user, req.role)

    def get_user(self, username: str) -> m.UserOut:
        user = self.idp.admin_get_user(username)
        return _out(user, _single_role(self.idp.groups_for_user(username)))

    def list_users(self, limit: int, next_token: str | None, role: Role | None) -> m.UserPage:
        scope = {"role": role.value if role else None}
        position = page_position(next_token, scope)
        cognito_token = check_opaque_position(position) if position is not None else None
        # a token Cognito refuses (edited) is a 400 invalid_next_token from the identity provider
        users, token = self.idp.list_users(limit, cognito_token, role.value if role else None)
        items = [_out(u, role if role else _single_role(self.idp.groups_for_user(u.username))) for u in users]
        return m.UserPage(items=items, next_token=page_token(scope, token))

    def set_enabled(self, caller: Principal, username: str, enabled: bool) -> m.UserOut:
        if not enabled and username == caller.username:
            raise ConflictError("Admins cannot disable themselves", code="cannot_modify_self")
        user = self.idp.admin_get_user(username)
        self.idp.set_enabled(username, enabled)
        if not enabled:
            self._revoke(user)
        return self.get_user(username)

    def change_role(self, caller: Principal, username: str, req: m.ChangeRoleRequest) -> m.UserOut:
        if username == caller.username:
            raise ConflictError("Admins cannot change their own role", code="cannot_modify_self")
        user = self.idp.admin_get_user(username)
        current = [g for g in self.idp.groups_for_user(username) if g in ROLE_GROUPS]
        if req.role in ROLES_NEEDING_FPO and req.fpo_id:
            self.idp.update_attributes(username, {FPO_CLAIM: req.fpo_id})
        if req.role.value not in current:
            self.idp.add_to_group(username, req.role.value)
        for group in current:
            if group != req.role.value:
                self.idp.remove_from_group(username, group)
        # Tokens carry the old role in their claims: cut them off now rather than at expiry.
        self._revoke(user)
        return self.get_user(username)

    def _revoke(self, user: IdpUser) -> None:
        if user.user_id:
            self.revocation.revoke_user_tokens(user.user_id)
        self.idp.global_sign_out(user.username)

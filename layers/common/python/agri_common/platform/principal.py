"""The authenticated principal and the authorization policies every domain reuses.

The principal is built from the Cognito ID-token claims that API Gateway's Cognito authorizer
(or the local twin, which verifies the same token) places in ``requestContext.authorizer.claims``.
A user holds exactly one role group; a token with none or several role groups is refused, so a
console mistake can never widen someone's access silently.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, datetime
from enum import Enum
from typing import Any

from pydantic import BaseModel, ConfigDict

from agri_common.platform.errors import ForbiddenError, NotFoundError, UnauthorizedError


class Role(str, Enum):
    FARMER = "farmer"
    FPO_MANAGER = "fpo_manager"
    AUDITOR = "auditor"
    ADMIN = "admin"


ROLES_NEEDING_FPO = frozenset({Role.FARMER, Role.FPO_MANAGER})
FPO_CLAIM = "custom:fpo_id"


class AuditScope(BaseModel):
    """What an auditor is assigned to: their projects and those projects' FPOs.

    Read once per request (``agri_common.project_access.auditor_scope``: one Query + one BatchGetItem)
    and carried on the principal (:func:`with_audit_scope`), so every policy check of the request
    uses the same answer and none of them reads the pipeline table again.
    """

    model_config = ConfigDict(frozen=True)

    project_ids: frozenset[str] = frozenset()
    fpo_ids: frozenset[str] = frozenset()


class Principal(BaseModel):
    """Who is calling: Cognito ``sub``, username, single role, FPO (farmers and FPO managers), and
    for auditors, once a domain has loaded it, what they are assigned to (``audit``)."""

    model_config = ConfigDict(frozen=True)

    user_id: str
    username: str
    role: Role
    fpo_id: str | None = None
    token_id: str | None = None  # jti of the presented token
    session_id: str | None = None  # origin_jti: ties the token to its refresh token
    issued_at: int = 0
    expires_at: int = 0
    email: str | None = None
    name: str | None = None
    audit: AuditScope | None = None  # auditors only; None = not loaded by this domain (sees nothing by FPO/project)

    @property
    def is_admin(self) -> bool:
        return self.role is Role.ADMIN


def parse_groups(raw: Any) -> list[str]:
    """Groups arrive as a JSON list, a '[a, b]' string, or a comma/space separated string."""
    if raw is None or raw == "":
        return []
    if isinstance(raw, (list, tuple)):
        return [str(g) for g in raw]
    text = str(raw).strip()
    if text.startswith("["):
        try:
            value = json.loads(text)
            if isinstance(value, list):
                return [str(g) for g in value]
        except ValueError:
            text = text[1:-1]
    return [g for g in text.replace(",", " ").split() if g]


def claim_epoch(value: Any) -> int:
    """Epoch seconds from a claim: a number, a numeric string, or API Gateway's REST-authorizer
    rendering of date claims ("Sun Nov 22 01:51:57 UTC 2026")."""
    if value is None or value == "":
        return 0
    if isinstance(value, (int, float)):
        return int(value)
    text = str(value).strip()
    if text.lstrip("-").isdigit():
        return int(text)
    try:
        return int(datetime.strptime(text, "%a %b %d %H:%M:%S UTC %Y").replace(tzinfo=UTC).timestamp())
    except ValueError as exc:
        raise UnauthorizedError("Unreadable token time claim") from exc


def principal_from_claims(claims: Mapping[str, Any] | None) -> Principal:
    """Build the principal or raise 401 (no/odd claims) / 403 (no single role)."""
    if not claims or not claims.get("sub"):
        raise UnauthorizedError("Authentication required")
    if claims.get("token_use", "id") != "id":
        raise UnauthorizedError("An ID token is required")
    groups = [g for g in parse_groups(claims.get("cognito:groups")) if g in Role._value2member_map_]
    if len(groups) != 1:
        raise ForbiddenError("The user must belong to exactly one role group", code="no_single_role")
    role = Role(groups[0])
    fpo_id = claims.get(FPO_CLAIM) or None
    return Principal(
        user_id=str(claims["sub"]),
        username=str(claims.get("cognito:username") or claims.get("username") or claims["sub"]),
        role=role,
        fpo_id=fpo_id,
        token_id=claims.get("jti"),
        session_id=claims.get("origin_jti"),
        issued_at=claim_epoch(claims.get("iat")),
        expires_at=claim_epoch(claims.get("exp")),
        email=claims.get("email"),
        name=claims.get("name"),
    )


# ---------------------------------------------------------------------------------------------
# Policies
# ---------------------------------------------------------------------------------------------


class Owned(BaseModel):
    """What a policy needs to know about a record: its owner, FPO, project and assigned auditors.

    ``project_id``: set on records that belong to one carbon project (ledger records, credits).
    An auditor then sees the record only through that project, never through its FPO (an FPO can
    be in several projects, audited by different people).
    """

    owner_user_id: str | None = None
    fpo_id: str | None = None
    project_id: str | None = None
    assigned_auditors: frozenset[str] = frozenset()


def require_role(principal: Principal, *roles: Role) -> None:
    """403 unless the principal holds one of ``roles``."""
    if principal.role not in roles:
        allowed = ", ".join(r.value for r in roles)
        raise ForbiddenError(f"This action requires one of the roles: {allowed}", code="role_forbidden")


def can_access(principal: Principal, record: Owned) -> bool:
    """Admin: everything. Farmer: own records. FPO manager: own FPO's. Auditor: what they are
    assigned to: a record naming them (a project), a record of one of their projects
    (``project_id``), or a record without a project whose FPO is in one of their projects.

    This is the read policy; writes are refused to auditors by role (``require_role``) first.
    """
    if principal.role is Role.ADMIN:
        return True
    if principal.role is Role.FARMER:
        return record.owner_user_id is not None and record.owner_user_id == principal.user_id
    if principal.role is Role.FPO_MANAGER:
        return principal.fpo_id is not None and record.fpo_id == principal.fpo_id
    assert principal.role is Role.AUDITOR  # the last role (mypy checks the enum is exhausted); a new one fails closed
    if principal.user_id in record.assigned_auditors:
        return True
    audit = principal.audit
    if audit is None:
        return False
    if record.project_id is not None:
        return record.project_id in audit.project_ids
    return record.fpo_id is not None and record.fpo_id in audit.fpo_ids


def ensure_can_access(principal: Principal, record: Owned | None, *, what: str = "record") -> None:
    """404 for a missing record *and* for one the caller may not see (existence is not leaked)."""
    if record is None or not can_access(principal, record):
        raise NotFoundError(f"{what} not found")


class Scope(BaseModel):
    """The filter a list query must apply for this principal (data access turns it into a key)."""

    model_config = ConfigDict(frozen=True)

    everything: bool = False
    owner_user_id: str | None = None
    fpo_id: str | None = None
    auditor_id: str | None = None
    project_ids: frozenset[str] = frozenset()  # auditors: their projects (empty when unassigned or not loaded)
    fpo_ids: frozenset[str] = frozenset()  # auditors: the FPOs of those projects


def list_scope(principal: Principal) -> Scope:
    if principal.role is Role.ADMIN:
        return Scope(everything=True)
    if principal.role is Role.FARMER:
        return Scope(owner_user_id=principal.user_id)
    if principal.role is Role.FPO_MANAGER:
        if not principal.fpo_id:
            raise ForbiddenError("FPO manager without an FPO", code="no_fpo")
        return Scope(fpo_id=principal.fpo_id)
    audit = principal.audit or AuditScope()
    return Scope(auditor_id=principal.user_id, project_ids=audit.project_ids, fpo_ids=audit.fpo_ids)


def with_audit_scope(principal: Principal, load: Callable[[str], AuditScope]) -> Principal:
    """The principal with its auditor assignments, loaded once (``load(user_id)``) for auditors
    only; other roles are returned as they are, without any read."""
    if principal.role is not Role.AUDITOR or principal.audit is not None:
        return principal
    return principal.model_copy(update={"audit": load(principal.user_id)})


def filter_visible(principal: Principal, records: Iterable[tuple[Owned, Any]]) -> list[Any]:
    """Keep the items whose ``Owned`` descriptor the principal may see."""
    return [item for owned, item in records if can_access(principal, owned)]

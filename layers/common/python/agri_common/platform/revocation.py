"""Token revocation that our own routes enforce.

API Gateway's Cognito authorizer checks a token's signature and expiry, not whether it was
revoked. So on logout we record the token's session (``origin_jti``, shared by every token minted
from the same refresh token), and on disable / role change we record a per-user cut-off: tokens
issued at or before it are refused. Every private request costs one BatchGetItem.

Items: ``pk = "session#<origin_jti>"`` or ``pk = "user#<sub>"`` with ``revoked_before`` (epoch s)
and ``expires_at`` (DynamoDB TTL; a revoked ID token cannot outlive its 30-minute lifetime, so a
day is ample).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from functools import lru_cache
from typing import Any, Protocol

from agri_common.platform.aws import DynamoTable
from agri_common.platform.principal import Principal
from agri_common.platform.settings import BaseSettingsModel

RETENTION_SECONDS = 24 * 3600


USER_PREFIX = "user#"


def user_key(user_id: str) -> str:
    """The key of a user's cut-off: tokens issued at or before ``revoked_before`` are refused."""
    return f"{USER_PREFIX}{user_id}"


def _session(session_id: str) -> str:
    return f"session#{session_id}"


def _token(token_id: str | None) -> str:
    return f"token#{token_id}"


def session_key(principal: Principal) -> str:
    """The key that revokes the caller's session: its refresh-token family, else the token itself."""
    return _session(principal.session_id) if principal.session_id else _token(principal.token_id)


class RevocationStore(Protocol):
    def revoke_session(self, principal: Principal) -> None: ...

    def revoke_user_tokens(self, user_id: str, before: int | None = None) -> None: ...

    def is_revoked(self, principal: Principal) -> bool: ...


def _keys(principal: Principal) -> list[str]:
    keys = [user_key(principal.user_id)]
    if principal.session_id:
        keys.append(_session(principal.session_id))
    if principal.token_id:
        keys.append(_token(principal.token_id))
    return keys


def _revoked_by(items: dict[str, dict[str, Any]], principal: Principal) -> bool:
    for key, item in items.items():
        if key.startswith(USER_PREFIX):
            if principal.issued_at <= int(item.get("revoked_before", 0)):
                return True
        else:
            return True
    return False


class DynamoRevocationStore(DynamoTable):
    def __init__(self, table_name: str, clock: Callable[[], float] = time.time):
        super().__init__(table_name)
        self._clock = clock

    def _put(self, pk: str, **attrs: Any) -> None:
        now = int(self._clock())
        self._table.put_item(Item={"pk": pk, "expires_at": now + RETENTION_SECONDS, **attrs})

    def revoke_session(self, principal: Principal) -> None:
        self._put(session_key(principal))

    def revoke_user_tokens(self, user_id: str, before: int | None = None) -> None:
        self._put(user_key(user_id), revoked_before=int(before if before is not None else self._clock()))

    def is_revoked(self, principal: Principal) -> bool:
        from agri_common.platform.aws import client

        keys = _keys(principal)
        resp = client("dynamodb").batch_get_item(
            RequestItems={self.table_name: {"Keys": [{"pk": {"S": k}} for k in keys], "ConsistentRead": True}}
        )
        items = {}
        for raw in resp.get("Responses", {}).get(self.table_name, []):
            items[raw["pk"]["S"]] = {
                "revoked_before": int(raw["revoked_before"]["N"]) if "revoked_before" in raw else 0
            }
        return _revoked_by(items, principal)


class InMemoryRevocationStore:
    """Fake for unit tests: same semantics, no network."""

    def __init__(self, clock: Callable[[], float] = time.time):
        self.items: dict[str, dict[str, Any]] = {}
        self._clock = clock

    def revoke_session(self, principal: Principal) -> None:
        self.items[session_key(principal)] = {}

    def revoke_user_tokens(self, user_id: str, before: int | None = None) -> None:
        self.items[user_key(user_id)] = {"revoked_before": int(before if before is not None else self._clock())}

    def is_revoked(self, principal: Principal) -> bool:
        found = {k: self.items[k] for k in _keys(principal) if k in self.items}
        return _revoked_by(found, principal)


class RevocationSettings(BaseSettingsModel):
    revocation_table: str


@lru_cache(maxsize=1)
def revocation_store() -> DynamoRevocationStore:
    """The revocation store of an API function (``$REVOCATION_TABLE``), built on first use: every
    API handler passes it to ``make_handler`` (as its module's ``_revocation``, which tests swap)."""
    from agri_common.platform.settings import load_settings

    return DynamoRevocationStore(load_settings(RevocationSettings).revocation_table)

"""Server-side TOTP enrolment sessions (docs/decisions/0015-mfa-and-profile-claiming.md).

Enrolling an authenticator at Cognito needs the user's *access token* twice (AssociateSoftwareToken,
then VerifySoftwareToken). When an admin or auditor logs in without TOTP, we must not hand them
tokens, so we keep the access token here and give the client an opaque session instead: 256 random
bits, stored only as its SHA-256, valid :data:`SESSION_SECONDS`, deleted when enrolment succeeds
(single use), and dropped after :data:`MAX_ATTEMPTS` wrong codes.

Items live in the revocation table (it already has a TTL on ``expires_at``) under ``mfa#<sha256>``;
the auth function's extra rights on that table are limited to those keys (infra/domain_constructs/auth.py).
"""

from __future__ import annotations

import hashlib
import secrets
import time
from collections.abc import Callable
from typing import Any, Protocol

from pydantic import BaseModel

from agri_common.platform.aws import DynamoTable

SESSION_SECONDS = 600  # time to install an authenticator app and scan the code
MAX_ATTEMPTS = 5
KEY_PREFIX = "mfa#"


class MfaSession(BaseModel):
    username: str
    user_id: str | None = None
    access_token: str
    refresh_token: str | None = None  # the password login's refresh token, revoked once enrolment succeeds
    expires_at: int
    attempts: int = 0


def new_session_id() -> str:
    return secrets.token_urlsafe(32)


def session_key(session_id: str) -> str:
    """The one key builder of an enrolment session: by the SHA-256 of the opaque id, never the id."""
    return KEY_PREFIX + hashlib.sha256(session_id.encode()).hexdigest()


class MfaSessionStore(Protocol):
    def put(self, session_id: str, session: MfaSession) -> None: ...

    def get(self, session_id: str) -> MfaSession | None:
        """The live session (None when unknown, used, expired or out of attempts)."""
        ...

    def record_failure(self, session_id: str) -> int:
        """Count one wrong code; returns the attempts left (0: the session is gone)."""
        ...

    def delete(self, session_id: str) -> bool:
        """Use the session up; False when it was already gone (a replay racing this one)."""
        ...


class DynamoMfaSessionStore(DynamoTable):
    def __init__(self, table_name: str, clock: Callable[[], float] = time.time):
        super().__init__(table_name)
        self._clock = clock

    def put(self, session_id: str, session: MfaSession) -> None:
        self._table.put_item(Item={"pk": session_key(session_id), **session.model_dump(exclude_none=True)})

    def get(self, session_id: str) -> MfaSession | None:
        item: dict[str, Any] | None = self._table.get_item(
            Key={"pk": session_key(session_id)}, ConsistentRead=True
        ).get("Item")
        if not item:
            return None
        session = MfaSession.model_validate({k: v for k, v in item.items() if k != "pk"})
        if session.expires_at <= int(self._clock()) or session.attempts >= MAX_ATTEMPTS:
            return None
        return session

    def record_failure(self, session_id: str) -> int:
        from botocore.exceptions import ClientError

        try:
            resp = self._table.update_item(
                Key={"pk": session_key(session_id)},
                UpdateExpression="ADD attempts :one",
                ConditionExpression="attribute_exists(pk)",
                ExpressionAttributeValues={":one": 1},
                ReturnValues="UPDATED_NEW",
            )
        except ClientError as exc:
            self._raise_if_busy(exc)
            if exc.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException":
                return 0
            raise
        left = MAX_ATTEMPTS - int(resp["Attributes"]["attempts"])
        if left <= 0:
            self.delete(session_id)
        return max(left, 0)

    def delete(self, session_id: str) -> bool:
        from botocore.exceptions import ClientError

        try:
            self._table.delete_item(Key={"pk": session_key(session_id)}, ConditionExpression="attribute_exists(pk)")
        except ClientError as exc:
            self._raise_if_busy(exc)
            if exc.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException":
                return False
            raise
        return True


class InMemoryMfaSessionStore:
    """The same rules without a network (unit tests)."""

    def __init__(self, clock: Callable[[], float] = time.time):
        self.items: dict[str, MfaSession] = {}
        self._clock = clock

    def put(self, session_id: str, session: MfaSession) -> None:
        self.items[session_key(session_id)] = session

    def get(self, session_id: str) -> MfaSession | None:
        session = self.items.get(session_key(session_id))
        if session is None or session.expires_at <= int(self._clock()) or session.attempts >= MAX_ATTEMPTS:
            return None
        return session

    def record_failure(self, session_id: str) -> int:
        key = session_key(session_id)
        session = self.items.get(key)
        if session is None:
            return 0
        session.attempts += 1
        left = MAX_ATTEMPTS - session.attempts
        if left <= 0:
            del self.items[key]
        return max(left, 0)

    def delete(self, session_id: str) -> bool:
        return self.items.pop(session_key(session_id), None) is not None

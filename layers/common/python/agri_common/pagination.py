"""Opaque pagination tokens: base64url JSON, validated on the way back in (400 if tampered)."""

from __future__ import annotations

import base64
import json
from typing import Any

from agri_common.errors import BadRequestError


def encode_token(value: Any) -> str | None:
    if value is None:
        return None
    raw = json.dumps(value, separators=(",", ":"), sort_keys=True).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_token(token: str | None) -> Any:
    if not token:
        return None
    try:
        padded = token + "=" * (-len(token) % 4)
        return json.loads(base64.urlsafe_b64decode(padded.encode()))
    except (ValueError, TypeError) as exc:
        raise BadRequestError("Invalid pagination token", code="invalid_next_token") from exc

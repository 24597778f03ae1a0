"""Domain errors and the one JSON error envelope every route answers with.

Envelope (every 4xx/5xx)::

    {"error": {"code": "validation_error", "message": "...", "request_id": "...",
               "details": [{"field": "body.password", "issue": "...", "type": "string_too_short"}]}}

``code`` is stable and machine-readable; ``details`` is present for validation errors.
"""

from __future__ import annotations

from typing import Any


class AppError(Exception):
    """Base class: an error with an HTTP status and a stable machine code."""

    status: int = 500
    code: str = "internal_error"

    def __init__(self, message: str, *, code: str | None = None, details: list[dict[str, Any]] | None = None):
        super().__init__(message)
        self.message = message
        if code:
            self.code = code
        self.details = details


class BadRequestError(AppError):
    status, code = 400, "bad_request"


class UnauthorizedError(AppError):
    status, code = 401, "unauthorized"


class ForbiddenError(AppError):
    status, code = 403, "forbidden"


class NotFoundError(AppError):
    status, code = 404, "not_found"


class ConflictError(AppError):
    status, code = 409, "conflict"


class PayloadTooLargeError(AppError):
    status, code = 413, "payload_too_large"


class UnprocessableError(AppError):
    status, code = 422, "validation_error"


class TooManyRequestsError(AppError):
    status, code = 429, "too_many_requests"


class DependencyError(AppError):
    """An upstream service failed (not the client's fault)."""

    status, code = 503, "service_unavailable"


def envelope(code: str, message: str, request_id: str | None, details: list[dict[str, Any]] | None = None) -> dict:
    body: dict[str, Any] = {"code": code, "message": message, "request_id": request_id}
    if details:
        body["details"] = details
    return {"error": body}


def validation_details(errors: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Turn pydantic/Powertools validation errors into field-level details."""
    details = []
    for err in errors:
        loc = [str(p) for p in err.get("loc", ()) if p != ""]
        details.append({"field": ".".join(loc) or "body", "issue": err.get("msg", "invalid"), "type": err.get("type", "invalid")})
    return details


# ---- the envelope as a model, for the OpenAPI document ---------------------------------------
from pydantic import BaseModel  # noqa: E402


class ErrorDetail(BaseModel):
    field: str
    issue: str
    type: str


class ErrorBody(BaseModel):
    code: str
    message: str
    request_id: str | None = None
    details: list[ErrorDetail] | None = None


class ErrorEnvelope(BaseModel):
    error: ErrorBody

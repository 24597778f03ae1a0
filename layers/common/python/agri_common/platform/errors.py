"""Domain errors and the one JSON error envelope every route answers with.

Envelope (every 4xx/5xx)::

    {"error": {"code": "validation_error", "message": "...", "request_id": "...",
               "details": [{"field": "body.password", "issue": "...", "type": "string_too_short"}]}}

``code`` is stable and machine-readable; ``details`` is present for validation errors.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from typing_extensions import TypedDict  # pydantic needs this one on Python < 3.12


class Detail(TypedDict):
    """One entry of ``details``: every one has these three strings (the envelope's schema,
    ``ErrorDetail`` below). Typed so that mypy refuses a detail with a missing or misspelt key; a
    domain that adds context subclasses it (e.g. ``functions/farmers/logic_plots.py``)."""

    field: str
    issue: str
    type: str


class AppError(Exception):
    """Base class: an error with an HTTP status and a stable machine code."""

    status: int = 500
    code: str = "internal_error"

    def __init__(self, message: str, *, code: str | None = None, details: Sequence[Detail] | None = None):
        super().__init__(message)
        self.message = message
        if code:
            self.code = code
        self.details: list[Detail] | None = list(details) if details else None


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


class UnsupportedMediaTypeError(AppError):
    status, code = 415, "unsupported_media_type"


class UnprocessableError(AppError):
    status, code = 422, "validation_error"


class TooManyRequestsError(AppError):
    status, code = 429, "too_many_requests"


class DependencyError(AppError):
    """An upstream service failed (not the client's fault)."""

    status, code = 503, "service_unavailable"


# ---- AWS throttling and unavailability: one mapping for every domain ---------------------------
# Error codes AWS services answer when they are busy (throttled) or failing on their side. Not the
# caller's fault and not a bug of ours: 503 ``service_unavailable`` (retry later), never a 500.
AWS_THROTTLING_CODES = frozenset(
    {
        "ProvisionedThroughputExceededException",
        "ThrottlingException",
        "Throttling",
        "ThrottledException",
        "RequestLimitExceeded",
        "RequestThrottled",
        "RequestThrottledException",
        "TooManyRequestsException",
        "SlowDown",
        "LimitExceededException",
        "BandwidthLimitExceeded",
        "EC2ThrottledException",
    }
)
AWS_UNAVAILABLE_CODES = frozenset(
    {
        "InternalServerError",
        "InternalServerErrorException",
        "InternalFailure",
        "InternalError",
        "ServiceUnavailable",
        "ServiceUnavailableException",
        "ServiceException",
        "RequestTimeout",
        "RequestTimeoutException",
        "PriorRequestNotComplete",
    }
)
# Reasons of a cancelled DynamoDB transaction that mean "busy", not "your condition failed".
AWS_TRANSACTION_BUSY_REASONS = frozenset({"ThrottlingError", "ProvisionedThroughputExceeded", "RequestLimitExceeded"})
SERVICE_UNAVAILABLE_MESSAGE = "A service this request depends on is busy or unavailable; retry shortly"


def aws_error_code(exc: BaseException) -> str:
    """The AWS error code of a botocore ``ClientError`` (or anything shaped like one), else ''."""
    response = getattr(exc, "response", None)
    if not isinstance(response, dict):
        return ""
    return str((response.get("Error") or {}).get("Code") or "")


def aws_unavailable(exc: BaseException) -> DependencyError | None:
    """A 503 :class:`DependencyError` when ``exc`` is AWS throttling or unavailability, else None.

    Recognised: the throttling/unavailable error codes above, any AWS answer with an HTTP 5xx
    status, a cancelled transaction whose reasons are throttling, and botocore's connection and
    HTTP client errors (endpoint unreachable, connect/read timeouts, connection closed). Anything
    else (a validation error of ours, missing credentials) stays what it is: a bug, answered 500.
    Costs no import: a botocore exception can exist only once botocore has been imported. The AWS
    code is logged by the caller, not shown to the client.
    """
    import sys

    code = aws_error_code(exc)
    if code:
        response: dict[str, Any] = getattr(exc, "response", {})  # a botocore ClientError (it has a code)
        status = (response.get("ResponseMetadata") or {}).get("HTTPStatusCode")
        reasons = {str((r or {}).get("Code")) for r in (response.get("CancellationReasons") or [])}
        busy = (
            code in AWS_THROTTLING_CODES
            or code in AWS_UNAVAILABLE_CODES
            or (isinstance(status, int) and 500 <= status <= 599)
            or (code == "TransactionCanceledException" and bool(reasons & AWS_TRANSACTION_BUSY_REASONS))
        )
        return DependencyError(SERVICE_UNAVAILABLE_MESSAGE) if busy else None
    botocore = sys.modules.get("botocore.exceptions")
    if botocore is not None and isinstance(exc, (botocore.ConnectionError, botocore.HTTPClientError)):
        return DependencyError(SERVICE_UNAVAILABLE_MESSAGE)
    return None


def envelope(
    code: str, message: str, request_id: str | None, details: Sequence[Detail] | None = None
) -> dict[str, Any]:
    body: dict[str, Any] = {"code": code, "message": message, "request_id": request_id}
    if details:
        body["details"] = list(details)
    return {"error": body}


# pydantic names the branch of a union that failed by its schema ("function-after[max_length_validator(),
# ...]" for a constrained text type): internals, not a field, so they are left out of the path.
_SCHEMA_TAG = re.compile(r"^function-(?:after|before|wrap|plain)\[")


def validation_details(errors: list[dict[str, Any]]) -> list[Detail]:
    """Turn pydantic/Powertools validation errors into field-level details."""
    details: list[Detail] = []
    for err in errors:
        loc = [str(p) for p in err.get("loc", ()) if p != "" and not _SCHEMA_TAG.match(str(p))]
        details.append(
            Detail(
                field=".".join(loc) or "body",
                issue=str(err.get("msg", "invalid")),
                type=str(err.get("type", "invalid")),
            )
        )
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

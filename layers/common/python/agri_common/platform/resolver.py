"""The one way every agri-mrv function builds its HTTP resolver and Lambda entry point.

- ``make_resolver()``: an ``APIGatewayRestResolver`` with ``enable_validation=True`` and exception
  handlers that turn every error into the JSON envelope of :mod:`agri_common.platform.errors`.
- ``make_handler(app, ...)``: the Lambda entry point. Before routing it checks the body size, builds
  the principal from the authorizer's claims, refuses revoked tokens (401) and callers outside the
  function's roles (403), applies the one body rule of :mod:`agri_common.platform.body` (UTF-8 JSON object,
  415/400/422 otherwise), then resolves the route with Logger/Metrics/Tracer wired once.
- AWS throttling or unavailability anywhere (a store, Cognito, S3, the revocation check) answers 503
  ``service_unavailable`` through :func:`agri_common.platform.errors.aws_unavailable`: one mapping, every domain.
- ``PRIVATE``: the OpenAPI security requirement a private route declares. A route without it is
  public: API Gateway gets no authorizer for it (see infra/routes.py), so it is a deliberate choice,
  and the infrastructure tests compare the public set with an explicit allow-list.
- ``API_KEY``: the security requirement of a route open to integrators without an account (the
  public registry view): no authorizer, but API Gateway requires an API key (``x-api-key``) and
  meters it with the key's usage plan (docs/decisions/0016-integrator-api-keys-and-registry.md).
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterable, Sequence
from re import Match
from typing import Any
from urllib.parse import unquote

from aws_lambda_powertools.event_handler import APIGatewayRestResolver, CORSConfig, Response
from aws_lambda_powertools.event_handler.exceptions import ServiceError
from aws_lambda_powertools.event_handler.openapi.exceptions import RequestValidationError
from aws_lambda_powertools.logging import correlation_paths

from agri_common.platform import activity
from agri_common.platform.body import parse_object, read_body
from agri_common.platform.errors import (
    SERVICE_UNAVAILABLE_MESSAGE,
    AppError,
    DependencyError,
    Detail,
    PayloadTooLargeError,
    UnauthorizedError,
    aws_error_code,
    aws_unavailable,
    envelope,
    validation_details,
)
from agri_common.platform.observability import logger, metrics, tracer
from agri_common.platform.principal import Principal, Role, principal_from_claims, require_role

SECURITY_SCHEME = "CognitoUserPool"
PRIVATE: list[dict[str, list[str]]] = [{SECURITY_SCHEME: []}]
API_KEY_SCHEME = "ApiKey"
API_KEY_HEADER = "x-api-key"
API_KEY: list[dict[str, list[str]]] = [{API_KEY_SCHEME: []}]
DEFAULT_MAX_BODY_BYTES = 1_048_576
_CONTENT_TYPE = "application/json"


def _cors_origins() -> list[str]:
    raw = os.environ.get("CORS_ORIGINS", "")
    return [o.strip() for o in raw.split(",") if o.strip()] or ["*"]


def _cors_config() -> CORSConfig:
    origins = _cors_origins()
    return CORSConfig(
        allow_origin=origins[0],
        extra_origins=origins[1:] or None,
        max_age=600,
        allow_headers=["Authorization", "Content-Type", "Idempotency-Key", "X-Api-Key"],
    )


def _request_id(event: dict[str, Any] | None) -> str | None:
    if not event:
        return None
    return (event.get("requestContext") or {}).get("requestId")


def error_response(
    status: int, code: str, message: str, request_id: str | None, details: Sequence[Detail] | None = None
) -> Response[str]:
    return Response(
        status_code=status, content_type=_CONTENT_TYPE, body=json.dumps(envelope(code, message, request_id, details))
    )


API_TITLE = "agri-mrv API"
API_VERSION = "0.1.0"


def security_schemes() -> dict[str, Any]:
    from aws_lambda_powertools.event_handler.openapi.models import APIKey, APIKeyIn

    return {
        SECURITY_SCHEME: APIKey.model_validate(
            {
                "name": "Authorization",
                "in": APIKeyIn.header,
                "description": "The Cognito ID token from /auth/login, sent as is (no 'Bearer' prefix)",
            }
        ),
        API_KEY_SCHEME: APIKey.model_validate(
            {
                "name": API_KEY_HEADER,
                "in": APIKeyIn.header,
                "description": "An integrator API key (POST /admin/api-keys), metered by its usage plan "
                "(throttle and quota per key)",
            }
        ),
    }


def openapi_json(app: APIGatewayRestResolver) -> str:
    """The resolver's OpenAPI document. The schemes are built here, not at import: the OpenAPI
    models cost about 75 ms of cold start that no request needs."""
    return app.get_openapi_json_schema(title=API_TITLE, version=API_VERSION, security_schemes=security_schemes())


_PARSED_BODY = "_agri_parsed_body"


class _Resolver(APIGatewayRestResolver):
    """Path parameters percent-decoded, as API Gateway decodes ``pathParameters``.

    A REST proxy event keeps ``path`` as the client sent it (``/admin/users/demo%2Dfarmer``) and
    Powertools takes route arguments from that raw path; without this a percent-encoded id (any
    client may encode any character) would reach the handler undecoded and fail its pattern.
    """

    def _convert_matches_into_route_keys(self, match: Match[str]) -> dict[str, str]:
        return {name: unquote(value) for name, value in match.groupdict().items()}


def make_resolver() -> APIGatewayRestResolver:
    app: APIGatewayRestResolver

    def deserialize(text: str) -> Any:
        """The body Powertools validates: the object make_handler already parsed (same text), else
        parsed here with the same rule (a resolver used without make_handler)."""
        parsed = app.context.get(_PARSED_BODY)
        if parsed is not None and parsed[0] is text:
            return parsed[1]
        return parse_object(text)

    app = _Resolver(enable_validation=True, cors=_cors_config(), json_body_deserializer=deserialize)

    def rid() -> str | None:
        return _request_id(app.current_event.raw_event if app.current_event else None)

    def _validation(exc: RequestValidationError) -> Response[str]:
        errors = list(exc.errors())
        if any(e.get("type") == "json_invalid" for e in errors):
            return error_response(
                400, "malformed_json", "The request body is not valid JSON", rid(), validation_details(errors)
            )
        return error_response(422, "validation_error", "The request is invalid", rid(), validation_details(errors))

    def _app_error(exc: AppError) -> Response[str]:
        if exc.status >= 500:
            logger.warning("dependency failure", extra={"code": exc.code, "error": exc.message})
        return error_response(exc.status, exc.code, exc.message, rid(), exc.details)

    def _service_error(exc: ServiceError) -> Response[str]:
        message = exc.msg if isinstance(exc.msg, str) else json.dumps(exc.msg)
        return error_response(exc.status_code, "http_error", message, rid())

    @app.not_found
    def _not_found(exc: Exception) -> Response[str]:
        return error_response(404, "route_not_found", "No such route", rid())

    def _unexpected(exc: Exception) -> Response[str]:
        busy = aws_unavailable(exc)
        if busy is not None:
            logger.warning("AWS busy or unavailable", extra={"aws_code": aws_error_code(exc) or type(exc).__name__})
            metrics.add_metric(name="DependencyUnavailable", unit="Count", value=1)
            return error_response(busy.status, busy.code, busy.message, rid())
        logger.exception("unhandled error")
        metrics.add_metric(name="UnhandledErrors", unit="Count", value=1)
        return error_response(500, "internal_error", "Internal error", rid())

    # registered by call, not as decorators: Powertools' exception_handler is untyped, and a
    # decorator would erase these functions' types
    app.exception_handler(RequestValidationError)(_validation)
    app.exception_handler(AppError)(_app_error)
    app.exception_handler(ServiceError)(_service_error)
    app.exception_handler(Exception)(_unexpected)
    return app


def current_principal(app: APIGatewayRestResolver) -> Principal:
    """The authenticated caller of the current request, or 401."""
    principal: Principal | None = app.context.get("principal")
    if principal is None:
        raise UnauthorizedError("Authentication required")
    return principal


def _pre_route_error(event: dict[str, Any], exc: AppError) -> dict[str, Any]:
    """A response for errors raised before routing, with the same envelope and CORS headers."""
    headers = {"Content-Type": _CONTENT_TYPE}
    origin = (event.get("headers") or {}).get("origin") or (event.get("headers") or {}).get("Origin")
    allowed = _cors_origins()
    if "*" in allowed:
        headers["Access-Control-Allow-Origin"] = "*"
    elif origin in allowed:
        headers["Access-Control-Allow-Origin"] = origin
        headers["Vary"] = "Origin"
    return {
        "statusCode": exc.status,
        "headers": headers,
        "isBase64Encoded": False,
        "body": json.dumps(envelope(exc.code, exc.message, _request_id(event), exc.details)),
    }


def make_handler(
    app: APIGatewayRestResolver,
    *,
    roles: Iterable[Role] | None = None,
    revocation: Callable[[], Any] | None = None,
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
) -> Callable[[dict[str, Any], Any], dict[str, Any]]:
    """Build the Lambda entry point for ``app``.

    ``roles``: if given, every authenticated request must come from one of them (403 otherwise).
    ``revocation``: a factory returning the :class:`RevocationStore` to consult (401 if revoked).
    """
    allowed_roles = tuple(roles) if roles else ()

    @logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST, clear_state=True)
    @metrics.log_metrics
    @tracer.capture_lambda_handler
    def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
        app.context.clear()  # Resolver.clear_context, which is untyped
        try:
            recording = activity.begin_request(app, event, context)
        except Exception as exc:  # the intent could not be written: nothing may run unrecorded
            logger.exception("activity intent not written; request refused")
            return _pre_route_error(event, aws_unavailable(exc) or _log_unavailable())
        try:
            response = _handle(event, context, recording)
        except BaseException as exc:
            activity.abandon(recording, exc)
            raise
        activity.finish_request(recording, response)
        return response

    def _handle(event: dict[str, Any], context: Any, recording: activity.Recording | None) -> dict[str, Any]:
        try:
            if _body_size(event) > max_body_bytes:
                raise PayloadTooLargeError(f"The request body exceeds {max_body_bytes} bytes")
            claims = ((event.get("requestContext") or {}).get("authorizer") or {}).get("claims")
            principal = None
            if claims:
                principal = principal_from_claims(claims)
                if revocation is not None and revocation().is_revoked(principal):
                    raise UnauthorizedError("The token has been revoked", code="token_revoked")
                if allowed_roles:
                    require_role(principal, *allowed_roles)
            text, parsed = read_body(event)
            event = _routable_event(event, text)
        except AppError as exc:
            return _pre_route_error(event, exc)
        except Exception as exc:  # the revocation check reached DynamoDB: busy is a 503, anything else a bug
            busy = aws_unavailable(exc)
            if busy is None:
                raise
            logger.warning("AWS busy or unavailable", extra={"aws_code": aws_error_code(exc) or type(exc).__name__})
            return _pre_route_error(event, busy)
        if principal is not None:
            logger.append_keys(user_id=principal.user_id, role=principal.role.value)
            app.context["principal"] = principal
        if parsed is not None:
            app.context[_PARSED_BODY] = (text, parsed)
            activity.set_body(recording, parsed)
        return app.resolve(event, context)

    return lambda_handler


def _log_unavailable() -> AppError:
    return DependencyError(SERVICE_UNAVAILABLE_MESSAGE)


def _body_size(event: dict[str, Any]) -> int:
    """The body's size in bytes as sent, without decoding it (base64: 3 bytes per 4 characters, less
    the padding, so a body of exactly the limit passes whether API Gateway sent it as text or base64:
    with every media type binary, decision 0019, every body arrives base64)."""
    raw = event.get("body") or ""
    if isinstance(raw, (bytes, bytearray)):
        return len(raw)
    if not isinstance(raw, str):
        return 0
    if event.get("isBase64Encoded"):
        padding = min(2, len(raw) - len(raw.rstrip("=")))
        return len(raw) * 3 // 4 - padding
    return len(raw.encode("utf-8", "surrogatepass"))


def _routable_event(event: dict[str, Any], text: str) -> dict[str, Any]:
    """The event Powertools resolves: the body as checked UTF-8 text (never base64 again) and the
    Content-Type it expects (every accepted body is JSON; ``+json`` types and upper case included)."""
    headers = {k: v for k, v in (event.get("headers") or {}).items() if str(k).lower() != "content-type"}
    headers["Content-Type"] = "application/json"
    routable = {**event, "headers": headers, "body": text or None, "isBase64Encoded": False}
    if event.get("multiValueHeaders"):
        multi = {k: v for k, v in event["multiValueHeaders"].items() if str(k).lower() != "content-type"}
        routable["multiValueHeaders"] = {**multi, "Content-Type": ["application/json"]}
    return routable

"""API Gateway's payload encoding for a REST API, as the twin's front applies it (decision 0019).

API Gateway (REST, v1) decides from the API's ``binaryMediaTypes`` whether a payload is text or
binary; the twin reads that list from the template's ``AWS::ApiGateway::RestApi`` and applies the
documented rules, so a download that would reach a client as base64 text on AWS does so here too:

- **Request, Lambda proxy.** A body whose ``Content-Type`` (the media type, parameters dropped; no
  header counts as ``application/json``, API Gateway's default) matches a binary media type is
  passed base64-encoded with ``isBase64Encoded: true``; any other body as UTF-8 text with
  ``isBase64Encoded: false``.
  https://docs.aws.amazon.com/apigateway/latest/developerguide/api-gateway-payload-encodings-workflow.html
  (request table), https://docs.aws.amazon.com/apigateway/latest/developerguide/integration-passthrough-behaviors.html
  (no Content-Type: "API Gateway defaults to application/json").
- **Response, Lambda proxy.** A function result with ``isBase64Encoded: true`` is decoded to bytes
  only when the request's **first** ``Accept`` media type matches a binary media type; otherwise the
  client receives the base64 text itself (with the function's ``Content-Type``). A text result is
  sent as UTF-8 whatever the ``Accept``.
  https://docs.aws.amazon.com/apigateway/latest/developerguide/api-gateway-payload-encodings.html
  ("API Gateway uses the first Accept header from clients to determine if a response should return
  binary media"), https://docs.aws.amazon.com/apigateway/latest/developerguide/lambda-proxy-binary-media.html
- **Mock integrations (CORS preflight).** A request whose content type matches a binary media type
  reaches a MOCK integration as binary, which its request template cannot transform: API Gateway
  answers 500 (``API_CONFIGURATION_ERROR``, "Unable to transform request") unless the integration's
  ``ContentHandling`` is ``CONVERT_TO_TEXT``. This is how ``binaryMediaTypes: ["*/*"]`` breaks every
  CORS preflight on AWS (reported, not in AWS's documentation: aws/chalice#1310,
  aws/serverless-application-model#553, squidfunk/terraform-aws-api-gateway-enable-cors#10).

Matching: a binary media type is ``type/subtype`` where either part may be ``*`` (``*/*`` matches
every media type, ``image/*`` every image); an ``Accept`` wildcard is not expanded (curl's
``Accept: */*`` matches ``*/*`` only, not ``application/pdf``), and no ``Accept`` header matches
nothing. Case-insensitive.

What AWS does with bytes that are not UTF-8 under a *text* media type is not documented; the twin
replaces them with U+FFFD. With ``*/*`` (our API) every request body is binary, so ours never meets it.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from typing import Any

DEFAULT_CONTENT_TYPE = "application/json"
CONVERT_TO_TEXT = "CONVERT_TO_TEXT"


def first_media_type(header: str | None) -> str | None:
    """The first media type of a header value (``Accept`` lists several), lower case, without
    parameters; None for an absent or empty header."""
    if not header:
        return None
    first = header.split(",", 1)[0].split(";", 1)[0].strip().lower()
    return first or None


def _header(headers: dict[str, str], name: str) -> str | None:
    wanted = name.lower()
    return next((v for k, v in headers.items() if k.lower() == wanted), None)


@dataclass(frozen=True)
class BinaryMediaTypes:
    """The REST API's ``binaryMediaTypes`` and API Gateway's rules over them (module docstring)."""

    patterns: tuple[str, ...] = ()

    @classmethod
    def from_template(cls, template: dict[str, Any]) -> BinaryMediaTypes:
        found: list[str] = []
        for res in (template.get("Resources") or {}).values():
            if res.get("Type") == "AWS::ApiGateway::RestApi":
                types = (res.get("Properties") or {}).get("BinaryMediaTypes") or []
                found.extend(str(t).replace("~1", "/") for t in types)  # CloudFormation's escaped '/'

        return cls(tuple(found))

    def matches(self, media_type: str | None) -> bool:
        """Whether ``media_type`` (already the first type, lower case) is binary for this API."""
        if not media_type or "/" not in media_type:
            return False
        kind, _, sub = media_type.partition("/")
        for pattern in self.patterns:
            p_kind, _, p_sub = pattern.split(";", 1)[0].strip().lower().partition("/")
            if p_kind in ("*", kind) and p_sub in ("*", sub):
                return True
        return False

    # ---- the request ------------------------------------------------------------------------------
    def request_media_type(self, headers: dict[str, str]) -> str:
        return first_media_type(_header(headers, "Content-Type")) or DEFAULT_CONTENT_TYPE

    def request_is_binary(self, headers: dict[str, str]) -> bool:
        return self.matches(self.request_media_type(headers))

    def proxy_request_body(self, headers: dict[str, str], body: bytes) -> tuple[str | None, bool]:
        """(event ``body``, ``isBase64Encoded``) of a Lambda proxy event for this request body."""
        if not body:
            return None, False
        if self.request_is_binary(headers):
            return base64.b64encode(body).decode("ascii"), True
        return body.decode("utf-8", errors="replace"), False

    def mock_refuses(self, headers: dict[str, str], content_handling: str | None) -> bool:
        """Whether a MOCK integration (our CORS preflight) fails with API_CONFIGURATION_ERROR."""
        return content_handling != CONVERT_TO_TEXT and self.request_is_binary(headers)

    # ---- the response -----------------------------------------------------------------------------
    def accepts_binary(self, headers: dict[str, str]) -> bool:
        return self.matches(first_media_type(_header(headers, "Accept")))

    def proxy_response_body(self, result: dict[str, Any], request_headers: dict[str, str]) -> bytes:
        """The bytes the client receives for a Lambda proxy result's ``body``.

        Raises ValueError for a result marked base64 whose body is not base64 (API Gateway answers
        502 for a malformed proxy response)."""
        body = result.get("body") or ""
        if not isinstance(body, str):
            raise ValueError("the proxy response body is not a string")
        if result.get("isBase64Encoded") and self.accepts_binary(request_headers):
            try:
                return base64.b64decode(body, validate=True)
            except (binascii.Error, ValueError) as exc:
                raise ValueError("the proxy response body is marked base64 but is not base64") from exc
        return body.encode("utf-8")

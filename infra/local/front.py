"""The local API Gateway: HTTP requests -> REST proxy events for our handlers, and back.

Routes, authorizers, gateway responses, CORS preflight and stage throttling all come from the
synthesized template. Private routes verify the Cognito ID token against the user pool's JWKS (as
the Cognito authorizer does: signature, issuer, audience, expiry, ``token_use == id``) and pass the
claims the way API Gateway's REST Cognito authorizer does: every value a string, lists
comma-joined, time claims rendered as dates.
"""

from __future__ import annotations

import base64
import json
import os
import threading
import time
import traceback
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Protocol
from urllib.parse import parse_qs, unquote

from infra.local.content import BinaryMediaTypes
from infra.local.lambdas import LocalFunction
from infra.local.template import GatewayResponse, RouteSpec

MAX_PAYLOAD = 10 * 1024 * 1024  # API Gateway REST limit
DEFAULT_STATUS = {
    "UNAUTHORIZED": 401,
    "ACCESS_DENIED": 403,
    "MISSING_AUTHENTICATION_TOKEN": 403,
    "THROTTLED": 429,
    "INVALID_API_KEY": 403,
    "QUOTA_EXCEEDED": 429,
    "REQUEST_TOO_LARGE": 413,
    "INTEGRATION_FAILURE": 502,
    "API_CONFIGURATION_ERROR": 500,
    "DEFAULT_4XX": 400,
    "DEFAULT_5XX": 502,
}
TIME_CLAIMS = ("iat", "exp", "auth_time")
API_KEY_MESSAGES = {
    "INVALID_API_KEY": "Forbidden",
    "THROTTLED": "Too Many Requests",
    "QUOTA_EXCEEDED": "Limit Exceeded",
}


class ApiKeyCheck(Protocol):
    """infra/local/api_keys.ApiKeyGate: None lets a request through, else the gateway response type."""

    def check(self, headers: dict[str, str]) -> str | None: ...


class CognitoVerifier:
    """Verifies ID tokens of one user pool, as API Gateway's Cognito authorizer does."""

    def __init__(self, jwks_url: str, issuer: str, audiences: list[str]):
        import jwt

        self._jwt = jwt
        self._jwks = jwt.PyJWKClient(jwks_url, cache_keys=True)
        self.issuer = issuer
        self.audiences = audiences

    def verify(self, token: str) -> dict[str, Any] | None:
        jwt = self._jwt
        try:
            key = self._jwks.get_signing_key_from_jwt(token)
            claims = jwt.decode(
                token,
                key.key,
                algorithms=["RS256"],
                audience=self.audiences,
                issuer=self.issuer,
                options={"require": ["exp", "iat", "sub", "aud", "iss"]},
            )
        except jwt.PyJWTError:
            return None
        return claims if claims.get("token_use") == "id" else None


def rest_authorizer_claims(claims: dict[str, Any]) -> dict[str, str]:
    out = {}
    for key, value in claims.items():
        if isinstance(value, list):
            out[key] = ",".join(str(v) for v in value)
        elif key in TIME_CLAIMS and isinstance(value, (int, float)):
            out[key] = datetime.fromtimestamp(value, tz=UTC).strftime("%a %b %d %H:%M:%S UTC %Y")
        else:
            out[key] = str(value)
    return out


class TokenBucket:
    def __init__(self, rate: float | None, burst: int | None, clock: Callable[[], float] = time.monotonic):
        self.rate, self.capacity = rate, burst
        self.clock = clock
        self.tokens = float(burst or 0)
        self.updated = clock()
        self._lock = threading.Lock()

    def take(self) -> bool:
        if self.rate is None or self.capacity is None:
            return True
        with self._lock:
            now = self.clock()
            self.tokens = min(self.capacity, self.tokens + (now - self.updated) * self.rate)
            self.updated = now
            if self.tokens >= 1:
                self.tokens -= 1
                return True
            return False


@dataclass
class HttpResponse:
    status: int
    headers: dict[str, str]
    body: bytes


def proxy_event(
    resource_path: str,
    method: str,
    path: str,
    *,
    query: str = "",
    headers: dict[str, str] | None = None,
    body: bytes = b"",
    params: dict[str, str] | None = None,
    claims: dict[str, str] | None = None,
    request_id: str | None = None,
    source_ip: str = "127.0.0.1",
    stage: str = "dev",
    binary: BinaryMediaTypes | None = None,
    request_path: str | None = None,
) -> dict:
    """An API Gateway REST (v1) Lambda proxy event, as API Gateway builds it.

    ``binary``: the API's binary media types, which decide the body's encoding as API Gateway does
    (infra/local/content.py; the front always passes them). Without them (tests building an event by
    hand) a UTF-8 body is passed as text and any other as base64. ``request_path``: the path the
    client sent (``requestContext.path``; by default the stage prefix and ``path``, as on AWS)."""
    headers = headers or {}
    request_id = request_id or str(uuid.uuid4())
    multi_query = parse_qs(query, keep_blank_values=True)
    text: str | None
    if binary is not None:
        text, is_b64 = binary.proxy_request_body(headers, body)
    else:
        try:
            text, is_b64 = (body.decode("utf-8"), False)
        except UnicodeDecodeError:
            text, is_b64 = (base64.b64encode(body).decode(), True)
    context: dict[str, Any] = {
        "resourcePath": resource_path,
        "httpMethod": method,
        "path": request_path or f"/{stage}{path}",
        "stage": stage,
        "requestId": request_id,
        "requestTimeEpoch": int(time.time() * 1000),
        "accountId": "123456789012",
        "apiId": "local",
        "protocol": "HTTP/1.1",
        "identity": {"sourceIp": source_ip, "userAgent": headers.get("User-Agent", headers.get("user-agent"))},
    }
    if claims is not None:
        context["authorizer"] = {"claims": claims}
    return {
        "resource": resource_path,
        "path": path,
        "httpMethod": method,
        "headers": dict(headers),
        "multiValueHeaders": {k: [v] for k, v in headers.items()},
        "queryStringParameters": {k: v[-1] for k, v in multi_query.items()} or None,
        "multiValueQueryStringParameters": multi_query or None,
        "pathParameters": params or None,
        "stageVariables": None,
        "requestContext": context,
        "body": text if body else None,
        "isBase64Encoded": is_b64 if body else False,
    }


class ApiFront:
    def __init__(
        self,
        routes: list[RouteSpec],
        functions: dict[str, LocalFunction],
        verifiers: dict[str, CognitoVerifier],
        responses: dict[str, GatewayResponse],
        throttle: TokenBucket,
        stage: str,
        api_keys: ApiKeyCheck | None = None,
        binary: BinaryMediaTypes | None = None,
    ):
        self.binary = binary or BinaryMediaTypes()  # the template's binaryMediaTypes (content.py)
        self.routes = routes
        self.functions = functions
        self.verifiers = verifiers
        self.responses = responses
        self.throttle = throttle
        self.stage = stage
        self.api_keys = api_keys  # infra/local/api_keys.py: keys and usage plans (None: every key refused)

    # ---- API Gateway's own answers ---------------------------------------------------------------
    def gateway_error(self, rtype: str, message: str, request_id: str) -> HttpResponse:
        status = DEFAULT_STATUS.get(rtype, 400)
        chosen = self.responses.get(rtype) or self.responses.get("DEFAULT_5XX" if status >= 500 else "DEFAULT_4XX")
        headers = {"Content-Type": "application/json", "x-amzn-RequestId": request_id, "x-amzn-ErrorType": rtype}
        if chosen is None or chosen.template is None:
            body = json.dumps({"message": message})
        else:
            status = chosen.status or status
            headers.update(chosen.headers)
            body = (
                chosen.template.replace("$context.error.messageString", json.dumps(message))
                .replace("$context.error.message", message)
                .replace("$context.requestId", request_id)
            )
        return HttpResponse(status, headers, body.encode())

    def match(self, method: str, path: str) -> tuple[RouteSpec | None, dict[str, str], bool]:
        """(route, path params, path exists with another method)."""
        path_exists = False
        for route in self.routes:
            m = route.regex.match(path)
            if m:
                path_exists = True
                if route.method in (method, "ANY"):
                    return route, m.groupdict(), True
        return None, {}, path_exists

    def handle(
        self, method: str, raw_path: str, headers: dict[str, str], body: bytes, source_ip: str = "127.0.0.1"
    ) -> HttpResponse:
        request_id = str(uuid.uuid4())
        sent_path, _, query = raw_path.partition("?")
        # Served at the root and under the stage prefix (/dev/health), as the execute-api URL is.
        prefix = f"/{self.stage}"
        path = (sent_path[len(prefix) :] or "/") if sent_path.split("/", 2)[1:2] == [self.stage] else sent_path
        if not self.throttle.take():
            return self.gateway_error("THROTTLED", "Too Many Requests", request_id)
        if len(body) > MAX_PAYLOAD:
            return self.gateway_error("REQUEST_TOO_LARGE", "Request Too Long", request_id)
        route, raw_params, _ = self.match(method, path)
        # API Gateway (REST) keeps ``path`` as sent (percent-encoded) and passes ``pathParameters``
        # percent-decoded ('+' stays '+': it means a space only in query strings).
        params = {name: unquote(value) for name, value in raw_params.items()}
        if route is None:
            return self.gateway_error("MISSING_AUTHENTICATION_TOKEN", "Missing Authentication Token", request_id)
        if method == "OPTIONS" and route.function_logical_id is None:
            if self.binary.mock_refuses(headers, route.content_handling):  # content.py: as on AWS
                return self.gateway_error("API_CONFIGURATION_ERROR", "Internal server error", request_id)
            return HttpResponse(204, dict(route.options_headers), b"")
        if route.api_key_required:
            refused = self.api_keys.check(headers) if self.api_keys is not None else "INVALID_API_KEY"
            if refused is not None:
                return self.gateway_error(refused, API_KEY_MESSAGES[refused], request_id)
        claims = None
        if route.authorizer_logical_id:
            token = next((v for k, v in headers.items() if k.lower() == "authorization"), "")
            verifier = self.verifiers.get(route.authorizer_logical_id)
            verified = verifier.verify(token) if (token and verifier) else None
            if verified is None:
                return self.gateway_error("UNAUTHORIZED", "Unauthorized", request_id)
            claims = rest_authorizer_claims(verified)
        event = proxy_event(
            route.resource_path,
            method,
            path,
            query=query,
            headers=headers,
            body=body,
            params=params,
            claims=claims,
            request_id=request_id,
            source_ip=source_ip,
            stage=self.stage,
            binary=self.binary,
            request_path=sent_path,
        )
        function = self.functions.get(route.function_logical_id or "")
        if function is None:
            return self.gateway_error("DEFAULT_5XX", "Internal server error", request_id)
        try:
            result = function.invoke(event)
        except Exception:  # the function crashed: API Gateway answers 502
            import traceback

            traceback.print_exc()
            return self.gateway_error("DEFAULT_5XX", "Internal server error", request_id)
        return self.to_http(result, request_id, headers)

    def to_http(self, result: Any, request_id: str, request_headers: dict[str, str] | None = None) -> HttpResponse:
        if not isinstance(result, dict) or "statusCode" not in result:
            return self.gateway_error("DEFAULT_5XX", "Internal server error", request_id)  # malformed proxy response
        headers = {k: str(v) for k, v in (result.get("headers") or {}).items()}
        for key, values in (result.get("multiValueHeaders") or {}).items():
            headers[key] = ",".join(str(v) for v in values)
        headers.setdefault("x-amzn-RequestId", request_id)
        try:  # bytes only when the request's first Accept type is binary for the API (content.py)
            raw = self.binary.proxy_response_body(result, request_headers or {})
        except ValueError:
            return self.gateway_error("DEFAULT_5XX", "Internal server error", request_id)  # malformed proxy response
        return HttpResponse(int(result["statusCode"]), headers, raw)


# ---- the HTTP server in front of ApiFront ---------------------------------------------------------
Static = Callable[[str, str], "tuple[int, dict[str, str], bytes] | None"]


class FrontServer(ThreadingHTTPServer):
    """One thread per connection. The listen backlog is raised from socketserver's default of 5,
    which made the kernel drop or reset connections when a few dozen clients connected at once."""

    request_queue_size = 1024
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], front: ApiFront, static: Static | None = None):
        self.front = front
        self.static = static
        super().__init__(address, FrontHandler)


class FrontHandler(BaseHTTPRequestHandler):
    """Every method reaches :meth:`ApiFront.handle` (API Gateway answers unknown methods with its
    MISSING_AUTHENTICATION_TOKEN gateway response, not a 501 page), and the server's own protocol
    errors (bad request line, oversized headers...) answer with the JSON envelope too."""

    protocol_version = "HTTP/1.1"
    server: FrontServer

    def __getattr__(self, name: str) -> Any:
        # BaseHTTPRequestHandler dispatches to do_<METHOD> and answers 501 when it is missing.
        if name.startswith("do_"):
            return self._serve
        raise AttributeError(name)

    def _body(self) -> bytes | None:
        """The request body, or None after answering a framing error."""
        if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
            chunks, total = [], 0
            while True:
                size_line = self.rfile.readline(1024).split(b";", 1)[0].strip()
                try:
                    size = int(size_line, 16)
                except ValueError:
                    self._gateway("DEFAULT_4XX", "Malformed chunked body", close=True)
                    return None
                if size == 0:
                    while self.rfile.readline(65537) not in (b"\r\n", b"\n", b""):
                        pass  # trailers
                    return b"".join(chunks)
                total += size
                if total > MAX_PAYLOAD:
                    self._gateway("REQUEST_TOO_LARGE", "Request Too Long", close=True)
                    return None
                chunks.append(self.rfile.read(size))
                self.rfile.readline(3)
        raw_length = self.headers.get("Content-Length")
        if raw_length is None:
            return b""
        try:
            length = int(raw_length)
            if length < 0:
                raise ValueError(raw_length)
        except ValueError:
            self._gateway("DEFAULT_4XX", "Invalid Content-Length", close=True)
            return None
        if length > MAX_PAYLOAD:  # refused before reading, as API Gateway does
            self._gateway("REQUEST_TOO_LARGE", "Request Too Long", close=True)
            return None
        return self.rfile.read(length) if length else b""

    def _serve(self) -> None:
        body = self._body()
        if body is None:
            return
        path = self.path.split("?", 1)[0]
        found = self.server.static(self.command, path) if self.server.static else None
        if found is None:
            try:
                resp = self.server.front.handle(
                    self.command, self.path, dict(self.headers.items()), body, self.client_address[0]
                )
            except Exception:  # a defect of the twin itself: answer as API Gateway's 5XX would
                traceback.print_exc()
                resp = self.server.front.gateway_error("DEFAULT_5XX", "Internal server error", str(uuid.uuid4()))
            found = (resp.status, resp.headers, resp.body)
        self._send(*found)

    def _send(self, status: int, headers: dict[str, str], raw: bytes, close: bool = False) -> None:
        self.send_response(status)
        for key, value in headers.items():
            if key.lower() not in ("content-length", "connection", "transfer-encoding"):
                self.send_header(key, value)
        self.send_header("Content-Length", str(len(raw)))
        if close:
            self.send_header("Connection", "close")
            self.close_connection = True
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(raw)

    def _gateway(self, rtype: str, message: str, *, close: bool = False, status: int | None = None) -> None:
        resp = self.server.front.gateway_error(rtype, message, str(uuid.uuid4()))
        self._send(status or resp.status, resp.headers, resp.body, close=close)

    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        """http.server's own errors (malformed request line, headers too large or too many, URI too
        long...) with the gateway's JSON envelope instead of an HTML page."""
        if not getattr(self, "command", None):
            self.command = ""  # the request line could not be parsed
        self.request_version = self.protocol_version  # a status line and headers, even then
        self._gateway("DEFAULT_4XX", message or "Bad Request", close=True, status=code)

    def log_message(self, fmt: str, *args: Any) -> None:
        if os.environ.get("LOCAL_TWIN_ACCESS_LOG"):
            super().log_message(fmt, *args)


def serve(front: ApiFront, host: str, port: int, static: Static | None = None) -> tuple[FrontServer, threading.Thread]:
    """Start the front on ``host:port`` (0 = any free port) in a daemon thread."""
    server = FrontServer((host, port), front, static)
    thread = threading.Thread(target=server.serve_forever, name="api-front", daemon=True)
    thread.start()
    return server, thread

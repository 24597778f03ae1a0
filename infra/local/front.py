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
import threading
import time
import uuid
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any
from urllib.parse import parse_qs

from infra.local.lambdas import LocalFunction
from infra.local.template import GatewayResponse, RouteSpec

MAX_PAYLOAD = 10 * 1024 * 1024  # API Gateway REST limit
DEFAULT_STATUS = {"UNAUTHORIZED": 401, "ACCESS_DENIED": 403, "MISSING_AUTHENTICATION_TOKEN": 403,
                  "THROTTLED": 429, "REQUEST_TOO_LARGE": 413, "INTEGRATION_FAILURE": 502, "DEFAULT_4XX": 400,
                  "DEFAULT_5XX": 502}
TIME_CLAIMS = ("iat", "exp", "auth_time")


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
            claims = jwt.decode(token, key.key, algorithms=["RS256"], audience=self.audiences, issuer=self.issuer,
                                options={"require": ["exp", "iat", "sub", "aud", "iss"]})
        except jwt.PyJWTError:
            return None
        return claims if claims.get("token_use") == "id" else None


def rest_authorizer_claims(claims: dict[str, Any]) -> dict[str, str]:
    out = {}
    for key, value in claims.items():
        if isinstance(value, list):
            out[key] = ",".join(str(v) for v in value)
        elif key in TIME_CLAIMS and isinstance(value, (int, float)):
            out[key] = datetime.fromtimestamp(value, tz=timezone.utc).strftime("%a %b %d %H:%M:%S UTC %Y")
        else:
            out[key] = str(value)
    return out


class TokenBucket:
    def __init__(self, rate: float | None, burst: int | None):
        self.rate, self.capacity = rate, burst
        self.tokens = float(burst or 0)
        self.updated = time.monotonic()
        self._lock = threading.Lock()

    def take(self) -> bool:
        if self.rate is None or self.capacity is None:
            return True
        with self._lock:
            now = time.monotonic()
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


def proxy_event(resource_path: str, method: str, path: str, *, query: str = "", headers: dict[str, str] | None = None,
                body: bytes = b"", params: dict[str, str] | None = None, claims: dict[str, str] | None = None,
                request_id: str | None = None, source_ip: str = "127.0.0.1", stage: str = "dev") -> dict:
    """An API Gateway REST (v1) Lambda proxy event, as API Gateway builds it."""
    headers = headers or {}
    request_id = request_id or str(uuid.uuid4())
    multi_query = parse_qs(query, keep_blank_values=True)
    try:
        text, is_b64 = (body.decode("utf-8"), False)
    except UnicodeDecodeError:
        text, is_b64 = (base64.b64encode(body).decode(), True)
    context: dict[str, Any] = {
        "resourcePath": resource_path, "httpMethod": method, "path": f"/{stage}{path}",
        "stage": stage, "requestId": request_id, "requestTimeEpoch": int(time.time() * 1000),
        "accountId": "123456789012", "apiId": "local", "protocol": "HTTP/1.1",
        "identity": {"sourceIp": source_ip, "userAgent": headers.get("User-Agent", headers.get("user-agent"))},
    }
    if claims is not None:
        context["authorizer"] = {"claims": claims}
    return {
        "resource": resource_path, "path": path, "httpMethod": method,
        "headers": dict(headers), "multiValueHeaders": {k: [v] for k, v in headers.items()},
        "queryStringParameters": {k: v[-1] for k, v in multi_query.items()} or None,
        "multiValueQueryStringParameters": multi_query or None,
        "pathParameters": params or None, "stageVariables": None, "requestContext": context,
        "body": text if body else None, "isBase64Encoded": is_b64,
    }


class ApiFront:
    def __init__(self, routes: list[RouteSpec], functions: dict[str, LocalFunction],
                 verifiers: dict[str, CognitoVerifier], responses: dict[str, GatewayResponse],
                 throttle: TokenBucket, stage: str):
        self.routes = routes
        self.functions = functions
        self.verifiers = verifiers
        self.responses = responses
        self.throttle = throttle
        self.stage = stage

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
            body = (chosen.template.replace("$context.error.messageString", json.dumps(message))
                    .replace("$context.error.message", message).replace("$context.requestId", request_id))
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

    def handle(self, method: str, raw_path: str, headers: dict[str, str], body: bytes, source_ip: str = "127.0.0.1") -> HttpResponse:
        request_id = str(uuid.uuid4())
        path, _, query = raw_path.partition("?")
        if not self.throttle.take():
            return self.gateway_error("THROTTLED", "Too Many Requests", request_id)
        if len(body) > MAX_PAYLOAD:
            return self.gateway_error("REQUEST_TOO_LARGE", "Request Too Long", request_id)
        route, params, _ = self.match(method, path)
        if route is None:
            return self.gateway_error("MISSING_AUTHENTICATION_TOKEN", "Missing Authentication Token", request_id)
        if method == "OPTIONS" and route.function_logical_id is None:
            return HttpResponse(204, dict(route.options_headers), b"")
        claims = None
        if route.authorizer_logical_id:
            token = next((v for k, v in headers.items() if k.lower() == "authorization"), "")
            verifier = self.verifiers.get(route.authorizer_logical_id)
            verified = verifier.verify(token) if (token and verifier) else None
            if verified is None:
                return self.gateway_error("UNAUTHORIZED", "Unauthorized", request_id)
            claims = rest_authorizer_claims(verified)
        event = proxy_event(route.resource_path, method, path, query=query, headers=headers, body=body, params=params,
                            claims=claims, request_id=request_id, source_ip=source_ip, stage=self.stage)
        function = self.functions.get(route.function_logical_id or "")
        if function is None:
            return self.gateway_error("DEFAULT_5XX", "Internal server error", request_id)
        try:
            result = function.invoke(event)
        except Exception:  # the function crashed: API Gateway answers 502
            import traceback

            traceback.print_exc()
            return self.gateway_error("DEFAULT_5XX", "Internal server error", request_id)
        return self.to_http(result, request_id)

    def to_http(self, result: Any, request_id: str) -> HttpResponse:
        if not isinstance(result, dict) or "statusCode" not in result:
            return self.gateway_error("DEFAULT_5XX", "Internal server error", request_id)  # malformed proxy response
        headers = {k: str(v) for k, v in (result.get("headers") or {}).items()}
        for key, values in (result.get("multiValueHeaders") or {}).items():
            headers[key] = ",".join(str(v) for v in values)
        headers.setdefault("x-amzn-RequestId", request_id)
        body = result.get("body") or ""
        raw = base64.b64decode(body) if result.get("isBase64Encoded") else body.encode()
        return HttpResponse(int(result["statusCode"]), headers, raw)

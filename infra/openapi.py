"""Generate the one OpenAPI document of the whole API from the handlers' route definitions.

    python -m infra.openapi --write   # regenerate functions/docs/openapi.json
    python -m infra.openapi --check   # exit 1 if the committed document has drifted

Each domain's resolver produces its own schema; this merges them, replaces Powertools' default 422
body with our error envelope, and adds the error responses every operation can give. An operation
may declare extra error statuses with ``openapi_extensions={"x-errors": [409]}``.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from infra.domains import API_DOMAINS
from infra.routes import HTTP_METHODS, ROOT, ensure_import_paths, resolver_for

SPEC_PATH = ROOT / "functions" / "docs" / "openapi.json"
ENVELOPE_REF = {"$ref": "#/components/schemas/ErrorEnvelope"}
DESCRIPTIONS = {
    400: "Malformed request: body not valid JSON (malformed_json) or not UTF-8 (invalid_encoding), bad "
         "pagination token (invalid_next_token), wrong or expired code",
    401: "Missing, invalid, expired or revoked token; on the public sign-in routes, wrong credentials",
    403: "Authenticated, but the role or ownership does not allow it (or the account is not confirmed)",
    404: "Not found (also for records the caller may not see)",
    409: "Conflict with the current state",
    413: "Body too large (payload_too_large)",
    415: "The body is not application/json (unsupported_media_type)",
    422: "Validation failed; details name each bad field",
    429: "Throttled",
    500: "Internal error",
    503: "A dependency is unavailable; retry later",
}


def _error_response(status: int) -> dict:
    return {"description": DESCRIPTIONS[status], "content": {"application/json": {"schema": ENVELOPE_REF}}}


def _errors_for(op: dict) -> list[int]:
    """The error statuses of an operation, by rules on its shape (the shared request path, API
    Gateway and the authorizer answer them, whatever the route), plus its own ``x-errors``."""
    params = op.get("parameters", [])
    body = bool(op.get("requestBody"))
    private = bool(op.get("security"))
    statuses = {413, 429, 500, 503}  # oversized request, throttling, unexpected and dependency failures
    if body or params:
        statuses |= {400, 422}  # malformed_json / invalid_encoding; a field or parameter that fails validation
    if body:
        statuses.add(415)  # unsupported_media_type: the shared request path only takes JSON bodies
    if any(p.get("in") == "query" and p.get("name") == "next_token" for p in params):
        statuses.add(400)  # invalid_next_token
    if private:
        statuses |= {401, 403}
        if body or any(p.get("in") == "path" for p in params):
            # A private route looks up the ids it is given (path or body): unknown, or not visible to
            # the caller, answers the same 404.
            statuses.add(404)
    elif body:
        # The public routes with a body are the Cognito flows (sign-up, login, codes, refresh): the
        # identity provider refuses a wrong or expired code (400), wrong credentials (401), an
        # unconfirmed account (403), an unknown user (404) and a name or alias already taken (409).
        statuses |= {400, 401, 403, 404, 409}
    statuses |= set(op.pop("x-errors", []))
    return sorted(statuses)


def generate() -> dict:
    ensure_import_paths()
    from agri_common.errors import ErrorEnvelope
    from agri_common.resolver import API_TITLE, API_VERSION, openapi_json

    spec: dict = {"openapi": "3.1.0", "info": {"title": API_TITLE, "version": API_VERSION,
                  "description": "agri-mrv: agricultural carbon MRV for smallholder farmers and FPOs in India."},
                  "paths": {}, "components": {"schemas": {}, "securitySchemes": {}}, "tags": []}
    for domain in API_DOMAINS:
        part = json.loads(openapi_json(resolver_for(domain.module)))
        for path, item in part.get("paths", {}).items():
            target = spec["paths"].setdefault(path, {})
            for method in HTTP_METHODS:
                if method in item:
                    if method in target:
                        raise ValueError(f"{method.upper()} {path} is defined by two domains")
                    op = item[method]
                    responses = op.setdefault("responses", {})
                    responses.pop("422", None)
                    for status in _errors_for(op):
                        responses.setdefault(str(status), _error_response(status))
                    target[method] = op
        comps = part.get("components", {})
        for name, schema in comps.get("schemas", {}).items():
            if name in ("HTTPValidationError", "ValidationError"):
                continue
            existing = spec["components"]["schemas"].get(name)
            if existing is not None and existing != schema:
                raise ValueError(f"Two different schemas are both named {name}")
            spec["components"]["schemas"][name] = schema
        spec["components"]["securitySchemes"].update(comps.get("securitySchemes", {}))
        if domain.name not in [t["name"] for t in spec["tags"]]:
            spec["tags"].append({"name": domain.name, "description": domain.description})
    envelope = ErrorEnvelope.model_json_schema(ref_template="#/components/schemas/{model}")
    for name, schema in envelope.pop("$defs", {}).items():
        spec["components"]["schemas"][name] = schema
    spec["components"]["schemas"]["ErrorEnvelope"] = envelope
    return spec


def render(spec: dict) -> str:
    return json.dumps(spec, indent=2, sort_keys=True) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    group = parser.add_mutually_exclusive_group(required=True)
    group.add_argument("--write", action="store_true")
    group.add_argument("--check", action="store_true")
    args = parser.parse_args(argv)
    text = render(generate())
    if args.write:
        SPEC_PATH.write_text(text, encoding="utf-8")
        print(f"wrote {SPEC_PATH.relative_to(ROOT)} ({len(text)} bytes)")
        return 0
    if not SPEC_PATH.exists() or SPEC_PATH.read_text(encoding="utf-8") != text:
        print(f"{SPEC_PATH.relative_to(ROOT)} is out of date: run python -m infra.openapi --write", file=sys.stderr)
        return 1
    print("OpenAPI document is up to date")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

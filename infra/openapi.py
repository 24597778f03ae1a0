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

from infra.domains import API_DOMAINS
from infra.routes import API_KEY_SCHEME, COGNITO_SCHEME, HTTP_METHODS, ROOT, ensure_import_paths, resolver_for

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


# What API Gateway answers on a route that requires an integrator API key (the registry view).
API_KEY_DESCRIPTIONS = {
    403: "Missing, unknown or revoked API key (x-api-key): invalid_api_key",
    429: "Throttled (too_many_requests), or the key's usage plan quota is used up (quota_exceeded)",
}


def _error_response(status: int, descriptions: dict[int, str] | None = None) -> dict:
    description = (descriptions or {}).get(status, DESCRIPTIONS[status])
    return {"description": description, "content": {"application/json": {"schema": ENVELOPE_REF}}}


def _schemes(op: dict) -> set[str]:
    return {name for requirement in op.get("security") or [] for name in requirement}


def _errors_for(op: dict) -> list[int]:
    """The error statuses of an operation, by rules on its shape (the shared request path, API
    Gateway and the authorizer answer them, whatever the route), plus its own ``x-errors``."""
    params = op.get("parameters", [])
    body = bool(op.get("requestBody"))
    private = COGNITO_SCHEME in _schemes(op)
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
    if API_KEY_SCHEME in _schemes(op):
        statuses.add(403)  # API Gateway: no, unknown or revoked key
    elif not private and body:
        # The public routes with a body are the Cognito flows (sign-up, login, codes, refresh): the
        # identity provider refuses a wrong or expired code (400), wrong credentials (401), an
        # unconfirmed account (403), an unknown user (404) and a name or alias already taken (409).
        statuses |= {400, 401, 403, 404, 409}
    statuses |= set(op.pop("x-errors", []))
    return sorted(statuses)


# ---- rules the server enforces in code, stated in the schema where JSON Schema can state them -----
# A field whose validator calls ``indian_mobile`` accepts what that function accepts: ten digits
# starting 6-9, optionally after 91 or 0, with any separators between (non-digits are ignored).
INDIAN_MOBILE = r"^[^0-9]*(?:9[^0-9]*1[^0-9]*|0[^0-9]*)?[6-9](?:[^0-9]*[0-9]){9}[^0-9]*$"
VALIDATOR_PATTERNS = {"indian_mobile": INDIAN_MOBILE}


def _geometry_schema() -> dict:
    """A plot geometry as functions.farmers.geometry checks it before any computation: a GeoJSON
    Polygon or MultiPolygon, rings of at least 4 positions, [longitude, latitude(, altitude)] inside
    the bounding box of India's outline, rounded outward to 0.1 degree (the outline itself, closed
    rings, self-intersection and the area are checked too, but no JSON Schema states them)."""
    import math

    from functions.farmers.geometry import india_outline

    west, south, east, north = india_outline().bounds
    lon_min, lat_min = math.floor(west * 10) / 10, math.floor(south * 10) / 10
    lon_max, lat_max = math.ceil(east * 10) / 10, math.ceil(north * 10) / 10
    position = {
        "type": "array",
        "minItems": 2,
        "maxItems": 3,
        "items": {"type": "number"},
        "prefixItems": [
            {"type": "number", "minimum": lon_min, "maximum": lon_max},
            {"type": "number", "minimum": lat_min, "maximum": lat_max},
        ],
    }
    polygon = {"type": "array", "minItems": 1, "items": {"type": "array", "minItems": 4, "items": position}}
    return {
        "type": "object",
        "required": ["type", "coordinates"],
        "description": "GeoJSON Polygon or MultiPolygon (RFC 7946), [longitude, latitude] positions in India; "
        "rings closed (first position = last), not self-intersecting",
        "oneOf": [
            {"properties": {"type": {"const": "Polygon"}, "coordinates": polygon}},
            {
                "properties": {
                    "type": {"const": "MultiPolygon"},
                    "coordinates": {"type": "array", "minItems": 1, "items": polygon},
                }
            },
        ],
    }


def _string_branch(schema: dict) -> dict:
    """The ``type: string`` part of a field schema (itself, or its branch of an optional field's anyOf)."""
    for branch in schema.get("anyOf", []):
        if branch.get("type") == "string":
            return branch
    return schema


def _model_classes() -> dict[str, type]:
    """Request and response models of the domains, by class name (the component names)."""
    import importlib
    import inspect

    from pydantic import BaseModel

    found: dict[str, type] = {}
    for domain in API_DOMAINS:
        try:
            module = importlib.import_module(f"functions.{domain.name}.models")
        except ModuleNotFoundError:
            continue
        for obj in vars(module).values():
            # the domain's own models, also those its models module re-exports (functions.farmers.request_models)
            if (
                inspect.isclass(obj)
                and issubclass(obj, BaseModel)
                and obj.__module__.startswith(f"functions.{domain.name}.")
            ):
                found[obj.__name__] = obj
    return found


def apply_schema_rules(spec: dict) -> None:
    """Patterns of validated fields and the geometry shape, on every component schema they concern."""
    classes = _model_classes()
    geometry = _geometry_schema()
    for name, schema in spec["components"]["schemas"].items():
        props = schema.get("properties", {})
        if "geometry" in props:  # every geometry of this API is a plot's
            props["geometry"] = {**geometry, "title": props["geometry"].get("title", "Geometry")}
        cls = classes.get(name.removesuffix("-Input"))
        if cls is None:
            continue
        for decorator in cls.__pydantic_decorators__.field_validators.values():
            called = getattr(decorator.func, "__func__", decorator.func).__code__.co_names
            for validator, pattern in VALIDATOR_PATTERNS.items():
                if validator in called:
                    for field in decorator.info.fields:
                        if field in props:
                            _string_branch(props[field])["pattern"] = pattern


def _body_component(media: dict, schemas: dict) -> dict | None:
    """The component schema a request body refers to (itself, or the non-null branch of an optional body)."""
    schema = media.get("schema", {})
    refs = [schema.get("$ref")] + [branch.get("$ref") for branch in schema.get("anyOf", [])]
    for ref in refs:
        if ref and ref.startswith("#/components/schemas/"):
            return schemas.get(ref.rsplit("/", 1)[1])
    return None


def apply_body_examples(spec: dict) -> None:
    """Each JSON request body shows its model's first example (``json_schema_extra``) as the media
    type's ``example``: what Swagger UI's "Try it out" pre-fills (tests/unit/test_examples.py
    checks every one passes its route's validation)."""
    schemas = spec["components"]["schemas"]
    for item in spec["paths"].values():
        for method in HTTP_METHODS:
            media = item.get(method, {}).get("requestBody", {}).get("content", {}).get("application/json")
            component = _body_component(media, schemas) if media else None
            if media is not None and component and component.get("examples"):
                media["example"] = component["examples"][0]


def generate() -> dict:
    ensure_import_paths()
    from agri_common.platform.errors import ErrorEnvelope
    from agri_common.platform.resolver import API_TITLE, API_VERSION, openapi_json

    spec: dict = {
        "openapi": "3.1.0",
        "info": {
            "title": API_TITLE,
            "version": API_VERSION,
            "description": "agri-mrv: agricultural carbon MRV for smallholder farmers and FPOs in India.",
        },
        "paths": {},
        "components": {"schemas": {}, "securitySchemes": {}},
        "tags": [],
    }
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
                    descriptions = API_KEY_DESCRIPTIONS if API_KEY_SCHEME in _schemes(op) else None
                    for status in _errors_for(op):
                        responses.setdefault(str(status), _error_response(status, descriptions))
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
    apply_schema_rules(spec)
    apply_body_examples(spec)
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

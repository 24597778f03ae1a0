"""Every request body in the OpenAPI document carries an example that passes validation (Swagger UI's
"Try it out" on POST /farmers once got a 422 on the phone number).

Each example is checked three ways: by the request model itself (pydantic, with its validators:
phone numbers, dates, geometry shape, cross-field rules), by the route's own body parser (what the
deployed handler runs before the route function: a failure there is the 422 a caller would get), and
by the published JSON Schema (the patterns the document states, e.g. the Indian mobile number)."""

from __future__ import annotations

import json
from typing import Any

import jsonschema
import pytest
from aws_lambda_powertools.event_handler.middlewares.openapi_validation import _request_body_to_args

from infra.domains import API_DOMAINS
from infra.openapi import SPEC_PATH, generate
from infra.routes import HTTP_METHODS, resolver_for

SPEC = json.loads(SPEC_PATH.read_text(encoding="utf-8"))


def _body_routes() -> list[tuple[str, str, Any]]:
    """(METHOD, OpenAPI path, Powertools route) of every route that takes a body, in every domain."""
    out = []
    for domain in API_DOMAINS:
        app = resolver_for(domain.module)
        for route in [*app._static_routes, *app._dynamic_routes]:
            if route.dependant.body_params:
                out.append((route.method.upper(), route.openapi_path, route))
    return sorted(out, key=lambda r: (r[1], r[0]))


ROUTES = _body_routes()


def _example(method: str, path: str) -> dict:
    return SPEC["paths"][path][method.lower()]["requestBody"]["content"]["application/json"]["example"]


def test_every_route_with_a_body_is_covered():
    in_spec = sorted(
        (m.upper(), p) for p, item in SPEC["paths"].items() for m in HTTP_METHODS if "requestBody" in item.get(m, {})
    )
    assert sorted((m, p) for m, p, _ in ROUTES) == in_spec and len(in_spec) >= 30


@pytest.mark.parametrize("method, path, route", ROUTES, ids=[f"{m} {p}" for m, p, _ in ROUTES])
def test_the_example_passes_the_routes_own_body_parser(method, path, route):
    example = _example(method, path)
    values, errors = _request_body_to_args(required_params=route.dependant.body_params, received_body=example)
    assert errors == [], errors
    (body,) = values.values()
    assert body is not None
    # and the model round-trips it: what the route function receives is the example's content
    assert type(body).model_validate(json.loads(body.model_dump_json(exclude_unset=True))) == body


@pytest.mark.parametrize("method, path, route", ROUTES, ids=[f"{m} {p}" for m, p, _ in ROUTES])
def test_the_example_matches_the_published_schema(method, path, route):
    media = SPEC["paths"][path][method.lower()]["requestBody"]["content"]["application/json"]
    document = {**media["schema"], "components": SPEC["components"]}
    jsonschema.Draft202012Validator(document).validate(media["example"])


def test_the_examples_come_from_the_models():
    """The document's examples are the models' own (json_schema_extra), not written into the spec."""
    spec = generate()
    for method, path, route in ROUTES:
        (param,) = route.dependant.body_params
        model = next(t for t in (param.type_, *getattr(param.type_, "__args__", ())) if hasattr(t, "model_json_schema"))
        assert model.model_json_schema()["examples"][0] == _example(method, path), (method, path)
        assert spec["paths"][path][method.lower()]["requestBody"]["content"]["application/json"]["example"] == _example(
            method, path
        )


def test_a_broken_example_would_be_caught():
    """The parser check is real: the farmers example with a landline number fails it, naming the phone."""
    method, path, route = next(r for r in ROUTES if r[:2] == ("POST", "/farmers"))
    bad = {**_example(method, path), "phone": "+91 11 2345 6789"}
    _, errors = _request_body_to_args(required_params=route.dependant.body_params, received_body=bad)
    assert [e["loc"] for e in errors] == [("body", "phone")]
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.Draft202012Validator(
            {
                **SPEC["paths"][path]["post"]["requestBody"]["content"]["application/json"]["schema"],
                "components": SPEC["components"],
            }
        ).validate(bad)

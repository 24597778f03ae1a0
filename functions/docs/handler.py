"""The API's documentation (public): the committed OpenAPI document and Swagger UI over it.

- ``GET /openapi.json``: the document sits beside this module (functions/docs/openapi.json) so the
  deployed asset and the source tree hold the same file; ``python -m infra.openapi --write``
  regenerates it from the handlers. It is served with ``servers`` naming the base it was requested
  under (``/dev`` for ``https://<api>/dev/openapi.json``, ``/`` at the twin's root), so a tool that
  imports it (Postman, an OpenAPI client generator, Swagger UI) calls the stage, not the host's root.
- ``GET /docs``: Swagger UI's page; ``GET /docs/<name>``: its two files (functions/docs/assets.py),
  bundled with this function: no CDN, the same handler on AWS and on the local twin.

The page finds its base from its own address, so it works under an API Gateway stage prefix
(``/dev/docs``) and at the twin's root alike, and points "Try it out" at that base.
"""

from __future__ import annotations

import json
from functools import lru_cache
from typing import Any

from aws_lambda_powertools.event_handler import Response

from agri_common.platform.errors import NotFoundError
from agri_common.platform.resolver import make_handler, make_resolver
from functions.docs import assets

app = make_resolver()
TAGS = ["docs"]
CACHE = "public, max-age=3600"

# No inline styles; the script only loads the two bundled files and the spec from the same base.
PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>agri-mrv API</title></head>
<body><div id="swagger-ui">Loading the API documentation...</div>
<script>
(function () {
  var base = window.location.pathname.replace(/\\/docs\\/?$/, "");
  var css = document.createElement("link");
  css.rel = "stylesheet"; css.href = base + "/docs/swagger-ui.css";
  document.head.appendChild(css);
  var js = document.createElement("script");
  js.src = base + "/docs/swagger-ui-bundle.js";
  js.onload = function () {
    fetch(base + "/openapi.json").then(function (r) { return r.json(); }).then(function (spec) {
      spec.servers = [{url: base || "/", description: "this API"}];
      window.ui = SwaggerUIBundle({spec: spec, dom_id: "#swagger-ui", deepLinking: true,
                                   presets: [SwaggerUIBundle.presets.apis], layout: "BaseLayout"});
    });
  };
  document.body.appendChild(js);
})();
</script></body></html>
"""


def _script_hash(page: str) -> str:
    import base64
    import hashlib

    script = page.split("<script>", 1)[1].split("</script>", 1)[0]
    return "'sha256-" + base64.b64encode(hashlib.sha256(script.encode()).digest()).decode() + "'"


# The page runs only its own inline script (by hash) and the bundled files; Swagger UI sets inline
# styles and draws data: images; Try it out calls this same origin.
PAGE_HEADERS = {
    "Cache-Control": CACHE,
    "X-Content-Type-Options": "nosniff",
    "Content-Security-Policy": f"default-src 'none'; script-src 'self' {_script_hash(PAGE)}; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; connect-src 'self'; font-src 'self' data:; base-uri 'none'; "
    "form-action 'none'; frame-ancestors 'none'",
}


@lru_cache(maxsize=1)
def _spec() -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(assets.spec_text())
    return loaded


def request_base(event: dict[str, Any]) -> str:
    """The prefix the client's path had before the API's own path: ``/dev`` on AWS's execute-api URL
    (``requestContext.path`` is ``/dev/openapi.json``, ``path`` is ``/openapi.json``), a custom
    domain's base path, '' at the twin's root."""
    sent = str((event.get("requestContext") or {}).get("path") or "")
    own = str(event.get("path") or "")
    return sent[: -len(own)] if own and sent.endswith(own) else ""


@lru_cache(maxsize=8)
def _served_spec(base: str) -> str:
    spec = {**_spec(), "servers": [{"url": base or "/", "description": "this API"}]}
    return json.dumps(spec, separators=(",", ":"))


@app.get(
    "/openapi.json",
    tags=TAGS,
    summary="This API's OpenAPI 3 document",
    responses={200: {"description": "OpenAPI document", "content": {"application/json": {}}}},
)
def openapi_document() -> Response[str]:  # the committed spec, with the base it was requested under
    return Response(
        status_code=200, content_type="application/json", body=_served_spec(request_base(app.current_event.raw_event))
    )


@app.get(
    "/docs",
    tags=TAGS,
    summary="Swagger UI over this API's OpenAPI document (HTML page)",
    responses={200: {"description": "The page", "content": {"text/html": {"schema": {"type": "string"}}}}},
)
def swagger_page() -> Response[str]:
    return Response(status_code=200, content_type="text/html; charset=utf-8", body=PAGE, headers=PAGE_HEADERS)


@app.get(
    "/docs/<name>",
    tags=TAGS,
    summary="A file of the Swagger UI page (swagger-ui.css, swagger-ui-bundle.js)",
    openapi_extensions={"x-errors": [404]},
    responses={
        200: {
            "description": "The file",
            "content": {media.split(";")[0]: {"schema": {"type": "string"}} for media in assets.FILES.values()},
        }
    },
)
def swagger_file(name: str) -> Response[str]:
    content = assets.read(name)
    if content is None:
        raise NotFoundError("No such file")
    return Response(
        status_code=200,
        content_type=assets.FILES[name],
        body=content.decode("utf-8"),
        headers={"Cache-Control": CACHE, "X-Content-Type-Options": "nosniff"},
    )


lambda_handler = make_handler(app)

"""GET /openapi.json: the committed OpenAPI document of the whole API (public).

The document sits beside this module (functions/docs/openapi.json) so the deployed asset and the
source tree hold the same file; `python -m infra.openapi --write` regenerates it from the handlers.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from aws_lambda_powertools.event_handler import Response

from agri_common.platform.resolver import make_handler, make_resolver

app = make_resolver()
SPEC = Path(__file__).with_name("openapi.json")


@lru_cache(maxsize=1)
def _spec() -> str:
    return SPEC.read_text(encoding="utf-8")


@app.get("/openapi.json", tags=["docs"], summary="This API's OpenAPI 3 document",
         responses={200: {"description": "OpenAPI document", "content": {"application/json": {}}}})
# No return annotation, on purpose: Powertools would validate and document the body against it; the spec is
# served verbatim (a raw Response).
def openapi_document():  # type: ignore[no-untyped-def]
    return Response(status_code=200, content_type="application/json", body=_spec())


lambda_handler = make_handler(app)

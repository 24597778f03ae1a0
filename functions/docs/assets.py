"""Swagger UI's files, served by the docs function (no CDN: the page works offline and on AWS alike).

The files come from the ``swagger-ui-dist`` npm package pinned in package.json. In the deployed
asset they sit gzipped beside this module, under ``swagger-ui/`` (``infra/bundling.py`` copies them
there at synth time: the bundle is 1.7 MB of JavaScript, gzip keeps the function asset small); in
a source checkout (the local twin, the tests) they are read from ``node_modules/swagger-ui-dist``.
The OpenAPI document travels gzipped in the asset too (``openapi.json.gz`` instead of ``openapi.json``).
This module imports nothing but the standard library, so the bundler can read ``FILES`` too.
"""

from __future__ import annotations

import gzip
from functools import lru_cache
from pathlib import Path

# name -> media type: the only files the page loads (BaseLayout needs no standalone preset)
FILES = {
    "swagger-ui.css": "text/css; charset=utf-8",
    "swagger-ui-bundle.js": "application/javascript; charset=utf-8",
}
BUNDLED_DIR = Path(__file__).with_name("swagger-ui")  # <name>.gz, in the deployed asset
SOURCE_DIR = Path(__file__).resolve().parents[2] / "node_modules" / "swagger-ui-dist"  # a source checkout
SPEC = Path(__file__).with_name("openapi.json")  # the committed document (a source checkout)
SPEC_BUNDLED = SPEC.with_name("openapi.json.gz")  # the same bytes gzipped, instead of it in the deployed asset


def spec_text() -> str:
    """The committed OpenAPI document: gzipped in the deployed asset (it is over half a megabyte of
    indented JSON), as committed in a source checkout."""
    if SPEC_BUNDLED.is_file():
        return gzip.decompress(SPEC_BUNDLED.read_bytes()).decode("utf-8")
    return SPEC.read_text(encoding="utf-8")


@lru_cache(maxsize=len(FILES))
def read(name: str) -> bytes | None:
    """The file's bytes, or None for a name that is not one of ``FILES`` (or a missing file)."""
    if name not in FILES:
        return None
    packed = BUNDLED_DIR / f"{name}.gz"
    if packed.is_file():
        return gzip.decompress(packed.read_bytes())
    plain = SOURCE_DIR / name
    return plain.read_bytes() if plain.is_file() else None

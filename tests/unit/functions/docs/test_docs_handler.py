"""The docs function: the OpenAPI document, Swagger UI's page and its two bundled files, the same
handler on AWS and on the twin (functions/docs)."""

from __future__ import annotations

import gzip
import json

import pytest

from functions.docs import assets
from functions.docs import handler as docs
from infra.local.front import proxy_event
from infra.local.lambdas import LambdaContext
from infra.openapi import SPEC_PATH


def get(path: str, resource: str | None = None, sent: str | None = None) -> dict:
    """The docs function's answer; ``sent``: the path the client used (default: under the /dev stage)."""
    ctx = LambdaContext(
        function_name="docs",
        memory_limit_in_mb=128,
        invoked_function_arn="arn:aws:lambda:x:1:function:docs",
        aws_request_id="req-1",
        timeout_s=10,
    )
    return docs.lambda_handler(proxy_event(resource or path, "GET", path, body=b"", request_path=sent), ctx)


def header(r: dict, name: str) -> str:
    return r["multiValueHeaders"][name][0]


@pytest.mark.parametrize(
    ("sent", "server"),
    [
        (None, "/dev"),  # https://<api>.execute-api.<region>.amazonaws.com/dev/openapi.json
        ("/prod/openapi.json", "/prod"),
        ("/openapi.json", "/"),  # the twin's root, or a custom domain mapped at its root
        ("/v1/openapi.json", "/v1"),  # a custom domain's base path
    ],
)
def test_the_committed_spec_is_served_with_the_base_it_was_requested_under(sent, server):
    """A relative server: a tool that imports the document calls the stage it came from, never the
    host's root (where API Gateway answers 403 for every path)."""
    r = get("/openapi.json", sent=sent)
    assert r["statusCode"] == 200
    served = json.loads(r["body"])
    assert served.pop("servers") == [{"url": server, "description": "this API"}]
    assert served == json.loads(SPEC_PATH.read_text(encoding="utf-8"))
    assert "servers" not in json.loads(SPEC_PATH.read_text(encoding="utf-8"))  # the committed file has none


def test_the_page_loads_only_bundled_files_and_the_spec_from_its_own_base():
    r = get("/docs")
    assert r["statusCode"] == 200 and header(r, "Content-Type").startswith("text/html")
    page = r["body"]
    for name in assets.FILES:
        assert f'base + "/docs/{name}"' in page
    assert 'fetch(base + "/openapi.json")' in page
    assert "http://" not in page and "https://" not in page  # no CDN, no absolute address


@pytest.mark.parametrize("name", sorted(assets.FILES))
def test_each_file_is_served_as_text_with_its_media_type(name):
    r = get(f"/docs/{name}", "/docs/{name}")
    assert r["statusCode"] == 200
    assert header(r, "Content-Type") == assets.FILES[name]
    assert not r.get("isBase64Encoded")  # text: API Gateway passes it through without binary media types
    assert r["body"].encode("utf-8") == (assets.SOURCE_DIR / name).read_bytes()


@pytest.mark.parametrize("name", ["index.html", "package.json", "..%2F..%2Fpackage.json", "swagger-ui.js", "x"])
def test_any_other_name_is_not_found(name):
    r = get(f"/docs/{name}", "/docs/{name}")
    assert r["statusCode"] == 404
    assert json.loads(r["body"])["error"]["code"] == "not_found"


def test_the_deployed_layout_reads_the_gzipped_copies(tmp_path, monkeypatch):
    """In the Lambda asset the files are <name>.gz beside the module (infra/bundling.py puts them
    there); they are preferred over node_modules, and served decompressed."""
    name = "swagger-ui.css"
    (tmp_path / f"{name}.gz").write_bytes(gzip.compress(b"/* bundled copy */"))
    monkeypatch.setattr(assets, "BUNDLED_DIR", tmp_path)
    assets.read.cache_clear()
    try:
        r = get(f"/docs/{name}", "/docs/{name}")
        assert r["statusCode"] == 200 and r["body"] == "/* bundled copy */"
    finally:
        assets.read.cache_clear()


def test_the_page_may_run_only_its_own_script_and_same_origin_files():
    import base64
    import hashlib
    import re

    r = get("/docs")
    csp = dict(part.strip().split(" ", 1) for part in header(r, "Content-Security-Policy").split(";"))
    scripts = re.findall(r"<script>(.*?)</script>", r["body"], re.S)
    assert len(scripts) == 1 and "<script src" not in r["body"]  # the bundle is added by that script, from 'self'
    digest = base64.b64encode(hashlib.sha256(scripts[0].encode()).digest()).decode()
    assert csp["script-src"] == f"'self' 'sha256-{digest}'"  # no 'unsafe-inline', no other origin
    assert csp["default-src"] == "'none'" and csp["connect-src"] == "'self'" and csp["frame-ancestors"] == "'none'"
    assert header(r, "X-Content-Type-Options") == "nosniff"

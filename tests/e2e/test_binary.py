"""Files and Swagger UI through the twin's API Gateway emulation (decision 0019): the twin now encodes
payloads as API Gateway does (infra/local/content.py), so these fail if a download would reach a
browser or curl as base64 text on AWS, if a JSON body stopped parsing once base64-encoded, or if a
CORS preflight broke under ``*/*``.

Accept headers as clients send them: a browser following a link or setting window.location, a
browser loading a stylesheet or a script, curl and python-requests (``*/*``), fetch() without headers
(``*/*``), and a client naming the file's type."""

from __future__ import annotations

import base64
import io
import json
import re
import shutil
import subprocess
import zipfile

import pytest
import requests

from functions.docs import assets
from infra.openapi import SPEC_PATH
from tests.e2e.conftest import Client
from tests.e2e.test_farm import DEMO_FPO, farmer_body

BROWSER_LINK = "text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,*/*;q=0.8"
BROWSER_CSS = "text/css,*/*;q=0.1"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
CLIENT_ACCEPTS = [BROWSER_LINK, "*/*", XLSX, "application/zip", "application/json"]


@pytest.fixture(scope="module")
def manager(twin) -> str:
    user = next(u for u in twin["users"] if u["role"] == "fpo_manager")
    return Client(twin["api"]).login(user["username"], user["password"])["id_token"]


def download(twin, path: str, token: str, accept: str | None) -> requests.Response:
    """A GET as a browser or curl sends it: no Content-Type, the given Accept (None: no Accept at all)."""
    headers = {"Authorization": token, "Accept": accept}  # requests drops a header whose value is None
    return requests.get(twin["api"] + path, headers=headers, timeout=60)


@pytest.mark.parametrize("stage", ["", "/dev"])
@pytest.mark.parametrize("accept", CLIENT_ACCEPTS)
def test_the_fpo_workbook_and_zip_arrive_as_bytes_whatever_the_client_accepts(twin, manager, accept, stage):
    xlsx = download(twin, f"{stage}/fpos/{DEMO_FPO}/reports?format=xlsx", manager, accept)
    assert xlsx.status_code == 200, xlsx.text
    assert xlsx.headers["Content-Type"] == XLSX
    assert xlsx.headers["Content-Disposition"] == f'attachment; filename="{DEMO_FPO}-reports.xlsx"'
    from openpyxl import load_workbook

    book = load_workbook(io.BytesIO(xlsx.content))
    assert book.sheetnames == ["seasons", "villages", "carbon", "carbon_approved"]

    bundle = download(twin, f"{stage}/fpos/{DEMO_FPO}/reports?format=zip", manager, accept)
    assert bundle.status_code == 200 and bundle.headers["Content-Type"] == "application/zip"
    names = zipfile.ZipFile(io.BytesIO(bundle.content)).namelist()
    assert names == [f"{DEMO_FPO}-{t}.csv" for t in ("seasons", "villages", "carbon", "carbon_approved")]


def test_a_client_sending_no_accept_header_gets_base64_text(twin, manager):
    """API Gateway decides on the first Accept type; with none the twin assumes no match (the one
    case ``*/*`` does not cover: curl, browsers, fetch and requests all send Accept)."""
    raw = download(twin, f"/fpos/{DEMO_FPO}/reports?format=zip", manager, None)
    assert raw.status_code == 200 and not raw.content.startswith(b"PK")
    assert base64.b64decode(raw.content).startswith(b"PK")


def test_a_csv_and_json_are_text_whatever_the_accept(twin, manager):
    for accept in (BROWSER_LINK, "*/*", None):
        csv = download(twin, f"/fpos/{DEMO_FPO}/reports?format=csv&table=villages", manager, accept)
        assert csv.status_code == 200 and csv.text.splitlines()[0] == "village,members,plots,area_ha,seasons_reported"
        reports = download(twin, f"/fpos/{DEMO_FPO}/reports", manager, accept)
        assert reports.status_code == 200 and "villages" in reports.json()


def test_json_bodies_still_parse_when_they_arrive_base64_encoded(twin, manager):
    """Under ``*/*`` every request body reaches the function base64-encoded (the twin does it too)."""
    client = Client(twin["api"])
    body = farmer_body(name="रामेश्वर ਸਿੰਘ")
    created = client.call("POST", "/dev/farmers", body, token=manager)
    assert created.status_code == 201, created.text
    farmer_id = created.json()["farmer_id"]
    patched = client.call(
        "PATCH",
        f"/farmers/{farmer_id}",
        raw=json.dumps({"village": "सोनपुर", "version": created.json()["version"]}, ensure_ascii=False).encode(),
        token=manager,
        headers={"Content-Type": "application/json; charset=utf-8"},
    )
    assert patched.status_code == 200, patched.text
    shown = client.call("GET", f"/farmers/{farmer_id}", token=manager).json()
    assert (shown["name"], shown["village"]) == ("रामेश्वर ਸਿੰਘ", "सोनपुर")
    for content_type, expected in (("text/plain", 415), ("multipart/form-data; boundary=x", 415)):
        refused = client.call("POST", "/farmers", farmer_body(), token=manager, headers={"Content-Type": content_type})
        assert refused.status_code == expected and refused.json()["error"]["code"] == "unsupported_media_type"
    bad = client.call("POST", "/farmers", raw=b'{"name": "\xff"}', token=manager)
    assert bad.status_code == 400 and bad.json()["error"]["code"] == "invalid_encoding"


@pytest.mark.parametrize("path", ["/farmers", "/auth/login", "/dev/fpos/FPO-DEMO-1/invitations"])
def test_cors_preflights_answer_under_every_media_type_binary(twin, path):
    """The twin answers 500 for a preflight mock that does not convert to text, as AWS does."""
    r = requests.options(
        twin["api"] + path,
        headers={
            "Origin": "http://localhost:5173",
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "authorization,content-type",
        },
        timeout=10,
    )
    assert r.status_code == 204, r.text
    assert r.headers["Access-Control-Allow-Origin"].startswith("http://localhost:")
    assert "POST" in r.headers["Access-Control-Allow-Methods"]


# ---- Swagger UI under the stage, as on https://<api>.execute-api.<region>.amazonaws.com/dev/docs ------
@pytest.mark.parametrize("stage", ["", "/dev"])
def test_swagger_ui_and_its_files_load_under_the_stage(twin, stage):
    base = twin["api"] + stage
    page = requests.get(base + "/docs", headers={"Accept": BROWSER_LINK}, timeout=10)
    assert page.status_code == 200 and page.headers["Content-Type"] == "text/html; charset=utf-8"
    assert "Content-Security-Policy" in page.headers and "swagger-ui-bundle.js" in page.text
    for name, accept in (("swagger-ui.css", BROWSER_CSS), ("swagger-ui-bundle.js", "*/*")):
        asset = requests.get(f"{base}/docs/{name}", headers={"Accept": accept}, timeout=30)
        assert asset.status_code == 200 and asset.headers["Content-Type"] == assets.FILES[name]
        assert asset.content == (assets.SOURCE_DIR / name).read_bytes()  # byte for byte, not base64
        assert asset.headers["X-Content-Type-Options"] == "nosniff"
    missing = requests.get(f"{base}/docs/index.html", headers={"Accept": BROWSER_LINK}, timeout=10)
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "not_found"


@pytest.mark.parametrize(("stage", "server"), [("", "/"), ("/dev", "/dev")])
def test_try_it_out_calls_the_server_the_document_names(twin, stage, server):
    """The document's server is the base it was fetched under, so Try it out (and any tool that
    imports the document) reaches the API under the stage, never the host's root."""
    spec = requests.get(twin["api"] + stage + "/openapi.json", headers={"Accept": "application/json"}, timeout=10)
    assert spec.status_code == 200
    doc = spec.json()
    assert doc.pop("servers") == [{"url": server, "description": "this API"}]
    assert doc == json.loads(SPEC_PATH.read_text(encoding="utf-8"))
    root = twin["api"] + server.rstrip("/")
    assert requests.get(root + "/health", headers={"Accept": "application/json"}, timeout=10).json()["status"] == "ok"
    user = next(u for u in twin["users"] if u["role"] == "farmer")
    login = doc["paths"]["/auth/login"]["post"]["requestBody"]["content"]["application/json"]
    assert set(login["example"]) == {"username", "password"}  # the example Swagger UI pre-fills
    r = requests.post(
        root + "/auth/login",
        json={**login["example"], "username": user["username"], "password": user["password"]},
        headers={"Accept": "application/json"},
        timeout=10,
    )
    assert r.status_code == 200 and r.json()["tokens"]["id_token"], r.text


CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.mark.skipif(CHROMIUM is None, reason="no headless Chromium on this machine (Debian package chromium)")
def test_swagger_ui_renders_in_a_browser_under_the_stage(twin, tmp_path):
    """Headless Chromium loads /dev/docs as a browser does (its own Accept headers, the page's CSP, the
    two files, the document): Swagger UI renders every operation with the stage as its server."""
    dom = subprocess.run(
        [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", f"--user-data-dir={tmp_path}"]
        + ["--virtual-time-budget=20000", "--dump-dom", twin["api"] + "/dev/docs"],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    ).stdout
    assert '<option value="/dev"' in dom  # the server Try it out calls
    spec = json.loads(SPEC_PATH.read_text(encoding="utf-8"))
    rendered = set(re.findall(r'class="opblock-summary-path" data-path="([^"]+)"', dom))
    assert rendered == set(spec["paths"])

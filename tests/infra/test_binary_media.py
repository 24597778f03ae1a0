"""Binary downloads on AWS (decision 0019): every media type is binary, and the CORS preflight mocks
survive it. The twin reads the same template (tests/unit/twin/test_content.py, tests/e2e/test_binary.py)."""

from __future__ import annotations

import pytest

from infra.local.content import BinaryMediaTypes
from tests.infra.cfn import api_methods, resources

BROWSER_LINK = "text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,*/*;q=0.8"


def test_every_media_type_is_binary(template, prod_template):
    for tpl in (template, prod_template):
        (api,) = resources(tpl, "AWS::ApiGateway::RestApi").values()
        assert api["Properties"]["BinaryMediaTypes"] == ["*/*"]


@pytest.mark.parametrize(
    "accept",
    [
        BROWSER_LINK,  # a plain link or window.location
        "*/*",  # curl, python requests, fetch() without headers
        "application/pdf",
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        "application/json",  # a client that asks for JSON still gets the file's bytes, not base64 text
    ],
)
def test_the_synthesized_api_returns_bytes_for_the_accept_headers_clients_send(template, accept):
    binary = BinaryMediaTypes.from_template(template)
    assert binary.accepts_binary({"Accept": accept})


def test_every_preflight_mock_converts_to_text(template, prod_template):
    """Without CONVERT_TO_TEXT, a ``*/*`` API answers every CORS preflight with a 500."""
    for tpl in (template, prod_template):
        preflights = [m for (verb, _), m in api_methods(tpl).items() if verb == "OPTIONS"]
        assert preflights
        for method in preflights:
            integration = method["Integration"]
            assert integration["Type"] == "MOCK"
            assert integration["ContentHandling"] == "CONVERT_TO_TEXT"
            assert [r.get("ContentHandling") for r in integration["IntegrationResponses"]] == ["CONVERT_TO_TEXT"]


def test_lambda_proxy_methods_leave_content_handling_to_the_function(template):
    """A proxy integration passes bodies as API Gateway's rules say (base64 for binary); a
    ContentHandling there would convert them again."""
    proxies = [m for (verb, _), m in api_methods(template).items() if verb != "OPTIONS"]
    assert proxies
    for method in proxies:
        assert method["Integration"]["Type"] == "AWS_PROXY"
        assert "ContentHandling" not in method["Integration"]

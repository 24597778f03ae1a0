"""The twin's front encodes payloads as API Gateway does for a REST API (infra/local/content.py,
decision 0019): the rules on their own, then through ApiFront with a function that answers a file."""

from __future__ import annotations

import base64
import json

import pytest

from infra.local.content import BinaryMediaTypes, first_media_type
from infra.local.front import ApiFront, TokenBucket
from infra.local.template import gateway_responses, route_specs
from tests.unit.twin.test_front_http import RESPONSES

PDF = b"%PDF-1.7\n\xe2\xe3\xcf\xd3 binary\x00\xff"
BROWSER_LINK = "text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,*/*;q=0.8"
OLD_LIST = ("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "application/zip", "application/pdf")


# ---- matching ----------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("header", "first"),
    [
        (None, None),
        ("", None),
        ("Application/PDF", "application/pdf"),
        ("application/json; charset=utf-8", "application/json"),
        (BROWSER_LINK, "text/html"),
        ("*/*;q=0.8, application/pdf", "*/*"),
    ],
)
def test_the_first_media_type_is_the_one_that_counts(header, first):
    assert first_media_type(header) == first


def test_patterns_match_with_wildcards_but_accept_wildcards_are_not_expanded():
    old = BinaryMediaTypes(OLD_LIST)
    assert old.matches("application/pdf") and old.matches("application/zip")
    assert not old.matches("*/*")  # curl's Accept: not a match for application/pdf
    assert not old.matches("text/html") and not old.matches(None) and not old.matches("pdf")
    images = BinaryMediaTypes(("image/*",))
    assert images.matches("image/png") and not images.matches("application/png")
    every = BinaryMediaTypes(("*/*",))
    assert every.matches("text/html") and every.matches("*/*") and every.matches("application/json")
    assert not every.matches(None)  # no Accept header: nothing to match
    assert not BinaryMediaTypes().matches("application/pdf")


def test_binary_media_types_come_from_the_rest_api_resource_escaped_or_not():
    template = {
        "Resources": {
            "Api": {"Type": "AWS::ApiGateway::RestApi", "Properties": {"BinaryMediaTypes": ["*~1*", "image/png"]}},
            "Other": {"Type": "AWS::S3::Bucket", "Properties": {"BinaryMediaTypes": ["text/html"]}},
        }
    }
    assert BinaryMediaTypes.from_template(template).patterns == ("*/*", "image/png")
    assert BinaryMediaTypes.from_template({"Resources": {}}).patterns == ()


# ---- the request -------------------------------------------------------------------------------------
def test_a_body_of_a_binary_content_type_is_passed_base64_encoded():
    binary = BinaryMediaTypes(("application/octet-stream",))
    assert binary.proxy_request_body({"content-type": "application/octet-stream"}, PDF) == (
        base64.b64encode(PDF).decode(),
        True,
    )
    # any other type is text, whatever its bytes: API Gateway does not base64 what it sees as text
    assert binary.proxy_request_body({"Content-Type": "application/json"}, b'{"a": "\xc3\xa9"}') == (
        '{"a": "é"}',
        False,
    )
    assert binary.proxy_request_body({"Content-Type": "application/json"}, b"") == (None, False)


def test_no_content_type_counts_as_application_json():
    assert BinaryMediaTypes(("application/json",)).request_is_binary({})
    assert BinaryMediaTypes(("*/*",)).proxy_request_body({}, b"{}") == ("e30=", True)
    assert not BinaryMediaTypes(OLD_LIST).request_is_binary({})


def test_a_preflight_mock_fails_on_a_binary_request_unless_it_converts_to_text():
    every = BinaryMediaTypes(("*/*",))
    assert every.mock_refuses({}, None)  # a browser's preflight: no Content-Type, no body
    assert not every.mock_refuses({}, "CONVERT_TO_TEXT")
    assert not BinaryMediaTypes(OLD_LIST).mock_refuses({}, None)


# ---- the response ------------------------------------------------------------------------------------
def _file_result() -> dict:
    return {
        "statusCode": 200,
        "headers": {"Content-Type": "application/pdf"},
        "body": base64.b64encode(PDF).decode(),
        "isBase64Encoded": True,
    }


@pytest.mark.parametrize("accept", ["application/pdf", "application/pdf, */*", "application/zip"])
def test_a_base64_result_is_bytes_when_the_first_accept_type_is_binary(accept):
    assert BinaryMediaTypes(OLD_LIST).proxy_response_body(_file_result(), {"accept": accept}) == PDF


@pytest.mark.parametrize("accept", [None, "*/*", BROWSER_LINK, "*/*, application/pdf", "text/plain"])
def test_otherwise_the_client_receives_the_base64_text(accept):
    headers = {"Accept": accept} if accept else {}
    body = BinaryMediaTypes(OLD_LIST).proxy_response_body(_file_result(), headers)
    assert body == base64.b64encode(PDF)


def test_a_text_result_is_sent_as_utf8_whatever_the_accept():
    text = {"statusCode": 200, "body": '{"name": "अमर"}', "isBase64Encoded": False}
    for binary in (BinaryMediaTypes(("*/*",)), BinaryMediaTypes()):
        assert binary.proxy_response_body(text, {"Accept": "*/*"}) == '{"name": "अमर"}'.encode()


def test_a_result_marked_base64_that_is_not_is_refused():
    with pytest.raises(ValueError):
        BinaryMediaTypes(("*/*",)).proxy_response_body(
            {"statusCode": 200, "body": "not base64!", "isBase64Encoded": True}, {"Accept": "*/*"}
        )


# ---- through the front -------------------------------------------------------------------------------
def _template(binary_media_types: list[str] | None, *, convert_preflight: bool) -> dict:
    preflight: dict = {
        "Type": "MOCK",
        "RequestTemplates": {"application/json": "{ statusCode: 200 }"},
        "IntegrationResponses": [
            {"StatusCode": "204", "ResponseParameters": {"method.response.header.Access-Control-Allow-Origin": "'*'"}}
        ],
    }
    if convert_preflight:
        preflight["ContentHandling"] = "CONVERT_TO_TEXT"
    api_props = {"Name": "api"} if binary_media_types is None else {"BinaryMediaTypes": binary_media_types}
    return {
        "Resources": {
            "Api": {"Type": "AWS::ApiGateway::RestApi", "Properties": api_props},
            "Report": {
                "Type": "AWS::ApiGateway::Resource",
                "Properties": {"ParentId": {"Fn::GetAtt": ["Api", "RootResourceId"]}, "PathPart": "report"},
            },
            "GetReport": {
                "Type": "AWS::ApiGateway::Method",
                "Properties": {
                    "HttpMethod": "GET",
                    "ResourceId": {"Ref": "Report"},
                    "AuthorizationType": "NONE",
                    "Integration": {"Type": "AWS_PROXY", "Uri": {"Fn::GetAtt": ["ReportFn", "Arn"]}},
                },
            },
            "PostReport": {
                "Type": "AWS::ApiGateway::Method",
                "Properties": {
                    "HttpMethod": "POST",
                    "ResourceId": {"Ref": "Report"},
                    "AuthorizationType": "NONE",
                    "Integration": {"Type": "AWS_PROXY", "Uri": {"Fn::GetAtt": ["ReportFn", "Arn"]}},
                },
            },
            "OptionsReport": {
                "Type": "AWS::ApiGateway::Method",
                "Properties": {
                    "HttpMethod": "OPTIONS",
                    "ResourceId": {"Ref": "Report"},
                    "AuthorizationType": "NONE",
                    "Integration": preflight,
                },
            },
            **RESPONSES,
        }
    }


class ReportFn:
    """GET answers a PDF (base64, as Powertools returns bytes); POST echoes what the event carried."""

    def __init__(self):
        self.events: list[dict] = []

    def invoke(self, event):
        self.events.append(event)
        if event["httpMethod"] == "GET":
            return _file_result()
        echo = {"body": event["body"], "isBase64Encoded": event["isBase64Encoded"]}
        return {"statusCode": 200, "headers": {"Content-Type": "application/json"}, "body": json.dumps(echo)}


def _front(template: dict) -> tuple[ApiFront, ReportFn]:
    fn = ReportFn()
    front = ApiFront(
        route_specs(template),
        {"ReportFn": fn},
        {},
        gateway_responses(template),
        TokenBucket(None, None),
        "dev",
        binary=BinaryMediaTypes.from_template(template),
    )
    return front, fn


@pytest.mark.parametrize("accept", [BROWSER_LINK, "*/*"])
def test_the_old_list_sends_a_browser_or_curl_base64_text_as_aws_does(accept):
    """The defect the twin used to hide: with the three file types listed, a plain link gets text."""
    front, _ = _front(_template(list(OLD_LIST), convert_preflight=False))
    resp = front.handle("GET", "/report", {"Accept": accept}, b"")
    assert resp.status == 200 and resp.headers["Content-Type"] == "application/pdf"
    assert resp.body == base64.b64encode(PDF) and not resp.body.startswith(b"%PDF")


@pytest.mark.parametrize("accept", [BROWSER_LINK, "*/*", "application/pdf", "application/json"])
def test_every_media_type_binary_sends_the_bytes_to_every_client(accept):
    front, _ = _front(_template(["*/*"], convert_preflight=True))
    assert front.handle("GET", "/report", {"Accept": accept}, b"").body == PDF


def test_a_json_body_reaches_the_function_base64_encoded_under_every_media_type_binary():
    front, fn = _front(_template(["*/*"], convert_preflight=True))
    body = '{"name": "अमर"}'.encode()
    resp = front.handle("POST", "/report", {"Content-Type": "application/json", "Accept": "*/*"}, body)
    assert json.loads(resp.body) == {"body": base64.b64encode(body).decode(), "isBase64Encoded": True}
    front, fn = _front(_template(None, convert_preflight=False))  # no binary media types: text
    resp = front.handle("POST", "/report", {"Content-Type": "application/json"}, body)
    assert json.loads(resp.body) == {"body": '{"name": "अमर"}', "isBase64Encoded": False}


def test_a_preflight_mock_without_convert_to_text_answers_500_under_every_media_type_binary():
    headers = {"Origin": "http://localhost:5173", "Access-Control-Request-Method": "POST"}
    front, _ = _front(_template(["*/*"], convert_preflight=False))
    resp = front.handle("OPTIONS", "/report", headers, b"")
    assert resp.status == 500 and json.loads(resp.body)["error"]["code"] == "internal_error"
    assert resp.headers["x-amzn-ErrorType"] == "API_CONFIGURATION_ERROR"
    front, _ = _front(_template(["*/*"], convert_preflight=True))
    resp = front.handle("OPTIONS", "/report", headers, b"")
    assert resp.status == 204 and resp.headers["Access-Control-Allow-Origin"] == "*"


def test_a_proxy_result_marked_base64_that_is_not_answers_502():
    front, fn = _front(_template(["*/*"], convert_preflight=True))
    fn.invoke = lambda event: {"statusCode": 200, "body": "%%%", "isBase64Encoded": True}  # type: ignore[method-assign]
    resp = front.handle("GET", "/report", {"Accept": "*/*"}, b"")
    assert resp.status == 502

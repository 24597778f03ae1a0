"""The one body rule of every route (agri_common.platform.body, applied by make_handler): encoding, media
type, JSON limits and shape. Checked on a sample resolver and on two real domains' routes
(/auth/login, public; POST /farmers, private), because the rule lives in the shared entry point."""

from __future__ import annotations

import base64
import json
from types import SimpleNamespace

import pytest
from pydantic import BaseModel

from agri_common.platform.body import MAX_JSON_DEPTH
from agri_common.platform.principal import Role
from agri_common.platform.resolver import PRIVATE, make_handler, make_resolver
from agri_common.platform.revocation import InMemoryRevocationStore
from functions.auth import handler as auth
from functions.auth.logic import AuthService
from functions.auth.mfa_sessions import InMemoryMfaSessionStore
from functions.farmers import handler as farmers
from infra.local.front import proxy_event
from infra.local.lambdas import LambdaContext
from tests.unit.fakes.idp import FakeIdp
from tests.unit.functions.conftest import claims_for

app = make_resolver()
seen: list = []


class Thing(BaseModel):
    name: str
    count: int = 0


@app.post("/things", security=PRIVATE)
def create_thing(body: Thing) -> dict:
    seen.append(body)
    return {"name": body.name, "count": body.count}


@app.post("/ping", security=PRIVATE)
def ping() -> dict:
    return {"pong": True}


sample = SimpleNamespace(
    lambda_handler=make_handler(app, roles=[Role.ADMIN], revocation=lambda: InMemoryRevocationStore())
)
ADMIN = claims_for("admin", fpo=None)
MANAGER = claims_for("fpo_manager", user="mgr", fpo="FPO-1")
FARMER = {
    "name": "Asha",
    "phone": "+919812345678",
    "village": "Rampur",
    "district": "Ludhiana",
    "state": "Punjab",
    "fpo_id": "FPO-1",
    "consent": {"given": True, "version": "v1", "at": "2025-06-01T10:00:00+05:30"},
}
LOGIN = {"username": "ravi", "password": "Str0ng-Passw0rd!"}


def send(
    module,
    path: str,
    body: bytes | str | None,
    *,
    content_type: str | None = "application/json",
    claims=None,
    base64_encoded: bool | None = None,
    method: str = "POST",
):
    """A raw request: the body exactly as given, the Content-Type header only if given."""
    headers = {"Content-Type": content_type} if content_type is not None else {}
    raw = body.encode("utf-8", "surrogatepass") if isinstance(body, str) else (body or b"")
    event = proxy_event(
        path, method, path, headers=headers, body=raw if not isinstance(body, str) else b"", claims=claims
    )
    if isinstance(body, str):  # a text body exactly as given (even one UTF-8 cannot encode)
        event["body"], event["isBase64Encoded"] = body, False
    if base64_encoded is not None:
        event["body"] = base64.b64encode(raw).decode() if base64_encoded else event["body"]
        event["isBase64Encoded"] = base64_encoded
    ctx = LambdaContext("t", 128, "arn:aws:lambda:x:1:function:t", "req-1", 10)
    resp = module.lambda_handler(event, ctx)
    return SimpleNamespace(status=resp["statusCode"], body=json.loads(resp["body"]) if resp.get("body") else None)


def error(r) -> tuple[int, str]:
    assert set(r.body) == {"error"} and {"code", "message", "request_id"} <= set(r.body["error"]), r.body
    return r.status, r.body["error"]["code"]


@pytest.fixture
def farm(monkeypatch):
    """The farmers entry point on the in-memory store with one FPO (the farmers tests' World)."""
    from tests.unit.functions.farmers.world import World

    yield World(monkeypatch).store
    World.uninstall()


@pytest.fixture
def login(monkeypatch):
    idp = FakeIdp()
    revocations = InMemoryRevocationStore()
    auth.app.dependency_overrides[auth.get_service] = lambda: AuthService(idp, revocations, InMemoryMfaSessionStore())
    monkeypatch.setattr(auth, "_revocation", lambda: revocations)
    idp.sign_up("ravi", LOGIN["password"], {})
    yield idp
    auth.app.dependency_overrides.clear()


def farm_items(store) -> int:
    return len(store.items)


# ---- the sample resolver: each rule ----------------------------------------------------------
def test_a_json_object_passes():
    r = send(sample, "/things", json.dumps({"name": "a", "count": 2}).encode(), claims=ADMIN)
    assert r.status == 200 and r.body == {"name": "a", "count": 2}


@pytest.mark.parametrize(
    "content_type",
    [
        "application/json; charset=utf-8",
        "application/json;charset=UTF-8",
        'application/json; charset="utf-8"',
        "APPLICATION/JSON",
        "application/merge-patch+json",
        "application/vnd.agri+json; charset=utf-8",
    ],
)
def test_json_media_types_are_accepted(content_type):
    r = send(sample, "/things", b'{"name": "a"}', content_type=content_type, claims=ADMIN)
    assert r.status == 200, r.body


@pytest.mark.parametrize(
    "content_type",
    [
        "text/plain",
        "application/xml",
        "multipart/form-data",
        "multipart/form-data; boundary=x",
        "application/x-www-form-urlencoded",
        "application/json; charset=latin-1",
        "application/jsonx",
        "application/+json",
        "text/json",
        "",
        None,
    ],
)
def test_a_body_of_another_media_type_is_415(content_type):
    seen.clear()
    r = send(sample, "/things", b'{"name": "a"}', content_type=content_type, claims=ADMIN)
    assert error(r) == (415, "unsupported_media_type")
    assert "application/json" in r.body["error"]["message"] and seen == []


def test_a_form_body_is_not_read_as_fields():
    """Powertools would parse a form body into the model; here it is refused."""
    r = send(sample, "/things", b"name=a&count=2", content_type="application/x-www-form-urlencoded", claims=ADMIN)
    assert error(r) == (415, "unsupported_media_type")


@pytest.mark.parametrize("content_type", [None, "text/plain", "application/xml"])
def test_a_request_without_a_body_is_never_refused_for_its_media_type(content_type):
    assert send(sample, "/ping", None, content_type=content_type, claims=ADMIN).body == {"pong": True}
    r = send(sample, "/things", None, content_type=content_type, claims=ADMIN)  # this route needs a body
    assert error(r) == (422, "validation_error")
    assert [d["field"] for d in r.body["error"]["details"]] == ["body"]


def test_a_base64_encoded_json_body_is_decoded():
    r = send(sample, "/things", '{"name": "é", "count": 1}'.encode(), base64_encoded=True, claims=ADMIN)
    assert r.status == 200 and r.body == {"name": "é", "count": 1}


@pytest.mark.parametrize("raw", [b'{"name": "\xe9"}', b"\xff\xfe{\x00}\x00", b'{"name": "\xc3"}', b"\x80"])
def test_a_body_that_is_not_utf8_is_400(raw):
    r = send(sample, "/things", raw, claims=ADMIN)  # proxy_event base64-encodes it, as API Gateway does
    assert error(r) == (400, "invalid_encoding")


def test_a_text_body_with_a_lone_surrogate_is_400():
    r = send(sample, "/things", '{"name": "\udce9"}', claims=ADMIN)
    assert error(r) == (400, "invalid_encoding")


def test_a_body_marked_base64_that_is_not_base64_is_400():
    event = proxy_event("/things", "POST", "/things", headers={"Content-Type": "application/json"}, claims=ADMIN)
    event["body"], event["isBase64Encoded"] = "not base64!!", True
    resp = sample.lambda_handler(event, LambdaContext("t", 128, "arn", "r", 10))
    assert resp["statusCode"] == 400 and json.loads(resp["body"])["error"]["code"] == "invalid_encoding"


def test_an_integer_over_the_parser_limit_is_400_not_500():
    r = send(sample, "/things", ('{"name": "a", "count": ' + "9" * 5000 + "}").encode(), claims=ADMIN)
    assert error(r) == (400, "malformed_json")


@pytest.mark.parametrize("depth", [MAX_JSON_DEPTH + 1, 500, 5000, 200_000])
def test_nesting_deeper_than_the_limit_is_400_naming_it(depth):
    inner = "[" * (depth - 1) + "]" * (depth - 1)
    r = send(sample, "/things", ('{"name": ' + inner + "}").encode(), claims=ADMIN)
    assert error(r) == (400, "malformed_json")
    assert str(MAX_JSON_DEPTH) in r.body["error"]["message"]


def test_a_very_deep_body_is_refused_before_parsing_even_with_a_raised_recursion_limit():
    """The C JSON parser recurses once per level; where a library has raised the recursion limit (a
    test runner's plugins did) a million-deep body overflowed the C stack and killed the process.
    The depth is read before parsing, so the process answers 400 (run in a child process: a crash
    must fail this test, not the test run)."""
    import subprocess
    import sys

    code = (
        "import sys; sys.setrecursionlimit(10**7)\n"
        "from agri_common.platform.body import parse_json\n"
        "from agri_common.platform.errors import AppError\n"
        "try:\n    parse_json('[' * 1_000_000 + ']' * 1_000_000)\n"
        "except AppError as e:\n    print(e.status, e.code)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=120,
        env={"PYTHONPATH": "layers/common/python"},
    )
    assert (done.returncode, done.stdout.strip()) == (0, "400 malformed_json"), done.stderr[-2000:]


@pytest.mark.parametrize(
    "text, deep",
    [
        ('{"a": "' + "[" * 100 + '"}', False),  # brackets inside a string do not count
        ('{"a": "\\\\", "b": ' + "[" * 70 + "]" * 70 + "}", True),  # an escaped backslash ends no string early
        ('{"a": "\\"' + "[" * 70 + '"}', False),  # an escaped quote does not end the string
    ],
)
def test_the_depth_scan_reads_strings_as_json_does(text, deep):
    from agri_common.platform.body import _deeper_than

    json.loads(text)  # each case is valid JSON
    assert _deeper_than(text, MAX_JSON_DEPTH) is deep


def test_nesting_up_to_the_limit_is_parsed():
    inner = "[" * (MAX_JSON_DEPTH - 1) + "]" * (MAX_JSON_DEPTH - 1)
    r = send(sample, "/things", ('{"name": ' + inner + "}").encode(), claims=ADMIN)
    assert error(r) == (422, "validation_error")  # parsed, then refused by the model (name is a string)


@pytest.mark.parametrize(
    "body, kind",
    [
        ('[{"name": "a"}, {"name": "b"}]', "an array"),
        ('"x"', "a string"),
        ("3", "a number"),
        ("true", "a boolean"),
        ("null", "null"),
    ],
)
def test_a_top_level_value_that_is_not_an_object_is_422_naming_body(body, kind):
    seen.clear()
    r = send(sample, "/things", body.encode(), claims=ADMIN)
    assert error(r) == (422, "validation_error")
    assert r.body["error"]["details"] == [
        {"field": "body", "issue": f"The body must be a JSON object, not {kind}", "type": "object_expected"}
    ]
    assert seen == []


def test_a_route_without_a_body_still_refuses_a_bad_one():
    assert error(send(sample, "/ping", b"[1]", claims=ADMIN)) == (422, "validation_error")
    assert error(send(sample, "/ping", b"{x", claims=ADMIN)) == (400, "malformed_json")
    assert error(send(sample, "/ping", b"{}", content_type="text/plain", claims=ADMIN)) == (
        415,
        "unsupported_media_type",
    )


def test_the_role_check_still_comes_before_the_body():
    r = send(sample, "/things", b"\xff", content_type="text/plain", claims=claims_for("farmer"))
    assert error(r) == (403, "role_forbidden")


def test_a_resolver_used_without_make_handler_applies_the_same_json_rule():
    event = proxy_event(
        "/things",
        "POST",
        "/things",
        headers={"Content-Type": "application/json"},
        body=b'[{"name": "a"}]',
        claims=ADMIN,
    )
    resp = app.resolve(event, LambdaContext("t", 128, "arn", "r", 10))
    assert resp["statusCode"] == 422


# ---- two real domains, over their Lambda entry points -------------------------------------------
BAD_BODIES = [
    ("not utf-8", b'{"username": "ravi\xff"}', "application/json", (400, "invalid_encoding")),
    ("text/plain", json.dumps(LOGIN).encode(), "text/plain", (415, "unsupported_media_type")),
    ("xml", b"<login/>", "application/xml", (415, "unsupported_media_type")),
    ("multipart without boundary", b"--x\r\n", "multipart/form-data", (415, "unsupported_media_type")),
    ("deep", ("[" * 600 + "]" * 600).encode(), "application/json", (400, "malformed_json")),
    ("huge int", ('{"username": ' + "1" * 4400 + "}").encode(), "application/json", (400, "malformed_json")),
    ("array", json.dumps([LOGIN, LOGIN]).encode(), "application/json", (422, "validation_error")),
]


@pytest.mark.parametrize("name, raw, content_type, expected", BAD_BODIES, ids=[b[0] for b in BAD_BODIES])
def test_auth_login_refuses_each_bad_body(login, name, raw, content_type, expected):
    r = send(auth, "/auth/login", raw, content_type=content_type)
    assert error(r) == expected
    assert not any(c[0] == "login" for c in login.calls)


@pytest.mark.parametrize("name, raw, content_type, expected", BAD_BODIES, ids=[b[0] for b in BAD_BODIES])
def test_create_farmer_refuses_each_bad_body_and_stores_nothing(farm, name, raw, content_type, expected):
    before = farm_items(farm)
    r = send(farmers, "/farmers", raw, content_type=content_type, claims=MANAGER)
    assert error(r) == expected
    assert farm_items(farm) == before


def test_an_array_of_farmers_is_not_taken_as_its_first_element(farm):
    before = farm_items(farm)
    r = send(farmers, "/farmers", json.dumps([FARMER, {**FARMER, "name": "Bina"}]).encode(), claims=MANAGER)
    assert error(r) == (422, "validation_error") and r.body["error"]["details"][0]["field"] == "body"
    assert farm_items(farm) == before
    ok = send(farmers, "/farmers", json.dumps(FARMER).encode(), claims=MANAGER)
    assert ok.status == 201, ok.body


def test_login_accepts_base64_and_charset(login):
    r = send(
        auth,
        "/auth/login",
        json.dumps(LOGIN).encode(),
        content_type="application/json; charset=utf-8",
        base64_encoded=True,
    )
    assert r.status == 200, r.body


# ---- every body base64-encoded (binaryMediaTypes */*: decision 0019) ----------------------------------
# API Gateway passes a body whose Content-Type is a binary media type base64-encoded; with */* that is
# every body. Each rule must answer the same for the same bytes, sent as text or as base64.
ACCEPTED = ["application/json", "application/json; charset=utf-8", "application/merge-patch+json", "APPLICATION/JSON"]
REFUSED = [
    "text/plain",
    "multipart/form-data; boundary=x",
    "application/x-www-form-urlencoded",
    "application/json; charset=latin-1",
    None,
]


@pytest.mark.parametrize("base64_encoded", [False, True])
@pytest.mark.parametrize("content_type", ACCEPTED)
def test_an_accepted_body_parses_the_same_as_text_or_base64(content_type, base64_encoded):
    raw = json.dumps({"name": "अमर ਸਿੰਘ", "count": 3}, ensure_ascii=False).encode()
    r = send(sample, "/things", raw, content_type=content_type, base64_encoded=base64_encoded, claims=ADMIN)
    assert r.status == 200 and r.body == {"name": "अमर ਸਿੰਘ", "count": 3}


@pytest.mark.parametrize("base64_encoded", [False, True])
@pytest.mark.parametrize("content_type", REFUSED)
def test_form_multipart_and_other_types_are_415_as_text_or_base64(content_type, base64_encoded):
    seen.clear()
    raw = b"--x\r\nContent-Disposition: form-data; name=name\r\n\r\na\r\n--x--" if content_type else b'{"name": "a"}'
    r = send(sample, "/things", raw, content_type=content_type, base64_encoded=base64_encoded, claims=ADMIN)
    assert error(r) == (415, "unsupported_media_type") and seen == []


def test_an_empty_base64_body_is_no_body():
    """API Gateway sends an empty body as null or ""; marked base64 it is still nothing to refuse."""
    r = send(sample, "/ping", b"", content_type=None, base64_encoded=True, claims=ADMIN)
    assert r.status == 200 and r.body == {"pong": True}


@pytest.mark.parametrize("name, raw, content_type, expected", BAD_BODIES, ids=[b[0] for b in BAD_BODIES])
def test_create_farmer_refuses_each_bad_base64_body_and_stores_nothing(farm, name, raw, content_type, expected):
    before = farm_items(farm)
    r = send(farmers, "/farmers", raw, content_type=content_type, claims=MANAGER, base64_encoded=True)
    assert error(r) == expected
    assert farm_items(farm) == before


def test_a_base64_farmer_is_created_once(farm):
    r = send(farmers, "/farmers", json.dumps(FARMER).encode(), claims=MANAGER, base64_encoded=True)
    assert r.status == 201, r.body
    assert r.body["name"] == FARMER["name"]


@pytest.mark.parametrize("extra", [0, 1, 2])  # every base64 padding: none, "==", "="
def test_the_size_limit_counts_decoded_bytes_exactly(extra):
    """A body of exactly the limit passes the size check as text and as base64; one byte more is 413."""
    from agri_common.platform.resolver import DEFAULT_MAX_BODY_BYTES

    for size, refused in ((DEFAULT_MAX_BODY_BYTES - extra, False), (DEFAULT_MAX_BODY_BYTES + 1 + extra, True)):
        raw = b'{"name": "' + b"a" * (size - 12) + b'"}'
        assert len(raw) == size
        for base64_encoded in (False, True):
            r = send(sample, "/things", raw, base64_encoded=base64_encoded, claims=ADMIN)
            if refused:
                assert error(r) == (413, "payload_too_large"), (size, base64_encoded)
            else:
                assert r.status == 200, (size, base64_encoded, r.body)

"""What a request body must be before any route sees it: the one body rule of every function.

Every route of this API takes a JSON object body (CSV imports arrive as a string field inside one).
:func:`read_body` applies, in this order, to the API Gateway proxy event:

1. **Media type.** A request with a body must say ``Content-Type: application/json`` (or a
   ``+json`` type such as ``application/merge-patch+json``), optionally with ``charset=utf-8``;
   any other type, another charset, or no Content-Type at all is a 415 ``unsupported_media_type``.
   A request *without* a body (absent or empty) is never refused for its Content-Type, whatever
   it says or if it says nothing: there is nothing to interpret. A route that needs a body then
   answers 422 (``body``: field required), as for an empty JSON object missing required fields.
2. **Encoding.** A base64-encoded body (``isBase64Encoded``: API Gateway sends bodies it does not
   treat as text that way) is decoded (400 ``invalid_encoding`` if it is not base64); the bytes
   must be UTF-8: anything else is a 400 ``invalid_encoding``. So is an event body holding lone
   surrogates (text that cannot be UTF-8). A non-JSON Content-Type is refused first (415).
3. **JSON.** The text must be JSON (400 ``malformed_json`` with the position), with no integer
   over Python's 4,300-digit limit (400 ``malformed_json``) and no more than
   :data:`MAX_JSON_DEPTH` nested arrays/objects (400 ``malformed_json`` naming the limit).
4. **Shape.** The top-level value must be a JSON object: an array (``[{...},{...}]``), a string, a
   number, ``true``/``false`` or ``null`` is a 422 ``validation_error`` naming ``body``.

Nothing here imports more than the standard library (cold start).
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Mapping, Sequence
from typing import Any

from agri_common.platform.errors import BadRequestError, Detail, UnprocessableError, UnsupportedMediaTypeError

MAX_JSON_DEPTH = 64
JSON_MEDIA_TYPE = "application/json"


def _header(event: Mapping[str, Any], name: str) -> str | None:
    """A request header, case-insensitively (API Gateway REST keeps the client's spelling)."""
    wanted = name.lower()
    for key, value in (event.get("headers") or {}).items():
        if isinstance(key, str) and key.lower() == wanted and value is not None:
            return str(value)
    for key, values in (event.get("multiValueHeaders") or {}).items():
        if isinstance(key, str) and key.lower() == wanted and values:
            return str(values[0])
    return None


def body_bytes(event: Mapping[str, Any]) -> bytes:
    """The body as the client sent it (base64 decoded), b'' when there is none."""
    raw = event.get("body")
    if raw is None or raw == "" or raw == b"":
        return b""
    if isinstance(raw, (bytes, bytearray)):
        return bytes(raw)
    if not isinstance(raw, str):
        raise BadRequestError("The request body is not text", code="invalid_encoding")
    if event.get("isBase64Encoded"):
        try:
            return base64.b64decode(raw, validate=True)
        except (binascii.Error, ValueError) as exc:
            raise BadRequestError(
                "The request body is marked base64 but is not valid base64", code="invalid_encoding"
            ) from exc
    try:
        return raw.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise BadRequestError(
            f"The request body is not UTF-8 text (unencodable character at position {exc.start})",
            code="invalid_encoding",
        ) from exc


def body_text(event: Mapping[str, Any], data: bytes | None = None) -> str:
    """The body as text: UTF-8 decoded (400 ``invalid_encoding`` otherwise), '' when there is none."""
    data = body_bytes(event) if data is None else data
    raw = event.get("body")
    if isinstance(raw, str) and not event.get("isBase64Encoded"):
        return raw  # already text, and encodable (body_bytes checked it)
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise BadRequestError(
            f"The request body is not UTF-8 text (invalid byte at position {exc.start}); send UTF-8 JSON",
            code="invalid_encoding",
        ) from exc


def check_media_type(content_type: str | None) -> None:
    """415 unless ``content_type`` is JSON (``application/json`` or ``application/*+json``) in UTF-8."""
    accepted = f"Send the body as {JSON_MEDIA_TYPE} (UTF-8)"
    if not content_type or not content_type.strip():
        raise UnsupportedMediaTypeError(f"The request has a body but no Content-Type. {accepted}")
    media, *params = [part.strip() for part in content_type.split(";")]
    media = media.lower()
    kind, _, subtype = media.partition("/")
    if not (media == JSON_MEDIA_TYPE or (kind == "application" and subtype.endswith("+json") and len(subtype) > 5)):
        raise UnsupportedMediaTypeError(f"Content-Type {media[:100]!r} is not accepted. {accepted}")
    for param in params:
        name, _, value = param.partition("=")
        if name.strip().lower() == "charset" and value.strip().strip('"').lower() not in ("utf-8", "utf8"):
            raise UnsupportedMediaTypeError(f"Charset {value.strip()[:40]!r} is not accepted. {accepted}")


def _malformed(message: str, details: Sequence[Detail] | None = None) -> BadRequestError:
    return BadRequestError(message, code="malformed_json", details=details)


_JSON_SPECIAL = re.compile(r'[\\"\[\]{}]')


def _deeper_than(text: str, limit: int) -> bool:
    """Whether the JSON text nests arrays/objects more than ``limit`` levels (the top level is 1),
    read before parsing: the C parser recurses once per level, and where a library has raised the
    recursion limit a deep enough body overflows the C stack (a segfault, not a RecursionError).
    One pass over the brackets, quotes and backslashes; brackets inside strings do not count."""
    if text.count("[") + text.count("{") <= limit:
        return False
    depth, in_string, escaped_at = 0, False, -1
    for match in _JSON_SPECIAL.finditer(text):
        pos, ch = match.start(), match.group()
        if pos == escaped_at:
            continue
        if in_string:
            if ch == "\\":
                escaped_at = pos + 1
            elif ch == '"':
                in_string = False
        elif ch == '"':
            in_string = True
        elif ch in "[{":
            depth += 1
            if depth > limit:
                return True
        elif ch in "]}":
            depth -= 1
    return False


def parse_json(text: str) -> Any:
    """``text`` as JSON, or a 400 ``malformed_json`` (syntax, integer too long, nesting too deep)."""
    too_deep = f"The request body nests arrays/objects deeper than {MAX_JSON_DEPTH} levels (the limit)"
    if _deeper_than(text, MAX_JSON_DEPTH):
        raise _malformed(
            too_deep, [{"field": "body", "issue": f"at most {MAX_JSON_DEPTH} levels", "type": "json_too_deep"}]
        )
    try:
        value = json.loads(text)
    except RecursionError as exc:
        raise _malformed(
            too_deep, [{"field": "body", "issue": f"at most {MAX_JSON_DEPTH} levels", "type": "json_too_deep"}]
        ) from exc
    except json.JSONDecodeError as exc:
        raise _malformed(
            "The request body is not valid JSON",
            [{"field": "body", "issue": f"{exc.msg} at line {exc.lineno} column {exc.colno}", "type": "json_invalid"}],
        ) from exc
    except ValueError as exc:  # e.g. an integer over the 4,300-digit conversion limit
        raise _malformed(
            "The request body holds a number JSON parsing refuses (too many digits)",
            [{"field": "body", "issue": "a number with too many digits", "type": "json_number_too_long"}],
        ) from exc
    return value


def parse_object(text: str) -> dict[str, Any]:
    """``text`` as a JSON object: :func:`parse_json`, then 422 naming ``body`` for any other top-level value."""
    value = parse_json(text)
    if not isinstance(value, dict):
        kind = {list: "an array", str: "a string", bool: "a boolean", type(None): "null"}.get(type(value), "a number")
        raise UnprocessableError(
            "The request is invalid",
            details=[
                {"field": "body", "issue": f"The body must be a JSON object, not {kind}", "type": "object_expected"}
            ],
        )
    return value


def read_body(event: Mapping[str, Any]) -> tuple[str, dict[str, Any] | None]:
    """(text, object) of the event's body after every check above; ('', None) without a body."""
    data = body_bytes(event)
    if not data:
        return "", None
    check_media_type(_header(event, "content-type"))
    text = body_text(event, data)
    return text, parse_object(text)

"""Opaque pagination tokens, checked on the way back in: any edit is a 400 ``invalid_next_token``.

A token is base64url JSON ``{"q": scope, "k": position}``: ``scope`` is what the query was (the
filters and the caller it was answered for), ``position`` where the next page starts (a DynamoDB
``LastEvaluatedKey``, or another service's opaque token). Tokens are not signed (no function
holds a key meant for it); instead everything in one is checked before it reaches a data store:

- :func:`page_position`: the token decodes, is a ``{"q", "k"}`` object, and ``q`` equals the
  scope of the request it came back with (a token of another query or filter is refused);
- :func:`check_start_key`: a DynamoDB position has exactly the key attributes of the table or
  index queried, each a storable string, with the queried partition and (for a prefix query) a
  sort key under the prefix. :class:`agri_common.single_table.DynamoTableStore` applies it to every
  ``query(start=...)``, so every route paginating through the shared store gets it; a store of
  its own (the ledger's) calls it with its index's attributes;
- :func:`check_opaque_position`: another service's token (Cognito's) is a bounded printable string.

An edited position inside the queried partition can only skip ahead in a list the caller may read
anyway; one outside it, of another shape or type, is refused with the same code and message as a
token that does not decode at all.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterable
from typing import Any

from agri_common.platform.errors import BadRequestError

INVALID_MESSAGE = "Invalid pagination token"
MAX_KEY_VALUE_BYTES = 1024  # DynamoDB: a sort key holds at most 1 KB (a partition key 2 KB)


def invalid_token(message: str = INVALID_MESSAGE) -> BadRequestError:
    return BadRequestError(message, code="invalid_next_token")


def encode_token(value: Any) -> str | None:
    if value is None:
        return None
    raw = json.dumps(value, separators=(",", ":"), sort_keys=True).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_token(token: str | None) -> Any:
    if not token:
        return None
    try:
        padded = token + "=" * (-len(token) % 4)
        return json.loads(base64.urlsafe_b64decode(padded.encode()))
    except (ValueError, TypeError, RecursionError) as exc:
        raise invalid_token() from exc


def page_token(scope: Any, position: Any) -> str | None:
    """The token of the next page of the query ``scope`` (None when there is no next page)."""
    return encode_token({"q": scope, "k": position}) if position else None


def page_position(token: str | None, scope: Any) -> Any:
    """The position ``token`` holds for the query ``scope``; None without a token; 400 otherwise."""
    value = decode_token(token)
    if value is None:
        return None
    if not isinstance(value, dict) or set(value) != {"q", "k"} or not value["k"]:
        raise invalid_token()
    if value["q"] != json.loads(json.dumps(scope)):  # the scope as it comes back from JSON
        raise invalid_token("The pagination token belongs to another query")
    return value["k"]


def _key_value_ok(value: Any) -> bool:
    from agri_common.platform.inputs import forbidden_character

    if not isinstance(value, str) or not value:
        return False
    try:
        size = len(value.encode("utf-8"))
    except UnicodeEncodeError:
        return False
    return size <= MAX_KEY_VALUE_BYTES and forbidden_character(value) is None


def check_start_key(
    key: Any, *, attrs: Iterable[str], partition: tuple[str, str], sort_prefix: tuple[str, str] | None = None
) -> dict[str, Any] | None:
    """``key`` as the ExclusiveStartKey of a query on the partition ``partition`` = (attribute,
    value) whose items carry exactly the key attributes ``attrs`` (table key + index key), and,
    for a ``begins_with`` query, ``sort_prefix`` = (sort attribute, prefix). 400 otherwise."""
    if key is None:
        return None
    wanted = set(attrs)
    if not isinstance(key, dict) or set(key) != wanted or not all(_key_value_ok(v) for v in key.values()):
        raise invalid_token()
    attr, value = partition
    if key.get(attr) != value:
        raise invalid_token()
    if sort_prefix is not None and not key[sort_prefix[0]].startswith(sort_prefix[1]):
        raise invalid_token()
    return key


def check_opaque_position(position: Any, *, max_length: int = 4096) -> str:
    """Another service's pagination token: a non-empty printable ASCII string of bounded length."""
    if (
        not isinstance(position, str)
        or not 0 < len(position) <= max_length
        or not position.isascii()
        or not position.isprintable()
    ):
        raise invalid_token()
    return position

"""DynamoDB's values: Python values to DynamoDB's (floats as Decimal) and back (numbers as int or
float, sets as sorted lists), and an item's size as DynamoDB counts it (400 KB at most: a larger
item is refused with 413 ``item_too_large`` before anything is written). ``single_table`` re-exports
these names."""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

MAX_ITEM_BYTES = 400 * 1024  # DynamoDB's item size limit (names and values), 409,600 bytes


def to_dynamo(value: Any) -> Any:
    """Floats become Decimal (DynamoDB numbers); containers are converted recursively."""
    if isinstance(value, float):
        return Decimal(repr(value))
    if isinstance(value, dict):
        return {k: to_dynamo(v) for k, v in value.items()}
    if isinstance(value, list):
        return [to_dynamo(v) for v in value]
    return value


def from_dynamo(value: Any) -> Any:
    """Decimal back to int or float; string sets to sorted lists (JSON-friendly)."""
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, dict):
        return {k: from_dynamo(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [from_dynamo(v) for v in value]
    if isinstance(value, (set, frozenset)):
        return sorted(from_dynamo(v) for v in value)
    return value


# ---- item size (DynamoDB's accounting: names + values) ----------------------------------------
def _number_size(value: Any) -> int:
    digits = Decimal(str(value)).normalize().as_tuple().digits
    return min(21, (len(digits) + 1) // 2 + 1)


def attribute_size(value: Any) -> int:
    """Bytes DynamoDB counts for one value: strings and binary by length, numbers about one byte per
    two significant digits plus one, 3 bytes per list or map plus one per element, 1 for bool/null."""
    if isinstance(value, str):
        return len(value.encode("utf-8", "surrogatepass"))
    if isinstance(value, bool) or value is None:
        return 1
    if isinstance(value, (int, float, Decimal)):
        return _number_size(value)
    if isinstance(value, (bytes, bytearray)):
        return len(value)
    if isinstance(value, Mapping):
        return 3 + sum(len(str(k).encode("utf-8", "surrogatepass")) + attribute_size(v) + 1 for k, v in value.items())
    if isinstance(value, (list, tuple)):
        return 3 + sum(attribute_size(v) + 1 for v in value)
    if isinstance(value, (set, frozenset)):
        return sum(attribute_size(v) for v in value)
    return len(str(value).encode("utf-8", "surrogatepass"))


def item_size(item: Mapping[str, Any]) -> int:
    """The size DynamoDB gives ``item`` (attribute names and values), in bytes."""
    return sum(len(name.encode("utf-8", "surrogatepass")) + attribute_size(value) for name, value in item.items())


def item_too_large(size: int | None) -> Exception:
    from agri_common.platform.errors import PayloadTooLargeError

    issue = (
        f"this record would take {size:,} bytes; a stored record holds at most {MAX_ITEM_BYTES:,} bytes (400 KB)"
        if size is not None
        else f"this record would exceed {MAX_ITEM_BYTES:,} bytes (400 KB), the most a stored record holds"
    )
    return PayloadTooLargeError(
        f"The record is too large to store: at most {MAX_ITEM_BYTES:,} bytes (400 KB)",
        code="item_too_large",
        details=[{"field": "body", "issue": issue, "type": "item_too_large"}],
    )


def size_refusal(exc: Exception) -> bool:
    """DynamoDB's own refusal of an item over 400 KB (ValidationException, or a transaction reason)."""
    response = getattr(exc, "response", None) or {}
    messages = [str((response.get("Error") or {}).get("Message") or "")]
    messages += [
        str((r or {}).get("Message") or "")
        for r in response.get("CancellationReasons") or []
        if (r or {}).get("Code") == "ValidationError"
    ]
    return any("item size" in m.lower() and "maximum allowed size" in m.lower() for m in messages)

"""Input hygiene every domain's request models share.

- :class:`Input`: the base of every request body model. Unknown fields are refused (``extra="forbid"``),
  surrounding whitespace is stripped, and **every string anywhere in the body** (nested models, lists,
  dicts) is refused with a 422 naming the field if it holds a control character (C0 other than tab,
  newline and carriage return; DEL; C1), a bidirectional formatting character (LRM/RLM/ALM, the
  embeddings, overrides and isolates: the "right-to-left override" trick), a byte-order mark inside
  text, a lone surrogate or a non-character. ZWJ and ZWNJ stay allowed: Indian scripts need them.
  Numbers anywhere in the body must be finite and storable (DynamoDB: magnitude 1e-130 to 9.99e125,
  at most 38 digits): ``1.1e-308`` as a longitude is a 422, not a 500 at write time.
- :data:`Line`: a single-line text (names, villages): additionally no tab, newline or line separator.
- :class:`PartialUpdate`: the base of PATCH-style bodies. An absent field means "leave unchanged"; an
  explicit ``null`` is refused (422 naming the field) unless the field is listed in ``NULLABLE``.
  Without this, ``model_dump(exclude_unset=True)`` carries ``None`` into the stored record.
"""

from __future__ import annotations

import math
import re
from typing import Annotated, Any, ClassVar

from pydantic import AfterValidator, BaseModel, ConfigDict, ValidationInfo, field_validator
from pydantic_core import PydanticCustomError

# Characters no text field may hold. Tab, LF and CR are allowed in multi-line text (CSV imports, notes).
_FORBIDDEN = re.compile(
    "[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f"  # C0 (except \t \n \r), DEL, C1
    "\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069"  # bidi marks, embeddings, overrides, isolates
    "\ufeff\ufff9-\ufffb\ufffe\uffff"  # BOM inside text, interlinear annotation, non-characters
    "\ud800-\udfff]"  # lone surrogates (JSON "\\ud800" decodes to one)
)
_LINE_BREAKS = re.compile("[\t\n\r\u2028\u2029\x85]")


def forbidden_character(text: str, *, single_line: bool = False) -> str | None:
    """A description of the first character ``text`` may not hold, or None."""
    match = _FORBIDDEN.search(text) or (_LINE_BREAKS.search(text) if single_line else None)
    if match is None:
        return None
    return f"U+{ord(match.group()):04X} at position {match.start()}"


# DynamoDB stores numbers of magnitude 1e-130 to 9.99e125 with 38 significant digits; a number
# outside that range can never be stored, so it is refused here with the field's name, not at write.
MIN_MAGNITUDE, MAX_MAGNITUDE, MAX_DIGITS = 1e-130, 9.99e125, 38


def number_problem(value: float | int) -> str | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return f"an integer of more than {MAX_DIGITS} digits" if len(str(abs(value))) > MAX_DIGITS else None
    if not math.isfinite(value):
        return "a number that is not finite"
    if value != 0 and not MIN_MAGNITUDE <= abs(value) <= MAX_MAGNITUDE:
        return f"a number outside {MIN_MAGNITUDE:g} to {MAX_MAGNITUDE:g} in magnitude"
    return None


def _walk(value: Any, path: str = "") -> tuple[str, str] | None:
    """(sub-path, problem) of the first string or number inside ``value`` that cannot be accepted."""
    if isinstance(value, str):
        problem = forbidden_character(value)
        return (path, problem) if problem else None
    if isinstance(value, (int, float)):
        problem = number_problem(value)
        return (path, problem) if problem else None
    if isinstance(value, dict):
        for key, item in value.items():
            found = _walk(key, f"{path}[key]") if isinstance(key, str) else None
            found = found or _walk(item, f"{path}.{key}")
            if found:
                return found
    elif isinstance(value, (list, tuple)):
        for i, item in enumerate(value):
            found = _walk(item, f"{path}[{i}]")
            if found:
                return found
    return None


def forbidden_value(value: Any) -> tuple[str, str] | None:
    """(sub-path, problem) of the first string (or key) or number inside ``value`` that no body may hold,
    or None: the check :class:`Input` applies, for a ``PER_ITEM`` field whose own model checks it
    later but whose raw value is used first (hashed, stored as received)."""
    return _walk(value)


def _no_forbidden(value: Any) -> Any:
    found = _walk(value)
    if found:
        sub, problem = found
        where = f" in {sub.lstrip('.')}" if sub else ""
        if not problem.startswith("U+"):
            raise PydanticCustomError(
                "number_out_of_range", "This value is {problem}{where}", {"problem": problem, "where": where}
            )
        raise PydanticCustomError(
            "text_control_character",
            "Text may not contain control or bidirectional formatting characters ({problem}{where})",
            {"problem": problem, "where": where},
        )
    return value


def _single_line(value: str) -> str:
    problem = forbidden_character(value, single_line=True)
    if problem:
        raise PydanticCustomError(
            "text_line_break", "This text must be one line without control characters ({problem})", {"problem": problem}
        )
    return value


Line = Annotated[str, AfterValidator(_single_line)]
"""One line of human text: a name, a village, a reason."""


class Input(BaseModel):
    """Base of every request body (see the module docstring).

    ``PER_ITEM``: fields of a bulk body (sync, imports) whose items are checked one by one, each with
    its own model; they skip the body-wide check here, so that one bad record is reported on its own
    instead of failing the whole batch with a 422."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    PER_ITEM: ClassVar[frozenset[str]] = frozenset()

    @field_validator("*", mode="before")
    @classmethod
    def _hygiene(cls, value: Any, info: ValidationInfo) -> Any:
        return value if info.field_name in cls.PER_ITEM else _no_forbidden(value)


class PartialUpdate(Input):
    """Base of partial-update bodies: explicit ``null`` is refused unless the field is in NULLABLE."""

    NULLABLE: ClassVar[frozenset[str]] = frozenset()

    @field_validator("*", mode="before")
    @classmethod
    def _no_null(cls, value: Any, info: ValidationInfo) -> Any:
        if value is None and info.field_name not in cls.NULLABLE:
            raise PydanticCustomError(
                "null_not_allowed", "This field may not be null; leave it out to keep the current value"
            )
        return value

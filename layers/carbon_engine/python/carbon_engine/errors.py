"""Input errors found after model validation (e.g. a factor the region does not define),
raised as ``pydantic.ValidationError`` so callers see one error type that names the field."""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError
from pydantic_core import InitErrorDetails, PydanticCustomError


def input_error(loc: tuple[str | int, ...], message: str, value: Any = None) -> ValidationError:
    """A ValidationError located at ``loc`` (e.g. ("plots", 3, "project", "agroforestry"))."""
    detail = InitErrorDetails(type=PydanticCustomError("engine_input", message), loc=loc, input=value)
    return ValidationError.from_exception_data("Request", [detail])

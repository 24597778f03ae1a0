"""Settings: one pydantic model per function, read from the environment once.

Field names map to upper-case environment variables (``user_pool_id`` <- ``USER_POOL_ID``).
"""

from __future__ import annotations

import os
from typing import TypeVar

from pydantic import BaseModel, ConfigDict

T = TypeVar("T", bound="BaseSettingsModel")
_cache: dict[type, object] = {}


class BaseSettingsModel(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")

    stage: str = "dev"
    revocation_table: str | None = None


def load_settings(model: type[T]) -> T:
    """Read ``model`` from ``os.environ`` the first time, then return the cached instance."""
    cached = _cache.get(model)
    if cached is None:
        values = {name: os.environ[name.upper()] for name in model.model_fields if name.upper() in os.environ}
        cached = model.model_validate(values)
        _cache[model] = cached
    return cached  # type: ignore[return-value]


def clear_settings_cache() -> None:
    """For tests that change the environment."""
    _cache.clear()

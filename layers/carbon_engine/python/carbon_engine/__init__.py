"""carbon_engine: IPCC 2019 Tier 1/Tier 2 agricultural GHG estimates with Monte Carlo uncertainty.

    from carbon_engine import estimate, Request
    result = estimate(Request.model_validate_json(body))   # or estimate({...plain dict...})
    result.model_dump_json()

Pure Python on NumPy and pydantic; no cloud SDK imports. See README.md beside this file.
"""

from __future__ import annotations

__version__ = (
    "1.2.0"  # 1.2: per-plot statistics at any scale (first 500 draws), VM0051 straw default, country factors (0018)
)

import gc
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from .factors import FactorLibrary, default_library
from .models import PER_PLOT_MC_CAP, Plot, Request, Result, Season


def estimate(request: Request | Mapping[str, Any] | str | bytes, library: FactorLibrary | None = None) -> Result:
    """Estimate baseline and project emissions, removals, reductions and the creditable net.

    ``request`` may be a :class:`Request`, a plain dict or a JSON string. Invalid input raises
    ``pydantic.ValidationError`` naming the field. Per-plot point estimates are always returned;
    per-plot Monte Carlo statistics only when plots x draws <= ``PER_PLOT_MC_CAP`` (or when
    ``per_plot_mc="always"``); project-level statistics are always exact over all draws.
    """
    from .engine import prepare, run

    with gc_paused():
        if isinstance(request, (str, bytes)):
            request = Request.model_validate_json(request)
        elif not isinstance(request, Request):
            request = Request.model_validate(request)
        lib = library or default_library()
        data = run(prepare(request, lib))
        data["factors_file"] = lib.path
        data["factors_sha256"] = lib.sha256
        return Result.model_validate(data)


def parse_request(body: str | bytes) -> Request:
    """Validate a JSON request. Same as ``Request.model_validate_json`` but with the cyclic
    garbage collector paused: building ~10^5 nested models otherwise triggers repeated full
    collections that make validation several times slower (the models hold no cycles)."""
    with gc_paused():
        return Request.model_validate_json(body)


@contextmanager
def gc_paused() -> Iterator[None]:
    """Pause the cyclic GC for a block of bulk allocation (restores the previous state)."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


_CHUNKED = (
    "chunk_totals",
    "sum_totals",
    "summarize_totals",
    "ChunkTotals",
    "choose_conservative",
    "chunk_basis",
    "sum_basis",
    "Sensitivity",
)


def __getattr__(name: str) -> Any:
    """Chunked evaluation (``chunk_totals``, ``sum_totals``, ``summarize_totals``, ``ChunkTotals``; the
    conservative choice's ``choose_conservative``, ``chunk_basis``, ``sum_basis``, ``Sensitivity``),
    imported on first use so ``import carbon_engine`` stays as light as before."""
    if name in _CHUNKED:
        from . import chunks

        return getattr(chunks, name)
    raise AttributeError(name)


__all__ = [
    "estimate",
    "parse_request",
    "Request",
    "Result",
    "Plot",
    "Season",
    "FactorLibrary",
    "PER_PLOT_MC_CAP",
    "__version__",
]
__all__ += _CHUNKED  # the chunked API, loaded lazily by __getattr__

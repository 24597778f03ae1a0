"""IPCC methods, one module per source/gas. Each exposes ``terms(plots, scenario, ctx)``
returning :class:`carbon_engine.terms.Term` objects (t of gas, or t CO2 for stock changes)."""

from __future__ import annotations

from dataclasses import dataclass

from ..factors import RegionFactors
from . import biomass, burning, co2, n2o, rice, soc

METHODS = (rice, n2o, co2, burning, soc, biomass)


@dataclass(frozen=True)
class MethodContext:
    """Request-level choices the methods need."""

    factors: RegionFactors
    climate: str  # "wet" | "dry"
    root_shoot_ecozone: str = "moist_deciduous"


def all_terms(plots, ctx: MethodContext) -> list:
    """Terms of every method for both scenarios."""
    out = []
    for scenario in ("baseline", "project"):
        for method in METHODS:
            out.extend(method.terms(plots, scenario, ctx))
    return out

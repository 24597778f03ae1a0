"""What the methods need besides the plots: request-level choices and the region's factors."""

from __future__ import annotations

from dataclasses import dataclass

from ..factors import RegionFactors


@dataclass(frozen=True)
class MethodContext:
    """Request-level choices the methods need."""

    factors: RegionFactors
    climate: str  # "wet" | "dry"
    root_shoot_ecozone: str = "moist_deciduous"

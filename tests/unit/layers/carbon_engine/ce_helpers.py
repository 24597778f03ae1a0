"""Request builders shared by the carbon-engine tests (uniquely named to avoid clashing with
other test packages' conftest modules)."""

from __future__ import annotations

import copy


def rice_season(**kw) -> dict:
    """A plain continuously flooded rice season with nothing applied (override with kw)."""
    s = {
        "crop": "rice",
        "cultivation_days": 112,
        "water_regime": "continuously_flooded",
        "preseason_water": "non_flooded_lt_180",
    }
    s.update(kw)
    return s


def request(baseline: dict | None = None, project: dict | None = None, area: float = 1.0, **kw) -> dict:
    """A one-plot request dict; kw overrides request-level fields (gwp, climate, draws, ...)."""
    plot = {
        "plot_id": "p1",
        "area_ha": area,
        "baseline": baseline or rice_season(),
        "project": project or rice_season(),
    }
    for key in ("soil",):
        if key in kw:
            plot[key] = kw.pop(key)
    req = {
        "gwp": "AR5",
        "profile": "ipcc_tier1",
        "region": "south_asia",
        "climate": "wet",
        "draws": 200,
        "seed": 3,
        "plots": [plot],
    }
    req.update(kw)
    return copy.deepcopy(req)

"""What the methodology profiles need beyond the totals: the VM0042 conservative choice (each
factor's sensitivity, the bound that gives the lowest net) and the counts the profiles' gates read."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .arrays import FloatArray
from .evaluation import Prepared, aggregate, term_totals, totals
from .factors import RegionFactors
from .inputs import WATER_REGIMES, PlotArrays
from .montecarlo import Draws, group_of

TIE_RTOL = 1e-9
"""Conservative choice: nets within TIE_RTOL x the gross magnitude of the project's terms count as equal
(the default wins), so float rounding (e.g. the order in which chunks are summed) cannot pick a bound
for a factor whose effect on the net is nil."""


@dataclass
class Sensitivity:
    """What the VM0042 conservative choice needs, additive over plots (sum two with ``+``).

    Factors are shared by all plots, so the project's in-scope net with one factor *unit* at a bound
    (others at defaults) is the sum over any split of the plots: a chunk's sensitivity is part of the
    project's. A unit is a correlated group (``montecarlo.CORRELATED_GROUPS``: every member at the same
    quantile, i.e. all at their low or all at their high bound) or a single ungrouped factor: one
    consistent value per physical factor for baseline and project (VM0042 v2.2 section 8.6.3 reading).
    ``candidates``: factor -> (low, default, high); ``units``: unit -> member factors;
    ``low``/``high``: in-scope net with that unit at the bound; ``default``: in-scope net at defaults;
    ``scale``: sum of |term| at defaults (t CO2e), the size that float rounding scales with.
    """

    candidates: dict[str, tuple[float, float, float]]
    low: dict[str, float]
    high: dict[str, float]
    default: float
    scale: float
    units: dict[str, list[str]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not self.units:  # no groups given: every factor is its own unit
            self.units = {n: [n] for n in sorted(self.candidates)}

    def __add__(self, other: Sensitivity) -> Sensitivity:
        if self.candidates != other.candidates or self.units != other.units:
            raise ValueError("sensitivities of different factor sets (region or factors file) cannot be summed")
        return Sensitivity(
            self.candidates,
            {k: v + other.low[k] for k, v in self.low.items()},
            {k: v + other.high[k] for k, v in self.high.items()},
            self.default + other.default,
            self.scale + other.scale,
            self.units,
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "candidates": {k: list(v) for k, v in self.candidates.items()},
            "low": self.low,
            "high": self.high,
            "default": self.default,
            "scale": self.scale,
            "units": self.units,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Sensitivity:
        cands = {k: tuple(v) for k, v in data["candidates"].items()}
        units = {k: list(v) for k, v in data.get("units", {n: [n] for n in cands}).items()}
        return cls(cands, dict(data["low"]), dict(data["high"]), float(data["default"]), float(data["scale"]), units)


def factor_units(factors: RegionFactors) -> dict[str, list[str]]:
    """The region's uncertain factors grouped into choice units: correlated groups, then single factors."""
    units: dict[str, list[str]] = {}
    for name in sorted(n for n, s in factors.specs.items() if s.uncertain):
        units.setdefault(group_of(name) or name, []).append(name)
    return units


def sensitivity(prep: Prepared) -> Sensitivity:
    """The in-scope net with each choice unit at its low and its high bound, one unit at a time
    (one column per bound, others at defaults), and at defaults."""
    units = factor_units(prep.factors)
    names = sorted(units)
    m = len(names)
    cols: dict[str, FloatArray] = {}
    for i, unit in enumerate(names):
        for member in units[unit]:
            spec = prep.factors.specs[member]
            col = np.full(2 * m, spec.value)
            col[2 * i], col[2 * i + 1] = spec.range
            cols[member] = col
    net = totals(prep, Draws(prep.factors, 2 * m, cols))["net_in_scope"]
    values0 = term_totals(prep.terms, Draws.defaults(prep.factors))
    default = float(aggregate(prep.terms, values0, prep.gwp)["net_in_scope"][0])
    scale = sum(
        abs(float(v[0])) * (prep.gwp[t.gas] if t.kind == "emission" else 1.0) for t, v in zip(prep.terms, values0)
    )
    cands = {
        n: (s.range[0], s.value, s.range[1]) for unit in names for n in units[unit] for s in (prep.factors.specs[n],)
    }
    return Sensitivity(
        candidates=cands,
        low={u: float(net[2 * i]) for i, u in enumerate(names)},
        high={u: float(net[2 * i + 1]) for i, u in enumerate(names)},
        default=default,
        scale=scale,
        units=units,
    )


def choose_conservative(sens: Sensitivity) -> dict[str, float]:
    """VM0042-style conservative factors: each choice unit (a correlated group moves as one, every
    member at the same bound, for baseline and project alike) at low, default or high, whichever gives
    the lowest project net, varied one unit at a time (others at defaults). Returns the factors not at
    their default. Nets within ``TIE_RTOL`` x ``scale`` of the lowest tie; among ties the default wins,
    then low. Pure: the whole project's choice from its (summed) sensitivity."""
    tol = TIE_RTOL * sens.scale
    chosen: dict[str, float] = {}
    for unit in sorted(sens.units):
        options = ((sens.default, 1), (sens.low[unit], 0), (sens.high[unit], 2))
        best = min(net for net, _ in options)
        pick = next(i for net, i in options if net <= best + tol)
        if pick != 1:
            for member in sens.units[unit]:
                chosen[member] = sens.candidates[member][pick]
    return chosen


def conservative_draws(prep: Prepared) -> tuple[Draws, dict[str, float]]:
    """The conservative factors of this request (one column) and the chosen values: the chunked
    pipeline runs the same two steps (:func:`sensitivity` per chunk, :func:`choose_conservative`
    once over their sum), so a single request is the one-chunk case."""
    chosen = choose_conservative(sensitivity(prep))
    return Draws.at(prep.factors, chosen, 1), chosen


def gate_counts(plots: PlotArrays, country_ef_c: bool = False) -> dict[str, float]:
    """Additive plot-level counts the eligibility rules need: rice plots whose baseline is rainfed or
    deep water (VM0051 applies to irrigated rice), number and area (ha)."""
    from .profiles import VM0051_EXCLUDED_BASELINES

    b = plots.baseline
    bad = b.is_rice & np.isin(b.water_regime, [WATER_REGIMES.index(w) for w in VM0051_EXCLUDED_BASELINES])
    p = plots.project
    less_n = (b.synthetic_n > p.synthetic_n) | (b.organic_n > p.organic_n) | (b.residue_n > p.residue_n)
    return {
        "vm0051_excluded_baseline_plots": float(np.count_nonzero(bad)),
        "vm0051_excluded_baseline_ha": float(np.sum(plots.area[bad])),
        "baseline_n_above_project_plots": float(np.count_nonzero(less_n)),
        "baseline_amendments_unknown_plots": float(np.count_nonzero(b.amendments_unknown)),
        "baseline_amendments_unknown_ha": float(np.sum(plots.area[b.amendments_unknown])),
        # plots computed with a country-specific rice EF_c (request.country_factors): VM0051 above 60,000 t/yr
        "country_ef_c_plots": float(np.count_nonzero(b.is_rice | plots.project.is_rice)) if country_ef_c else 0.0,
    }


def awd_switch_n_kg(plots: PlotArrays) -> float:
    """Project N applied (kg, synthetic + organic) on plots moved from continuous flooding to single or
    multiple drainage (``PlotArrays.awd_switch``, the same plots whose project EF1FR VM0051 fixes)."""
    n = plots.project.synthetic_n + plots.project.organic_n
    return float(np.sum(np.where(plots.awd_switch, n * plots.area, 0.0)))

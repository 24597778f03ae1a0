"""IPCC Approach 2 (Monte Carlo) sampling and summary statistics.

2006 Guidelines Vol. 1 Ch. 3 (Approach 2): each uncertain input is drawn from its probability
distribution and the model is evaluated once per draw. Emission factors are *systematic*: one
value per draw, shared by every plot (they are the same table value for all plots). Each factor
has its own random stream, seeded by ``(seed, crc32(factor name))``, so the draws of one factor
do not depend on which other factors exist: the same request and seed give the same numbers bit
for bit, and adding a factor to the file does not shift the others.

Activity-data uncertainty is optional (``Request.activity_uncertainty``): a relative standard
deviation per activity class, drawn as one multiplicative error per draw shared by all plots
(fully correlated). For a sum with positive weights this is the largest variance any correlation
structure with the same per-plot sd can give, so it is the conservative choice; independent
per-plot errors would shrink as 1/sqrt(N) in the project total.
"""

from __future__ import annotations

import zlib
from typing import Iterable, Mapping

import numpy as np

from .factors import FactorSpec, RegionFactors

Z975 = 1.959963984540054  # standard-normal 97.5 % quantile: (high - low) spans +-Z975 sd
from .models import ACTIVITY_CLASSES  # noqa: E402,F401  (defined with the request vocabulary)


class Draws:
    """Factor values per draw: ``draws[name]`` is a float64 vector of length ``n``.

    Names may be generic (``rice.ef_c``) and are resolved through the region's aliases.
    Factors without an explicit column take their default value, so ``Draws.defaults`` (n = 1)
    is the deterministic point estimate and the Monte Carlo uses the very same code path.
    """

    def __init__(self, factors: RegionFactors, n: int, columns: Mapping[str, np.ndarray] | None = None):
        self.factors = factors
        self.n = n
        self._columns: dict[str, np.ndarray] = dict(columns or {})

    @classmethod
    def defaults(cls, factors: RegionFactors) -> "Draws":
        return cls(factors, 1)

    @classmethod
    def at(cls, factors: RegionFactors, values: Mapping[str, np.ndarray | float], n: int) -> "Draws":
        """Draws whose columns are given explicitly (others at their defaults)."""
        cols = {factors.resolve(k): np.broadcast_to(np.asarray(v, dtype=np.float64), (n,)) for k, v in values.items()}
        return cls(factors, n, cols)

    @classmethod
    def sample(cls, factors: RegionFactors, n: int, seed: int,
               activity_sd: Mapping[str, float] | None = None) -> "Draws":
        """Draw every uncertain factor of the region (and activity multipliers) ``n`` times."""
        cols = {name: sample_factor(spec, n, seed) for name, spec in factors.specs.items() if spec.uncertain}
        for cls_name, sd in (activity_sd or {}).items():
            if sd > 0:
                cols[f"activity.{cls_name}"] = sample_activity(cls_name, sd, n, seed)
        return cls(factors, n, cols)

    def __getitem__(self, name: str) -> np.ndarray:
        if name.startswith("activity."):
            col = self._columns.get(name)
            return col if col is not None else np.ones(self.n)
        resolved = self.factors.resolve(name)
        col = self._columns.get(resolved)
        if col is None:
            col = np.full(self.n, self.factors.spec(resolved).value)
            self._columns[resolved] = col
        return col

    def product(self, names: Iterable[str]) -> np.ndarray:
        """Elementwise product of several factor vectors (ones if ``names`` is empty)."""
        out = np.ones(self.n)
        for name in names:
            out = out * self[name]
        return out


def _stream(seed: int, name: str) -> np.random.Generator:
    return np.random.default_rng([int(seed), zlib.crc32(name.encode("utf-8"))])


def sample_factor(spec: FactorSpec, n: int, seed: int) -> np.ndarray:
    """Draw ``n`` values of one factor from its distribution (see the factors file conventions)."""
    z = _stream(seed, spec.name).standard_normal(n)
    width = (spec.high - spec.low) / (2.0 * Z975)
    if spec.distribution == "lognormal":
        sigma = np.log(spec.high / spec.low) / (2.0 * Z975)
        return np.exp(np.log(spec.value) + sigma * z)
    lo, hi = spec.bounds
    return np.clip(spec.value + width * z, lo, hi)


def sample_activity(cls_name: str, rel_sd: float, n: int, seed: int) -> np.ndarray:
    """Systematic multiplicative activity error: Normal(1, rel_sd) clipped at 0."""
    z = _stream(seed, f"activity.{cls_name}").standard_normal(n)
    return np.clip(1.0 + rel_sd * z, 0.0, None)


def summarize(x: np.ndarray, levels: Iterable[float]) -> dict:
    """Mean, median, sd, central intervals and half-width (% of |mean|) of a vector of draws."""
    x = np.asarray(x, dtype=np.float64)
    levels = list(levels)
    qs = [q for lv in levels for q in ((1 - lv) / 2, (1 + lv) / 2)]
    quant = np.quantile(x, [0.5, *qs])
    mean = float(x.mean())
    out = {"mean": mean, "median": float(quant[0]), "sd": float(x.std(ddof=1)) if x.size > 1 else 0.0,
           "ci": {}, "half_width_pct": {}}
    for i, lv in enumerate(levels):
        lo, hi = float(quant[1 + 2 * i]), float(quant[2 + 2 * i])
        key = level_key(lv)
        out["ci"][key] = (lo, hi)
        out["half_width_pct"][key] = half_width_pct(lo, hi, mean)
    return out


def summarize_rows(x: np.ndarray, levels: Iterable[float]) -> dict:
    """Row-wise :func:`summarize` for an (n_plots, n_draws) array, as lists (columnar)."""
    levels = list(levels)
    qs = [q for lv in levels for q in ((1 - lv) / 2, (1 + lv) / 2)]
    quant = np.quantile(x, [0.5, *qs], axis=1)
    mean = x.mean(axis=1)
    out = {"mean": mean.tolist(), "median": quant[0].tolist(), "ci": {}, "half_width_pct": {}}
    for i, lv in enumerate(levels):
        lo, hi = quant[1 + 2 * i], quant[2 + 2 * i]
        key = level_key(lv)
        out["ci"][key] = {"low": lo.tolist(), "high": hi.tolist()}
        with np.errstate(divide="ignore", invalid="ignore"):
            hw = np.where(mean != 0, (hi - lo) / 2 / np.abs(mean) * 100.0, np.nan)
        out["half_width_pct"][key] = [None if not np.isfinite(v) else float(v) for v in hw]
    return out


def half_width_pct(lo: float, hi: float, mean: float) -> float | None:
    """Half-width of an interval as a percentage of |mean| (None when the mean is zero)."""
    if mean == 0:
        return None
    return (hi - lo) / 2.0 / abs(mean) * 100.0


def level_key(level: float) -> str:
    """'90' for 0.90, '95' for 0.95, '97.5' for 0.975."""
    return f"{level * 100:g}"

"""IPCC Approach 2 (Monte Carlo) sampling and summary statistics.

2006 Guidelines Vol. 1 Ch. 3 (Approach 2): each uncertain input is drawn from its probability
distribution and the model is evaluated once per draw. Emission factors are *systematic*: one
value per draw, shared by every plot (they are the same table value for all plots). Each factor
has its own random stream, seeded by ``(seed, crc32(factor name))``, so the draws of one factor
do not depend on which other factors exist: the same request and seed give the same numbers bit
for bit, and adding a factor to the file does not shift the others. Exception: the members of a
correlated group (``CORRELATED_GROUPS``: Table 5.12 SF_w, Table 5.13 SF_p, Table 11.1 EF1FR) share the
group's stream, ``(seed, crc32("group:<group>"))``, and so one quantile per draw (comonotone).

Factor distributions (both reproduce the table's 95 % bounds as the 2.5 / 97.5 % quantiles, with
the table value as the median):

* ``normal``: two-piece (split) normal, sd below the value (value - low) / 1.96, above it
  (high - value) / 1.96; truncated (not clipped) at the physical limits ``bounds`` (default
  [0, inf)). Where a limit lies inside the 2.5 % tail (limit < low), only that tail is truncated, so
  both quantiles stay exact; where the range starts at the limit (low == limit, e.g. EF1FR
  0.000-0.010) the whole lower half is truncated: no draw below the limit, median = value,
  97.5 % = high, and the 2.5 % quantile lies somewhat above low (low cannot be a 2.5 % quantile
  of a distribution with no mass below it).
* ``lognormal``: the same two-piece construction in log space (median = value; 2.5 % = low,
  97.5 % = high).

Draws are made by inverse transform from one uniform stream per factor.

Activity-data uncertainty is optional (``Request.activity_uncertainty``): a relative standard
deviation per activity class, drawn as one multiplicative error per draw shared by all plots of a
scenario (fully correlated within the scenario: for a sum with positive weights this is the
largest variance any correlation structure with the same per-plot sd can give). ``area`` is one
stream shared by baseline and project (the same fields). Every other class has a separate stream
per scenario (baseline and project data are separate records), so its error does not cancel in
the reductions; that independence between scenarios is an engine assumption (reported).
"""

from __future__ import annotations

import math
import zlib
from collections.abc import Iterable, Mapping
from typing import TypedDict

import numpy as np
import numpy.typing as npt

from .arrays import FloatArray
from .factors import FactorSpec, RegionFactors

Z975 = 1.959963984540054  # standard-normal 97.5 % quantile: (high - low) spans +-Z975 sd
TAIL = 0.025  # probability below low (and above high) in the table's 95 % range
from .models import ACTIVITY_CLASSES  # noqa: E402,F401  (defined with the request vocabulary)

CORRELATED_GROUPS: dict[str, tuple[str, ...]] = {
    "rice.sf_w": (
        "rice.sf_w.continuously_flooded",
        "rice.sf_w.single_drainage",
        "rice.sf_w.multiple_drainage",
        "rice.sf_w.rainfed_regular",
        "rice.sf_w.rainfed_drought_prone",
        "rice.sf_w.deep_water",
    ),
    "rice.sf_p": (
        "rice.sf_p.non_flooded_lt_180",
        "rice.sf_p.non_flooded_gt_180",
        "rice.sf_p.flooded_gt_30",
        "rice.sf_p.non_flooded_gt_365",
    ),
    "n2o.ef1fr": ("n2o.ef1fr.continuous", "n2o.ef1fr.drainage"),
}
"""Ratio / sibling factors drawn comonotonically: every member of a group is drawn from the *group's*
uniform stream (one quantile per draw shared by all members), so a draw that puts continuous-flooding
SF_w at its 10th percentile puts AWD's SF_w at its 10th percentile too. Table 5.12 / 5.13 scaling
factors are ratios to one reference management (continuous flooding; non-flooded < 180 d) estimated
from paired comparisons, and Table 11.1's EF1FR by water regime are disaggregations of one factor:
drawing them independently would treat the *same* site/season error as if it were independent
between baseline and project and inflate the uncertainty of the reduction. The conservative factor
choice (VM0042) uses the same groups: one quantile (low / default / high) per group."""


def group_of(name: str) -> str | None:
    """The correlated group a (resolved) factor belongs to, or None."""
    return _GROUP_OF.get(name)


_GROUP_OF = {m: g for g, members in CORRELATED_GROUPS.items() for m in members}

SHARED_ACTIVITY = ("area",)
"""Activity classes with one error stream for both scenarios (the same fields)."""


def activity_name(cls_name: str, scenario: str) -> str:
    """Draws column of an activity-data error: ``activity.area`` (shared) or ``activity.{class}.{scenario}``."""
    return f"activity.{cls_name}" if cls_name in SHARED_ACTIVITY else f"activity.{cls_name}.{scenario}"


class Draws:
    """Factor values per draw: ``draws[name]`` is a float64 vector of length ``n``.

    Names may be generic (``rice.ef_c``) and are resolved through the region's aliases.
    Factors without an explicit column take their default value, so ``Draws.defaults`` (n = 1)
    is the deterministic point estimate and the Monte Carlo uses the very same code path.
    """

    def __init__(self, factors: RegionFactors, n: int, columns: Mapping[str, FloatArray] | None = None):
        self.factors = factors
        self.n = n
        self._columns: dict[str, FloatArray] = dict(columns or {})

    @classmethod
    def defaults(cls, factors: RegionFactors) -> Draws:
        return cls(factors, 1)

    @classmethod
    def at(cls, factors: RegionFactors, values: Mapping[str, FloatArray | float], n: int) -> Draws:
        """Draws whose columns are given explicitly (others at their defaults)."""
        cols = {factors.resolve(k): np.broadcast_to(np.asarray(v, dtype=np.float64), (n,)) for k, v in values.items()}
        return cls(factors, n, cols)

    @classmethod
    def sample(cls, factors: RegionFactors, n: int, seed: int, activity_sd: Mapping[str, float] | None = None) -> Draws:
        """Draw every uncertain factor of the region (and activity multipliers) ``n`` times."""
        cols: dict[str, FloatArray] = {}
        group_u: dict[str, FloatArray] = {}
        for name, spec in factors.specs.items():
            if not spec.uncertain:
                continue
            group = group_of(name)
            if group is None:
                cols[name] = sample_factor(spec, n, seed)
            else:  # comonotone: the group's uniform stream (see CORRELATED_GROUPS)
                if group not in group_u:
                    group_u[group] = uniforms(seed, f"group:{group}", n)
                cols[name] = split_quantile(spec, group_u[group])
        for cls_name, sd in (activity_sd or {}).items():
            if sd > 0:
                for col in {activity_name(cls_name, sc) for sc in ("baseline", "project")}:
                    cols[col] = sample_activity(col, sd, n, seed)
        return cls(factors, n, cols)

    def head(self, m: int) -> Draws:
        """The first ``m`` draws (every column cut to its first ``m`` values): an i.i.d. subsample, since
        every stream is drawn independently per draw. Per-plot quantiles above the exact cap use it."""
        if m >= self.n:
            return self
        return Draws(self.factors, m, {k: v[:m] for k, v in self._columns.items()})

    def __getitem__(self, name: str) -> FloatArray:
        if name.startswith("activity."):
            col = self._columns.get(name)
            return col if col is not None else np.ones(self.n)
        resolved = self.factors.resolve(name)
        col = self._columns.get(resolved)
        if col is None:
            col = np.full(self.n, self.factors.spec(resolved).value)
            self._columns[resolved] = col
        return col

    def product(self, names: Iterable[str]) -> FloatArray:
        """Elementwise product of several factor vectors (ones if ``names`` is empty)."""
        out = np.ones(self.n)
        for name in names:
            out = out * self[name]
        return out


def _stream(seed: int, name: str) -> np.random.Generator:
    return np.random.default_rng([int(seed), zlib.crc32(name.encode("utf-8"))])


def uniforms(seed: int, name: str, n: int) -> FloatArray:
    """``n`` uniforms strictly inside (0, 1) from the factor's own stream."""
    return (_stream(seed, name).integers(0, 2**53, n).astype(np.float64) + 0.5) / 2.0**53


def sample_factor(spec: FactorSpec, n: int, seed: int) -> FloatArray:
    """Draw ``n`` values of one factor from its distribution (see the module docstring)."""
    return split_quantile(spec, uniforms(seed, spec.name, n))


def split_quantile(spec: FactorSpec, u: FloatArray) -> FloatArray:
    """Quantile function of the factor's two-piece distribution at probabilities ``u``."""
    low, high = spec.range
    zlo: float | None
    zhi: float | None
    if spec.distribution == "lognormal":
        m, lo, hi = math.log(spec.value), math.log(low), math.log(high)
        zlo = zhi = None  # no physical limit inside (0, inf) in log space
    else:
        m, lo, hi = spec.value, low, high
        zlo, zhi = spec.bounds
    s_lo, s_hi = (m - lo) / Z975, (hi - m) / Z975
    x = np.full(u.shape, m)
    below = u < 0.5
    x[below] = m + s_lo * ndtri(_truncate(u[below], m, lo, s_lo, zlo, lower=True)) if s_lo > 0 else m
    above = ~below
    x[above] = (
        m - s_hi * ndtri(_truncate(1.0 - u[above], -m, -hi, s_hi, None if zhi is None else -zhi, lower=True))
        if s_hi > 0
        else m
    )
    return np.exp(x) if spec.distribution == "lognormal" else x


def _truncate(u: FloatArray, m: float, low: float, sd: float, limit: float | None, lower: bool) -> FloatArray:
    """Map lower-half probabilities ``u`` (< 0.5) so that no draw falls below ``limit``.

    limit < low: only the 2.5 % tail below ``low`` is squeezed into [limit, low] (quantiles exact);
    limit >= low: the whole lower half is squeezed into [limit, m] (median kept)."""
    if limit is None or sd <= 0:
        return u
    p_lim = 0.5 * math.erfc(-((limit - m) / sd) / math.sqrt(2.0))  # Phi((limit - m) / sd)
    if p_lim <= 0.0:
        return u
    if limit < low:
        return np.where(u < TAIL, p_lim + u / TAIL * (TAIL - p_lim), u)
    return p_lim + u / 0.5 * (0.5 - p_lim)


# Acklam's rational approximation of the standard-normal quantile (relative error < 1.2e-9).
_A = (
    -3.969683028665376e01,
    2.209460984245205e02,
    -2.759285104469687e02,
    1.383577518672690e02,
    -3.066479806614716e01,
    2.506628277459239e00,
)
_B = (-5.447609879822406e01, 1.615858368580409e02, -1.556989798598866e02, 6.680131188771972e01, -1.328068155288572e01)
_C = (
    -7.784894002430293e-03,
    -3.223964580411365e-01,
    -2.400758277161838e00,
    -2.549732539343734e00,
    4.374664141464968e00,
    2.938163982698783e00,
)
_D = (7.784695709041462e-03, 3.224671290700398e-01, 2.445134137142996e00, 3.754408661907416e00)
_P_LOW = 0.02425


def ndtri(p: FloatArray) -> FloatArray:
    """Standard-normal quantile for probabilities in (0, 1) (NumPy only; Acklam 2003)."""
    p = np.asarray(p, dtype=np.float64)
    out = np.empty_like(p)
    lo = p < _P_LOW
    hi = p > 1.0 - _P_LOW
    mid = ~(lo | hi)
    q = p[mid] - 0.5
    r = q * q
    out[mid] = (
        (((((_A[0] * r + _A[1]) * r + _A[2]) * r + _A[3]) * r + _A[4]) * r + _A[5])
        * q
        / (((((_B[0] * r + _B[1]) * r + _B[2]) * r + _B[3]) * r + _B[4]) * r + 1.0)
    )
    for sel, sign, pp in ((lo, 1.0, p[lo]), (hi, -1.0, 1.0 - p[hi])):
        q = np.sqrt(-2.0 * np.log(pp))
        out[sel] = sign * (
            (((((_C[0] * q + _C[1]) * q + _C[2]) * q + _C[3]) * q + _C[4]) * q + _C[5])
            / ((((_D[0] * q + _D[1]) * q + _D[2]) * q + _D[3]) * q + 1.0)
        )
    return out


def sample_activity(name: str, rel_sd: float, n: int, seed: int) -> FloatArray:
    """Systematic multiplicative activity error ``name`` (a Draws column): Normal(1, rel_sd) clipped at 0."""
    z = _stream(seed, name).standard_normal(n)
    return np.clip(1.0 + rel_sd * z, 0.0, None)


class Summary(TypedDict):
    """Statistics of one vector of draws (:func:`summarize`); ``ci`` and ``half_width_pct`` by :func:`level_key`."""

    mean: float
    median: float
    sd: float
    ci: dict[str, tuple[float, float]]
    half_width_pct: dict[str, float | None]


class RowsInterval(TypedDict):
    low: list[float]
    high: list[float]


class RowsSummary(TypedDict):
    """Columnar per-row statistics (:func:`rows_summary`): one list entry per row (plot)."""

    mean: list[float]
    median: list[float]
    ci: dict[str, RowsInterval]
    half_width_pct: dict[str, list[float | None]]


class Estimate(TypedDict):
    """A reported metric: the point estimate and the Monte Carlo summary of its draws."""

    point: float
    mc: Summary


def summarize(x: npt.ArrayLike, levels: Iterable[float]) -> Summary:
    """Mean, median, sd, central intervals and half-width (% of |mean|) of a vector of draws."""
    x = np.asarray(x, dtype=np.float64)
    levels = list(levels)
    qs = [q for lv in levels for q in ((1 - lv) / 2, (1 + lv) / 2)]
    quant = np.quantile(x, [0.5, *qs])
    mean = float(x.mean())
    out: Summary = {
        "mean": mean,
        "median": float(quant[0]),
        "sd": float(x.std(ddof=1)) if x.size > 1 else 0.0,
        "ci": {},
        "half_width_pct": {},
    }
    for i, lv in enumerate(levels):
        lo, hi = float(quant[1 + 2 * i]), float(quant[2 + 2 * i])
        key = level_key(lv)
        out["ci"][key] = (lo, hi)
        out["half_width_pct"][key] = half_width_pct(lo, hi, mean)
    return out


def summarize_rows(x: FloatArray, levels: Iterable[float]) -> RowsSummary:
    """Row-wise :func:`summarize` for an (n_plots, n_draws) array, as lists (columnar)."""
    levels = list(levels)
    qs = [q for lv in levels for q in ((1 - lv) / 2, (1 + lv) / 2)]
    return rows_summary(x.mean(axis=1), np.quantile(x, [0.5, *qs], axis=1), levels)


def rows_summary(mean: FloatArray, quant: FloatArray, levels: list[float]) -> RowsSummary:
    """Columnar per-row statistics from each row's mean and its quantiles (median, then the low and
    high bound of each level, in order): the one shape per-plot statistics take."""
    out: RowsSummary = {"mean": mean.tolist(), "median": quant[0].tolist(), "ci": {}, "half_width_pct": {}}
    for i, lv in enumerate(levels):
        lo, hi = quant[1 + 2 * i], quant[2 + 2 * i]
        key = level_key(lv)
        out["ci"][key] = {"low": lo.tolist(), "high": hi.tolist()}
        with np.errstate(divide="ignore", invalid="ignore"):
            hw = np.where(mean != 0, (hi - lo) / 2 / np.abs(mean) * 100.0, np.nan)
        out["half_width_pct"][key] = _none_where_nan(hw)
    return out


def _none_where_nan(x: FloatArray) -> list[float | None]:
    """``x.tolist()`` with None where x is not finite (vectorised: no per-element NumPy scalar loop)."""
    out = x.astype(object)
    out[~np.isfinite(x)] = None
    values: list[float | None] = out.tolist()
    return values


def half_width_pct(lo: float, hi: float, mean: float) -> float | None:
    """Half-width of an interval as a percentage of |mean| (None when the mean is zero)."""
    if mean == 0:
        return None
    return (hi - lo) / 2.0 / abs(mean) * 100.0


def level_key(level: float) -> str:
    """'90' for 0.90, '95' for 0.95, '97.5' for 0.975."""
    return f"{level * 100:g}"

"""Terms: the separable building block that makes the Monte Carlo fast and exact.

Every method contributes *terms*. A term's value for plot ``p`` in draw ``d`` is

    value[p, d] = activity[p] * rows(draws)[key[p], d] * multiplier[d]

where ``activity`` is a per-plot coefficient (e.g. ha x days, kg N), ``key`` picks the row of a
small table of factor products that applies to the plot (e.g. its water regime, pre-season status
and amendment mix), and ``multiplier`` is the product of the systematic activity-data errors.
Because factors are systematic (one value per draw for all plots), the project total is

    total[d] = sum_k w[k] * rows[k, d] * multiplier[d],   w[k] = sum_{p: key[p]=k} activity[p]

a (K,) x (K, D) product with K = number of distinct keys, never a plots x draws array.
Nonlinear parts (the uncertain SF_o exponent of Eq 5.3, the maximum-stock cap of the Tier 1
growth method) are evaluated exactly per distinct key, so nothing is approximated.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np
import numpy.typing as npt

from .arrays import FloatArray, IntArray
from .montecarlo import Draws

CHUNK_CELLS = 4_000_000  # rows x draws evaluated at once (32 MB of float64)


class Rows(Protocol):
    """A table of factor products, one row per key, evaluated for a set of draws.

    A rows class may also define ``weighted_sum(draws, w) -> (D,)`` computing ``w @ rows``
    more cheaply than row by row (see ``methods.rice.RiceRows``); the result must be the same.
    """

    @property
    def n_keys(self) -> int:
        """Number of rows (distinct keys)."""

    def __call__(self, draws: Draws, sel: IntArray) -> FloatArray:
        """Factor-product rows ``sel`` as a (len(sel), draws.n) array."""


@dataclass
class SumProductRows:
    """Rows of the form sum_j coef_j * prod(factor names_j), one list of (coef, names) per key."""

    keys: Sequence[Sequence[tuple[float, tuple[str, ...]]]]

    @property
    def n_keys(self) -> int:
        return len(self.keys)

    def __call__(self, draws: Draws, sel: IntArray) -> FloatArray:
        out = np.zeros((len(sel), draws.n))
        for i, k in enumerate(sel):
            for coef, names in self.keys[k]:
                out[i] += coef * draws.product(names)
        return out


@dataclass
class Term:
    """One additive contribution (t of ``gas``) of one method, scenario and kind."""

    component: str
    gas: str
    scenario: str  # "baseline" | "project"
    kind: str  # "emission" | "removal"
    activity: FloatArray
    key: IntArray
    rows: Rows
    multipliers: tuple[str, ...] = ()
    pool: str | None = None
    counted: bool = True  # in the profile's creditable scope (set by engine.prepare)
    inventory: bool = (
        True  # False: a scope-only term (profiles.Profile.baseline_n_capped), not in the inventory metrics
    )
    scope_group: str | None = None  # a conditional source of the profile (profiles.CONDITIONAL_SOURCES), if any
    _weights: FloatArray | None = field(default=None, repr=False)

    @property
    def weights(self) -> FloatArray:
        """Activity summed per key (cached): w[k] = sum of activity over plots with key k."""
        if self._weights is None:
            # bincount with weights is float64 (numpy's stub says intp whatever the weights)
            self._weights = np.asarray(
                np.bincount(self.key, weights=self.activity, minlength=self.rows.n_keys), dtype=np.float64
            )
        return self._weights

    def total(self, draws: Draws) -> FloatArray:
        """Project total per draw, (D,): the small matrix product, chunked over keys."""
        w = self.weights
        fast: Callable[[Draws, FloatArray], FloatArray] | None = getattr(self.rows, "weighted_sum", None)
        if fast is not None:
            return fast(draws, w) * draws.product(self.multipliers)
        return chunked_weighted_sum(self.rows, draws, w) * draws.product(self.multipliers)

    def table(self, draws: Draws) -> FloatArray:
        """All rows (K, D); only used for per-plot values."""
        return self.rows(draws, np.arange(self.rows.n_keys))

    def per_plot(self, draws: Draws, table: FloatArray, plots: slice | IntArray) -> FloatArray:
        """Values for a subset of plots, (n, D)."""
        return self.activity[plots, None] * table[self.key[plots]] * draws.product(self.multipliers)


def chunked_weighted_sum(rows: Rows, draws: Draws, w: FloatArray) -> FloatArray:
    """sum_k w[k] rows[k, :] over the keys with non-zero weight, in bounded-memory chunks."""
    nz = np.flatnonzero(w)
    out = np.zeros(draws.n)
    step = max(1, CHUNK_CELLS // max(draws.n, 1))
    for start in range(0, len(nz), step):
        sel = nz[start : start + step]
        out += w[sel] @ rows(draws, sel)
    return out


def unique_keys(*columns: npt.ArrayLike) -> tuple[IntArray, IntArray]:
    """Distinct rows of non-negative integer columns: (unique (K, c) table, inverse (N,) key).

    Columns are packed into one mixed-radix int64 code so a 1-D sort suffices.
    """
    cols = [np.asarray(c, dtype=np.int64) for c in columns]
    radices = [int(c.max()) + 1 if c.size else 1 for c in cols]
    if any(c.size and c.min() < 0 for c in cols) or np.prod([float(r) for r in radices]) >= 2.0**62:
        stacked = np.stack(cols, axis=1)
        table, inverse = np.unique(stacked, axis=0, return_inverse=True)
        return table, inverse.reshape(-1)
    code = np.zeros(len(cols[0]), dtype=np.int64)
    for c, r in zip(cols, radices):
        code = code * r + c
    uniq, inverse = np.unique(code, return_inverse=True)
    table = np.empty((len(uniq), len(cols)), dtype=np.int64)
    rest = uniq.copy()
    for j in range(len(cols) - 1, -1, -1):
        table[:, j] = rest % radices[j]
        rest //= radices[j]
    return table, inverse.reshape(-1)

"""Rice methane, IPCC 2019 Refinement Vol. 4 Ch. 5.5.

Eq 5.1  CH4_rice = sum_i EF_i x t_i x A_i x 10^-6          (Gg; here in t: x 10^-3 per kg)
Eq 5.2  EF_i = EF_c x SF_w x SF_p x SF_o (x SF_s,r at Tier 2)
Eq 5.3  SF_o = (1 + sum_i ROA_i x CFOA_i)^0.59              (exponent 0.54-0.64, drawn)

EF_c: Table 5.11 (by region, via the region alias ``rice.ef_c``); SF_w: Table 5.12;
SF_p: Table 5.13; CFOA: Table 5.14. Tier 2 SF_s and SF_r are plot-specific inputs
(``sf_soil``, ``sf_cultivar``) and enter the activity coefficient exactly.
Upland rice has SF_w = 0 and so no methane; no amendments give SF_o = 1 exactly.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..arrays import FloatArray, IntArray
from ..inputs import AMENDMENTS, PRESEASON, WATER_REGIMES, PlotArrays
from ..montecarlo import Draws, activity_name
from ..terms import CHUNK_CELLS, Term, unique_keys
from .context import MethodContext

KG_TO_T = 1e-3


@dataclass
class RiceRows:
    """Rows EF_c x SF_w x SF_p x SF_o x 10^-3 (t CH4 / ha / day) per (regime, pre-season, amendment mix)."""

    regime: IntArray  # (K,)
    preseason: IntArray  # (K,)
    amendment: IntArray  # (K,) index into roa
    roa: FloatArray  # (U, 5) distinct amendment rates, t/ha
    scenario: str = "baseline"  # selects the scenario's activity-data error stream for amendments

    @property
    def n_keys(self) -> int:
        return len(self.regime)

    def _scale(self, draws: Draws, regime: IntArray, preseason: IntArray) -> FloatArray:
        """EF_c x SF_w x SF_p x 10^-3 for (regime, pre-season) pairs, (n, D)."""
        sf_w = np.stack([draws[f"rice.sf_w.{w}"] for w in WATER_REGIMES])
        sf_p = np.stack([draws[f"rice.sf_p.{p}"] for p in PRESEASON])
        return draws["rice.ef_c"] * KG_TO_T * sf_w[regime] * sf_p[preseason]

    def __call__(self, draws: Draws, sel: IntArray) -> FloatArray:
        return self._scale(draws, self.regime[sel], self.preseason[sel]) * sf_o(
            draws, self.roa[self.amendment[sel]], self.scenario
        )

    def weighted_sum(self, draws: Draws, w: FloatArray) -> FloatArray:
        """sum_k w[k] x row[k] without forming K x D rows: SF_o once per distinct amendment mix
        (U x D), a (G x U) @ (U x D) product, then the (regime, pre-season) scales (G x D)."""
        nz = np.flatnonzero(w)
        if nz.size == 0:
            return np.zeros(draws.n)
        n_pp = len(PRESEASON)
        group = self.regime[nz] * n_pp + self.preseason[nz]
        groups, g_idx = np.unique(group, return_inverse=True)
        amends, u_idx = np.unique(self.amendment[nz], return_inverse=True)
        weights = np.zeros((len(groups), len(amends)))
        np.add.at(weights, (g_idx, u_idx), w[nz])
        acc = np.zeros((len(groups), draws.n))
        step = max(1, CHUNK_CELLS // max(draws.n, 1))
        for start in range(0, len(amends), step):
            cols = slice(start, start + step)
            acc += weights[:, cols] @ sf_o(draws, self.roa[amends[cols]], self.scenario)
        scale = self._scale(draws, groups // n_pp, groups % n_pp)
        total: FloatArray = np.einsum("gd,gd->d", scale, acc)  # einsum is typed Any by numpy's stubs
        return total


def sf_o(draws: Draws, roa: FloatArray, scenario: str = "baseline") -> FloatArray:
    """Eq 5.3 for amendment-rate rows ``roa`` (n, 5): (1 + ROA . CFOA)^exponent, shape (n, D).

    ROA is multiplied by the scenario's systematic amendments error when one is requested.
    """
    cfoa = np.stack([draws[f"rice.cfoa.{a}"] for a in AMENDMENTS])  # (5, D)
    load = (roa @ cfoa) * draws[activity_name("amendments", scenario)]
    return (1.0 + load) ** draws["rice.sf_o_exponent"]


def terms(plots: PlotArrays, scenario: str, ctx: MethodContext) -> list[Term]:
    s = plots.season(scenario)
    upland = WATER_REGIMES.index("upland")
    active = s.is_rice & (s.water_regime != upland)
    roa_table, amend_key = _amend_keys(s.roa)
    table, key = unique_keys(s.water_regime, s.preseason, amend_key)
    rows = RiceRows(table[:, 0], table[:, 1], table[:, 2], roa_table, scenario)
    activity = np.where(active, s.area * s.days * s.sf_soil_cultivar, 0.0)
    return [
        Term(
            "rice_ch4",
            "CH4",
            scenario,
            "emission",
            activity,
            key,
            rows,
            ("activity.area", activity_name("cultivation_days", scenario)),
        )
    ]


def _amend_keys(roa: FloatArray) -> tuple[FloatArray, IntArray]:
    """Distinct amendment-rate vectors (exact float equality) and each plot's index."""
    table, inverse = np.unique(roa, axis=0, return_inverse=True)
    return table, inverse.reshape(-1)

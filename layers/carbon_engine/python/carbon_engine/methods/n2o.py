"""Nitrous oxide from managed soils, IPCC 2019 Refinement Vol. 4 Ch. 11 (Tier 1).

Direct (Eq 11.1):       N2O-N = (F_SN + F_ON + F_CR) x EF1      (EF1FR for flooded rice)
Volatilisation (11.9):  N2O(ATD)-N = (F_SN x Frac_GASF + F_ON x Frac_GASM) x EF4
Leaching (11.10):       N2O(L)-N = (F_SN + F_ON + F_CR) x Frac_LEACH-(H) x EF5
N2O = N2O-N x 44/28.

Leaching applies in wet climates and, in dry climates, on irrigated land (IPCC: Frac_LEACH is zero
in dry climates unless irrigated). Irrigated here = rice under continuous flooding or single/multiple
drainage; rainfed and deep-water rice, upland rice and other crops in a dry climate get no leaching
(the request does not say whether other crops are irrigated: engine assumption, reported).

EF1 choice (Table 11.1): flooded rice uses EF1FR by water regime - continuous flooding 0.003
(also applied to deep water), single/multiple drainage 0.005 (also applied to the rainfed
regimes, which are intermittently flooded) - both engine assumptions, reported in the result;
upland rice and other crops use the climate-disaggregated EF1 (wet: synthetic 0.016, other
inputs 0.006; dry: 0.005). Synthetic and organic N select EF1FR by ``n2o_regime`` (VM0051 may
substitute the baseline regime, see ``inputs.plot_arrays``); residue N always by its own regime.
EF4 is the climate-specific Table 11.3 value. F_PRP (grazing) and F_SOM (Eq 11.8) are not
modelled: plots are cropland without grazing and F_SOM needs a SOC loss, which the Tier 1
factors here only produce for land-use change away from paddy.
"""

from __future__ import annotations

import numpy as np

from ..arrays import BoolArray, IntArray
from ..inputs import WATER_REGIMES, PlotArrays, SeasonArrays
from ..montecarlo import activity_name
from ..terms import SumProductRows, Term
from .context import MethodContext

N2O_N_TO_N2O = 44.0 / 28.0
KG_TO_T = 1e-3
COEF = N2O_N_TO_N2O * KG_TO_T  # kg N2O-N -> t N2O

EF1_KEYS = ["n2o.ef1fr.continuous", "n2o.ef1fr.drainage", "n2o.ef1.synthetic_wet", "n2o.ef1.other_wet", "n2o.ef1.dry"]
_CONTINUOUS = {"continuously_flooded", "deep_water"}
IRRIGATED = ("continuously_flooded", "single_drainage", "multiple_drainage")


def leaching_mask(s: SeasonArrays, climate: str) -> BoolArray:
    """Plots where Eq 11.10 applies: every plot in a wet climate; irrigated rice in a dry one."""
    if climate == "wet":
        return np.ones(len(s.area), dtype=bool)
    return s.is_rice & np.isin(s.water_regime, [WATER_REGIMES.index(w) for w in IRRIGATED])


def ef1_key(regime: IntArray, is_rice: BoolArray, source: str, climate: str) -> IntArray:
    """Index into EF1_KEYS for each plot and N source ("synthetic" | "other")."""
    names = np.array(WATER_REGIMES)[regime]
    flooded = is_rice & (names != "upland")
    continuous = np.isin(names, list(_CONTINUOUS))
    if climate == "dry":
        upland_key = EF1_KEYS.index("n2o.ef1.dry")
    else:
        upland_key = EF1_KEYS.index("n2o.ef1.synthetic_wet" if source == "synthetic" else "n2o.ef1.other_wet")
    fr = np.where(continuous, EF1_KEYS.index("n2o.ef1fr.continuous"), EF1_KEYS.index("n2o.ef1fr.drainage"))
    return np.where(flooded, fr, upland_key).astype(np.int64)


def terms(plots: PlotArrays, scenario: str, ctx: MethodContext) -> list[Term]:
    s = plots.season(scenario)
    inputs = (
        ("synthetic_n", s.synthetic_n, "synthetic", s.n2o_regime),
        ("organic_n", s.organic_n, "other", s.n2o_regime),
        ("residue_n", s.residue_n, "other", s.water_regime),
    )
    direct = SumProductRows([[(COEF, (k,))] for k in EF1_KEYS])
    out = []
    zero_key = np.zeros(plots.n, dtype=np.int64)
    for cls, rate, source, regime in inputs:
        out.append(
            Term(
                "n2o_direct",
                "N2O",
                scenario,
                "emission",
                s.area * rate,
                ef1_key(regime, s.is_rice, source, ctx.climate),
                direct,
                ("activity.area", activity_name(cls, scenario)),
            )
        )
    ef4 = f"n2o.ef4.{ctx.climate}"
    for cls, rate, frac in (
        ("synthetic_n", s.synthetic_n, "n2o.frac_gasf"),
        ("organic_n", s.organic_n, "n2o.frac_gasm"),
    ):
        out.append(
            Term(
                "n2o_volatilisation",
                "N2O",
                scenario,
                "emission",
                s.area * rate,
                zero_key,
                SumProductRows([[(COEF, (frac, ef4))]]),
                ("activity.area", activity_name(cls, scenario)),
            )
        )
    leach_on = leaching_mask(s, ctx.climate)
    if leach_on.any():
        leach = SumProductRows([[(COEF, ("n2o.frac_leach", "n2o.ef5"))]])
        for cls, rate, _, _ in inputs:
            out.append(
                Term(
                    "n2o_leaching",
                    "N2O",
                    scenario,
                    "emission",
                    np.where(leach_on, s.area * rate, 0.0),
                    zero_key,
                    leach,
                    ("activity.area", activity_name(cls, scenario)),
                )
            )
    return out

"""Carbon dioxide from urea and liming, IPCC 2019 Refinement Vol. 4 Ch. 11.

Eq 11.13  CO2-C emission = M_urea x EF (0.20 t C / t urea)
Eq 11.12  CO2-C emission = M_limestone x 0.12 + M_dolomite x 0.13
CO2 = CO2-C x 44/12. Masses are reported in kg/ha and converted to t.
"""

from __future__ import annotations

import numpy as np

from ..inputs import PlotArrays
from ..montecarlo import activity_name
from ..terms import SumProductRows, Term
from .context import MethodContext

C_TO_CO2 = 44.0 / 12.0
KG_TO_T = 1e-3


def terms(plots: PlotArrays, scenario: str, ctx: MethodContext) -> list[Term]:
    s = plots.season(scenario)
    key = np.zeros(plots.n, dtype=np.int64)
    out = []
    for component, rate, factor, cls in (
        ("co2_urea", s.urea, "co2.urea_c", "urea"),
        ("co2_lime", s.limestone, "co2.limestone_c", "lime"),
        ("co2_lime", s.dolomite, "co2.dolomite_c", "lime"),
    ):
        out.append(
            Term(
                component,
                "CO2",
                scenario,
                "emission",
                s.area * rate * KG_TO_T,
                key,
                SumProductRows([[(C_TO_CO2, (factor,))]]),
                ("activity.area", activity_name(cls, scenario)),
            )
        )
    return out

"""Soil organic carbon stock change, Tier 1: IPCC 2019 Refinement Vol. 4 Ch. 2 Eq 2.25.

SOC = SOC_ref x F_LU x F_MG x F_I x A        (t C; SOC_ref Table 2.3, factors Table 5.5)
dSOC = (SOC_0 - SOC_(0-T)) / D                (D = 20 years default)

Each scenario contributes its equilibrium stock divided by D; the removal is project minus
baseline, i.e. the annual stock change of moving from the baseline to the project management
(x 44/12 for CO2). The same SOC_ref draw enters both scenarios, so its uncertainty cancels as
it should. Tropical dry zones take the 'dry' Table 5.5 column, moist and wet zones the
'moist_wet' column; montane zones also take 'moist_wet' (source values disagree, [U]).

Paddy rice: Table 5.5 gives no tillage or input factors for paddy rice (the paddy F_LU already
describes the flooded management), so F_MG = F_I = 1 for paddy rice whatever tillage and input the
request states (the stated values are ignored and the result reports that assumption; the table
wording was not available to the team: [U]).
"""

from __future__ import annotations

import numpy as np

from ..inputs import INPUTS, LAND_USES, SOC_ZONES, SOIL_TYPES, TILLAGE, PlotArrays
from ..terms import SumProductRows, Term, unique_keys
from .context import MethodContext

C_TO_CO2 = 44.0 / 12.0


def climate_column(zone: str) -> str:
    return "dry" if zone == "tropical_dry" else "moist_wet"


def terms(plots: PlotArrays, scenario: str, ctx: MethodContext) -> list[Term]:
    s = plots.season(scenario)
    active = (plots.soil_zone >= 0) & (s.soc_lu >= 0)
    cols = [np.where(active, c, 0) for c in (plots.soil_zone, plots.soil_type, s.soc_lu, s.soc_mg, s.soc_fi)]
    table, key = unique_keys(*cols)
    coef = C_TO_CO2 / ctx.factors.spec("soc.depletion_years").value
    keys = []
    for zone_i, soil_i, lu, mg, fi in table:
        zone = SOC_ZONES[zone_i]
        col = climate_column(zone)
        if LAND_USES[lu] == "paddy_rice":
            mg, fi = TILLAGE.index("full"), INPUTS.index("medium")  # F_MG = F_I = 1 (constant factors)
        names = (
            f"soc.ref.{zone}.{SOIL_TYPES[soil_i]}",
            f"soc.f_lu.{LAND_USES[lu]}.{col}",
            f"soc.f_mg.{TILLAGE[mg]}.{col}",
            f"soc.f_i.{INPUTS[fi]}.{col}",
        )
        keys.append([(coef, names)])
    activity = np.where(active, s.area, 0.0)
    return [
        Term("soc", "CO2", scenario, "removal", activity, key, SumProductRows(keys), ("activity.area",), pool="soc")
    ]


def paddy_management_ignored(plots: PlotArrays) -> bool:
    """True when a paddy-rice SOC block states tillage or input other than full / medium (ignored)."""
    paddy = LAND_USES.index("paddy_rice")
    for s in (plots.baseline, plots.project):
        sel = s.soc_lu == paddy
        if np.any(sel & ((s.soc_mg != TILLAGE.index("full")) | (s.soc_fi != INPUTS.index("medium")))):
            return True
    return False

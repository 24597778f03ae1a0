"""Residue burning, IPCC 2006 Guidelines Vol. 4 Ch. 2, Eq 2.27.

L_fire = A x M_B x C_f x G_ef x 10^-3    (t of gas; M_B t DM/ha, G_ef g/kg DM)

M_B is the reported ``residue_burnt_t_dm_per_ha`` (dry matter of residue exposed to the fire);
C_f by crop (Table 2.6): rice straw 0.80 [C], wheat residues 0.90 [U: not in the team reference];
other crops use the rice value 0.80 (engine assumption, reported in the result). G_ef for
agricultural residues (Table 2.5): CH4 2.7, N2O 0.07 g/kg DM. CO2 from burning biogenic residue
is not counted (Table 2.5 note).
"""

from __future__ import annotations

from ..inputs import PlotArrays
from ..montecarlo import activity_name
from ..terms import SumProductRows, Term
from .context import MethodContext

G_PER_KG_TO_T = 1e-3  # t DM x g/kg = kg of gas; x 10^-3 = t
CF_KEYS = ("burning.cf_rice", "burning.cf_wheat", "burning.cf_rice")  # by SeasonArrays.burn_crop: rice, wheat, other


def terms(plots: PlotArrays, scenario: str, ctx: MethodContext) -> list[Term]:
    s = plots.season(scenario)
    key = s.burn_crop
    dm = s.area * s.residue_burnt
    mult = ("activity.area", activity_name("residue_burnt", scenario))
    return [
        Term(
            "burning_ch4",
            "CH4",
            scenario,
            "emission",
            dm,
            key,
            SumProductRows([[(G_PER_KG_TO_T, (cf, "burning.gef_ch4"))] for cf in CF_KEYS]),
            mult,
        ),
        Term(
            "burning_n2o",
            "N2O",
            scenario,
            "emission",
            dm,
            key,
            SumProductRows([[(G_PER_KG_TO_T, (cf, "burning.gef_n2o"))] for cf in CF_KEYS]),
            mult,
        ),
    ]

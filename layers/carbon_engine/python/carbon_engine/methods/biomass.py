"""Agroforestry and perennial woody biomass.

Tier 1, growth-rate (gain) method: IPCC 2006 Vol. 4 Ch. 2 Eq 2.9-2.10 with the 2019 agroforestry
defaults (Ch. 5 Tables 5.1-5.3, Southern Asia): annual above-ground gain G_AG (t C/ha/yr) until
the system reaches its maximum above-ground carbon stock C_max, i.e. for a system of age a
    gain_AG = min(G_AG, max(0, C_max - a x G_AG))      (evaluated exactly per draw)
Below-ground gain: the tabulated G_BG where one exists (scaled like gain_AG), otherwise
gain_AG x R (Table 4.4 root-to-shoot ratio, Asia tropical, chosen ecozone), with the AGB class
(<= 125 or > 125 t DM/ha) chosen by the system's above-ground stock at the start of the year,
min(a x G_AG, C_max) / CF at default factors.

Tier 2, stock-difference method (2006 Vol. 4 Eq 2.8) from tree inventories: for each tree
AGB (kg) = 0.0673 x (rho x D^2 x H)^0.976 (Chave et al. 2014, Eq 4; rho g/cm3, D cm, H m),
C = sum AGB x (1 + R) x CF (CF = 0.47, Table 4.3; R from Table 4.4 by AGB density class).
The baseline season's trees are the inventory at t1, the project's at t2 (both required);
the annual removal is (C_t2 - C_t1) / (t2 - t1), ``tree_inventory_years`` on the plot.
Removals are in t CO2 (x 44/12).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..arrays import FloatArray, IntArray
from ..errors import input_error
from ..inputs import AF_SYSTEMS, AF_ZONES, PlotArrays
from ..montecarlo import Draws, activity_name
from ..terms import SumProductRows, Term, unique_keys
from .context import MethodContext

C_TO_CO2 = 44.0 / 12.0
KG_TO_T = 1e-3
RS_THRESHOLD_T_PER_HA = 125.0


@dataclass
class GrowthRows:
    """Tier 1 gain rows (t CO2/ha/yr) per distinct (system, zone, age)."""

    names: list[tuple[str, str, str | None, str]]  # (ag growth, max stock, bg growth or None, root:shoot)
    age: FloatArray

    @property
    def n_keys(self) -> int:
        return len(self.names)

    def __call__(self, draws: Draws, sel: IntArray) -> FloatArray:
        out = np.empty((len(sel), draws.n))
        for i, k in enumerate(sel):
            g_name, cmax_name, bg_name, rs_name = self.names[k]
            g, cmax = draws[g_name], draws[cmax_name]
            ag = np.minimum(g, np.maximum(0.0, cmax - self.age[k] * g))
            if bg_name is not None:
                ratio = np.divide(draws[bg_name], g, out=np.zeros(draws.n), where=g > 0)
            else:
                ratio = draws[rs_name]
            out[i] = ag * (1.0 + ratio) * C_TO_CO2
        return out


def _growth_terms(plots: PlotArrays, scenario: str, ctx: MethodContext) -> list[Term]:
    s = plots.season(scenario)
    active = s.af_system >= 0
    if not active.any():
        return []
    region = ctx.factors.alias("biomass.growth_region")
    table, key = unique_keys(
        np.where(active, s.af_system, 0), np.where(active, s.af_zone, 0), np.where(active, s.af_age * 1000, 0).round()
    )
    names: list[tuple[str, str, str | None, str]] = []
    age = table[:, 2] / 1000.0
    cf = ctx.factors.spec("biomass.carbon_fraction").value
    for k, (sys_i, zone_i, _) in enumerate(table):
        system, zone = AF_SYSTEMS[sys_i], AF_ZONES[zone_i]
        g = f"biomass.ag_growth.{region}.{zone}.{system}"
        if region is None or not ctx.factors.has(g):
            p = int(np.flatnonzero(active & (key == k))[0])
            raise input_error(
                ("plots", p, scenario, "agroforestry"),
                f"no Tier 1 growth rate for system {system!r}, zone {zone!r} in region {ctx.factors.region!r}",
            )
        bg = f"biomass.bg_growth.{region}.{zone}.{system}"
        cmax = f"biomass.max_agb_c.tropical.{system}"
        stock_dm = min(age[k] * ctx.factors.spec(g).value, ctx.factors.spec(cmax).value) / cf
        rs_class = "gt125" if stock_dm > RS_THRESHOLD_T_PER_HA else "le125"
        names.append(
            (g, cmax, bg if ctx.factors.has(bg) else None, f"biomass.root_shoot.{ctx.root_shoot_ecozone}.{rs_class}")
        )
    activity = np.where(active, s.af_area, 0.0)
    return [
        Term(
            "biomass_tier1",
            "CO2",
            scenario,
            "removal",
            activity,
            key,
            GrowthRows(names, age),
            ("activity.area",),
            pool="biomass",
        )
    ]


def chave2014_agb_kg(rho: FloatArray, dbh_cm: FloatArray, height_m: FloatArray, a: float, b: float) -> FloatArray:
    """Chave et al. (2014) Eq 4: AGB (kg) = a x (rho D^2 H)^b."""
    return a * (rho * dbh_cm**2 * height_m) ** b


def _inventory_terms(plots: PlotArrays, scenario: str, ctx: MethodContext) -> list[Term]:
    s = plots.season(scenario)
    if s.tree_plot.size == 0:
        return []
    f = ctx.factors
    agb = chave2014_agb_kg(
        s.tree_density,
        s.tree_dbh,
        s.tree_height,
        f.spec("biomass.chave2014.a").value,
        f.spec("biomass.chave2014.b").value,
    )
    agb_t = np.bincount(s.tree_plot, weights=s.tree_count * agb, minlength=plots.n) * KG_TO_T
    key = (agb_t / plots.area > RS_THRESHOLD_T_PER_HA).astype(np.int64)
    per_year = agb_t / plots.tree_years  # stock / (t2 - t1): both inventories enter with the same interval
    eco = ctx.root_shoot_ecozone
    rows = SumProductRows(
        [
            [
                (C_TO_CO2, ("biomass.carbon_fraction",)),
                (C_TO_CO2, ("biomass.carbon_fraction", f"biomass.root_shoot.{eco}.le125")),
            ],
            [
                (C_TO_CO2, ("biomass.carbon_fraction",)),
                (C_TO_CO2, ("biomass.carbon_fraction", f"biomass.root_shoot.{eco}.gt125")),
            ],
        ]
    )
    return [
        Term(
            "biomass_tier2",
            "CO2",
            scenario,
            "removal",
            per_year,
            key,
            rows,
            (activity_name("trees", scenario),),
            pool="biomass",
        )
    ]


def terms(plots: PlotArrays, scenario: str, ctx: MethodContext) -> list[Term]:
    return _growth_terms(plots, scenario, ctx) + _inventory_terms(plots, scenario, ctx)

"""Methodology profiles: which factors to use and what a crediting programme deducts.

Each profile is data (a frozen :class:`Profile`: factor choice, GWP set, the components it counts
in the creditable net, with the source of that list and whether it was checked) plus small rule
functions. A rule receives the
:class:`ProfileContext` and the amount still creditable and returns a :class:`RuleOutcome`
(a deduction in t CO2e and/or ineligibility). Rules run in the listed order, each on what the
previous ones left. Sources are cited per profile and per rule; the reference notes behind them
are in ``/work/shared/reference/ipcc-2019-defaults.md`` ("Methodology profiles").
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Mapping

import numpy as np

VM0051_N2O_KG_PER_KG_N = (0.005 - 0.003) * 44.0 / 28.0  # = 0.00314..., EF1FR drainage - continuous
VM0042_T_0667 = 0.4307  # t value used by VM0042 Eq 74
FLAT_DEDUCTION = 0.15
VM0051_FLAT_CAP_T_PER_YR = 60_000.0
VCS_MIN_BUFFER = 0.10

ALL_COMPONENTS = ("rice_ch4", "n2o_direct", "n2o_volatilisation", "n2o_leaching", "co2_urea", "co2_lime",
                  "burning_ch4", "burning_n2o", "soc", "biomass_tier1", "biomass_tier2")
RICE_CH4_AND_N2O = ("rice_ch4", "n2o_direct", "n2o_volatilisation", "n2o_leaching")


@dataclass
class ProfileContext:
    """What the rules see: project totals (t CO2e)."""

    basis: Mapping[str, float]  # totals under the profile's factor choice (point); rules use the *_in_scope keys
    mc: Mapping[str, dict]  # Monte Carlo summaries per metric (see montecarlo.summarize)
    mc_draws: Mapping[str, np.ndarray]
    gwp: Mapping[str, float]
    awd_switch_n_kg: float  # project N applied (kg) where continuous flooding became drainage
    buffer_fraction: float | None
    assumptions: list[str] = field(default_factory=list)  # rules append assumption ids they rely on


@dataclass
class RuleOutcome:
    deduction: float = 0.0
    rule: str = ""
    source: str = ""
    note: str = ""
    eligible: bool = True


Rule = Callable[[ProfileContext, float], RuleOutcome]


@dataclass(frozen=True)
class Profile:
    id: str
    title: str
    source: str
    factor_choice: str  # "default" | "conservative"
    rules: tuple[Rule, ...] = ()
    gwp_override: str | None = None
    n2o_regime_from_baseline: bool = False
    expected_gwp: str | None = None  # kept for compatibility; VCS profiles now force AR5 through gwp_override
    notes: tuple[str, ...] = field(default_factory=tuple)
    counted: tuple[str, ...] = ALL_COMPONENTS  # components in the creditable net
    scope_source: str = ""
    scope_status: str = "T"  # "U": the list is the engine's reading, not checked against the methodology text


# ----------------------------------------------------------------------------- rules


def vm0042_uncertainty(ctx: ProfileContext, remaining: float) -> RuleOutcome:
    """VM0042 v2 Eq 74: UNC = (s / mean x 100) x t_0.667; deduction = net x UNC / 100."""
    draws = ctx.mc_draws["net_in_scope"]
    mean = float(draws.mean())
    if mean <= 0 or remaining <= 0:
        return RuleOutcome(0.0, "vm0042_eq74_uncertainty", "Verra VM0042 v2, Eq 74", "non-positive net: nothing to deduct")
    unc = float(draws.std(ddof=1)) / mean * 100.0 * VM0042_T_0667
    frac = min(unc / 100.0, 1.0)
    return RuleOutcome(remaining * frac, "vm0042_eq74_uncertainty", "Verra VM0042 v2, Eq 74",
                       f"UNC = {unc:.3f} % (s/mean x 100 x {VM0042_T_0667})")


def vm0042_buffer(ctx: ProfileContext, remaining: float) -> RuleOutcome:
    """VM0042 Eqs 75-79: non-permanence buffer on carbon stock changes (removals) only."""
    if ctx.buffer_fraction is None:
        ctx.assumptions.append("vm0042_buffer_default")
    frac = VCS_MIN_BUFFER if ctx.buffer_fraction is None else ctx.buffer_fraction
    removals = max(0.0, ctx.basis["removals_in_scope"])
    net = ctx.basis["net_in_scope"]
    share = removals / net if net > 0 else 0.0
    stock_part = max(0.0, remaining) * min(share, 1.0)
    return RuleOutcome(stock_part * frac, "vm0042_buffer_stock_changes", "Verra VM0042 v2, Eqs 75-79; VCS AFOLU Non-Permanence Risk Tool",
                       f"buffer {frac:.2%} on the stock-change share ({share:.2%}) of the remaining net")


def vm0051_n2o(ctx: ProfileContext, remaining: float) -> RuleOutcome:
    """VM0051 mandatory N2O deduction: 0.00314 kg N2O per kg N on plots moved from continuous flooding to drainage."""
    t = ctx.awd_switch_n_kg * VM0051_N2O_KG_PER_KG_N * 1e-3 * ctx.gwp["N2O"]
    if ctx.awd_switch_n_kg > 0:
        ctx.assumptions.append("vm0051_n2o_applied_n_only")
    return RuleOutcome(t, "vm0051_mandatory_n2o", "Verra VM0051 v1.1 (N2O from water-management change)",
                       f"{ctx.awd_switch_n_kg:.6g} kg N x {VM0051_N2O_KG_PER_KG_N:.5f} kg N2O/kg N x GWP {ctx.gwp['N2O']}")


def vm0051_uncertainty(ctx: ProfileContext, remaining: float) -> RuleOutcome:
    """VM0051: 90 % CI half-width <= 10 %: none; > 100 %: not eligible; else flat 15 % up to 60,000 t/yr."""
    src = "Verra VM0051 v1.1, uncertainty (QA3)"
    ctx.assumptions.append("vm0051_request_is_one_year")
    hw = ctx.mc["net_in_scope"]["half_width_pct"]["90"]
    if hw is None or hw > 100.0:
        return RuleOutcome(0.0, "vm0051_uncertainty", src, f"90 % CI half-width {hw} % > 100 %: not eligible", eligible=False)
    if remaining <= 0:
        return RuleOutcome(0.0, "vm0051_uncertainty", src, f"net {remaining:.6g} t CO2e <= 0: not creditable, no uncertainty deduction")
    if hw <= 10.0:
        return RuleOutcome(0.0, "vm0051_uncertainty", src, f"90 % CI half-width {hw:.2f} % <= 10 %: no deduction")
    if remaining <= VM0051_FLAT_CAP_T_PER_YR:
        return RuleOutcome(max(0.0, remaining) * FLAT_DEDUCTION, "vm0051_uncertainty", src,
                           f"90 % CI half-width {hw:.2f} %: flat 15 % (net <= 60,000 t CO2e/yr)")
    ctx.assumptions.append("vm0051_above_60000")
    out = vm0042_uncertainty(ctx, remaining)
    out.rule, out.source = "vm0051_uncertainty", src + " (above 60,000 t: Eq 74-style deduction, engine assumption)"
    return out


def ccts_flat(ctx: ProfileContext, remaining: float) -> RuleOutcome:
    """India CCTS AG04.002: flat 15 % uncertainty deduction on the net result."""
    return RuleOutcome(max(0.0, remaining) * FLAT_DEDUCTION, "ccts_flat_15pct",
                       "India CCTS BM AG04.002 v1.0 (adopts AMS-III.AU)", "flat 15 % of the net")


# ----------------------------------------------------------------------------- profiles

PROFILES: dict[str, Profile] = {
    "ipcc_tier1": Profile(
        id="ipcc_tier1", title="IPCC 2019 Refinement Tier 1 (inventory; no crediting deductions)",
        source="IPCC 2019 Refinement to the 2006 Guidelines, Vol. 4", factor_choice="default"),
    "vm0042_qa3": Profile(
        id="vm0042_qa3", title="Verra VM0042 v2, quantification approach 3 (default factors)",
        source="Verra VM0042 v2.x Improved Agricultural Land Management, QA3; Eq 74-79",
        factor_choice="conservative", rules=(vm0042_uncertainty, vm0042_buffer), gwp_override="AR5",
        notes=("conservative factor: each uncertain factor at the 95 % bound (or default) that gives the lowest net, one at a time",
               "GWP fixed at AR5 (CH4 28 / N2O 265) as the VCS Standard requires"),
        counted=ALL_COMPONENTS, scope_status="U",
        scope_source="VM0042 v2 (improved agricultural land management): SOC and woody-biomass stock changes, N2O from "
                     "N inputs, CO2 from urea and liming, CH4 from rice and biomass burning (engine reading)"),
    "vm0051": Profile(
        id="vm0051", title="Verra VM0051 v1.1 Improved Management in Rice Production Systems (QA3, Tier 1)",
        source="Verra VM0051 v1.1", factor_choice="default", rules=(vm0051_n2o, vm0051_uncertainty),
        n2o_regime_from_baseline=True, gwp_override="AR5",
        notes=("on plots moved from continuous flooding to single/multiple drainage the project EF1FR for synthetic and "
               "organic N follows the baseline regime: the mandatory N2O deduction replaces that modelled change; every "
               "other water-regime change is modelled",
               "GWP fixed at AR5 (CH4 28 / N2O 265) as the VCS Standard requires"),
        counted=RICE_CH4_AND_N2O, scope_status="U",
        scope_source="VM0051 v1.1 (rice): CH4 from rice cultivation and N2O from N inputs; SOC, biomass, burning, urea "
                     "and lime CO2 are not counted (engine reading)"),
    "ccts_ag04_002": Profile(
        id="ccts_ag04_002", title="India CCTS BM AG04.002 v1.0 (rice)", source="India CCTS BM AG04.002 v1.0",
        factor_choice="default", rules=(ccts_flat,), gwp_override="AR6_CH4_FOSSIL",
        notes=("GWP fixed at CH4 29.8 / N2O 273 by the methodology",),
        counted=RICE_CH4_AND_N2O, scope_status="U",
        scope_source="AMS-III.AU (adopted by AG04.002) is a rice-methane water-management methodology: rice CH4; "
                     "N2O from N inputs counted as well (a project-side increase under drainage); SOC, biomass, "
                     "burning, urea and lime CO2 are not counted (engine reading)"),
}


def apply_rules(profile: Profile, ctx: ProfileContext) -> tuple[list[RuleOutcome], float, bool]:
    """Run the profile's rules in order; returns outcomes, creditable net and eligibility.

    The rules start from the in-scope net (the profile's counted components). A crediting profile
    (one with rules) never returns a negative creditable net: a net <= 0 is not creditable (0, with
    an outcome saying so). ``ipcc_tier1`` (no rules) returns the inventory net as it is."""
    remaining = ctx.basis["net_in_scope"]
    outcomes, eligible = [], True
    for rule in profile.rules:
        out = rule(ctx, remaining)
        outcomes.append(out)
        remaining -= out.deduction
        eligible = eligible and out.eligible
    if profile.rules and eligible and remaining <= 0:
        outcomes.append(RuleOutcome(0.0, "not_creditable", profile.source,
                                    f"net after deductions {remaining:.6g} t CO2e <= 0: nothing creditable"))
        remaining = 0.0
    return outcomes, (remaining if eligible else 0.0), eligible

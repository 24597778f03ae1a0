"""A profile's scope (which components and conditional sources its creditable net counts) and its
rules: each receives the :class:`ProfileContext` and the amount still creditable and returns a
:class:`RuleOutcome`. Sources are cited per rule."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # annotations only: evaluate imports montecarlo where it runs
    pass
from .base import (
    CONDITIONAL_SOURCES,
    FLAT_DEDUCTION,
    VCS_MIN_BUFFER,
    VM0051_FLAT_CAP_T_PER_YR,
    VM0051_MANDATORY_RAISE,
    VM0051_N2O_KG_PER_KG_N,
    Finding,
    Metric,
    Profile,
    ProfileContext,
    RuleOutcome,
)

# ----------------------------------------------------------------------------- scope


def included_conditionals(profile: Profile, components: Mapping[str, Mapping[str, float]]) -> list[str]:
    """Conditional sources the project raises by more than 5 % (whole-project point totals, t CO2e)."""
    out = []
    for src in profile.conditional:
        base = sum(components.get(c, {}).get("baseline", 0.0) for c in CONDITIONAL_SOURCES[src])
        proj = sum(components.get(c, {}).get("project", 0.0) for c in CONDITIONAL_SOURCES[src])
        if proj > base * (1.0 + VM0051_MANDATORY_RAISE) and proj > 0:
            out.append(src)
    return out


def scope_net(profile: Profile, metrics: Mapping[str, Metric], included: list[str]) -> Metric:
    """The creditable-scope net from the aggregated metrics (floats or per-draw arrays): the counted
    components (``net_in_scope``), plus the included conditional sources, with N2O capped at no
    credit for profiles that count it only as a project increase."""
    net = metrics["net_in_scope"]
    for src in included:
        net = net + metrics[f"cond_{src}"]
    return net


def scope_findings(
    profile: Profile, components: Mapping[str, Mapping[str, float]], included: list[str], gates: Mapping[str, float]
) -> list[Finding]:
    """What the result must say about its scope (ids are stable)."""
    out: list[Finding] = []
    rice = components.get("rice_ch4", {})
    if "rice_ch4" not in profile.counted and (rice.get("baseline", 0.0) or rice.get("project", 0.0)):
        if profile.id == "vm0042_qa3":
            out.append(
                {
                    "id": "vm0042_rice_ch4_not_in_scope",
                    "status": "secondary",
                    "text": f"rice methane ({rice.get('baseline', 0.0) - rice.get('project', 0.0):.6g} t CO2e reduction "
                    "in the inventory) is not counted: VM0051 (Improved Management in Rice Production "
                    "Systems) covers methane from flooded rice and VM0042 soil carbon and non-rice "
                    "sources (VM0051 v1.1 section 4, applicability; VM0042 v2.2 section 4 - a secondary reading, the "
                    "primary texts were not reachable, decision 0018); credit rice methane under the vm0051 profile",
                }
            )
    for src in profile.conditional:
        if src in included:
            out.append(
                {
                    "id": f"{profile.id}_{src}_mandatory",
                    "status": "secondary",
                    "text": f"{src}: the project raises it by more than 5 %, so it is counted (mandatory source)",
                }
            )
    unknown = int(gates.get("baseline_amendments_unknown_plots", 0))
    if unknown:
        ha = gates.get("baseline_amendments_unknown_ha", 0.0)
        if profile.baseline_straw_default_t_per_ha:
            out.append(
                {
                    "id": f"{profile.id}_baseline_straw_default",
                    "status": "secondary",
                    "text": f"{unknown} rice plot(s) ({ha:.6g} ha) have unknown baseline organic amendments: the "
                    f"baseline counts {profile.baseline_straw_default_t_per_ha:g} t/ha straw incorporated < 30 days "
                    "before cultivation (VM0051 section 8.2.3 footnote 16, secondary reading)",
                }
            )
        else:
            out.append(
                {
                    "id": "baseline_amendments_unknown_as_none",
                    "status": "assumption",
                    "text": f"{unknown} rice plot(s) ({ha:.6g} ha) have unknown baseline organic amendments: "
                    f"{profile.id} has no default for them, so the baseline counts none (conservative where the "
                    "project adds none)",
                }
            )
    if profile.baseline_n_capped and gates.get("baseline_n_above_project_plots", 0):
        out.append(
            {
                "id": f"{profile.id}_no_credit_for_reduced_n",
                "status": "secondary",
                "text": f"{int(gates['baseline_n_above_project_plots'])} plot(s) apply less N in the project than in "
                "the baseline: the in-scope baseline N2O uses the project's N (reduced fertiliser is not "
                "credited; the water-regime effect on N2O is)",
            }
        )
    return out


# ----------------------------------------------------------------------------- rules


def vm0042_uncertainty(ctx: ProfileContext, remaining: float) -> RuleOutcome:
    """VM0042 v2.2 Eq 74 applies to the sampling / model uncertainty of measured (QA2) or modelled (QA1)
    soil carbon and modelled soil CH4 / N2O. The engine quantifies every source with IPCC default factors
    (QA3), whose uncertainty VM0042 handles by the conservative factor choice (section 8.6.3), so Eq 74
    deducts nothing here: applying it on top would count the factor uncertainty twice."""
    return RuleOutcome(
        0.0,
        "vm0042_eq74_uncertainty",
        "Verra VM0042 v2.2",
        "no measured (QA2) or modelled (QA1) quantity in this request: default-factor (QA3) sources "
        "carry their uncertainty through the conservative factor choice (section 8.6.3), not Eq 74",
        equation="Eq 74: UNC = (sqrt(s^2) / mean x 100) x t_0.667 (t_0.667 = 0.4307); applies to "
        "QA1/QA2 SOC (Eqs 44-45) and modelled soil CH4/N2O",
        section="8.6.4",
        status="secondary",
    )


def vm0042_buffer(ctx: ProfileContext, remaining: float) -> RuleOutcome:
    """VM0042 Eqs 75-79: non-permanence buffer on carbon stock changes (removals) only."""
    if ctx.buffer_fraction is None:
        ctx.assumptions.append("vm0042_buffer_default")
    frac = VCS_MIN_BUFFER if ctx.buffer_fraction is None else ctx.buffer_fraction
    removals = max(0.0, min(ctx.basis["removals_in_scope"], remaining))
    return RuleOutcome(
        removals * frac,
        "vm0042_buffer_stock_changes",
        "Verra VM0042 v2.2; VCS AFOLU Non-Permanence Risk Tool",
        f"buffer {frac:.2%} x stock-change removals {removals:.6g} t CO2 (capped at the remaining net)",
        equation="Eqs 75-79: BU = NPR x (stock-change CR); VCU = ERR_net - BU",
        section="8 (Eqs 75-79)",
        status="secondary",
    )


def vm0051_baseline_gate(ctx: ProfileContext, remaining: float) -> RuleOutcome:
    """VM0051 applies to irrigated flooded rice: a rainfed or deep-water baseline is not eligible."""
    n = int(ctx.gates.get("vm0051_excluded_baseline_plots", 0))
    area = ctx.gates.get("vm0051_excluded_baseline_ha", 0.0)
    common = RuleOutcome(
        0.0,
        rule="vm0051_baseline_gate",
        source="Verra VM0051 v1.1 (applicability conditions)",
        equation="applicability: baseline = irrigated rice (continuous flooding or single/multiple drainage)",
        section="4 (applicability)",
        status="secondary",
    )
    if n:
        return replace(
            common,
            note=f"{n} plot(s) ({area:.6g} ha) have a rainfed or deep-water rice baseline: "
            "not eligible under VM0051 (remove them or use another profile)",
            eligible=False,
        )
    return replace(common, note="every rice baseline is irrigated (continuous flooding or drainage)")


def vm0051_size_cap(ctx: ProfileContext, remaining: float) -> RuleOutcome:
    """VM0051 default-factor approach: allowed up to 60,000 t CO2e/yr; above, country-specific factors."""
    ctx.assumptions.append("vm0051_request_is_one_year")
    net = ctx.basis["net_in_scope"]
    common = RuleOutcome(
        0.0,
        rule="vm0051_default_factor_cap",
        source="Verra VM0051 v1.1",
        equation="QA3 flat deduction only where emission reductions <= 60,000 t CO2e/yr (above: Eq 38 "
        "uncertainty or country-specific factors)",
        section="8.6.3",
        status="secondary",
    )
    if net > VM0051_FLAT_CAP_T_PER_YR and ctx.gates.get("country_ef_c_plots", 0):
        ctx.assumptions.append("vm0051_country_factors_flat_15")
        return replace(
            common,
            note=f"in-scope net {net:,.1f} t CO2e/yr > 60,000 with a country-specific (Tier 2) rice EF_c given by "
            "the request: accepted (the default-factor limit does not apply); the flat 15 % is still deducted",
        )
    if net > VM0051_FLAT_CAP_T_PER_YR:
        return replace(
            common,
            note=f"in-scope net {net:,.1f} t CO2e/yr > 60,000: the default-factor flat deduction is "
            "not allowed; country-specific (Tier 2) factors are required: give request.country_factors "
            "['rice.ef_c'] (value, 95 % low/high, source); the Eq 38 uncertainty assessment is not provided",
            eligible=False,
        )
    return replace(common, note=f"in-scope net {net:,.1f} t CO2e/yr <= 60,000: default-factor approach allowed")


def vm0051_uncertainty(ctx: ProfileContext, remaining: float) -> RuleOutcome:
    """VM0051 default-factor approach: flat 15 % of the soil CH4 / N2O change (no half-width gate: the
    90 % CI gates belong to the measured / sampled approaches)."""
    soil = ctx.basis.get("net_in_scope_core", ctx.basis["net_in_scope"])
    ded = FLAT_DEDUCTION * max(0.0, soil)
    summary = ctx.mc.get("net_in_scope")
    hw = None if summary is None else summary["half_width_pct"].get("90")
    hw_txt = "n/a" if hw is None else f"{hw:.1f} %"
    return RuleOutcome(
        ded,
        "vm0051_uncertainty",
        "Verra VM0051 v1.1",
        f"flat 15 % of the soil CH4/N2O change {soil:.6g} t CO2e (default-factor approach; the Monte "
        f"Carlo 90 % half-width {hw_txt} is reported, not gated: it is systematic Tier 1 factor uncertainty)",
        equation="Eq 29: ER = (BE - PE) x (1 - 0.15) - PE_Red-Irri (QA3 flat 15 %, <= 60,000 t/yr)",
        section="8.6.3",
        status="secondary",
    )


def vm0051_n2o(ctx: ProfileContext, remaining: float) -> RuleOutcome:
    """VM0051 mandatory N2O deduction: 0.00314 kg N2O per kg N on plots moved from continuous flooding to
    drainage, taken after the uncertainty deduction (it is not reduced by the 15 %)."""
    t = ctx.awd_switch_n_kg * VM0051_N2O_KG_PER_KG_N * 1e-3 * ctx.gwp["N2O"]
    if ctx.awd_switch_n_kg > 0:
        ctx.assumptions.append("vm0051_n2o_applied_n_only")
    return RuleOutcome(
        t,
        "vm0051_mandatory_n2o",
        "Verra VM0051 v1.1 (N2O from water-management change)",
        f"{ctx.awd_switch_n_kg:.6g} kg N x {VM0051_N2O_KG_PER_KG_N:.5f} kg N2O/kg N x GWP {ctx.gwp['N2O']}",
        equation="Eq 25: PE_Red-Irri = N applied x CF_N2O 0.00314 kg N2O/kg N (= (0.005 - 0.003) x 44/28) "
        "x GWP; subtracted in full after the 15 % (Eq 29)",
        section="8.3.2",
        status="secondary",
    )


def ccts_flat(ctx: ProfileContext, remaining: float) -> RuleOutcome:
    """India CCTS AG04.002: flat 15 % uncertainty deduction on the net result."""
    return RuleOutcome(
        max(0.0, remaining) * FLAT_DEDUCTION,
        "ccts_flat_15pct",
        "India CCTS BM AG04.002 v1.0 (adopts AMS-III.AU)",
        "flat 15 % of the net",
        equation="ER = (BE - PE) x (1 - 0.15)",
        section="uncertainty (flat deduction)",
        status="secondary",
    )

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

from collections.abc import Callable, Mapping, MutableMapping, Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, TypedDict, TypeVar

from .arrays import FloatArray

if TYPE_CHECKING:  # annotations only: evaluate imports montecarlo where it runs
    from .montecarlo import Summary

VM0051_N2O_KG_PER_KG_N = (0.005 - 0.003) * 44.0 / 28.0  # = 0.00314..., EF1FR drainage - continuous
VM0042_T_0667 = 0.4307  # t value used by VM0042 Eq 74
FLAT_DEDUCTION = 0.15
VM0051_FLAT_CAP_T_PER_YR = 60_000.0
VM0051_MANDATORY_RAISE = 0.05  # a conditional source becomes mandatory where the project raises it by more than 5 %
VCS_MIN_BUFFER = 0.10

ALL_COMPONENTS = (
    "rice_ch4",
    "n2o_direct",
    "n2o_volatilisation",
    "n2o_leaching",
    "co2_urea",
    "co2_lime",
    "burning_ch4",
    "burning_n2o",
    "soc",
    "biomass_tier1",
    "biomass_tier2",
)
RICE_CH4_AND_N2O = ("rice_ch4", "n2o_direct", "n2o_volatilisation", "n2o_leaching")
CONDITIONAL_SOURCES: dict[str, tuple[str, ...]] = {"co2_lime": ("co2_lime",), "burning": ("burning_ch4", "burning_n2o")}
"""Sources a profile may count only where the project raises them (``Profile.conditional``); the engine
always reports their in-scope change as ``cond_{source}`` (baseline - project, t CO2e) so the decision
can be made on the whole project's totals (chunked or not)."""
VM0051_EXCLUDED_BASELINES = ("rainfed_regular", "rainfed_drought_prone", "deep_water")


class Finding(TypedDict):
    """A statement the result makes about its scope or eligibility (``id`` is stable)."""

    id: str
    status: str
    text: str


class DeductionRow(TypedDict):
    """A :class:`RuleOutcome` as the result reports it (``Result.total.deductions``)."""

    rule: str
    t_co2e: float
    source: str
    note: str
    equation: str
    section: str
    status: str


Metric = TypeVar("Metric", float, FloatArray)
"""A metric's value: a point estimate (float) or its per-draw vector."""


@dataclass
class ProfileContext:
    """What the rules see: project totals (t CO2e).

    ``basis``: totals under the profile's factor choice (point); rules use ``net_in_scope`` (the
    creditable scope after the profile's scope rules) and ``net_in_scope_core`` (the always-counted
    components: for VM0051 the soil CH4 / N2O change the uncertainty deduction applies to).
    ``gates``: additive plot-level counts the eligibility rules need (``engine.gate_counts``).
    """

    basis: Mapping[str, float]
    mc: Mapping[str, Summary]  # Monte Carlo summaries per metric (see montecarlo.summarize)
    mc_draws: Mapping[str, FloatArray]
    gwp: Mapping[str, float]
    awd_switch_n_kg: float  # project N applied (kg) where continuous flooding became drainage
    buffer_fraction: float | None
    assumptions: list[str] = field(default_factory=list)  # rules append assumption ids they rely on
    gates: Mapping[str, float] = field(default_factory=dict)
    findings: list[Finding] = field(default_factory=list)


@dataclass
class RuleOutcome:
    """One rule's effect. ``rule``: stable id; ``equation`` and ``section``: where the rule is in the
    methodology; ``status``: ``confirmed`` (primary text) / ``secondary`` (public transcription or
    implementation) / ``assumption`` (the engine's reading); see docs/methodologies.md."""

    deduction: float = 0.0
    rule: str = ""
    source: str = ""
    note: str = ""
    eligible: bool = True
    equation: str = ""
    section: str = ""
    status: str = ""


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
    counted: tuple[str, ...] = ALL_COMPONENTS  # components always in the creditable net
    conditional: tuple[str, ...] = ()  # CONDITIONAL_SOURCES counted where the project raises them by > 5 %
    baseline_n_capped: bool = (
        False  # in-scope baseline N2O uses min(baseline N, project N) per plot: no credit for less N
    )
    scope_source: str = ""
    scope_status: str = "U"  # "U": the list is the engine's reading, not checked against the methodology text


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
                    "sources; credit rice methane under the vm0051 profile",
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
    if net > VM0051_FLAT_CAP_T_PER_YR:
        return replace(
            common,
            note=f"in-scope net {net:,.1f} t CO2e/yr > 60,000: the default-factor flat deduction is "
            "not allowed; the Eq 38 uncertainty assessment or country-specific factors are "
            "required, which this engine does not provide",
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


# ----------------------------------------------------------------------------- profiles

PROFILES: dict[str, Profile] = {
    "ipcc_tier1": Profile(
        id="ipcc_tier1",
        title="IPCC 2019 Refinement Tier 1 (inventory; no crediting deductions)",
        source="IPCC 2019 Refinement to the 2006 Guidelines, Vol. 4",
        factor_choice="default",
        scope_status="T",
        scope_source="inventory: every component the engine models",
    ),
    "vm0042_qa3": Profile(
        id="vm0042_qa3",
        title="Verra VM0042 v2.x, quantification approach 3 (default factors)",
        source="Verra VM0042 v2.2 Improved Agricultural Land Management, QA3; sections 8.6.3-8.6.4, Eqs 74-79",
        factor_choice="conservative",
        rules=(vm0042_uncertainty, vm0042_buffer),
        gwp_override="AR5",
        notes=(
            "conservative factors (section 8.6.3): one value per physical factor for baseline and project - each "
            "correlated group (Table 5.12 SF_w, Table 5.13 SF_p, Table 11.1 EF1FR) or single factor at its 95 % "
            "bound or default, whichever gives the lowest net, one at a time; no Eq 74 deduction on top",
            "rice methane is not counted: VM0051 covers it (see findings)",
            "GWP fixed at AR5 (CH4 28 / N2O 265) as the VCS Standard requires",
        ),
        counted=tuple(c for c in ALL_COMPONENTS if c != "rice_ch4"),
        scope_status="U",
        scope_source="VM0042 v2.2: SOC and woody-biomass stock changes, N2O from N inputs (direct, volatilisation, "
        "leaching), CO2 from urea and liming, CH4/N2O from biomass burning; rice methane left to VM0051 "
        "(secondary reading)",
    ),
    "vm0051": Profile(
        id="vm0051",
        title="Verra VM0051 v1.1 Improved Management in Rice Production Systems (default factors)",
        source="Verra VM0051 v1.1",
        factor_choice="default",
        rules=(vm0051_baseline_gate, vm0051_size_cap, vm0051_uncertainty, vm0051_n2o),
        n2o_regime_from_baseline=True,
        gwp_override="AR5",
        notes=(
            "on plots moved from continuous flooding to single/multiple drainage the project EF1FR for synthetic and "
            "organic N follows the baseline regime: the mandatory N2O deduction replaces that modelled change; every "
            "other water-regime change is modelled",
            "default-factor approach: flat 15 % on the soil CH4/N2O change, up to 60,000 t CO2e/yr; the Monte Carlo "
            "half-width is reported but does not gate eligibility",
            "GWP fixed at AR5 (CH4 28 / N2O 265) as the VCS Standard requires",
        ),
        counted=("rice_ch4", "n2o_direct"),
        conditional=("co2_lime", "burning"),
        scope_status="U",
        scope_source="VM0051 v1.1: CH4 from rice cultivation and direct N2O from N inputs; CO2 from liming and "
        "CH4/N2O from residue burning where the project raises them by more than 5 %; indirect N2O, urea "
        "CO2, SOC and biomass not counted (secondary reading)",
    ),
    "ccts_ag04_002": Profile(
        id="ccts_ag04_002",
        title="India CCTS BM AG04.002 v1.0 (rice)",
        source="India CCTS BM AG04.002 v1.0",
        factor_choice="default",
        rules=(ccts_flat,),
        gwp_override="AR6_CH4_FOSSIL",
        notes=(
            "GWP fixed at CH4 29.8 / N2O 273 by the methodology",
            "built on CDM AMS-III.AU, which Verra inactivated in March 2023 (replaced by VM0051), reportedly partly "
            "for ignoring N2O and SOC changes: N2O counts here as an effect of the water regime and of any N "
            "increase (baseline N capped at the project's; reduced fertiliser earns nothing); SOC is not counted",
        ),
        counted=RICE_CH4_AND_N2O,
        baseline_n_capped=True,
        scope_status="U",
        scope_source="AMS-III.AU (adopted by AG04.002) is a rice-methane water-management methodology: rice CH4; "
        "N2O from N inputs with the baseline N capped at the project's (the water-regime effect and any N "
        "increase count, reduced fertiliser is not credited); SOC, biomass, burning, urea "
        "and lime CO2 are not counted (secondary reading)",
    ),
}


def apply_rules(profile: Profile, ctx: ProfileContext) -> tuple[list[RuleOutcome], float, bool]:
    """Run the profile's rules in order; returns outcomes, creditable net and eligibility.

    The rules start from the in-scope net (``basis['net_in_scope']``, after the scope rules). A
    crediting profile (one with rules) never returns a negative creditable net: a net <= 0 is not
    creditable (0, with an outcome saying so), and creditable never exceeds the in-scope net.
    ``ipcc_tier1`` (no rules) returns the inventory net as it is."""
    remaining = ctx.basis["net_in_scope"]
    outcomes: list[RuleOutcome] = []
    eligible = True
    for rule in profile.rules:
        out = rule(ctx, remaining)
        outcomes.append(out)
        remaining -= out.deduction
        eligible = eligible and out.eligible
    if profile.rules and eligible and remaining <= 0:
        outcomes.append(
            RuleOutcome(
                0.0,
                "not_creditable",
                profile.source,
                f"net after deductions {remaining:.6g} t CO2e <= 0: nothing creditable",
                equation="creditable = max(0, net after deductions)",
                section="-",
                status="assumption",
            )
        )
        remaining = 0.0
    return outcomes, (remaining if eligible else 0.0), eligible


class Evaluation(TypedDict):
    """What :func:`evaluate` returns."""

    mc: dict[str, Summary]
    outcomes: list[RuleOutcome]
    creditable: float
    eligible: bool
    findings: list[Finding]
    assumptions: list[str]


def _rescope(profile: Profile, metrics: MutableMapping[str, Metric], included: list[str]) -> None:
    """``net_in_scope`` becomes the creditable scope, the counted-components net moves to ``net_in_scope_core``."""
    core = metrics["net_in_scope"]
    metrics["net_in_scope"] = scope_net(profile, metrics, included)
    metrics["net_in_scope_core"] = core


def evaluate(
    profile: Profile,
    *,
    point: dict[str, float],
    basis: dict[str, float],
    draws: dict[str, FloatArray],
    components: Mapping[str, Mapping[str, float]],
    gwp: Mapping[str, float],
    awd_switch_n_kg: float,
    buffer_fraction: float | None,
    gates: Mapping[str, float],
    levels: Sequence[float],
) -> Evaluation:
    """Scope rules, Monte Carlo summary of the creditable scope and the deduction rules, shared by
    ``engine.run`` and ``chunks.summarize_totals``. Rewrites ``net_in_scope`` in ``point`` / ``basis`` /
    ``draws`` (in place) to the creditable scope, keeping the counted-components net as
    ``net_in_scope_core``. Returns the summaries, outcomes, creditable net, eligibility and findings."""
    from .montecarlo import summarize

    included = included_conditionals(profile, components)
    _rescope(profile, point, included)
    if basis is not point:  # basis may be the point dict itself (rescoped once)
        _rescope(profile, basis, included)
    _rescope(profile, draws, included)
    mc = {k: summarize(v, levels) for k, v in draws.items()}
    ctx = ProfileContext(
        basis=basis,
        mc=mc,
        mc_draws=draws,
        gwp=gwp,
        awd_switch_n_kg=awd_switch_n_kg,
        buffer_fraction=buffer_fraction,
        gates=gates,
    )
    outcomes, creditable, eligible = apply_rules(profile, ctx)
    cap = max(0.0, float(point["net_in_scope"]))
    if profile.rules and creditable > cap:  # a conservative basis above the default in-scope net (never expected)
        outcomes.append(
            RuleOutcome(
                creditable - cap,
                "cap_at_in_scope_net",
                profile.source,
                f"creditable capped at the in-scope net {cap:.6g} t CO2e",
                equation="creditable <= max(0, in-scope net)",
                section="-",
                status="assumption",
            )
        )
        creditable = cap
    findings = scope_findings(profile, components, included, gates) + [
        {"id": o.rule, "status": o.status, "text": o.note} for o in outcomes if not o.eligible
    ]
    return {
        "mc": mc,
        "outcomes": outcomes,
        "creditable": creditable,
        "eligible": eligible,
        "findings": findings,
        "assumptions": ctx.assumptions,
    }


def deduction_rows(outcomes: list[RuleOutcome]) -> list[DeductionRow]:
    return [
        {
            "rule": o.rule,
            "t_co2e": o.deduction,
            "source": o.source,
            "note": o.note,
            "equation": o.equation,
            "section": o.section,
            "status": o.status,
        }
        for o in outcomes
    ]

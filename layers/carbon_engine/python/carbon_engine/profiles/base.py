"""The data a methodology profile is made of: its constants, the :class:`Profile` itself, what its
rules see (:class:`ProfileContext`) and return (:class:`RuleOutcome`), and what the result reports."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, TypedDict, TypeVar

from ..arrays import FloatArray

if TYPE_CHECKING:  # annotations only: evaluate imports montecarlo where it runs
    from ..montecarlo import Summary


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
    baseline_straw_default_t_per_ha: float = 0.0  # rice baselines with unknown amendments (VM0051: 5 t/ha straw)
    scope_source: str = ""
    scope_status: str = "U"  # "U": the list is the engine's reading, not checked against the methodology text

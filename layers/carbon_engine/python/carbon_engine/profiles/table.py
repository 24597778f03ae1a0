"""The methodology profiles, as data: factor choice, GWP set, counted components and their rules."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:  # annotations only: evaluate imports montecarlo where it runs
    pass
from .base import ALL_COMPONENTS, RICE_CH4_AND_N2O, Profile
from .rules import (
    ccts_flat,
    vm0042_buffer,
    vm0042_uncertainty,
    vm0051_baseline_gate,
    vm0051_n2o,
    vm0051_size_cap,
    vm0051_uncertainty,
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
        baseline_straw_default_t_per_ha=5.0,
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

"""Methodology profiles: which factors to use and what a crediting programme deducts.

Each profile is data (a frozen :class:`Profile`: factor choice, GWP set, the components it counts
in the creditable net, with the source of that list and whether it was checked) plus small rule
functions. A rule receives the
:class:`ProfileContext` and the amount still creditable and returns a :class:`RuleOutcome`
(a deduction in t CO2e and/or ineligibility). Rules run in the listed order, each on what the
previous ones left. Sources are cited per profile and per rule; the reference notes behind them
are in ``/work/shared/reference/ipcc-2019-defaults.md`` ("Methodology profiles").

Modules: ``base`` (constants and types), ``rules`` (scope and rules), ``table`` (``PROFILES``),
``evaluation`` (a profile run on a project's totals); every name is importable from here.
"""

from __future__ import annotations

from .base import (
    ALL_COMPONENTS,
    CONDITIONAL_SOURCES,
    FLAT_DEDUCTION,
    RICE_CH4_AND_N2O,
    VCS_MIN_BUFFER,
    VM0042_T_0667,
    VM0051_EXCLUDED_BASELINES,
    VM0051_FLAT_CAP_T_PER_YR,
    VM0051_MANDATORY_RAISE,
    VM0051_N2O_KG_PER_KG_N,
    DeductionRow,
    Finding,
    Metric,
    Profile,
    ProfileContext,
    Rule,
    RuleOutcome,
)
from .evaluation import (
    Evaluation,
    apply_rules,
    deduction_rows,
    evaluate,
)
from .rules import (
    ccts_flat,
    included_conditionals,
    scope_findings,
    scope_net,
    vm0042_buffer,
    vm0042_uncertainty,
    vm0051_baseline_gate,
    vm0051_n2o,
    vm0051_size_cap,
    vm0051_uncertainty,
)
from .table import (
    PROFILES,
)

__all__ = [
    "ALL_COMPONENTS",
    "CONDITIONAL_SOURCES",
    "DeductionRow",
    "Evaluation",
    "FLAT_DEDUCTION",
    "Finding",
    "Metric",
    "PROFILES",
    "Profile",
    "ProfileContext",
    "RICE_CH4_AND_N2O",
    "Rule",
    "RuleOutcome",
    "VCS_MIN_BUFFER",
    "VM0042_T_0667",
    "VM0051_EXCLUDED_BASELINES",
    "VM0051_FLAT_CAP_T_PER_YR",
    "VM0051_MANDATORY_RAISE",
    "VM0051_N2O_KG_PER_KG_N",
    "apply_rules",
    "ccts_flat",
    "deduction_rows",
    "evaluate",
    "included_conditionals",
    "scope_findings",
    "scope_net",
    "vm0042_buffer",
    "vm0042_uncertainty",
    "vm0051_baseline_gate",
    "vm0051_n2o",
    "vm0051_size_cap",
    "vm0051_uncertainty",
]

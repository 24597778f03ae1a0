"""A profile evaluated on a project's totals: scope, rules in order, the creditable net, findings."""

from __future__ import annotations

from collections.abc import Mapping, MutableMapping, Sequence
from typing import TYPE_CHECKING, TypedDict

from ..arrays import FloatArray

if TYPE_CHECKING:  # annotations only: evaluate imports montecarlo where it runs
    from ..montecarlo import Summary
from .base import DeductionRow, Finding, Metric, Profile, ProfileContext, RuleOutcome
from .rules import included_conditionals, scope_findings, scope_net


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
    from ..montecarlo import summarize

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

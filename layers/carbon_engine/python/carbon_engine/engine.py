"""Orchestration: request -> terms -> point estimate, Monte Carlo, profile deductions -> result.

The parts: :mod:`carbon_engine.evaluation` (prepare a request, evaluate its terms with draws),
:mod:`carbon_engine.conservative` (the VM0042 conservative choice, the profiles' gate counts); this
module runs them into a result.

One code path evaluates every estimate: :func:`term_totals` with a :class:`Draws` object. The
point estimate uses ``Draws.defaults`` (one column, every factor at its default), the Monte Carlo
``Draws.sample`` (``draws`` columns), the VM0042 conservative choice ``Draws.at`` (one column per
factor bound). Per-plot values use the same factor rows, gathered by each plot's key.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from . import __version__
from .arrays import FloatArray
from .assumptions import describe

# prepare and per_plot: re-exported (tests reach them through this module)
from .conservative import awd_switch_n_kg, conservative_draws, gate_counts
from .evaluation import (
    GASES,
    POOLS,
    Prepared,
    aggregate,
    component_points,
    per_plot_mc,
    per_plot_mc_sampled,
    plot_signatures,
    term_totals,
    totals,
)
from .evaluation import per_plot as per_plot
from .evaluation import prepare as prepare
from .factors import RegionFactors
from .inputs import WATER_REGIMES
from .models import PER_PLOT_MC_CAP, PER_PLOT_MC_EXACT_MAX, PER_PLOT_QUANTILE_DRAWS, PER_PLOT_SAMPLED_CAP, Request
from .montecarlo import Draws, Estimate
from .profiles import deduction_rows, evaluate


def per_plot_mc_note(request: Request, n_signatures: int | None = None) -> tuple[str | None, str]:
    """How per-plot statistics are computed: ``"exact"`` (over all draws, once per distinct signature,
    :func:`plot_signatures`), ``"sampled"`` (over the first ``PER_PLOT_QUANTILE_DRAWS`` draws,
    :func:`per_plot_mc_sampled`) or None (omitted), with the note the result carries.

    ``auto``: exact when signatures x draws <= ``PER_PLOT_MC_CAP``; sampled when signatures x M <=
    ``PER_PLOT_SAMPLED_CAP``; omitted above. ``always``: exact up to ``PER_PLOT_MC_EXACT_MAX``, sampled above.
    ``sampled``: always the first-M method (its figures do not depend on how plots are split into requests:
    the pipeline's chunks use it). ``never``: none."""
    sig = len(request.plots) if n_signatures is None else n_signatures
    cells = sig * request.draws
    m = min(PER_PLOT_QUANTILE_DRAWS, request.draws)
    what = f"{len(request.plots):,} plots in {sig:,} distinct factor/activity signatures x {request.draws:,} draws"
    mode = request.per_plot_mc
    if mode == "never":
        return None, "per-plot Monte Carlo statistics not requested (per_plot_mc='never')"
    exact_cap = PER_PLOT_MC_EXACT_MAX if mode == "always" else PER_PLOT_MC_CAP
    if mode != "sampled" and (cells <= exact_cap or request.draws <= m):
        return "exact", f"per-plot Monte Carlo statistics included, exact over all draws ({what})"
    if mode == "auto" and sig * m > PER_PLOT_SAMPLED_CAP:
        return None, (
            f"per-plot Monte Carlo statistics omitted: {what}; {sig:,} signatures x {m:,} draws exceed the cap of "
            f"{PER_PLOT_SAMPLED_CAP:,} (set per_plot_mc='sampled' or 'always' to compute them over the first "
            f"{m:,} draws); project statistics are exact"
        )
    if request.draws <= m:
        return "sampled", (
            f"per-plot Monte Carlo statistics included over all {request.draws:,} draws ({what}; per_plot_mc='sampled' "
            f"uses the first {PER_PLOT_QUANTILE_DRAWS:,}, float32 work arrays)"
        )
    why = "per_plot_mc='sampled'" if mode == "sampled" else f"{cells:,} signature-draws > {exact_cap:,}"
    return "sampled", (
        f"per-plot Monte Carlo statistics included over the first {m:,} of {request.draws:,} draws ({what}; {why}): "
        f"each plot's mean, median and interval bounds from those draws (Monte Carlo error of a 5 %/95 % bound: "
        f"+-{100 * (0.05 * 0.95 / m) ** 0.5:.2f} percentage points of probability, 1 sd); project statistics use "
        f"every draw"
    )


def run(prep: Prepared) -> dict[str, Any]:
    """Evaluate a prepared request; returns plain data for :class:`carbon_engine.models.Result`."""
    req = prep.request
    levels = req.confidence
    d0 = Draws.defaults(prep.factors)
    values0 = term_totals(prep.terms, d0)
    point = {k: float(v[0]) for k, v in aggregate(prep.terms, values0, prep.gwp).items()}
    dmc = Draws.sample(prep.factors, req.draws, req.seed, req.activity_uncertainty)
    mc_draws = totals(prep, dmc)

    if prep.profile.factor_choice == "conservative":
        dc, _ = conservative_draws(prep)
        basis = {k: float(v[0]) for k, v in totals(prep, dc).items()}
    else:
        basis = point
    components = component_points(prep, values0)
    ev = evaluate(
        prep.profile,
        point=point,
        basis=basis,
        draws=mc_draws,
        components=components,
        gwp=prep.gwp,
        awd_switch_n_kg=awd_switch_n_kg(prep.plots),
        buffer_fraction=req.buffer_fraction,
        gates=gate_counts(prep.plots, "rice.ef_c" in prep.request.country_factors),
        levels=levels,
    )
    mc, outcomes, creditable, eligible = ev["mc"], ev["outcomes"], ev["creditable"], ev["eligible"]
    assumption_ids = request_assumptions(prep) + ev["assumptions"]

    plot_point = per_plot(prep, d0, slice(None))
    signatures = plot_signatures(prep) if req.per_plot_mc != "never" else None
    method, mc_note = per_plot_mc_note(req, None if signatures is None else len(signatures[0]))
    plot_mc = (
        per_plot_mc(prep, dmc, levels, signatures)
        if method == "exact"
        else per_plot_mc_sampled(prep, dmc, levels, PER_PLOT_QUANTILE_DRAWS, signatures)
        if method == "sampled"
        else None
    )
    include_mc = plot_mc is not None

    def q(k: str) -> Estimate:
        return {"point": point[k], "mc": mc[k]}

    notes = list(prep.profile.notes)
    if (
        prep.profile.expected_gwp and prep.gwp_name != prep.profile.expected_gwp
    ):  # pragma: no cover (no profile sets it now)
        notes.append(
            f"{prep.profile.id} expects {prep.profile.expected_gwp} GWPs (VCS Standard); request used {prep.gwp_name}"
        )
    if prep.profile.gwp_override and req.gwp != prep.profile.gwp_override:
        notes.append(f"request gwp {req.gwp} replaced by {prep.profile.gwp_override} as the methodology requires")
    return {
        "engine_version": __version__,
        "factors_version": prep.factors.version,
        "factors_file": "",
        "profile": {
            "id": prep.profile.id,
            "title": prep.profile.title,
            "source": prep.profile.source,
            "factor_choice": prep.profile.factor_choice,
            "notes": notes,
            "counted_components": list(prep.profile.counted),
            "scope_source": prep.profile.scope_source,
            "scope_status": prep.profile.scope_status,
        },
        "gwp": {"name": prep.gwp_name, **prep.gwp},
        "region": req.region,
        "climate": req.climate,
        "draws": req.draws,
        "seed": req.seed,
        "confidence": levels,
        "total": {
            "gases": {
                g: {"baseline": q(f"{g}_baseline"), "project": q(f"{g}_project"), "reduction": q(f"{g}_reduction")}
                for g in GASES
            },
            "components": components,
            "emissions_baseline": q("emissions_baseline"),
            "emissions_project": q("emissions_project"),
            "reductions": q("reductions"),
            "removals": q("removals"),
            "removals_by_pool": {p: q(f"removals_{p}") for p in POOLS},
            "net": q("net"),
            "deductions": deduction_rows(outcomes),
            "creditable_net": creditable,
            "eligible": eligible,
            "creditable_basis": basis["net_in_scope"],
            "net_in_scope": q("net_in_scope"),
            "findings": ev["findings"],
        },
        "plots": {
            "plot_id": prep.plots.plot_id,
            "point": {k: v[:, 0].tolist() for k, v in plot_point.items()},
            "mc_included": include_mc,
            "mc_note": mc_note,
            "mc": plot_mc,
        },
        "unconfirmed_factors_used": used_unconfirmed(prep),
        "assumptions": describe(assumption_ids),
        "numpy_version": np.__version__,
    }


def used_unconfirmed(prep: Prepared) -> list[str]:
    """Factors this request's terms reference whose value is unconfirmed [U] (``name``) or whose
    drawn range is unconfirmed (``name (range)``, from ``range_status``)."""
    probe = _RecordingDraws(prep.factors)
    for t in prep.terms:
        if t.weights.any():
            t.rows(probe, np.flatnonzero(t.weights))
    out: list[str] = []
    for n in sorted(probe.seen):
        spec = prep.factors.specs[n]
        if spec.status == "U":
            out.append(n)
        elif spec.range_unconfirmed:
            out.append(f"{n} (range)")
    return out


def request_assumptions(prep: Prepared) -> list[str]:
    """Ids (see ``assumptions.ASSUMPTIONS``) of the engine assumptions this request depends on."""
    from .inputs import LAND_USES, SOC_ZONES
    from .models import CHAVE2014_DBH_CM

    pl, req = prep.plots, prep.request
    out: list[str] = []
    wr = {w: WATER_REGIMES.index(w) for w in WATER_REGIMES}
    for s in (pl.baseline, pl.project):
        n_in = (s.synthetic_n + s.organic_n + s.residue_n) > 0
        if np.any(s.is_rice & n_in & (s.water_regime == wr["deep_water"])):
            out.append("n2o_ef1fr_deep_water")
        if np.any(s.is_rice & n_in & np.isin(s.water_regime, [wr["rainfed_regular"], wr["rainfed_drought_prone"]])):
            out.append("n2o_ef1fr_rainfed")
        if req.climate == "dry" and np.any(n_in):
            out.append("n2o_leaching_dry_irrigated")
        soc_on = (pl.soil_zone >= 0) & (s.soc_lu >= 0)
        if np.any(soc_on & (pl.soil_zone == SOC_ZONES.index("tropical_montane"))):
            out.append("soc_montane_moist_wet")
        if np.any(soc_on & (s.soc_lu == LAND_USES.index("paddy_rice"))):
            out.append("soc_paddy_no_mg_fi")
        burnt = s.residue_burnt > 0
        if np.any(burnt & (s.burn_crop == 2)):
            out.append("burning_cf_other_crops")
        if np.any(burnt & (s.burn_crop == 1)):
            out.append("burning_cf_wheat")
        if s.tree_dbh.size and np.any((s.tree_dbh < CHAVE2014_DBH_CM[0]) | (s.tree_dbh > CHAVE2014_DBH_CM[1])):
            out.append("chave2014_dbh_range")
    if any(sd > 0 for sd in req.activity_uncertainty.values()):
        out.append("activity_uncertainty_correlation")
    if any(t.kind == "removal" and t.weights.any() for t in prep.terms):
        out.append("stock_change_annual")
    if any(t.component in ("rice_ch4", "n2o_direct") and t.weights.any() for t in prep.terms):
        out.append("correlated_factor_groups")
    if prep.profile.scope_status == "U":
        out.append("profile_scope")
    if prep.profile.factor_choice == "conservative":
        out.append("vm0042_conservative_one_at_a_time")
    return out


class _RecordingDraws(Draws):
    """Default draws that remember which factors were read."""

    def __init__(self, factors: RegionFactors):
        super().__init__(factors, 1)
        self.seen: set[str] = set()

    def __getitem__(self, name: str) -> FloatArray:
        if not name.startswith("activity."):
            self.seen.add(self.factors.resolve(name))
        return super().__getitem__(name)

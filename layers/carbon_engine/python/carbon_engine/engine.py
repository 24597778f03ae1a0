"""Orchestration: request -> terms -> point estimate, Monte Carlo, profile deductions -> result.

One code path evaluates every estimate: :func:`term_totals` with a :class:`Draws` object. The
point estimate uses ``Draws.defaults`` (one column, every factor at its default), the Monte Carlo
``Draws.sample`` (``draws`` columns), the VM0042 conservative choice ``Draws.at`` (one column per
factor bound). Per-plot values use the same factor rows, gathered by each plot's key.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from . import __version__
from .arrays import FloatArray, IntArray
from .assumptions import describe
from .errors import input_error
from .factors import FactorLibrary, RegionFactors, default_library
from .inputs import WATER_REGIMES, PlotArrays, plot_arrays
from .methods import MethodContext, all_terms
from .models import PER_PLOT_MC_CAP, Request
from .montecarlo import Draws, Estimate, RowsSummary, group_of, rows_summary
from .profiles import CONDITIONAL_SOURCES, PROFILES, Profile, deduction_rows, evaluate
from .terms import CHUNK_CELLS, Term

GASES = ("CH4", "N2O", "CO2")
POOLS = ("soc", "biomass")


@dataclass
class Prepared:
    """Everything needed to evaluate a request, before any draw."""

    request: Request
    factors: RegionFactors
    profile: Profile
    gwp_name: str
    gwp: Mapping[str, float]
    plots: PlotArrays
    terms: list[Term]


def prepare(request: Request, library: FactorLibrary | None = None) -> Prepared:
    lib = library or default_library()
    try:
        factors = lib.for_region(request.region)
    except KeyError:
        raise input_error(("region",), f"unknown region {request.region!r}", request.region) from None
    profile = PROFILES[request.profile]
    gwp_name = profile.gwp_override or request.gwp
    gwp = {g: float(lib.gwp[gwp_name][g]) for g in GASES}
    plots = plot_arrays(request, profile.n2o_regime_from_baseline)
    ctx = MethodContext(factors=factors, climate=request.climate, root_shoot_ecozone=request.root_shoot_ecozone)
    terms = all_terms(plots, ctx)
    if profile.baseline_n_capped:
        terms += capped_baseline_n2o_terms(plots, ctx, terms)
    conditional = {c: src for src in profile.conditional for c in CONDITIONAL_SOURCES[src]}
    for t in terms:
        t.counted = t.counted and t.component in profile.counted
        t.scope_group = conditional.get(t.component)
    return Prepared(request, factors, profile, gwp_name, gwp, plots, terms)


def capped_baseline_n2o_terms(plots: PlotArrays, ctx: MethodContext, terms: list[Term]) -> list[Term]:
    """Scope-only baseline N2O terms with each N input at min(baseline, project) per plot (profiles with
    ``baseline_n_capped``: reduced fertiliser is not credited). The inventory's baseline N2O terms stay
    in the inventory but leave the creditable scope; these enter the scope but not the inventory."""
    from dataclasses import replace

    from .methods import n2o

    b, p = plots.baseline, plots.project
    capped = replace(
        b,
        synthetic_n=np.minimum(b.synthetic_n, p.synthetic_n),
        organic_n=np.minimum(b.organic_n, p.organic_n),
        residue_n=np.minimum(b.residue_n, p.residue_n),
    )
    for t in terms:
        if t.scenario == "baseline" and t.gas == "N2O" and t.component.startswith("n2o_"):
            t.counted = False
    extra = n2o.terms(replace(plots, baseline=capped), "baseline", ctx)
    for t in extra:
        t.inventory = False
    return extra


# ----------------------------------------------------------------------------- evaluation


def term_totals(terms: Sequence[Term], draws: Draws) -> list[FloatArray]:
    """Project total of each term per draw (t gas), each (D,)."""
    return [t.total(draws) for t in terms]


def aggregate(terms: Sequence[Term], values: Sequence[FloatArray], gwp: Mapping[str, float]) -> dict[str, FloatArray]:
    """Combine term values (any common shape) into the reported metrics, t CO2e.

    Emissions: ``{gas}_{baseline|project}`` and ``{gas}_reduction`` (baseline - project);
    removals: ``removals_{pool}`` (project stock gain - baseline); ``net`` = reductions + removals.
    ``reductions_in_scope``, ``removals_in_scope``, ``net_in_scope``: the same over the terms the
    profile counts (``Term.counted``); the profile rules start from ``net_in_scope``.
    """
    shape = np.shape(values[0]) if values else ()
    m = {f"{g}_{s}": np.zeros(shape) for g in GASES for s in ("baseline", "project")}
    m.update({f"removals_{p}": np.zeros(shape) for p in POOLS})
    m.update({f"red_in_{g}": np.zeros(shape) for g in GASES})
    m.update({f"cond_{src}": np.zeros(shape) for src in CONDITIONAL_SOURCES})
    red_in, rem_in = np.zeros(shape), np.zeros(shape)
    for term, v in zip(terms, values):
        if term.kind == "emission":
            x = v * gwp[term.gas]
            if term.inventory:
                m[f"{term.gas}_{term.scenario}"] = m[f"{term.gas}_{term.scenario}"] + x
            signed = x if term.scenario == "baseline" else -x
            if term.counted:
                red_in = red_in + signed
                m[f"red_in_{term.gas}"] = m[f"red_in_{term.gas}"] + signed
            elif term.scope_group is not None:
                m[f"cond_{term.scope_group}"] = m[f"cond_{term.scope_group}"] + signed
        else:
            sign = 1.0 if term.scenario == "project" else -1.0
            m[f"removals_{term.pool}"] = m[f"removals_{term.pool}"] + sign * v
            if term.counted:
                rem_in = rem_in + sign * v
    for g in GASES:
        m[f"{g}_reduction"] = m[f"{g}_baseline"] - m[f"{g}_project"]
    m["emissions_baseline"] = sum((m[f"{g}_baseline"] for g in GASES), np.zeros(shape))
    m["emissions_project"] = sum((m[f"{g}_project"] for g in GASES), np.zeros(shape))
    m["reductions"] = m["emissions_baseline"] - m["emissions_project"]
    m["removals"] = sum((m[f"removals_{p}"] for p in POOLS), np.zeros(shape))
    m["net"] = m["reductions"] + m["removals"]
    m["reductions_in_scope"], m["removals_in_scope"] = red_in, rem_in
    m["net_in_scope"] = red_in + rem_in
    return m


def totals(prep: Prepared, draws: Draws) -> dict[str, FloatArray]:
    """Reported metrics per draw for the whole project."""
    return aggregate(prep.terms, term_totals(prep.terms, draws), prep.gwp)


def component_points(prep: Prepared, values: Sequence[FloatArray]) -> dict[str, dict[str, float]]:
    """Point estimate per method component and scenario, t CO2e (removal components in t CO2)."""
    out: dict[str, dict[str, float]] = {}
    for term, v in zip(prep.terms, values):
        if not term.inventory:
            continue
        scale = prep.gwp[term.gas] if term.kind == "emission" else 1.0
        comp = out.setdefault(term.component, {"baseline": 0.0, "project": 0.0})
        comp[term.scenario] += float(v[0]) * scale
    return out


INTERNAL_METRICS = ("red_in_", "cond_")
"""Prefixes of the scope-rule inputs (per-gas in-scope reductions, conditional sources): project-level
only, not reported per plot."""


PLOT_MC_METRICS = ("net", "net_in_scope", "reductions", "removals")
"""Metrics with per-plot Monte Carlo statistics (every metric has per-plot point estimates)."""


def _public(m: dict[str, FloatArray]) -> dict[str, FloatArray]:
    return {k: v for k, v in m.items() if not k.startswith(INTERNAL_METRICS)}


def per_plot(prep: Prepared, draws: Draws, plot_slice: slice | IntArray) -> dict[str, FloatArray]:
    """Reported metrics for a slice (or index array) of plots, each (n_plots, D)."""
    tables = [t.table(draws) for t in prep.terms]
    vals = [t.per_plot(draws, tab, plot_slice) for t, tab in zip(prep.terms, tables)]
    return _public(aggregate(prep.terms, vals, prep.gwp))


def plot_signatures(prep: Prepared) -> tuple[IntArray, IntArray]:
    """Plots with the same factor combination and the same per-hectare activity in every term.

    Every term is linear in its per-plot activity (``activity[p] x rows[key[p], d] x multiplier[d]``) and
    the factors are systematic, so such plots have the same per-hectare distribution: each plot's draws
    are its area times its signature's per-hectare draws. Per-hectare activities are compared to 40
    significant bits (relative 1e-12), rounded. Returns the representative plot of each signature (G,) and each
    plot's signature index (N,)."""
    n = prep.plots.n
    area = prep.plots.area
    cols = []
    for t in prep.terms:
        if not t.activity.any():
            continue
        cols.append(t.key.astype(np.int64))
        # per-hectare activity rounded to 40 significant bits ((area x rate) / area is rate to an ulp or two):
        # add half of the 12 dropped mantissa bits, then clear them (a carry rounds up into the exponent)
        per_ha = np.abs(t.activity / area).view(np.int64)
        cols.append(np.sign(t.activity).astype(np.int64))
        cols.append((per_ha + np.int64(0x800)) & ~np.int64(0xFFF))
    if not cols:
        return np.zeros(1 if n else 0, dtype=np.int64), np.zeros(n, dtype=np.int64)
    rows = np.stack(cols, axis=1)
    # one 64-bit hash per row (wrapping multiply-add with fixed odd multipliers), a 1-D unique, then an
    # exact check that every plot equals its representative; a collision falls back to a row-wise unique
    mult = np.random.default_rng(20240611).integers(1, 2**62, rows.shape[1], dtype=np.int64) | 1
    with np.errstate(over="ignore"):
        h = (rows * mult).sum(axis=1, dtype=np.int64)
    _, rep, inverse = np.unique(h, return_index=True, return_inverse=True)
    inverse = inverse.reshape(-1)
    if len(rep) < n and not np.array_equal(rows, rows[rep][inverse]):  # pragma: no cover (hash collision)
        _, rep, inverse = np.unique(rows, axis=0, return_index=True, return_inverse=True)
        inverse = inverse.reshape(-1)
    return rep, inverse


def per_plot_mc(
    prep: Prepared, draws: Draws, levels: Sequence[float], signatures: tuple[IntArray, IntArray] | None = None
) -> dict[str, RowsSummary]:
    """Per-plot Monte Carlo statistics over all draws, computed once per distinct signature
    (:func:`plot_signatures`, in chunks to bound memory) and mapped back to the plots by area: the
    mean, median and interval bounds scale with the area (> 0), the half-width in % does not."""
    rep, inverse = signatures or plot_signatures(prep)
    area = prep.plots.area
    tables = [t.table(draws) for t in prep.terms]
    step = max(1, CHUNK_CELLS // max(draws.n, 1))
    parts: list[dict[str, dict[str, FloatArray]]] = []
    for start in range(0, len(rep), step):
        sel = rep[start : start + step]
        vals = [t.per_plot(draws, tab, sel) for t, tab in zip(prep.terms, tables)]
        agg = aggregate(prep.terms, vals, prep.gwp)
        per_ha = {k: agg[k] / area[sel, None] for k in PLOT_MC_METRICS}
        parts.append({k: _row_stats(v, levels) for k, v in per_ha.items()})
    out: dict[str, RowsSummary] = {}
    for metric in parts[0]:
        stats = {k: np.concatenate([p[metric][k] for p in parts], axis=-1) for k in parts[0][metric]}
        out[metric] = _plot_stats(stats, inverse, area, levels)
    return out


def _row_stats(x: FloatArray, levels: Sequence[float]) -> dict[str, FloatArray]:
    qs = [q for lv in levels for q in ((1 - lv) / 2, (1 + lv) / 2)]
    return {"mean": x.mean(axis=1), "quant": np.quantile(x, [0.5, *qs], axis=1)}


def _plot_stats(
    stats: dict[str, FloatArray], inverse: IntArray, area: FloatArray, levels: Sequence[float]
) -> RowsSummary:
    return rows_summary(stats["mean"][inverse] * area, stats["quant"][:, inverse] * area, list(levels))


# ----------------------------------------------------------------------------- profile support


TIE_RTOL = 1e-9
"""Conservative choice: nets within TIE_RTOL x the gross magnitude of the project's terms count as equal
(the default wins), so float rounding (e.g. the order in which chunks are summed) cannot pick a bound
for a factor whose effect on the net is nil."""


@dataclass
class Sensitivity:
    """What the VM0042 conservative choice needs, additive over plots (sum two with ``+``).

    Factors are shared by all plots, so the project's in-scope net with one factor *unit* at a bound
    (others at defaults) is the sum over any split of the plots: a chunk's sensitivity is part of the
    project's. A unit is a correlated group (``montecarlo.CORRELATED_GROUPS``: every member at the same
    quantile, i.e. all at their low or all at their high bound) or a single ungrouped factor: one
    consistent value per physical factor for baseline and project (VM0042 v2.2 section 8.6.3 reading).
    ``candidates``: factor -> (low, default, high); ``units``: unit -> member factors;
    ``low``/``high``: in-scope net with that unit at the bound; ``default``: in-scope net at defaults;
    ``scale``: sum of |term| at defaults (t CO2e), the size that float rounding scales with.
    """

    candidates: dict[str, tuple[float, float, float]]
    low: dict[str, float]
    high: dict[str, float]
    default: float
    scale: float
    units: dict[str, list[str]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not self.units:  # no groups given: every factor is its own unit
            self.units = {n: [n] for n in sorted(self.candidates)}

    def __add__(self, other: Sensitivity) -> Sensitivity:
        if self.candidates != other.candidates or self.units != other.units:
            raise ValueError("sensitivities of different factor sets (region or factors file) cannot be summed")
        return Sensitivity(
            self.candidates,
            {k: v + other.low[k] for k, v in self.low.items()},
            {k: v + other.high[k] for k, v in self.high.items()},
            self.default + other.default,
            self.scale + other.scale,
            self.units,
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "candidates": {k: list(v) for k, v in self.candidates.items()},
            "low": self.low,
            "high": self.high,
            "default": self.default,
            "scale": self.scale,
            "units": self.units,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Sensitivity:
        cands = {k: tuple(v) for k, v in data["candidates"].items()}
        units = {k: list(v) for k, v in data.get("units", {n: [n] for n in cands}).items()}
        return cls(cands, dict(data["low"]), dict(data["high"]), float(data["default"]), float(data["scale"]), units)


def factor_units(factors: RegionFactors) -> dict[str, list[str]]:
    """The region's uncertain factors grouped into choice units: correlated groups, then single factors."""
    units: dict[str, list[str]] = {}
    for name in sorted(n for n, s in factors.specs.items() if s.uncertain):
        units.setdefault(group_of(name) or name, []).append(name)
    return units


def sensitivity(prep: Prepared) -> Sensitivity:
    """The in-scope net with each choice unit at its low and its high bound, one unit at a time
    (one column per bound, others at defaults), and at defaults."""
    units = factor_units(prep.factors)
    names = sorted(units)
    m = len(names)
    cols: dict[str, FloatArray] = {}
    for i, unit in enumerate(names):
        for member in units[unit]:
            spec = prep.factors.specs[member]
            col = np.full(2 * m, spec.value)
            col[2 * i], col[2 * i + 1] = spec.range
            cols[member] = col
    net = totals(prep, Draws(prep.factors, 2 * m, cols))["net_in_scope"]
    values0 = term_totals(prep.terms, Draws.defaults(prep.factors))
    default = float(aggregate(prep.terms, values0, prep.gwp)["net_in_scope"][0])
    scale = sum(
        abs(float(v[0])) * (prep.gwp[t.gas] if t.kind == "emission" else 1.0) for t, v in zip(prep.terms, values0)
    )
    cands = {
        n: (s.range[0], s.value, s.range[1]) for unit in names for n in units[unit] for s in (prep.factors.specs[n],)
    }
    return Sensitivity(
        candidates=cands,
        low={u: float(net[2 * i]) for i, u in enumerate(names)},
        high={u: float(net[2 * i + 1]) for i, u in enumerate(names)},
        default=default,
        scale=scale,
        units=units,
    )


def choose_conservative(sens: Sensitivity) -> dict[str, float]:
    """VM0042-style conservative factors: each choice unit (a correlated group moves as one, every
    member at the same bound, for baseline and project alike) at low, default or high, whichever gives
    the lowest project net, varied one unit at a time (others at defaults). Returns the factors not at
    their default. Nets within ``TIE_RTOL`` x ``scale`` of the lowest tie; among ties the default wins,
    then low. Pure: the whole project's choice from its (summed) sensitivity."""
    tol = TIE_RTOL * sens.scale
    chosen: dict[str, float] = {}
    for unit in sorted(sens.units):
        options = ((sens.default, 1), (sens.low[unit], 0), (sens.high[unit], 2))
        best = min(net for net, _ in options)
        pick = next(i for net, i in options if net <= best + tol)
        if pick != 1:
            for member in sens.units[unit]:
                chosen[member] = sens.candidates[member][pick]
    return chosen


def conservative_draws(prep: Prepared) -> tuple[Draws, dict[str, float]]:
    """The conservative factors of this request (one column) and the chosen values: the chunked
    pipeline runs the same two steps (:func:`sensitivity` per chunk, :func:`choose_conservative`
    once over their sum), so a single request is the one-chunk case."""
    chosen = choose_conservative(sensitivity(prep))
    return Draws.at(prep.factors, chosen, 1), chosen


def gate_counts(plots: PlotArrays) -> dict[str, float]:
    """Additive plot-level counts the eligibility rules need: rice plots whose baseline is rainfed or
    deep water (VM0051 applies to irrigated rice), number and area (ha)."""
    from .profiles import VM0051_EXCLUDED_BASELINES

    b = plots.baseline
    bad = b.is_rice & np.isin(b.water_regime, [WATER_REGIMES.index(w) for w in VM0051_EXCLUDED_BASELINES])
    p = plots.project
    less_n = (b.synthetic_n > p.synthetic_n) | (b.organic_n > p.organic_n) | (b.residue_n > p.residue_n)
    return {
        "vm0051_excluded_baseline_plots": float(np.count_nonzero(bad)),
        "vm0051_excluded_baseline_ha": float(np.sum(plots.area[bad])),
        "baseline_n_above_project_plots": float(np.count_nonzero(less_n)),
    }


def awd_switch_n_kg(plots: PlotArrays) -> float:
    """Project N applied (kg, synthetic + organic) on plots moved from continuous flooding to single or
    multiple drainage (``PlotArrays.awd_switch``, the same plots whose project EF1FR VM0051 fixes)."""
    n = plots.project.synthetic_n + plots.project.organic_n
    return float(np.sum(np.where(plots.awd_switch, n * plots.area, 0.0)))


def per_plot_mc_note(request: Request, n_signatures: int | None = None) -> tuple[bool, str]:
    """Whether per-plot statistics are computed: ``always``, or ``auto`` when the distinct plot
    signatures (:func:`plot_signatures`) x draws fit ``PER_PLOT_MC_CAP`` (the work is per signature)."""
    sig = len(request.plots) if n_signatures is None else n_signatures
    cells = sig * request.draws
    what = f"{len(request.plots):,} plots in {sig:,} distinct factor/activity signatures x {request.draws:,} draws"
    if request.per_plot_mc == "never":
        return False, "per-plot Monte Carlo statistics not requested (per_plot_mc='never')"
    if request.per_plot_mc == "always" or cells <= PER_PLOT_MC_CAP:
        return True, f"per-plot Monte Carlo statistics included, exact over all draws ({what})"
    return False, (
        f"per-plot Monte Carlo statistics omitted: {what} = {cells:,} signature-draws exceed the cap of "
        f"{PER_PLOT_MC_CAP:,} (set per_plot_mc='always' to force); project statistics are exact"
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
        gates=gate_counts(prep.plots),
        levels=levels,
    )
    mc, outcomes, creditable, eligible = ev["mc"], ev["outcomes"], ev["creditable"], ev["eligible"]
    assumption_ids = request_assumptions(prep) + ev["assumptions"]

    plot_point = per_plot(prep, d0, slice(None))
    signatures = plot_signatures(prep) if req.per_plot_mc != "never" else None
    include_mc, mc_note = per_plot_mc_note(req, None if signatures is None else len(signatures[0]))
    plot_mc = per_plot_mc(prep, dmc, levels, signatures) if include_mc else None

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

"""Evaluation: a request prepared into plot arrays and terms, then evaluated with a :class:`Draws`
object into totals, per-plot values and per-plot Monte Carlo statistics.

One code path evaluates every estimate: :func:`term_totals` with a :class:`Draws` object. The
point estimate uses ``Draws.defaults`` (one column, every factor at its default), the Monte Carlo
``Draws.sample`` (``draws`` columns), the VM0042 conservative choice ``Draws.at`` (one column per
factor bound). Per-plot values use the same factor rows, gathered by each plot's key.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from .arrays import FloatArray, IntArray
from .errors import input_error
from .factors import FactorLibrary, RegionFactors, default_library
from .inputs import PlotArrays, plot_arrays
from .methods import MethodContext, all_terms
from .models import Request
from .montecarlo import Draws, RowsSummary, rows_summary
from .profiles import CONDITIONAL_SOURCES, PROFILES, Profile
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
    if request.country_factors:
        factors = with_country_factors(factors, request)
    profile = PROFILES[request.profile]
    gwp_name = profile.gwp_override or request.gwp
    gwp = {g: float(lib.gwp[gwp_name][g]) for g in GASES}
    plots = plot_arrays(request, profile.n2o_regime_from_baseline, profile.baseline_straw_default_t_per_ha)
    ctx = MethodContext(factors=factors, climate=request.climate, root_shoot_ecozone=request.root_shoot_ecozone)
    terms = all_terms(plots, ctx)
    if profile.baseline_n_capped:
        terms += capped_baseline_n2o_terms(plots, ctx, terms)
    conditional = {c: src for src in profile.conditional for c in CONDITIONAL_SOURCES[src]}
    for t in terms:
        t.counted = t.counted and t.component in profile.counted
        t.scope_group = conditional.get(t.component)
    return Prepared(request, factors, profile, gwp_name, gwp, plots, terms)


def with_country_factors(factors: RegionFactors, request: Request) -> RegionFactors:
    """The region's factors with the request's country-specific (Tier 2) values and ranges in place (the
    distribution and physical bounds stay the table's); ``source`` says where each came from."""
    from dataclasses import replace

    specs = dict(factors.specs)
    for name, cf in request.country_factors.items():
        resolved = factors.resolve(name)
        base = factors.spec(resolved)
        specs[resolved] = replace(
            base,
            value=cf.value,
            low=cf.low,
            high=cf.high,
            source=f"country-specific (request): {cf.source}",
            status="T",
            range_status=None,
            note="Tier 2 value given by the request",
        )
    return replace(factors, specs=specs)


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


SMALL_TABLE_KEYS = 16
"""Terms with at most this many keys enter the sampled per-plot evaluation as one matrix product (one
basis row per distinct factor row); larger tables (rice amendment mixes, SOC, Tier 1 growth) are gathered."""


def _plot_metric_coefficients(prep: Prepared) -> list[tuple[float, float, float]]:
    """Per term, its coefficient in (reductions, removals, net_in_scope) per plot, as :func:`aggregate`
    combines them (t CO2e per t of the term's gas; ``net`` = reductions + removals)."""
    out = []
    for t in prep.terms:
        if t.kind == "emission":
            s = prep.gwp[t.gas] * (1.0 if t.scenario == "baseline" else -1.0)
            out.append((s if t.inventory else 0.0, 0.0, s if t.counted else 0.0))
        else:
            s = 1.0 if t.scenario == "project" else -1.0
            out.append((0.0, s, s if t.counted else 0.0))
    return out


def per_plot_mc_sampled(
    prep: Prepared,
    draws: Draws,
    levels: Sequence[float],
    m: int,
    signatures: tuple[IntArray, IntArray] | None = None,
) -> dict[str, RowsSummary]:
    """Per-plot Monte Carlo statistics over the first ``m`` draws (``Draws.head``), for any number of
    distinct plots. The project totals keep every draw; each plot's mean, median and interval bounds
    come from the first ``m`` draws (an i.i.d. subsample: the Monte Carlo error this adds is stated in
    the engine README and decision 0018 and bounded against the all-draws statistics in
    tests/unit/layers/carbon_engine/test_per_plot_sampled.py).

    Each plot's per-draw value is a linear combination of factor rows (``activity[p] x rows[key[p], d]``):
    terms with few keys become one (plots x basis) @ (basis x m) product (one basis row per distinct
    factor row), terms with many keys are gathered, in float32 work arrays (relative rounding ~1e-7 of
    the largest term); quantiles by one float32 sort per row (NumPy's SIMD sort: several times faster
    than a multi-kth partition). Plots without a removal term have ``reductions`` = ``net`` and
    ``removals`` = 0, and ``net_in_scope`` = ``net`` when the profile counts every term: those rows are
    not sorted twice. Computed per signature (per hectare), mapped back by area."""
    rep, inverse = signatures or plot_signatures(prep)
    sub = draws.head(m)
    area = prep.plots.area
    coefs = _plot_metric_coefficients(prep)
    basis: dict[bytes, int] = {}
    basis_rows: list[npt.NDArray[np.float32]] = []
    small: list[tuple[Term, tuple[float, float, float], IntArray]] = []  # term, coefficients, key -> basis row
    large: list[tuple[Term, tuple[float, float, float], npt.NDArray[np.float32]]] = []  # term, coefs, (K, m)
    for t, c in zip(prep.terms, coefs):
        if not any(c) or not t.activity[rep].any():
            continue
        table = (t.table(sub) * sub.product(t.multipliers)).astype(np.float32)
        if t.rows.n_keys <= SMALL_TABLE_KEYS:
            col = np.empty(t.rows.n_keys, dtype=np.int64)
            for k in range(t.rows.n_keys):
                row = np.ascontiguousarray(table[k])
                col[k] = basis.setdefault(row.tobytes(), len(basis))
                if col[k] == len(basis_rows):
                    basis_rows.append(row)
            small.append((t, c, col))
        else:
            large.append((t, c, table))
    b = np.stack(basis_rows) if basis_rows else np.zeros((0, sub.n), dtype=np.float32)
    scope_is_net = all(c[2] == c[0] + c[1] for c in coefs)
    removal_terms = [t for t, c in zip(prep.terms, coefs) if c[1]]
    step = max(1, CHUNK_CELLS // max(sub.n, 1))
    qs = [0.5, *(q for lv in levels for q in ((1 - lv) / 2, (1 + lv) / 2))]
    n_rep = len(rep)
    mean = {k: np.zeros(n_rep) for k in PLOT_MC_METRICS}
    quant = {k: np.zeros((len(qs), n_rep)) for k in PLOT_MC_METRICS}
    for start in range(0, n_rep, step):
        sel = rep[start : start + step]
        out = slice(start, start + len(sel))
        rows = np.arange(len(sel))
        inv_area = 1.0 / area[sel]
        has_rem = np.zeros(len(sel), dtype=bool)
        for t in removal_terms:
            has_rem |= t.activity[sel] != 0
        # the metrics each term enters: reductions (0), removals (1, only rows with a removal term), in-scope (2)
        used = [0] + ([1] if has_rem.any() else []) + ([] if scope_is_net else [2])
        coef = np.zeros((3, len(sel), len(b)), dtype=np.float32)
        for t, c, col in small:
            a = t.activity[sel] * inv_area
            j = col[t.key[sel]]
            for i in used:
                if c[i]:
                    coef[i, rows, j] += c[i] * a
        x = np.zeros((3, len(sel), sub.n), dtype=np.float32)  # per hectare: reductions, removals, net_in_scope
        for i in used:
            np.matmul(coef[i], b, out=x[i])
        for t, c, table in large:
            a = t.activity[sel] * inv_area
            nz = np.flatnonzero(a)
            if nz.size == 0:
                continue
            dense = nz.size == len(sel)
            v = table[t.key[sel] if dense else t.key[sel][nz]]
            v *= a[nz, None].astype(np.float32)
            for i in used:
                if c[i]:
                    if dense:
                        x[i] += v if c[i] == 1.0 else np.float32(c[i]) * v
                    else:
                        x[i, nz] += np.float32(c[i]) * v
        net = x[0] + x[1]
        _rows_stats(net, qs, mean["net"], quant["net"], out, None)
        if scope_is_net:
            mean["net_in_scope"][out], quant["net_in_scope"][:, out] = mean["net"][out], quant["net"][:, out]
        else:
            _rows_stats(x[2], qs, mean["net_in_scope"], quant["net_in_scope"], out, None)
        # no removal term: reductions = net, removals = 0 (rows with one are computed)
        mean["reductions"][out], quant["reductions"][:, out] = mean["net"][out], quant["net"][:, out]
        if has_rem.any():
            _rows_stats(x[0], qs, mean["reductions"], quant["reductions"], out, has_rem)
            _rows_stats(x[1], qs, mean["removals"], quant["removals"], out, has_rem)
    return {k: _plot_stats({"mean": mean[k], "quant": quant[k]}, inverse, area, levels) for k in PLOT_MC_METRICS}


def _rows_stats(
    x: npt.NDArray[np.float32],
    qs: Sequence[float],
    mean: FloatArray,
    quant: FloatArray,
    out: slice,
    rows: npt.NDArray[np.bool_] | None,
) -> None:
    """Mean and quantiles (NumPy's default linear interpolation) of each row of ``x`` (only ``rows``, when
    given), written into ``mean[out]`` / ``quant[:, out]``. Sorts ``x`` in place (without ``rows``)."""
    if rows is not None:
        x = x[rows]  # a copy
    m = x.shape[1]
    mu = x.mean(axis=1, dtype=np.float64)
    x.sort(axis=1)  # in place: the callers pass work arrays they do not read again
    srt = x
    q = np.empty((len(qs), x.shape[0]))
    for i, p in enumerate(qs):
        h = (m - 1) * p
        lo = int(np.floor(h))
        hi = min(lo + 1, m - 1)
        g = h - lo
        a, b = srt[:, lo].astype(np.float64), srt[:, hi].astype(np.float64)
        q[i] = a + g * (b - a)
    idx = np.arange(out.start, out.stop)
    if rows is not None:
        idx = idx[rows]
    mean[idx] = mu
    quant[:, idx] = q

"""Chunked evaluation: per-chunk totals that sum exactly to the whole-project result.

Factors are systematic (one value per draw for every plot, each factor seeded by its own name), so
the project total of any metric per draw is the sum over plots; two chunks evaluated with the same
request settings (seed, draws, region, profile, GWP) give per-draw totals whose sum is the total of
one request holding both chunks' plots (up to float summation order). The MRV pipeline evaluates a
project of any size chunk by chunk with :func:`chunk_totals`, stores the small per-draw vectors, sums
them, and calls :func:`summarize_totals`, which reuses the engine's own statistics and profile rules
(no second implementation).

The VM0042 conservative factor choice (``factor_choice == "conservative"``) picks each factor's bound
from the *project* net, then evaluates the basis once at all chosen bounds jointly. It is chunked in
two passes, each additive over plots because the factors are shared by all plots:

1. :func:`chunk_totals` also returns the chunk's :class:`Sensitivity` (in-scope net with each
   uncertain factor at low / high, others at defaults); the sum over chunks is the project's.
2. :func:`choose_conservative` (pure) picks the factors once from the summed sensitivity;
   :func:`chunk_basis` evaluates each chunk at the chosen factors; :func:`sum_basis` adds them up and
   :func:`summarize_totals` takes the sum as the rules' basis.

The Monte Carlo draws do not depend on the choice (the single request draws them before choosing),
so pass 1's draw totals are final. A single request is the one-chunk case of the same functions
(``engine.conservative_draws``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from . import __version__, gc_paused
from .arrays import FloatArray
from .conservative import Sensitivity, choose_conservative  # noqa: F401  (choose_conservative: re-exported, used between the passes)
from .factors import FactorLibrary, default_library

if TYPE_CHECKING:
    from .evaluation import Prepared
    from .montecarlo import Draws
from .models import Request

ChunkRequest = Request | Mapping[str, Any]
_PLACEHOLDER_PLOT = {
    "plot_id": "settings-only",
    "area_ha": 1,
    "baseline": {"crop": "wheat"},
    "project": {"crop": "wheat"},
}


@dataclass
class ChunkTotals:
    """Additive totals of a set of plots (t CO2e): sum two with ``+``.

    ``point``: metric -> point estimate; ``draws``: metric -> (D,) Monte Carlo totals;
    ``components``: component -> {baseline, project} point estimates; ``awd_switch_n_kg``: what the
    VM0051 N2O rule needs; ``plots``: how many plot records were evaluated; ``sensitivity``: pass 1
    of the conservative choice (profiles with ``factor_choice == "conservative"`` only).
    """

    point: dict[str, float]
    draws: dict[str, FloatArray]
    components: dict[str, dict[str, float]] = field(default_factory=dict)
    awd_switch_n_kg: float = 0.0
    plots: int = 0
    sensitivity: Sensitivity | None = None
    gates: dict[str, float] = field(default_factory=dict)

    def __add__(self, other: ChunkTotals) -> ChunkTotals:
        comps = {k: dict(v) for k, v in self.components.items()}
        for name, scen in other.components.items():
            target = comps.setdefault(name, {"baseline": 0.0, "project": 0.0})
            for s, v in scen.items():
                target[s] = target.get(s, 0.0) + v
        return ChunkTotals(
            point={k: self.point[k] + other.point[k] for k in self.point},
            draws={k: self.draws[k] + other.draws[k] for k in self.draws},
            components=comps,
            awd_switch_n_kg=self.awd_switch_n_kg + other.awd_switch_n_kg,
            plots=self.plots + other.plots,
            sensitivity=_add_optional(self.sensitivity, other.sensitivity),
            gates={k: self.gates.get(k, 0.0) + other.gates.get(k, 0.0) for k in {*self.gates, *other.gates}},
        )

    # ---- storage: one compressed .npz per chunk (a few hundred KB at 10,000 draws) -----------
    def to_npz(self) -> bytes:
        import io
        import json

        buf = io.BytesIO()
        meta = {
            "point": self.point,
            "components": self.components,
            "awd_switch_n_kg": self.awd_switch_n_kg,
            "plots": self.plots,
            "sensitivity": self.sensitivity.to_json() if self.sensitivity else None,
            "gates": self.gates,
        }
        # numpy's stub checks a **dict of arrays against the allow_pickle: bool keyword too
        np.savez_compressed(
            buf,
            __meta__=np.frombuffer(json.dumps(meta).encode(), dtype=np.uint8),
            **{f"draws.{k}": v for k, v in self.draws.items()},  # type: ignore[arg-type]
        )
        return buf.getvalue()

    @classmethod
    def from_npz(cls, data: bytes) -> ChunkTotals:
        import io
        import json

        with np.load(io.BytesIO(data)) as z:
            meta = json.loads(bytes(z["__meta__"]).decode())
            draws = {k[len("draws.") :]: z[k].copy() for k in z.files if k.startswith("draws.")}
        sens = meta.get("sensitivity")
        return cls(
            point=meta["point"],
            draws=draws,
            components=meta["components"],
            awd_switch_n_kg=meta["awd_switch_n_kg"],
            plots=meta["plots"],
            sensitivity=Sensitivity.from_json(sens) if sens else None,
            gates=dict(meta.get("gates", {})),
        )


def _add_optional(a: Sensitivity | None, b: Sensitivity | None) -> Sensitivity | None:
    if a is None or b is None:
        if a is not None or b is not None:
            raise ValueError("cannot sum chunk totals with and without a conservative-choice sensitivity")
        return None
    return a + b


def _request(request: ChunkRequest) -> Request:
    return request if isinstance(request, Request) else Request.model_validate(request)


def chunk_totals(
    request: ChunkRequest, library: FactorLibrary | None = None
) -> tuple[ChunkTotals, dict[str, list[float]]]:
    """Totals of the request's plots per metric (point and per draw), and the per-plot point rows.

    Per-plot rows are columnar (``rows[metric][i]`` for ``request.plots[i]``), before deductions.
    Unless the request's ``per_plot_mc`` is "never", the rows also carry each plot's net 90 % interval
    (``net_ci90_low``, ``net_ci90_high``; t CO2e) computed as ``estimate()`` would (the pipeline asks for
    "sampled": the first ``PER_PLOT_QUANTILE_DRAWS`` draws, so a plot's interval does not depend on its chunk).
    For a conservative profile the totals carry pass 1 of the choice (``sensitivity``).
    """
    from .conservative import awd_switch_n_kg, gate_counts, sensitivity
    from .evaluation import aggregate, component_points, per_plot, prepare, term_totals, totals
    from .montecarlo import Draws

    with gc_paused():
        req = _request(request)
        prep = prepare(req, library or default_library())
        d0 = Draws.defaults(prep.factors)
        values0 = term_totals(prep.terms, d0)
        point = {k: float(v[0]) for k, v in aggregate(prep.terms, values0, prep.gwp).items()}
        dmc = Draws.sample(prep.factors, req.draws, req.seed, req.activity_uncertainty)
        draws = {k: np.asarray(v, dtype=np.float64) for k, v in totals(prep, dmc).items()}
        rows = {k: v[:, 0].tolist() for k, v in per_plot(prep, d0, slice(None)).items()}
        rows.update(_net_interval_rows(prep, dmc))
        out = ChunkTotals(
            point=point,
            draws=draws,
            components=component_points(prep, values0),
            awd_switch_n_kg=awd_switch_n_kg(prep.plots),
            plots=prep.plots.n,
            sensitivity=sensitivity(prep) if prep.profile.factor_choice == "conservative" else None,
            gates=gate_counts(prep.plots, "rice.ef_c" in prep.request.country_factors),
        )
    return out, rows


def _net_interval_rows(prep: Prepared, dmc: Draws) -> dict[str, list[float]]:
    """Each plot's net 90 % interval (t CO2e) by the request's ``per_plot_mc`` (engine.per_plot_mc_note)."""
    from .engine import per_plot_mc_note
    from .evaluation import per_plot_mc, per_plot_mc_sampled, plot_signatures
    from .models import PER_PLOT_QUANTILE_DRAWS

    req = prep.request
    if req.per_plot_mc == "never":
        return {}
    signatures = plot_signatures(prep)
    method, _ = per_plot_mc_note(req, len(signatures[0]))
    levels = sorted(set(req.confidence) | {0.9})
    if method == "exact":
        stats = per_plot_mc(prep, dmc, levels, signatures)
    elif method == "sampled":
        stats = per_plot_mc_sampled(prep, dmc, levels, PER_PLOT_QUANTILE_DRAWS, signatures)
    else:
        return {}
    ci = stats["net"]["ci"]["90"]
    return {"net_ci90_low": ci["low"], "net_ci90_high": ci["high"]}


def chunk_basis(
    request: ChunkRequest, chosen: Mapping[str, float], library: FactorLibrary | None = None
) -> dict[str, float]:
    """Pass 2 of the conservative choice: the chunk's metrics (t CO2e) with the chosen factors (from
    :func:`choose_conservative` over the whole project), others at defaults. Additive over chunks."""
    from .evaluation import prepare, totals
    from .montecarlo import Draws

    with gc_paused():
        prep = prepare(_request(request), library or default_library())
        return {k: float(v[0]) for k, v in totals(prep, Draws.at(prep.factors, chosen, 1)).items()}


def sum_basis(parts: Iterable[Mapping[str, float]]) -> dict[str, float]:
    total: dict[str, float] | None = None
    for part in parts:
        total = dict(part) if total is None else {k: total[k] + part[k] for k in total}
    if total is None:
        raise ValueError("no chunk basis to sum")
    return total


def sum_totals(parts: Iterable[ChunkTotals]) -> ChunkTotals:
    total: ChunkTotals | None = None
    for part in parts:
        total = part if total is None else total + part
    if total is None:
        raise ValueError("no chunk totals to sum")
    return total


def summarize_totals(
    settings: ChunkRequest,
    totals: ChunkTotals,
    library: FactorLibrary | None = None,
    basis: Mapping[str, float] | None = None,
) -> dict[str, Any]:
    """The project summary (the shape of ``Result.total`` plus the run settings) from summed totals.

    ``settings``: the request-level fields used for every chunk (``plots`` may be omitted; only
    profile, GWP, region, draws, seed, confidence and buffer_fraction are read). ``basis``: for a
    conservative profile, the summed pass-2 metrics (:func:`sum_basis`), required; else the point.
    """
    from .models import TotalResult
    from .montecarlo import Estimate
    from .profiles import PROFILES, deduction_rows, evaluate

    if not isinstance(settings, Request) and not settings.get("plots"):
        settings = {**settings, "plots": [_PLACEHOLDER_PLOT]}  # the request model needs one; never evaluated
    req = _request(settings)
    lib = library or default_library()
    profile = PROFILES[req.profile]
    if (profile.factor_choice == "conservative") != (basis is not None):
        raise ValueError(
            f"profile {profile.id} ({profile.factor_choice} factor choice): the basis at the chosen "
            "factors (pass 2) is required for a conservative profile and only for one"
        )
    gwp_name = profile.gwp_override or req.gwp
    gwp = {g: float(lib.gwp[gwp_name][g]) for g in ("CH4", "N2O", "CO2")}
    levels = req.confidence
    point = dict(totals.point)
    basis = dict(basis) if basis is not None else point
    ev = evaluate(
        profile,
        point=point,
        basis=basis,
        draws=dict(totals.draws),
        components=totals.components,
        gwp=gwp,
        awd_switch_n_kg=totals.awd_switch_n_kg,
        buffer_fraction=req.buffer_fraction,
        gates=totals.gates,
        levels=levels,
    )
    mc, outcomes, creditable, eligible = ev["mc"], ev["outcomes"], ev["creditable"], ev["eligible"]

    def q(k: str) -> Estimate:
        return {"point": point[k], "mc": mc[k]}

    total = TotalResult.model_validate(
        {
            "gases": {
                g: {"baseline": q(f"{g}_baseline"), "project": q(f"{g}_project"), "reduction": q(f"{g}_reduction")}
                for g in ("CH4", "N2O", "CO2")
            },
            "components": totals.components,
            "emissions_baseline": q("emissions_baseline"),
            "emissions_project": q("emissions_project"),
            "reductions": q("reductions"),
            "removals": q("removals"),
            "removals_by_pool": {p: q(f"removals_{p}") for p in ("soc", "biomass")},
            "net": q("net"),
            "deductions": deduction_rows(outcomes),
            "creditable_net": creditable,
            "eligible": eligible,
            "findings": ev["findings"],
            "creditable_basis": basis["net_in_scope"],
            "net_in_scope": q("net_in_scope"),  # as engine.run: rules start in scope
        }
    )
    return {
        "engine_version": __version__,
        "factors_version": lib.version,
        "factors_sha256": lib.sha256,
        "profile": profile.id,
        "gwp": {"name": gwp_name, **gwp},
        "region": req.region,
        "draws": req.draws,
        "seed": req.seed,
        "confidence": levels,
        "plots": totals.plots,
        "total": total.model_dump(mode="json"),
    }

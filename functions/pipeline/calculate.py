"""Calculate one chunk: load its plot-seasons, run the carbon engine, run the row cross-checks,
store per-plot rows (JSON lines), the chunk's per-draw totals (.npz) and findings in S3. For a
conservative profile (vm0042_qa3) also pass 1 of the factor choice (the chunk's sensitivity) and the
engine request itself, which pass 2 (``basis.py``) re-evaluates without reading the farm table again.

Idempotent: the objects have deterministic keys and a conditional marker item is written last;
a chunk whose marker exists (an earlier attempt stored it) is skipped. Memory is bounded by the
chunk size (the engine holds no plots x draws array).
"""

from __future__ import annotations

import gzip
import json
from collections.abc import Callable
from typing import Any

from agri_common import pipeline_objects, pipeline_table
from agri_common.single_table import Put, Update, WriteConflict
from functions.pipeline import core, crosschecks
from functions.pipeline.models import ChunkInput, ChunkOutput
from functions.pipeline.sources import FarmSeasonSource, PlotSeason, ProjectSeasonSource
from functions.pipeline.task import task

# the remote-sensing observations of a chunk's plot-seasons, by (plot_id, season_key)
ObservationLoader = Callable[[list[PlotSeason]], dict[tuple[str, str], dict[str, Any]]]

ENGINE_SEASON_FIELDS = (
    "crop",
    "cultivation_days",
    "water_regime",
    "preseason_water",
    "organic_amendments",
    "synthetic_n_kg_per_ha",
    "organic_n_kg_per_ha",
    "urea_kg_per_ha",
    "limestone_kg_per_ha",
    "dolomite_kg_per_ha",
    "residue_burnt_t_dm_per_ha",
    "residue_n_kg_per_ha",
)


def engine_plot(ps: PlotSeason, project: pipeline_table.ProjectRecord, count_trees: bool = True) -> dict[str, Any]:
    """The engine's plot: the season as the project scenario; the baseline is the same season with
    the project's baseline water regime (the practice the project replaced) for rice.

    Trees (Tier 2 stock difference): the season's inventory is the project's (t2). The baseline (t1)
    holds the groups planted before the crediting start (``planted_year``): with no earlier
    inventory their growth is not credited (conservative). Groups planted since, and groups without
    a planting year, are project trees. ASSUMPTION for the latter: planted by the project at its
    crediting start (a ``tree_planting_unverified`` finding asks the auditor for evidence). The
    removal is the project trees' stock over the years since the crediting start (``inventory_years``).
    ``field_id`` is the plot: the engine counts a field's stock change once, and per-plot results
    map back to the plot."""
    from agri_common.season_vocab import crop_key

    a = ps.activity
    season = {k: a[k] for k in ENGINE_SEASON_FIELDS if a.get(k) is not None}
    if "crop" in season:  # older or imported items may say "paddy": the rice baseline applies to them too
        season["crop"] = crop_key(season["crop"])  # ValueError (ambiguous): an invalid_activity finding
    baseline = dict(season)
    if season.get("crop") == "rice":
        baseline["water_regime"] = project.baseline_water_regime
        if project.baseline_organic_amendments_unknown:  # the replaced practice's amendments: not the season's
            baseline.pop("organic_amendments", None)
            baseline["organic_amendments_unknown"] = True
    plot = {
        "plot_id": f"{ps.plot_id}#{ps.season_key}",
        "field_id": ps.plot_id,
        "area_ha": ps.area_ha,
        "baseline": baseline,
        "project": season,
    }
    if a.get("trees") and count_trees:
        groups = [
            (
                {
                    "species": t["species"],
                    "count": t["count"],
                    "dbh_cm": t["dbh_cm"],
                    "height_m": t["height_m"],
                    "wood_density": t["wood_density_g_per_cm3"],
                },
                t.get("planted_year"),
            )
            for t in a["trees"]
        ]
        start_year = int(project.crediting_start[:4])
        season["trees"] = [g for g, _ in groups]
        baseline["trees"] = [g for g, planted in groups if planted is not None and planted < start_year]
        plot["tree_inventory_years"] = inventory_years(project.crediting_start, a["harvest_date"])
    return plot


def inventory_years(crediting_start: str, harvest_date: str) -> float:
    """Years from the crediting start (t1: no project trees) to the inventory (t2: the season's harvest),
    at least one: a year's removal never exceeds the stock grown since the project began."""
    from datetime import date

    days = (date.fromisoformat(harvest_date[:10]) - date.fromisoformat(crediting_start[:10])).days
    return max(1.0, days / 365.25)


def tree_seasons(seasons: list[PlotSeason]) -> set[tuple[str, str]]:
    """(plot_id, season_key) of the one season per plot whose tree inventory counts: the latest by
    harvest date. Stock changes are annual and the engine takes them from one record per field."""
    latest: dict[str, tuple[str, str]] = {}
    for ps in seasons:
        if ps.activity.get("trees"):
            latest[ps.plot_id] = max(
                latest.get(ps.plot_id, ("", "")), (str(ps.activity.get("harvest_date", "")), ps.season_key)
            )
    return {(plot_id, key) for plot_id, (_, key) in latest.items()}


def engine_settings(project: pipeline_table.ProjectRecord, seed: int) -> dict[str, Any]:
    return {
        "gwp": project.gwp,
        "profile": project.profile,
        "region": project.region,
        "climate": project.climate,
        "draws": project.draws,
        "seed": seed,
        "confidence": sorted({0.9, 0.95, project.confidence}),
        "buffer_fraction": project.buffer_fraction,
        "country_factors": project.country_factors,
        "per_plot_mc": "sampled",  # each plot's net 90 % interval, the same whatever its chunk (engine README)
    }


def run_seed(run_id: str) -> int:
    """The Monte Carlo seed of a run: fixed by its id, so every chunk and every restart draws the same factors."""
    import hashlib

    return int(hashlib.sha256(run_id.encode()).hexdigest()[:15], 16)


@task("calculate", ChunkInput)
def calculate(
    run: ChunkInput, ctx: core.Context, source: ProjectSeasonSource, observations: ObservationLoader | None = None
) -> ChunkOutput:
    from pydantic import ValidationError

    from carbon_engine import chunk_totals
    from carbon_engine.models import Plot

    index = run.index
    marker = core.chunk_marker(run, index)
    if ctx.store.get(marker):
        count_chunk(ctx, run, "chunks_reused")
        return ChunkOutput(index=index, reused=True)
    project = ctx.project(run)
    manifest = ctx.get_json(core.manifest_key(run, index))
    seasons = source.load(manifest["units"], run.period)
    obs = observations(seasons) if observations else {}
    findings, plots, kept = [], [], []
    counted_trees = tree_seasons(seasons)  # a farmer's plots, hence all seasons of a plot, are in one chunk
    for ps in seasons:
        row = {
            "plot_id": ps.plot_id,
            "season_key": ps.season_key,
            "fpo_id": ps.fpo_id,
            "area_ha": ps.area_ha,
            "crediting_start": project.crediting_start,
            "declared_area_ha": ps.declared_area_ha,
            "overlaps": ps.overlaps,
            "activity": ps.activity,
        }
        count_trees = (ps.plot_id, ps.season_key) in counted_trees
        if ps.activity.get("trees") and not count_trees:
            findings.append(
                crosschecks.finding(
                    "trees_counted_once",
                    "info",
                    row,
                    "tree inventory not counted: stock changes are annual, the plot's "
                    "latest inventory in the period is counted",
                )
            )
        try:
            plots.append(Plot.model_validate(engine_plot(ps, project, count_trees)))
            kept.append(ps)
        except (ValidationError, KeyError, ValueError) as exc:  # ValueError: a malformed date
            findings.append(crosschecks.finding("invalid_activity", "critical", row, f"not computable: {exc}"[:500]))
            continue
        findings += crosschecks.row_checks(row, project.region, obs.get((ps.plot_id, ps.season_key)))
    rows_out: list[str] = []
    if plots:
        request = {**engine_settings(project, run_seed(run.run_id)), "plots": [p.model_dump() for p in plots]}
        totals, per_plot = chunk_totals(request)
        ctx.objects.put(core.chunk_key(run, index, "totals.npz"), totals.to_npz())
        if totals.sensitivity is not None:
            ctx.put_json(core.sensitivity_key(run, index), totals.sensitivity.to_json())
            ctx.objects.put(
                core.engine_request_key(run, index), gzip.compress(core.dumps(request), mtime=0), "application/gzip"
            )
        for i, ps in enumerate(kept):
            rows_out.append(
                json.dumps(
                    {
                        "plot_id": ps.plot_id,
                        "season_key": ps.season_key,
                        "farmer_id": ps.farmer_id,
                        "fpo_id": ps.fpo_id,
                        "owner_user_id": ps.owner_user_id,
                        "village": ps.village,
                        "water_regime": ps.activity.get("water_regime"),
                        "crop": ps.activity.get("crop"),
                        "area_ha": ps.area_ha,
                        "declared_area_ha": ps.declared_area_ha,
                        "centroid": ps.centroid,
                        **{
                            k: per_plot[k][i]
                            for k in (
                                "net",
                                "reductions",
                                "removals",
                                "emissions_baseline",
                                "emissions_project",
                                "CH4_reduction",
                                "N2O_reduction",
                                "CO2_reduction",
                            )
                        },
                        **{k: per_plot[k][i] for k in ("net_ci90_low", "net_ci90_high") if k in per_plot},
                    },
                    separators=(",", ":"),
                )
            )
    ctx.objects.put(
        core.chunk_key(run, index, pipeline_objects.ROWS),
        ("\n".join(rows_out) + "\n").encode() if rows_out else b"",
        "application/x-ndjson",
    )
    ctx.put_json(core.chunk_key(run, index, "findings.json"), findings)
    try:
        ctx.store.transact(
            [
                Put(
                    pipeline_table.ChunkMarker(
                        run_id=run.run_id,
                        generation=run.generation,
                        chunk_index=index,
                        rows=len(rows_out),
                        findings=len(findings),
                        has_totals=bool(plots),
                        at=ctx.clock(),
                    ).to_item(),
                    if_absent=True,
                )
            ]
        )
    except WriteConflict:
        return ChunkOutput(index=index, reused=True)  # a concurrent retry stored the same deterministic objects first
    count_chunk(ctx, run, "chunks_done")
    return ChunkOutput(index=index, reused=False)


def count_chunk(ctx: core.Context, run: core.RunInput, counter: str) -> None:
    """Progress of the calculate step. A late chunk of an older attempt (its execution already
    failed) finds a newer attempt's record and leaves it alone."""
    try:
        ctx.store.transact(
            [Update(pipeline_table.step(run.run_id, "calculate"), add={counter: 1}, expect={"attempt": run.attempt})]
        )
    except WriteConflict:
        pass


def dynamo_observations(store: Any) -> ObservationLoader:
    """Remote-sensing observations of the chunk's plot-seasons (BatchGetItem, 100 keys a call)."""

    def load(seasons: list[PlotSeason]) -> dict[tuple[str, str], dict[str, Any]]:
        items = store.batch_get([pipeline_table.observation(ps.plot_id, ps.season_key) for ps in seasons])
        return {(i["plot_id"], i["season_key"]): pipeline_table.observation_sources(i) for i in items}

    return load


def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    from agri_common.single_table import DynamoTableStore

    ctx = core.default_context()
    return calculate(event, ctx, FarmSeasonSource(DynamoTableStore(core.farm_table())), dynamo_observations(ctx.store))

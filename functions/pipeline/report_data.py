"""What the monitoring and verification reports are drawn from: the run's stored rows read once with
bounded memory (the annex's first rows by plot, the map's dots as an even share by plot-id hash), the
plots' stored shapes, the auditor by name. ``report_pdf`` draws them."""

from __future__ import annotations

import hashlib
import heapq
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from agri_common import pipeline_table
from functions.pipeline import core

SOURCES = ("CH4", "N2O", "CO2")
ANNEX_ROWS = 3000  # plot-season rows printed in the annex (about 60 pages); more are counted, not printed
MAP_SHAPES = 3000  # plots whose stored geometry is drawn; beyond it every plot is a dot and the sample is drawn
MAP_POINTS = 20000  # plots drawn as dots at most; beyond it an even, deterministic share of them (by plot id hash)
NOT_RECORDED = "not recorded"


class PlotShapes(Protocol):
    def shapes(self, plot_ids: Sequence[str]) -> dict[str, dict[str, Any]]:
        """plot id -> {"geometry": GeoJSON geometry (lon/lat), "name": plot name or None}."""


class FarmPlotShapes:
    """Plot geometries from the farm table (BatchGetItem on the plot items)."""

    def __init__(self, store: Any):
        self.store = store

    def shapes(self, plot_ids: Sequence[str]) -> dict[str, dict[str, Any]]:
        from agri_common.farm_table import keys
        from agri_common.farm_table.records import PlotRecord

        out: dict[str, dict[str, Any]] = {}
        for item in self.store.batch_get([keys.plot(pid) for pid in plot_ids]):
            record = PlotRecord.from_item(item)
            if record is not None:
                out[record.plot_id] = {"geometry": record.geometry, "name": record.name}
        return out


@dataclass
class Auditor:
    user_id: str | None
    name: str | None
    username: str | None

    def label(self) -> str:
        if self.name and self.username and self.name != self.username:
            return f"{self.name} ({self.username})"
        if self.name or self.username:
            return str(self.name or self.username)
        return f"name not recorded (user id {self.user_id})" if self.user_id else NOT_RECORDED


@dataclass
class RowDigest:
    """What the reports need of a run's per-plot rows, gathered in one pass in bounded memory (a
    run may hold a million plot-seasons: the task never holds them all)."""

    annex: list[dict[str, Any]]  # the first ANNEX_ROWS rows by (plot id, season)
    count: int  # plot-season rows
    plots: int  # distinct plots (a plot's rows are consecutive: sources.FarmSeasonSource loads plot by plot)
    points: dict[str, list[float]]  # plot id -> centroid: every plot, or the 1/stride share (see point_stride)
    point_stride: int  # 1: every plot; k: the plots whose stable id hash is divisible by k
    plot_ids: list[str] | None  # every plot id while there are at most MAP_SHAPES, else None


def _stable_hash(plot_id: str) -> int:
    return int.from_bytes(hashlib.blake2b(plot_id.encode(), digest_size=8).digest(), "big")


def digest_rows(rows: Iterable[dict[str, Any]]) -> RowDigest:
    state: dict[str, Any] = {"count": 0, "plots": 0, "last": None, "stride": 1}
    points: dict[str, list[float]] = {}
    ids: set[str] | None = set()

    def tap() -> Iterator[dict[str, Any]]:
        nonlocal ids
        for row in rows:
            state["count"] += 1
            pid = row["plot_id"]
            if pid != state["last"]:
                state["plots"] += 1
                state["last"] = pid
            if ids is not None:
                ids.add(pid)
                if len(ids) > MAP_SHAPES:
                    ids = None
            centroid = row.get("centroid")
            if centroid and _stable_hash(pid) % state["stride"] == 0:
                points[pid] = centroid
                while len(points) > MAP_POINTS:
                    state["stride"] *= 2
                    for key in [k for k in points if _stable_hash(k) % state["stride"]]:
                        del points[key]
            yield row

    annex = heapq.nsmallest(ANNEX_ROWS, tap(), key=lambda r: (r["plot_id"], r["season_key"]))
    return RowDigest(
        annex=annex,
        count=state["count"],
        plots=state["plots"],
        points=points,
        point_stride=state["stride"],
        plot_ids=sorted(ids) if ids is not None else None,
    )


@dataclass
class ReportInput:
    kind: str  # monitoring | verification
    report_id: str
    generated_at: str
    project: pipeline_table.ProjectRecord
    run: core.RunInput
    summary: dict[str, Any]
    findings: list[dict[str, Any]]
    sample: dict[str, Any]
    rows: RowDigest
    draws: Any  # numpy array of the net's Monte Carlo draws
    shapes: dict[str, dict[str, Any]] = field(default_factory=dict)
    shapes_note: str = ""
    decision: dict[str, Any] | None = None
    auditor: Auditor | None = None


def auditor_of(ctx: core.Context, project_id: str, decision: Mapping[str, Any]) -> Auditor:
    """The auditor as the decision recorded them (name and username since the decision stores
    them), else the username they were assigned to the project with (the assignment item)."""
    user_id = decision.get("decided_by")
    name, username = decision.get("decided_by_name"), decision.get("decided_by_username")
    if user_id and not (name or username):
        item = ctx.store.get(pipeline_table.project_auditor(project_id, str(user_id))) or {}
        username = item.get("username")
    return Auditor(user_id=user_id, name=name, username=username)


def load_shapes(
    source: PlotShapes | None, rows: RowDigest, sample: Mapping[str, Any]
) -> tuple[dict[str, dict[str, Any]], str]:
    """Geometries to draw: every plot up to ``MAP_SHAPES``, else the sampled plots only."""
    sampled = sorted({p["plot_id"] for p in sample.get("plots", [])})
    if source is None:
        return {}, "plot geometries were not available to this step: each plot is drawn as a dot at its centroid"
    if rows.plot_ids is not None:
        return source.shapes(rows.plot_ids), ""
    return source.shapes(sampled), (
        f"{rows.plots:,} plots: more than {MAP_SHAPES:,}, so the plots are drawn as dots at "
        "their centroids and the sampled plots with their stored boundaries"
    )

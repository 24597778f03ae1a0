"""Plot geometry: validation, geodesic area, centroid, geohash and overlap area.

shapely and pyproj come from the geo layer and are imported inside the functions: a route that
does not touch geometry (most of them) does not pay their import at cold start.

Areas are geodesic on the WGS84 ellipsoid (``pyproj.Geod.geometry_area_perimeter``), never a
planar formula on degrees. The centroid is shapely's planar centroid in lon/lat, which for a plot
of at most 500 ha is within centimetres of the geodesic one.

Every position must lie inside India's outline (``data/india_boundary.geojson``: Natural Earth,
public domain, administered and claimed territory, buffered by about 5 km; see
docs/farm-input-limits.md), and a geometry is capped at MAX_VERTICES positions and
MAX_GEOMETRY_BYTES of JSON so that its plot item fits DynamoDB's 400 KB item limit.

Geohash is the standard base32 interleaving (Niemeyer, 2008), implemented here (about twenty
lines) rather than pulled in as a dependency. Each plot is indexed under the precision-6 cells
(about 1.2 km x 0.6 km) that its bounding box touches; candidates for an overlap are the plots
indexed under the same cells.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from agri_common.platform.errors import UnprocessableError

INDIA_OUTLINE_FILE = Path(__file__).resolve().parent / "data" / "india_boundary.geojson"
_INDIA: Any = None
# Size limits of a plot's geometry. A plot item holds the geometry as compact JSON text plus about 1 KB of
# other attributes and its overlap flags (at most ~100 x 120 bytes): 200,000 bytes of geometry keeps the
# item well under DynamoDB's 400 KB item limit. 5,000 positions is a boundary walked with a GPS fix every
# metre around a 150 ha field: far more than a plot outline needs.
MAX_VERTICES = 5_000
MAX_GEOMETRY_BYTES = 200_000
MIN_AREA_HA = 0.01
MAX_AREA_HA = 500.0
CELL_PRECISION = 6
MAX_CELLS = 24  # a cell costs up to three operations in a plot's transaction (limit 100); 500 ha compact fits
CENTROID_PRECISION = 9
_BASE32 = "0123456789bcdefghjkmnpqrstuvwxyz"


def _invalid(field: str, issue: str, type_: str = "geometry_invalid") -> UnprocessableError:
    return UnprocessableError("The plot geometry is invalid", details=[{"field": field, "issue": issue, "type": type_}])


@dataclass(frozen=True)
class PlotShape:
    geometry: dict[str, Any]  # the GeoJSON geometry as given (validated)
    area_ha: float
    centroid: tuple[float, float]  # lon, lat
    geohash: str
    cells: tuple[str, ...]
    bbox: tuple[float, float, float, float]
    shape: Any  # shapely geometry


def _check_positions(geometry: dict[str, Any], field: str) -> list[Any]:
    gtype = geometry.get("type")
    coords = geometry.get("coordinates")
    if gtype not in ("Polygon", "MultiPolygon"):
        raise _invalid(f"{field}.type", "Only Polygon and MultiPolygon geometries are accepted")
    polygons = [coords] if gtype == "Polygon" else coords
    if not isinstance(polygons, list) or not polygons:
        raise _invalid(f"{field}.coordinates", "No coordinates")
    positions: list[tuple[str, float, float]] = []  # (where, lon, lat) of every position, for the India check
    for p, rings in enumerate(polygons):
        if not isinstance(rings, list) or not rings:
            raise _invalid(f"{field}.coordinates", f"Polygon {p} has no rings")
        for r, ring in enumerate(rings):
            where = f"{field}.coordinates" + (f".{p}" if gtype == "MultiPolygon" else "") + f".{r}"
            if not isinstance(ring, list) or len(ring) < 4:
                raise _invalid(where, "A ring needs at least 4 positions (a closed triangle)")
            if len(positions) + len(ring) > MAX_VERTICES:
                raise _invalid(
                    f"{field}.coordinates",
                    f"The plot has more than {MAX_VERTICES} positions; simplify "
                    "its outline (a few metres' tolerance is plenty)",
                    "geometry_too_large",
                )
            for i, pos in enumerate(ring):
                if (
                    not isinstance(pos, list)
                    or len(pos) not in (2, 3)
                    or not all(
                        isinstance(c, (int, float)) and not isinstance(c, bool) and math.isfinite(c) for c in pos
                    )
                ):
                    raise _invalid(f"{where}.{i}", "A position is [longitude, latitude] in decimal degrees")
                lon, lat = pos[0], pos[1]
                if not (-180 <= lon <= 180 and -90 <= lat <= 90):
                    raise _invalid(
                        f"{where}.{i}",
                        "Coordinates out of range (longitude first, then latitude)",
                        "coordinates_out_of_range",
                    )
                positions.append((f"{where}.{i}", lon, lat))
            if ring[0][:2] != ring[-1][:2]:
                raise _invalid(where, "The ring is not closed (first and last positions differ)", "ring_not_closed")
    outside = positions_outside_india([(lon, lat) for _, lon, lat in positions])
    if outside:
        raise _invalid(positions[outside[0]][0], "The position is outside India", "outside_india")
    return polygons


def india_outline() -> Any:
    """India's outline (administered and claimed territory, simplified, buffered by about 5 km; see
    docs/farm-input-limits.md), read once per process on first use."""
    global _INDIA
    if _INDIA is None:
        import shapely
        from shapely.geometry import shape

        outline = shape(json.loads(INDIA_OUTLINE_FILE.read_text())["geometry"])
        shapely.prepare(outline)
        _INDIA = outline
    return _INDIA


def positions_outside_india(positions: list[tuple[float, float]]) -> list[int]:
    """Indexes of the (lon, lat) positions that lie outside India's outline."""
    if not positions:
        return []
    import numpy as np
    import shapely

    xy = np.asarray(positions, dtype=float)
    inside = shapely.contains_xy(india_outline(), xy[:, 0], xy[:, 1])
    return [int(i) for i in np.flatnonzero(~inside)]


def check_size(geometry: dict[str, Any], field: str = "body.geometry") -> str:
    """The geometry as stored (compact JSON), refused if longer than MAX_GEOMETRY_BYTES."""
    text = json.dumps(geometry, separators=(",", ":"))
    size = len(text.encode())
    if size > MAX_GEOMETRY_BYTES:
        raise _invalid(
            field,
            f"The geometry is {size} bytes as JSON; at most {MAX_GEOMETRY_BYTES} are accepted "
            "(fewer positions, or 7 decimal places: about 1 cm)",
            "geometry_too_large",
        )
    return text


def geodesic_area_ha(shape: Any) -> float:
    """Area on the WGS84 ellipsoid in hectares, whatever the rings' orientation."""
    from shapely.geometry.polygon import orient

    geod = _geod()
    if shape.is_empty:
        return 0.0
    parts = getattr(shape, "geoms", [shape])
    total = 0.0
    for part in parts:
        if part.geom_type == "Polygon":
            area, _ = geod.geometry_area_perimeter(orient(part, 1.0))
            total += abs(area)
        elif part.geom_type in ("MultiPolygon", "GeometryCollection"):
            total += geodesic_area_ha(part) * 10_000
    return total / 10_000


_GEOD: Any = None  # a pyproj.Geod once built


def _geod() -> Any:
    """One Geod per process (built on first use, not at import)."""
    global _GEOD
    if _GEOD is None:
        from pyproj import Geod

        _GEOD = Geod(ellps="WGS84")
    return _GEOD


def parse_plot(geometry: dict[str, Any], field: str = "body.geometry") -> PlotShape:
    """Validate a GeoJSON Polygon/MultiPolygon (WGS84) and compute what a plot record stores."""
    from shapely.geometry import shape as to_shape
    from shapely.validation import explain_validity

    _check_positions(geometry, field)
    check_size(geometry, field)
    try:
        shape = to_shape(geometry)
    except (ValueError, TypeError, AttributeError) as exc:
        raise _invalid(field, f"Unreadable geometry: {exc}") from exc
    if not shape.is_valid:
        raise _invalid(
            field, f"Self-intersecting or otherwise invalid polygon: {explain_validity(shape)}", "self_intersection"
        )
    area = geodesic_area_ha(shape)
    if not MIN_AREA_HA <= area <= MAX_AREA_HA:
        raise _invalid(
            field, f"The computed area {area:.4f} ha is outside {MIN_AREA_HA}..{MAX_AREA_HA} ha", "area_out_of_range"
        )
    c = shape.centroid
    bbox = tuple(shape.bounds)
    cells = cells_for_bbox(bbox, CELL_PRECISION)
    if len(cells) > MAX_CELLS:
        raise _invalid(
            field,
            f"The plot's bounding box spans {len(cells)} geohash cells (max {MAX_CELLS}); split it into smaller plots",
            "plot_too_spread",
        )
    return PlotShape(
        geometry=geometry,
        area_ha=round(area, 4),
        centroid=(round(c.x, 7), round(c.y, 7)),
        geohash=encode_geohash(c.y, c.x, CENTROID_PRECISION),
        cells=cells,
        bbox=bbox,
        shape=shape,
    )


def shape_of(geometry: dict[str, Any]) -> Any:
    from shapely.geometry import shape as to_shape

    return to_shape(geometry)


def overlap_ha(a: Any, b: Any) -> float:
    """Geodesic area of the intersection of two plots, in hectares (0 if they only touch)."""
    if not a.intersects(b):
        return 0.0
    return round(geodesic_area_ha(a.intersection(b)), 4)


def bboxes_intersect(a: tuple[float, ...], b: tuple[float, ...]) -> bool:
    return a[0] <= b[2] and b[0] <= a[2] and a[1] <= b[3] and b[1] <= a[3]


# ---- geohash ------------------------------------------------------------------------------------
def encode_geohash(lat: float, lon: float, precision: int) -> str:
    lat_lo, lat_hi, lon_lo, lon_hi = -90.0, 90.0, -180.0, 180.0
    out: list[str] = []
    bits, ch, even = 0, 0, True
    while len(out) < precision:
        if even:
            mid = (lon_lo + lon_hi) / 2
            ch = (ch << 1) | (lon >= mid)
            lon_lo, lon_hi = (mid, lon_hi) if lon >= mid else (lon_lo, mid)
        else:
            mid = (lat_lo + lat_hi) / 2
            ch = (ch << 1) | (lat >= mid)
            lat_lo, lat_hi = (mid, lat_hi) if lat >= mid else (lat_lo, mid)
        even = not even
        bits += 1
        if bits == 5:
            out.append(_BASE32[ch])
            bits, ch = 0, 0
    return "".join(out)


def cell_size(precision: int) -> tuple[float, float]:
    """(width in degrees of longitude, height in degrees of latitude) of a geohash cell."""
    total = 5 * precision
    lon_bits, lat_bits = (total + 1) // 2, total // 2
    return 360.0 / (1 << lon_bits), 180.0 / (1 << lat_bits)


def cells_for_bbox(bbox: tuple[float, ...], precision: int) -> tuple[str, ...]:
    """Every geohash cell of ``precision`` that the bounding box (lon/lat) touches."""
    width, height = cell_size(precision)
    lon_min, lat_min, lon_max, lat_max = bbox
    i0, i1 = math.floor((lon_min + 180) / width), math.floor((lon_max + 180) / width)
    j0, j1 = math.floor((lat_min + 90) / height), math.floor((lat_max + 90) / height)
    cells = []
    for j in range(j0, j1 + 1):
        for i in range(i0, i1 + 1):
            cells.append(encode_geohash(-90 + (j + 0.5) * height, -180 + (i + 0.5) * width, precision))
            if len(cells) > MAX_CELLS:
                return tuple(cells)
    return tuple(cells)

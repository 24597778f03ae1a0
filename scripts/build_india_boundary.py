"""Build functions/farmers/data/india_boundary.geojson, the outline a plot must lie inside.

Source: Natural Earth 1:10m Admin 0 - Countries (public domain, https://www.naturalearthdata.com/about/terms-of-use/),
as packaged in TopoJSON by the npm package ``world-atlas`` 2.0.2 (``countries-10m.json``; the packaging is ISC,
copyright Michael Bostock; the data stays public domain). Get it with ``npm pack world-atlas@2.0.2`` and run

    python scripts/build_india_boundary.py path/to/package/countries-10m.json

What the outline is (see docs/farm-input-limits.md):

1. Natural Earth's "India" (the territory India administers: states, J&K and Ladakh up to the Line of
   Control / Line of Actual Control, Arunachal Pradesh, the Andaman & Nicobar and Lakshadweep islands)
   plus Natural Earth's separate "Siachen Glacier" feature;
2. plus the parts of Natural Earth's Pakistan and China inside ``CLAIM``, a hand-drawn polygon around the
   former princely state of Jammu and Kashmir (Gilgit-Baltistan, Pakistan-administered Kashmir, the
   Shaksgam valley, Aksai Chin) that India claims. Its edges inside Pakistan and China are approximate
   (within about 20-30 km); no positions an Indian farmer's plot occupies depend on them;
3. simplified (``SIMPLIFY`` degrees, about 2 km) and buffered outward by ``BUFFER`` degrees (about 5 km),
   so that a village on the border is never refused for a simplification error, then simplified again.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from shapely.geometry import MultiPolygon, Polygon, mapping
from shapely.ops import unary_union

OUT = Path(__file__).resolve().parent.parent / "functions" / "farmers" / "data" / "india_boundary.geojson"
SIMPLIFY = 0.02
BUFFER = 0.05
PRECISION = 3  # decimal places kept (about 100 m): far below the buffer

CLAIM = Polygon(
    [  # (lon, lat), clockwise from the south-west of Pakistan-administered Kashmir
        (73.55, 32.95),
        (73.45, 33.3),
        (73.4, 34.2),
        (73.5, 34.6),
        (73.95, 35.1),
        (73.7, 35.3),
        (73.0, 35.6),
        (72.5, 36.0),
        (72.5, 36.6),
        (73.5, 37.0),
        (74.4, 37.1),
        (75.0, 37.1),
        (76.0, 36.95),
        (77.0, 36.6),
        (78.0, 36.4),
        (79.0, 36.05),
        (80.3, 35.7),
        (80.3, 35.0),
        (79.5, 34.3),
        (79.0, 33.9),
        (78.3, 32.6),
        (76.5, 32.3),
        (74.6, 32.75),
        (74.1, 32.85),
        (73.55, 32.95),
    ]
)


def countries(path: str) -> dict[str, object]:
    """Natural Earth countries by name, decoded from TopoJSON (quantized, delta-encoded arcs)."""
    topo = json.loads(Path(path).read_text())
    (sx, sy), (tx, ty) = topo["transform"]["scale"], topo["transform"]["translate"]
    arcs = []
    for arc in topo["arcs"]:
        x = y = 0
        points = []
        for dx, dy in arc:
            x, y = x + dx, y + dy
            points.append((x * sx + tx, y * sy + ty))
        arcs.append(points)

    def ring(indexes):
        out = []
        for i in indexes:
            points = arcs[i] if i >= 0 else arcs[~i][::-1]
            out.extend(points if not out else points[1:])
        return out

    def polygon(rings):
        rings = [ring(r) for r in rings]
        return Polygon(rings[0], [r for r in rings[1:] if len(r) >= 4]) if len(rings[0]) >= 4 else None

    found = {}
    for g in topo["objects"]["countries"]["geometries"]:
        parts = [g["arcs"]] if g["type"] == "Polygon" else g["arcs"] if g["type"] == "MultiPolygon" else []
        polys = [p.buffer(0) for p in map(polygon, parts) if p is not None]
        if polys:
            found[g.get("properties", {}).get("name")] = unary_union(polys)
    return found


def build(path: str) -> dict:
    c = countries(path)
    claimed = unary_union([c["Pakistan"].intersection(CLAIM), c["China"].intersection(CLAIM)])
    india = unary_union([c["India"], c["Siachen Glacier"], claimed])
    outline = india.simplify(SIMPLIFY).buffer(BUFFER, join_style="mitre").simplify(SIMPLIFY / 2)
    if outline.geom_type == "Polygon":
        outline = MultiPolygon([outline])
    rounded = json.loads(json.dumps(mapping(outline)), parse_float=lambda s: round(float(s), PRECISION))
    return {
        "type": "Feature",
        "properties": {
            "name": "India (administered and claimed), simplified and buffered",
            "source": "Natural Earth 1:10m Admin 0 - Countries (public domain), via the npm package "
            "world-atlas 2.0.2; derived by scripts/build_india_boundary.py",
            "licence": "public domain (Natural Earth terms of use)",
            "simplify_deg": SIMPLIFY,
            "buffer_deg": BUFFER,
        },
        "geometry": rounded,
    }


if __name__ == "__main__":
    feature = build(sys.argv[1])
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps(feature, separators=(",", ":")) + "\n")
    print(f"{OUT}: {OUT.stat().st_size} bytes")

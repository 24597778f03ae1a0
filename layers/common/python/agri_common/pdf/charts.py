"""Charts with honest axes (from 0, distinct tick labels) and a vector map of plots, drawn on a
:class:`agri_common.pdf.canvas.Canvas`."""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from agri_common.pdf.canvas import GREEN, ORANGE, Canvas
from agri_common.pdf.fonts import BODY
from agri_common.pdf.text import label_points, nice_step, number, ticks


class Charts(Canvas):
    """Bar charts, histograms and the plot map of a document."""

    # ---- charts -------------------------------------------------------------------------------
    def bar_chart(
        self,
        categories: Sequence[str],
        series: Sequence[tuple[str, Sequence[float], tuple[int, int, int]]],
        *,
        caption: str,
        unit: str,
        height: float = 62,
    ) -> None:
        """Grouped vertical bars on an axis that starts at 0 (and includes every value), each bar
        labelled with its value; tick labels are distinct."""
        pdf = self.pdf
        values = [v for _, vs, _ in series for v in vs]
        tick_values, decimals = ticks(min(values, default=0.0), max(values, default=0.0))
        lo, hi = tick_values[0], tick_values[-1]
        if pdf.will_page_break(height + 14):
            pdf.add_page()
        self._caption(caption)
        x0, y0 = pdf.l_margin + 18, pdf.get_y() + 2
        w, h = pdf.epw - 22, height - 16
        scale = h / (hi - lo)

        def y_of(v: float) -> float:
            return y0 + (hi - v) * scale

        pdf.set_draw_color(200, 200, 200)
        pdf.set_line_width(0.15)
        pdf.set_font(BODY, "", 7)
        for t in tick_values:
            pdf.line(x0, y_of(t), x0 + w, y_of(t))
            pdf.set_xy(pdf.l_margin, y_of(t) - 2)
            pdf.cell(17, 4, number(t, decimals), align="R")
        pdf.set_draw_color(0, 0, 0)
        pdf.set_line_width(0.3)
        pdf.line(x0, y_of(0.0), x0 + w, y_of(0.0))  # the zero line
        pdf.line(x0, y0, x0, y0 + h)
        group_w = w / max(1, len(categories))
        bar_w = group_w * 0.7 / max(1, len(series))
        for gi, category in enumerate(categories):
            for si, (_, vs, colour) in enumerate(series):
                v = vs[gi]
                x = x0 + gi * group_w + group_w * 0.15 + si * bar_w
                top, bottom = sorted((y_of(v), y_of(0.0)))
                pdf.set_fill_color(*colour)
                pdf.rect(x, top, bar_w, max(bottom - top, 0.01), style="F")
                pdf.set_xy(x - 2, (top - 3.6) if v >= 0 else bottom + 0.2)
                pdf.cell(bar_w + 4, 3.4, number(v, 3), align="C")
            pdf.set_xy(x0 + gi * group_w, y0 + h + 1)
            pdf.cell(group_w, 4, self.line(category), align="C")
        pdf.set_xy(pdf.l_margin, y0 + h / 2 - 2)
        self._legend(series, y0 + h + 6, unit)

    def histogram(
        self,
        counts: Sequence[int],
        edges: Sequence[float],
        *,
        caption: str,
        unit: str,
        marks: Sequence[tuple[str, float]] = (),
        height: float = 62,
    ) -> None:
        """Bin counts from 0 on the vertical axis (integer ticks, distinct), labelled positions of the
        value axis at nice values (distinct, no ``-0``), and ``marks`` (name, value) as dashed lines."""
        pdf = self.pdf
        tick_values, _ = ticks(0.0, float(max(counts, default=1)), integer=True)
        hi = tick_values[-1]
        if pdf.will_page_break(height + 14):
            pdf.add_page()
        self._caption(caption)
        x0, y0 = pdf.l_margin + 18, pdf.get_y() + 2
        w, h = pdf.epw - 22, height - 18
        lo_v, hi_v = float(edges[0]), float(edges[-1])
        span = (hi_v - lo_v) or 1.0

        def x_of(v: float) -> float:
            return x0 + (v - lo_v) / span * w

        def y_of(c: float) -> float:
            return y0 + h - c / hi * h

        pdf.set_font(BODY, "", 7)
        pdf.set_draw_color(200, 200, 200)
        pdf.set_line_width(0.15)
        for t in tick_values:
            pdf.line(x0, y_of(t), x0 + w, y_of(t))
            pdf.set_xy(pdf.l_margin, y_of(t) - 2)
            pdf.cell(17, 4, number(int(t)), align="R")
        pdf.set_fill_color(*GREEN)
        for i, c in enumerate(counts):
            left, right = x_of(float(edges[i])), x_of(float(edges[i + 1]))
            if c:
                pdf.rect(left, y_of(c), max(right - left - 0.2, 0.05), y_of(0) - y_of(c), style="F")
        pdf.set_draw_color(0, 0, 0)
        pdf.set_line_width(0.3)
        pdf.line(x0, y_of(0), x0 + w, y_of(0))
        pdf.line(x0, y0, x0, y0 + h)
        points, decimals = label_points(lo_v, hi_v)
        for v in points:
            pdf.line(x_of(v), y_of(0), x_of(v), y_of(0) + 1)
            pdf.set_xy(x_of(v) - 10, y_of(0) + 1)
            pdf.cell(20, 3.5, number(v, decimals), align="C")
        pdf.set_line_width(0.25)
        for name, v in marks:
            pdf.set_draw_color(*ORANGE)
            pdf.set_dash_pattern(dash=1, gap=0.8)
            pdf.line(x_of(v), y0, x_of(v), y_of(0))
            pdf.set_dash_pattern()
            pdf.set_xy(x_of(v) - 15, y0 - 3.5)
            pdf.set_text_color(*ORANGE)
            pdf.cell(30, 3.5, self.line(name), align="C")
            pdf.set_text_color(0, 0, 0)
        pdf.set_draw_color(0, 0, 0)
        pdf.set_xy(pdf.l_margin, y0 + h + 5)
        pdf.cell(0, 4, f"{self.line(unit)}; vertical axis: draws per bin", align="C")
        pdf.set_y(y0 + h + 10)

    def _caption(self, caption: str) -> None:
        pdf = self.pdf
        pdf.set_font(BODY, "B", 9)
        pdf.multi_cell(0, 4.5, self.text(caption), new_x="LMARGIN", new_y="NEXT")
        pdf.set_font(BODY, "", 7)
        pdf.ln(1)

    def _legend(
        self, series: Sequence[tuple[str, Sequence[float], tuple[int, int, int]]], y: float, unit: str | None
    ) -> None:
        pdf = self.pdf
        x = pdf.l_margin + 18
        pdf.set_font(BODY, "", 7)
        for name, _, colour in series:
            pdf.set_fill_color(*colour)
            pdf.rect(x, y + 0.8, 3, 3, style="F")
            pdf.set_xy(x + 4, y)
            label = self.line(name)
            pdf.cell(pdf.get_string_width(label) + 2, 4.5, label)
            x = pdf.get_x() + 4
        if unit is not None:
            pdf.set_xy(x, y)
            pdf.cell(0, 4.5, f"vertical axis: {self.line(unit)}, from 0")
        pdf.set_y(y + 7)

    # ---- map ----------------------------------------------------------------------------------
    def plot_map(
        self,
        shapes: Mapping[str, Mapping[str, Any]],
        points: Mapping[str, Sequence[float]],
        marked: Iterable[str],
        *,
        caption: str,
        height: float = 120,
    ) -> dict[str, int]:
        """The plots as vector paths (``shapes``: plot id -> GeoJSON Polygon/MultiPolygon geometry,
        lon/lat) or, where no geometry is given, a dot at ``points[plot_id]`` ([lon, lat]); ``marked``
        plots (the field sample) filled orange with a heavier outline. Equirectangular projection
        around the centre latitude (true shape at plot scale), a scale bar in km, north up.
        Returns what was drawn: {"polygons", "points", "marked"}."""
        pdf = self.pdf
        marked = set(marked)
        rings: dict[str, list[list[tuple[float, float]]]] = {pid: _rings(g) for pid, g in shapes.items()}
        rings = {pid: r for pid, r in rings.items() if r}
        dots = {
            pid: (float(p[0]), float(p[1]))
            for pid, p in points.items()
            if pid not in rings and p is not None and len(p) >= 2
        }
        lons = [x for rs in rings.values() for ring in rs for x, _ in ring] + [p[0] for p in dots.values()]
        lats = [y for rs in rings.values() for ring in rs for _, y in ring] + [p[1] for p in dots.values()]
        if pdf.will_page_break(height + 16):
            pdf.add_page()
        self._caption(caption)
        if not lons:
            self.paragraph("No plot has a stored geometry or centroid: nothing to draw.")
            return {"polygons": 0, "points": 0, "marked": 0}
        lat0 = (min(lats) + max(lats)) / 2
        kx = math.cos(math.radians(lat0))  # degrees of longitude -> comparable units
        min_x, max_x = min(lons) * kx, max(lons) * kx
        min_y, max_y = min(lats), max(lats)
        span_x, span_y = max(max_x - min_x, 1e-6), max(max_y - min_y, 1e-6)
        box_w, box_h = pdf.epw, height
        scale = min((box_w - 8) / span_x, (box_h - 14) / span_y)
        x_left, y_top = pdf.l_margin, pdf.get_y() + 1
        ox = x_left + (box_w - span_x * scale) / 2
        oy = y_top + 4 + (box_h - 14 - span_y * scale) / 2

        def xy(lon: float, lat: float) -> tuple[float, float]:
            return ox + (lon * kx - min_x) * scale, oy + (max_y - lat) * scale

        pdf.set_draw_color(180, 180, 180)
        pdf.set_line_width(0.2)
        pdf.rect(x_left, y_top, box_w, box_h)
        drawn = {"polygons": 0, "points": 0, "marked": 0}
        for layer in (False, True):  # the sample on top
            for pid in sorted(rings):
                if (pid in marked) != layer:
                    continue
                pdf.set_fill_color(*(ORANGE if layer else (205, 222, 208)))
                pdf.set_draw_color(*((120, 40, 0) if layer else (60, 90, 66)))
                pdf.set_line_width(0.45 if layer else 0.15)
                for ring in rings[pid]:
                    pdf.polygon([xy(lon, lat) for lon, lat in ring], style="DF")
                drawn["polygons"] += 1
                drawn["marked"] += int(layer)
            for pid in sorted(dots):
                if (pid in marked) != layer:
                    continue
                x, y = xy(*dots[pid])
                r = 0.9 if layer else 0.45
                pdf.set_fill_color(*(ORANGE if layer else GREEN))
                pdf.rect(x - r, y - r, 2 * r, 2 * r, style="F")
                drawn["points"] += 1
                drawn["marked"] += int(layer)
        self._scale_bar(x_left + 3, y_top + box_h - 5, scale, lat0)
        pdf.set_font(BODY, "B", 8)
        pdf.set_xy(x_left + box_w - 8, y_top + 1.5)
        pdf.cell(6, 4, "N", align="C")
        pdf.set_draw_color(0, 0, 0)
        pdf.set_line_width(0.3)
        pdf.line(x_left + box_w - 5, y_top + 6, x_left + box_w - 5, y_top + 11)  # north arrow
        pdf.line(x_left + box_w - 5, y_top + 6, x_left + box_w - 6.2, y_top + 7.8)
        pdf.line(x_left + box_w - 5, y_top + 6, x_left + box_w - 3.8, y_top + 7.8)
        pdf.set_font(BODY, "", 7)
        pdf.set_draw_color(0, 0, 0)
        pdf.set_line_width(0.2)
        pdf.set_y(y_top + box_h + 1.5)
        self._legend(
            [("plot (sampled for the field visit)", [], ORANGE), ("plot (not sampled)", [], (205, 222, 208))],
            pdf.get_y(),
            None,
        )
        return drawn

    def _scale_bar(self, x: float, y: float, scale: float, lat0: float) -> None:
        """A bar of a round number of km (degrees of latitude: 111.32 km each)."""
        pdf = self.pdf
        mm_per_km = scale / 111.32
        km = nice_step(25 / mm_per_km, 1) if mm_per_km > 0 else 1.0
        length = km * mm_per_km
        pdf.set_draw_color(0, 0, 0)
        pdf.set_line_width(0.4)
        pdf.line(x, y, x + length, y)
        pdf.line(x, y - 1, x, y + 1)
        pdf.line(x + length, y - 1, x + length, y + 1)
        pdf.set_font(BODY, "", 7)
        pdf.set_xy(x + length + 1, y - 2)
        label = f"{number(km * 1000, 0)} m" if km < 1 else f"{number(km, 0 if km >= 1 else 1)} km"
        pdf.cell(20, 4, label)


def _rings(geometry: Mapping[str, Any] | None) -> list[list[tuple[float, float]]]:
    """The exterior rings of a GeoJSON Polygon / MultiPolygon as (lon, lat) lists (holes are not
    drawn: plots are fields)."""
    if not geometry:
        return []
    kind, coords = geometry.get("type"), geometry.get("coordinates") or []
    polygons = [coords] if kind == "Polygon" else coords if kind == "MultiPolygon" else []
    out = []
    for polygon in polygons:
        if polygon and len(polygon[0]) >= 3:
            out.append([(float(p[0]), float(p[1])) for p in polygon[0]])
    return out

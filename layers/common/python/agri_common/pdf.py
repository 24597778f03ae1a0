"""PDF building blocks for every report: embedded Noto fonts for Latin and the Indian scripts, with
HarfBuzz shaping (conjuncts and matras join), tables, honest charts and a vector map of plots.

The library is fpdf2 with uharfbuzz (the export layer's requirements). Fonts are Noto Sans families
(SIL Open Font License 1.1) from pinned npm packages (``@expo-google-fonts/noto-sans*``, see
package.json): the export layer carries them under ``python/agri_fonts/`` (``layers/export/assets.json``,
copied by ``infra/bundling.py``); from source they are read in ``node_modules``. fpdf2 embeds only
the glyphs a document uses (subset TrueType, ``FontFile2``).

One run of text may mix scripts ("Rampur रामपुर ਰਾਮਪੁਰ இராம்பூர்"): the body font is Noto Sans
(Latin, Devanagari), each other script falls back to its own family, glyph by glyph, and each run
is shaped with its font. A character no font has is drawn as U+FFFD, never as nothing; control and
bidi-control characters (records stored before input hygiene) are replaced the same way.

Nothing here imports fpdf2 at module import (the layer is attached only to the functions that
render); :class:`Document` does, when it is built.
"""

from __future__ import annotations

import math
import os
import sys
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache, lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from fpdf import FPDF

REPLACEMENT = "\ufffd"


@dataclass(frozen=True)
class Family:
    name: str  # the fpdf2 family name
    script: str
    package: str  # npm package
    stem: str  # file stem: <stem>_400Regular.ttf


FAMILIES: tuple[Family, ...] = (
    Family("NotoSans", "Latin, Devanagari", "@expo-google-fonts/noto-sans", "NotoSans"),
    Family("NotoSansDevanagari", "Devanagari", "@expo-google-fonts/noto-sans-devanagari", "NotoSansDevanagari"),
    Family("NotoSansGurmukhi", "Gurmukhi", "@expo-google-fonts/noto-sans-gurmukhi", "NotoSansGurmukhi"),
    Family("NotoSansTamil", "Tamil", "@expo-google-fonts/noto-sans-tamil", "NotoSansTamil"),
    Family("NotoSansTelugu", "Telugu", "@expo-google-fonts/noto-sans-telugu", "NotoSansTelugu"),
    Family("NotoSansBengali", "Bengali", "@expo-google-fonts/noto-sans-bengali", "NotoSansBengali"),
    Family("NotoSansKannada", "Kannada", "@expo-google-fonts/noto-sans-kannada", "NotoSansKannada"),
    Family("NotoSansGujarati", "Gujarati", "@expo-google-fonts/noto-sans-gujarati", "NotoSansGujarati"),
    Family("NotoSansOriya", "Odia", "@expo-google-fonts/noto-sans-oriya", "NotoSansOriya"),
    Family("NotoSansMalayalam", "Malayalam", "@expo-google-fonts/noto-sans-malayalam", "NotoSansMalayalam"),
)
BODY = FAMILIES[0].name
STYLES = {"": "400Regular", "B": "700Bold"}
FONT_DIR_NAME = "agri_fonts"
FONT_DIR_ENV = "AGRI_FONTS_DIR"


class FontsMissing(RuntimeError):
    """The Noto font files are not where the layer or the source tree keeps them."""


def font_file(family: Family, style: str) -> str:
    """The font's path relative to a fonts root (the npm layout: ``<package>/<weight>/<stem>_<weight>.ttf``)."""
    weight = STYLES[style]
    return f"{family.package}/{weight}/{family.stem}_{weight}.ttf"


def font_files() -> list[str]:
    """Every file the export layer must carry: each family's regular and bold TTF and its licence."""
    out: list[str] = []
    for family in FAMILIES:
        out += [font_file(family, style) for style in STYLES] + [f"{family.package}/LICENSE_FONT"]
    return out


def font_roots() -> list[Path]:
    """Where the fonts may be, in order: ``$AGRI_FONTS_DIR``; ``agri_fonts/`` on ``sys.path`` (the
    export layer, mounted at /opt/python); the repository's ``node_modules`` (``npm ci``)."""
    roots = [Path(os.environ[FONT_DIR_ENV])] if os.environ.get(FONT_DIR_ENV) else []
    roots += [Path(p) / FONT_DIR_NAME for p in sys.path if p]
    roots.append(Path(__file__).resolve().parents[4] / "node_modules")
    return roots


@lru_cache(maxsize=1)
def font_root() -> Path:
    probe = font_file(FAMILIES[0], "")
    for root in font_roots():
        if (root / probe).is_file():
            return root
    raise FontsMissing(
        f"{probe} not found under {', '.join(str(r) for r in font_roots())}: "
        "run scripts/bootstrap.sh (npm ci) or bundle the export layer"
    )


@cache
def cmap(family: str) -> frozenset[int]:
    """The code points a family has glyphs for (its regular weight; the bold covers the same)."""
    from fontTools.ttLib import TTFont  # type: ignore[import-untyped]  # fontTools ships no py.typed

    entry = next(f for f in FAMILIES if f.name == family)
    return frozenset(TTFont(font_root() / font_file(entry, ""), lazy=True).getBestCmap())


@lru_cache(maxsize=1)
def covered() -> frozenset[int]:
    """Code points some family has a glyph for."""
    return frozenset().union(*(cmap(f.name) for f in FAMILIES))


_INVISIBLE_OK = {0x200C, 0x200D}  # ZWNJ / ZWJ: they steer Indic shaping


def clean(value: Any) -> str:
    """A value as drawable text: ``None`` -> an em dash; control, bidi-control and characters no
    font has -> U+FFFD; a tab -> a space. Newlines are kept (a paragraph may hold several lines)."""
    if value is None:
        return "\u2014"
    text = str(value).replace("\t", " ").replace("\r\n", "\n").replace("\r", "\n")
    have = covered()
    out = []
    for ch in text:
        cp = ord(ch)
        if ch == "\n" or cp in _INVISIBLE_OK:
            out.append(ch)
        elif cp < 0x20 or 0x7F <= cp < 0xA0 or 0x202A <= cp <= 0x202E or 0x2066 <= cp <= 0x2069 or cp not in have:
            out.append(REPLACEMENT)
        else:
            out.append(ch)
    return "".join(out)


def one_line(value: Any) -> str:
    return clean(value).replace("\n", " ")


# ----------------------------------------------------------------------------- numbers


def number(value: float | int | None, digits: int = 3) -> str:
    """``1234.5678`` -> ``1,234.568``; never ``-0.000`` (a rounded negative zero prints as ``0.000``)."""
    if value is None:
        return "\u2014"
    if isinstance(value, bool):
        return yes_no(value)
    if isinstance(value, int):
        return f"{value:,}"
    if not math.isfinite(value):
        return str(value)
    text = f"{value:,.{digits}f}"
    return text[1:] if text.startswith("-") and not any(c in "123456789" for c in text) else text


def yes_no(value: bool | None) -> str:
    return "\u2014" if value is None else ("Yes" if value else "No")


def when(value: str | None) -> str:
    """An ISO timestamp as ``2026-11-27 14:05 UTC`` (as stored when it cannot be read)."""
    if not value:
        return "\u2014"
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return one_line(value)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


def nice_step(span: float, target: int) -> float:
    """A 1/2/5 x 10^k step giving about ``target`` intervals over ``span`` (> 0)."""
    raw = span / max(1, target)
    mag = 10.0 ** math.floor(math.log10(raw))
    for m in (1, 2, 5, 10):
        if raw <= m * mag:
            return m * mag
    return 10 * mag  # pragma: no cover (the loop always returns)


def ticks(lo: float, hi: float, target: int = 5, integer: bool = False) -> tuple[list[float], int]:
    """Axis ticks covering [lo, hi] and always 0 when the range touches it, with the decimals that
    make every label distinct: returns (tick values, decimals)."""
    lo, hi = min(lo, 0.0), max(hi, 0.0)  # bars start at 0
    if hi - lo <= 0:
        hi = lo + 1.0
    step = nice_step(hi - lo, target)
    if integer:
        step = max(1.0, round(step))
    start, end = math.floor(lo / step) * step, math.ceil(hi / step) * step
    n = int(round((end - start) / step))
    values = [start + i * step for i in range(n + 1)]
    decimals = 0 if integer else max(0, -math.floor(math.log10(step) + 1e-9))
    return [0.0 if abs(v) < step * 1e-9 else round(v, decimals + 2) for v in values], decimals


def label_points(lo: float, hi: float, target: int = 6) -> tuple[list[float], int]:
    """Labelled positions inside [lo, hi] (a histogram's value axis; 0 is not forced): nice values,
    unique labels, no ``-0``."""
    if hi - lo <= 0:
        return [lo], 3
    step = nice_step(hi - lo, target)
    first = math.ceil(lo / step) * step
    values = []
    v = first
    while v <= hi + step * 1e-9:
        values.append(0.0 if abs(v) < step * 1e-9 else v)
        v += step
    decimals = max(0, -math.floor(math.log10(step) + 1e-9))
    return values, decimals


# ----------------------------------------------------------------------------- the document

GREEN = (74, 124, 89)
GOLD = (201, 162, 39)
ORANGE = (214, 96, 29)
GREY = (120, 120, 120)
LIGHT = (232, 239, 233)


def _fpdf_class() -> type[FPDF]:
    from fpdf import FPDF

    class _Pdf(FPDF):
        footer_text = ""

        def footer(self) -> None:
            self.set_y(-12)
            self.set_font(BODY, "", 7)
            self.set_text_color(*GREY)
            self.cell(0, 5, f"{self.footer_text}  \u00b7  page {self.page_no()}", align="R")
            self.set_text_color(0, 0, 0)

    return _Pdf


class Document:
    """An A4 portrait document with the fonts registered, shaping on, and a footer naming it.

    ``created_at``: the document's creation date (the report's generation time, so the bytes depend
    only on the inputs). ``footer``: text printed on every page beside the page number."""

    def __init__(
        self, *, title: str, created_at: datetime, footer: str, author: str = "agri-mrv", language: str = "en"
    ) -> None:
        pdf = _fpdf_class()(orientation="P", unit="mm", format="A4")
        pdf.footer_text = one_line(footer)  # type: ignore[attr-defined]  # a class attribute of _Pdf (built lazily)
        self.pdf = pdf
        self._fallbacks: list[str] = []  # the script families registered so far (on first use: a
        # registered font is subset and embedded even when unused, which costs time and bytes)
        self._register(FAMILIES[0])
        pdf.set_text_shaping(True)
        pdf.set_creation_date(created_at)
        pdf.set_title(one_line(title))
        pdf.set_author(author)
        pdf.set_creator("agri-mrv (fpdf2, HarfBuzz shaping, Noto Sans fonts)")
        pdf.set_lang(language)
        pdf.set_auto_page_break(True, margin=16)
        pdf.set_margins(14, 14, 14)
        pdf.add_page()
        pdf.set_font(BODY, "", 9)

    def _register(self, family: Family) -> None:
        root = font_root()
        for style in STYLES:
            self.pdf.add_font(family.name, style, str(root / font_file(family, style)))
        if family.name != BODY:
            self._fallbacks.append(family.name)
            self.pdf.set_fallback_fonts(self._fallbacks, exact_match=False)

    def _need(self, text: str) -> str:
        """Register the script families ``text`` needs (the body font first, then each script's)."""
        body = cmap(BODY)
        for ch in set(text):
            cp = ord(ch)
            if cp in body or cp < 0x80:
                continue
            for family in FAMILIES[1:]:
                if cp in cmap(family.name):
                    if family.name not in self._fallbacks:
                        self._register(family)
                    break
        return text

    def text(self, value: Any) -> str:
        """``clean(value)``, with the fonts it needs registered."""
        return self._need(clean(value))

    def line(self, value: Any) -> str:
        return self._need(one_line(value))

    # ---- text ---------------------------------------------------------------------------------
    def title(self, text: Any, subtitle: Any = None) -> None:
        pdf = self.pdf
        pdf.set_font(BODY, "B", 16)
        pdf.multi_cell(0, 8, self.text(text), align="L", new_x="LMARGIN", new_y="NEXT")
        if subtitle is not None:
            pdf.set_font(BODY, "", 10)
            pdf.set_text_color(*GREY)
            pdf.multi_cell(0, 5.5, self.text(subtitle), align="L", new_x="LMARGIN", new_y="NEXT")
            pdf.set_text_color(0, 0, 0)
        pdf.ln(2)
        pdf.set_font(BODY, "", 9)

    def heading(self, text: Any, level: int = 1) -> None:
        pdf = self.pdf
        size = 12.5 if level == 1 else 10.5
        if pdf.will_page_break(size + 18):
            pdf.add_page()
        pdf.ln(3 if level == 1 else 1.5)
        pdf.set_font(BODY, "B", size)
        pdf.multi_cell(0, size * 0.55, self.text(text), align="L", new_x="LMARGIN", new_y="NEXT")
        pdf.ln(1)
        pdf.set_font(BODY, "", 9)

    def paragraph(self, text: Any, size: float = 9, italic_grey: bool = False) -> None:
        pdf = self.pdf
        pdf.set_font(BODY, "", size)
        if italic_grey:
            pdf.set_text_color(*GREY)
        pdf.multi_cell(0, size * 0.5, self.text(text), align="L", new_x="LMARGIN", new_y="NEXT")
        pdf.set_text_color(0, 0, 0)
        pdf.ln(1)
        pdf.set_font(BODY, "", 9)

    def note(self, text: Any) -> None:
        self.paragraph(text, size=8, italic_grey=True)

    # ---- tables -------------------------------------------------------------------------------
    def key_values(self, rows: Sequence[tuple[Any, Any]], widths: tuple[float, float] = (32, 68)) -> None:
        """A two-column table: labels in bold, values as given (cleaned)."""
        self.grid(None, [[k, v] for k, v in rows], widths=widths, bold_first=True)

    def grid(
        self,
        head: Sequence[Any] | None,
        rows: Sequence[Sequence[Any]],
        *,
        widths: Sequence[float] | None = None,
        empty: str = "None.",
        align: Sequence[str] | None = None,
        bold_first: bool = False,
        size: float = 8,
    ) -> None:
        """A table with an optional header row (repeated on each page it spans). ``rows`` empty:
        ``empty`` is printed instead of a bare header. ``widths``: relative column widths;
        ``align``: per column "L" / "R" / "C" (numbers right). Cells wrap at word boundaries.

        Drawn line by line with ``cell`` (fpdf2's own table shapes every cell several times: minutes
        for a few thousand rows); text with no character from U+0300 on is drawn unshaped (HarfBuzz
        changes nothing there but kerning), the rest shaped."""
        pdf = self.pdf
        if not rows:
            self.paragraph(empty, size=size + 0.5)
            return
        columns = len(head) if head is not None else len(rows[0])
        rel = list(widths) if widths else [1.0] * columns
        col_w = [pdf.epw * r / sum(rel) for r in rel]
        aligns = list(align) if align else ["L"] * columns
        pad, line_h = 0.8, size * 0.42
        auto_break, break_margin = pdf.auto_page_break, pdf.b_margin
        pdf.set_auto_page_break(False)

        def lines(text: str, width: float, bold: bool) -> list[str]:
            pdf.set_font(BODY, "B" if bold else "", size)
            self._shaping(text)
            if "\n" not in text and pdf.get_string_width(text) <= width:
                return [text]
            out: Any = pdf.multi_cell(width, line_h, text, dry_run=True, output="LINES")
            return [str(line) for line in out] or [""]

        def draw(values: Sequence[str], header: bool) -> None:
            cells = [lines(v, col_w[i] - 2 * pad, header or (bold_first and i == 0)) for i, v in enumerate(values)]
            h = max(len(c) for c in cells) * line_h + 2 * pad
            if pdf.get_y() + h > pdf.h - break_margin:
                pdf.add_page()
                if head is not None and not header:
                    draw([self.line(c) for c in head], True)
            x, y = pdf.l_margin, pdf.get_y()
            pdf.set_draw_color(150, 150, 150)
            pdf.set_line_width(0.15)
            for i, cell_lines in enumerate(cells):
                if header:
                    pdf.set_fill_color(*LIGHT)
                pdf.rect(x, y, col_w[i], h, style="DF" if header else "D")
                pdf.set_font(BODY, "B" if header or (bold_first and i == 0) else "", size)
                for k, line in enumerate(cell_lines):
                    self._shaping(line)
                    pdf.set_xy(x + pad, y + pad + k * line_h)
                    pdf.cell(col_w[i] - 2 * pad, line_h, line, align="L" if header else aligns[i])
                x += col_w[i]
            pdf.set_xy(pdf.l_margin, y + h)

        if head is not None:
            draw([self.line(c) for c in head], True)
        for values in rows:
            draw([self.text(v) for v in list(values)[:columns]], False)
        pdf.set_auto_page_break(auto_break, break_margin)
        pdf.set_text_shaping(True)
        pdf.set_draw_color(0, 0, 0)
        pdf.ln(1.5)
        pdf.set_font(BODY, "", 9)

    def _shaping(self, text: str) -> None:
        self.pdf.set_text_shaping(any(ord(ch) >= 0x0300 for ch in text))

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

    def ensure_space(self, height: float) -> None:
        """Start a new page unless ``height`` mm are left on this one (keeps a heading with its figure)."""
        if self.pdf.will_page_break(height):
            self.pdf.add_page()

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

    def output(self) -> bytes:
        self._map_cluster_tails()
        return bytes(self.pdf.output())

    def _map_cluster_tails(self) -> None:
        """Give every glyph a ToUnicode entry. HarfBuzz may draw one cluster as several glyphs (a
        reordered vowel sign: कि is [ि, क]); fpdf2 2.8.9 maps the cluster's text to its first glyph
        and leaves the others unmapped, so a reader extracts their codes as stray control
        characters ("कि\x02सान"). Those glyphs map to U+200B ZERO WIDTH SPACE instead: invisible,
        and no text. Relies on fpdf2's subset map (pinned version; tests/unit/layers/common/test_pdf_toolkit.py checks it)."""
        for font in self.pdf.fonts.values():
            subset = getattr(font, "subset", None)
            for glyph in list(getattr(subset, "_char_id_per_glyph", {}) or {}):
                if glyph is not None and glyph.unicode == ():
                    object.__setattr__(glyph, "unicode", (0x200B,))  # only output() reads the map now


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

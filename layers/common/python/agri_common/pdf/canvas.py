"""The page a :class:`agri_common.pdf.Document` draws on: fpdf2 with the body font registered, each
script's family registered on first use, shaping on, a footer naming the document; the colours of
every report; the bytes, with every shaped glyph mapped back to text."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from agri_common.pdf.fonts import BODY, FAMILIES, STYLES, Family, cmap, font_file, font_root
from agri_common.pdf.text import clean, one_line

if TYPE_CHECKING:
    from fpdf import FPDF

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


class Canvas:
    """An A4 portrait page with the fonts registered, shaping on, and a footer naming the document;
    plain paragraphs. The base of :class:`agri_common.pdf.Document` (its arguments)."""

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

    def paragraph(self, text: Any, size: float = 9, italic_grey: bool = False) -> None:
        pdf = self.pdf
        pdf.set_font(BODY, "", size)
        if italic_grey:
            pdf.set_text_color(*GREY)
        pdf.multi_cell(0, size * 0.5, self.text(text), align="L", new_x="LMARGIN", new_y="NEXT")
        pdf.set_text_color(0, 0, 0)
        pdf.ln(1)
        pdf.set_font(BODY, "", 9)

    def _shaping(self, text: str) -> None:
        self.pdf.set_text_shaping(any(ord(ch) >= 0x0300 for ch in text))

    def ensure_space(self, height: float) -> None:
        """Start a new page unless ``height`` mm are left on this one (keeps a heading with its figure)."""
        if self.pdf.will_page_break(height):
            self.pdf.add_page()

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

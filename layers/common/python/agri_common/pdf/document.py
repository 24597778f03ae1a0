"""The document every report builds: a :class:`Charts` canvas with titles, paragraphs and tables."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from agri_common.pdf.canvas import GREY, LIGHT
from agri_common.pdf.charts import Charts
from agri_common.pdf.fonts import BODY


class Document(Charts):
    """An A4 portrait document with the fonts registered, shaping on, and a footer naming it (see
    :class:`Canvas`); what it draws: titles, headings, paragraphs and notes, tables, charts, a map.

    ``created_at``: the document's creation date (the report's generation time, so the bytes depend
    only on the inputs). ``footer``: text printed on every page beside the page number."""

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

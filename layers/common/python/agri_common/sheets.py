"""Excel workbooks made for work, the one place both producers format them (the FPO reports in
functions/fpo/export.py and the MRV reports in functions/pipeline/reports.py).

Every sheet holds one table: a bold header row, frozen, with an autofilter over the table, column
widths fitted to the content, and typed cells:

- numbers stay numbers (``#,##0`` for integers, ``#,##0.000`` for decimals), so they sum and sort;
- dates and timestamps are real Excel dates (``yyyy-mm-dd`` / ``yyyy-mm-dd hh:mm:ss``, timestamps
  in UTC, Excel having no time zones);
- an :class:`Interval` becomes two numeric columns, ``<header> lower`` and ``<header> upper`` (in a
  Field/Value sheet: two rows, ``<field> lower`` and ``<field> upper``);
- text stays text: every text cell is typed as a string, so ``=1+1`` or ``@SUM(A1)`` is shown, never
  evaluated, and characters XLSX cannot carry are replaced (``agri_common.platform.cells.text_cell``). A
  value that does not fit its column's kind (a name in a number column, an unparsable date) is
  kept as text, never coerced, never a formula. Non-finite numbers (NaN, infinity), which the
  format cannot carry, become empty cells.

A column's kind is given by the producer (:attr:`Sheet.kinds`, by header) or, for ``auto``, taken
from each value's Python type (``bool``, ``int``, ``float``/``Decimal``, ``date``, ``datetime``, text).
A text value is never turned into a date by guessing: only a ``date``/``datetime`` column parses ISO
8601 text. openpyxl comes from the export layer and is imported only when a workbook is written.
"""

from __future__ import annotations

import io
import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any, Literal

from agri_common.platform.cells import text_cell

Kind = Literal["auto", "text", "integer", "number", "date", "datetime"]
FORMATS: dict[str, str] = {
    "integer": "#,##0",
    "number": "#,##0.000",
    "date": "yyyy-mm-dd",
    "datetime": "yyyy-mm-dd hh:mm:ss",
}
MIN_WIDTH, MAX_WIDTH = 8, 60
KEY_VALUE_HEADER = ("Field", "Value")
_SHEET_NAME_ILLEGAL = re.compile(r"[\[\]:*?/\\]")


@dataclass(frozen=True)
class Interval:
    """A numeric interval (e.g. a 90 % confidence interval). Printed as ``lower to upper`` where text
    is wanted (a PDF); written to a workbook as two numeric cells."""

    lower: float
    upper: float

    def __str__(self) -> str:
        return f"{self.lower:.3f} to {self.upper:.3f}"


@dataclass
class Sheet:
    """One table: ``header`` then ``rows``. ``kinds``: the kind of a column, by header (``auto`` when
    not named); ``formats``: a number format for a column, by header (e.g. ``0.000000`` for
    coordinates). A sheet whose header is ``Field, Value`` is a record shown vertically: there
    ``kinds`` and ``formats`` are keyed by the field (the row's label) and apply to its value."""

    name: str
    header: Sequence[str]
    rows: Sequence[Sequence[Any]]
    kinds: Mapping[str, Kind] = field(default_factory=dict)
    formats: Mapping[str, str] = field(default_factory=dict)  # a number format overriding the kind's, by header

    @property
    def key_value(self) -> bool:
        return tuple(self.header) == KEY_VALUE_HEADER


@dataclass(frozen=True)
class Cell:
    """A value ready for openpyxl: ``value`` (number, date, bool, text or None), its number format,
    and whether it must be typed as a string."""

    value: Any
    number_format: str | None = None
    text: bool = False


def _text(value: Any) -> Cell:
    if isinstance(value, (dict, list, tuple, set)):
        value = str(value)
    return Cell(text_cell(value if isinstance(value, str) else str(value)), None, True)


def _number(value: Any, kind: Kind) -> Cell | None:
    """A finite number as a number cell; None if ``value`` is not a number."""
    if isinstance(value, bool) or not isinstance(value, (int, float, Decimal)):
        return None
    if isinstance(value, Decimal):
        value = float(value)
    if isinstance(value, float) and not math.isfinite(value):
        return Cell(None)
    # a fraction in an integer column keeps the decimal format: "#,##0" would show 2.5 as 3
    integral = isinstance(value, int) or (kind == "integer" and float(value).is_integer())
    return Cell(value, FORMATS["integer" if integral else "number"])


def _as_datetime(value: Any) -> datetime | date | None:
    if isinstance(value, (datetime, date)):
        return value
    if isinstance(value, str):
        try:
            return (
                datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
                if "T" in value or " " in value.strip()
                else date.fromisoformat(value.strip())
            )
        except ValueError:
            return None
    return None


def _utc_naive(value: datetime) -> datetime:
    return value.astimezone(UTC).replace(tzinfo=None) if value.tzinfo is not None else value


def _when(value: Any, kind: Kind) -> Cell | None:
    """A date or timestamp as a date cell; None if ``value`` is none (text is parsed only for
    ``date``/``datetime`` columns: ``auto`` never guesses)."""
    parsed = (
        _as_datetime(value)
        if kind in ("date", "datetime")
        else (value if isinstance(value, (datetime, date)) else None)
    )
    if parsed is None:
        return None
    if isinstance(parsed, datetime):
        if kind == "date":
            return Cell(_utc_naive(parsed).date(), FORMATS["date"])
        return Cell(_utc_naive(parsed), FORMATS["datetime"])
    if kind == "datetime":
        return Cell(datetime(parsed.year, parsed.month, parsed.day), FORMATS["datetime"])
    return Cell(parsed, FORMATS["date"])


def typed_cell(value: Any, kind: Kind = "auto") -> Cell:
    """``value`` as a cell of ``kind``; anything that does not fit is text (typed as a string)."""
    if value is None:
        return Cell(None)
    if kind == "text":
        return _text(value)
    if isinstance(value, bool):
        return Cell(value) if kind == "auto" else _text(value)
    if kind in ("auto", "integer", "number"):
        number = _number(value, kind)
        if number is not None:
            return number
    if kind in ("auto", "date", "datetime"):
        when = _when(value, kind)
        if when is not None:
            return when
    return _text(value)


def _expand_intervals(sheet: Sheet) -> tuple[list[str], list[list[Any]], dict[str, Kind]]:
    """Intervals as two values: columns ``<h> lower``/``<h> upper`` (rows, in a Field/Value sheet)."""
    header, kinds = list(sheet.header), dict(sheet.kinds)
    rows = [list(r) for r in sheet.rows]
    if sheet.key_value:
        out: list[list[Any]] = []
        for row in rows:
            if len(row) > 1 and isinstance(row[1], Interval):
                out += [[f"{row[0]} lower", row[1].lower], [f"{row[0]} upper", row[1].upper]]
            else:
                out.append(row)
        return header, out, kinds
    for i in reversed(range(len(header))):
        if any(i < len(r) and isinstance(r[i], Interval) for r in rows):
            name = header[i]
            header[i : i + 1] = [f"{name} lower", f"{name} upper"]
            kinds.update({f"{name} lower": "number", f"{name} upper": "number"})
            for r in rows:
                if i < len(r):
                    v = r[i]
                    r[i : i + 1] = [v.lower, v.upper] if isinstance(v, Interval) else [v, v]
    return header, rows, kinds


def _display_width(cell: Cell) -> int:
    value = cell.value
    if value is None:
        return 0
    if isinstance(value, datetime):
        return 19
    if isinstance(value, date):
        return 10
    if isinstance(value, bool):
        return 5
    if isinstance(value, int):
        return len(f"{value:,}")
    if isinstance(value, float):
        return len(f"{value:,.3f}")
    return max((len(line) for line in str(value).splitlines()), default=0)


def sheet_names(names: Iterable[str]) -> list[str]:
    """Names Excel accepts: no ``[]:*?/\\``, at most 31 characters, unique (case-insensitively)."""
    out: list[str] = []
    seen: set[str] = set()
    for raw in names:
        base = _SHEET_NAME_ILLEGAL.sub("_", text_cell(raw)).strip("'") or "Sheet"
        name, n = base[:31], 1
        while name.lower() in seen:
            n += 1
            suffix = f" ({n})"
            name = base[: 31 - len(suffix)] + suffix
        seen.add(name.lower())
        out.append(name)
    return out


def write_sheet(ws: Any, sheet: Sheet) -> None:
    """One table on an (empty) openpyxl worksheet, formatted as the module says."""
    from openpyxl.styles import Font
    from openpyxl.utils import get_column_letter

    header, rows, kinds = _expand_intervals(sheet)
    bold = Font(bold=True)
    widths = [len(h) for h in header]
    ws.append([text_cell(h) for h in header])
    for cell in ws[1]:
        cell.data_type = "s"
        cell.font = bold
    for values in rows:
        keys = [
            str(values[0]) if sheet.key_value and i == 1 and values else header[i] if i < len(header) else ""
            for i in range(len(values))
        ]
        cells = [typed_cell(v, kinds.get(keys[i], "auto")) for i, v in enumerate(values)]
        ws.append([c.value for c in cells])
        for i, (target, c) in enumerate(zip(ws[ws.max_row], cells)):
            if c.text:
                target.data_type = "s"
            elif c.number_format:
                target.number_format = sheet.formats.get(keys[i], c.number_format)
        for i, c in enumerate(cells):
            if i < len(widths):
                widths[i] = max(widths[i], _display_width(c))
            else:
                widths.append(_display_width(c))
    for i, width in enumerate(widths, start=1):
        ws.column_dimensions[get_column_letter(i)].width = min(MAX_WIDTH, max(MIN_WIDTH, width + 2))
    ws.freeze_panes = "A2"
    last = get_column_letter(max(1, len(widths)))
    ws.auto_filter.ref = f"A1:{last}{max(1, len(rows) + 1)}"


def workbook(sheets: Iterable[Sheet]) -> bytes:
    """An .xlsx file with one formatted table per sheet, in the given order."""
    from openpyxl import Workbook

    sheets = list(sheets)
    book = Workbook()
    book.remove(book.active)
    for name, sheet in zip(sheet_names(s.name for s in sheets), sheets):
        write_sheet(book.create_sheet(name), sheet)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()

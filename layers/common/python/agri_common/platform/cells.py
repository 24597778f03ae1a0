"""Values on their way out into spreadsheets (CSV and Excel) and documents.

Stored text comes from people: it may begin with ``=``, ``+``, ``-`` or ``@`` (a spreadsheet reads
that as a formula: ``=HYPERLINK(...)``), and records stored before input hygiene existed may hold
control characters that the XLSX format cannot carry (openpyxl raises). Every export goes through
these helpers so that a cell is always data, never a formula, and never breaks the file.

- ``text_cell``: the text with characters XML 1.0 cannot carry replaced by U+FFFD.
- ``csv_cell``: a CSV value; text that a spreadsheet would evaluate is prefixed with ``'`` (OWASP's
  advice for CSV injection), numbers pass unchanged.
- ``xlsx_append``: appends a row to an openpyxl sheet with every text cell typed as a string
  (``data_type = "s"``), so ``=1+1`` is shown as the text ``=1+1``; the text itself is kept exact.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

# XML 1.0 cannot carry these (openpyxl's ILLEGAL_CHARACTERS_RE plus lone surrogates and non-characters)
_XML_ILLEGAL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r", "\n")


def text_cell(value: str) -> str:
    return _XML_ILLEGAL.sub("\ufffd", value)


def _plain(value: Any) -> Any:
    if isinstance(value, (dict, list, tuple, set)):
        return str(value)
    return value


def csv_cell(value: Any) -> Any:
    value = _plain(value)
    if isinstance(value, str):
        value = text_cell(value)
        if value.lstrip(" ").startswith(FORMULA_TRIGGERS):
            return "'" + value
    return value


def csv_row(values: Iterable[Any]) -> list[Any]:
    return [csv_cell(v) for v in values]


def xlsx_append(sheet: Any, values: Iterable[Any]) -> None:
    """Append one row; text cells are strings, never formulas."""
    row = [_plain(v) for v in values]
    row = [text_cell(v) if isinstance(v, str) else v for v in row]
    sheet.append(row)
    for cell, value in zip(sheet[sheet.max_row], row):
        if isinstance(value, str):
            cell.data_type = "s"

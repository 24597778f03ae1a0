"""agri_common.sheets: one formatted table per sheet, typed cells, and the spreadsheet safety of
agri_common.platform.cells kept for every kind of cell (text never becomes a formula, numbers stay numbers,
dates are dates)."""

from __future__ import annotations

import io
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal

import pytest
from openpyxl import load_workbook

from agri_common.sheets import Interval, Sheet, sheet_names, typed_cell, workbook


def book_of(*sheets: Sheet):
    return load_workbook(io.BytesIO(workbook(sheets)))


def test_a_sheet_has_a_bold_frozen_header_an_autofilter_and_fitted_widths():
    ws = book_of(
        Sheet(
            "villages",
            ["village", "members", "area_ha"],
            [["Rampur", 3, 1.5], ["A much longer village name indeed", 12000, 10.25]],
        )
    )["villages"]
    assert [c.value for c in ws[1]] == ["village", "members", "area_ha"]
    assert all(c.font.bold for c in ws[1]) and not ws["A2"].font.bold
    assert ws.freeze_panes == "A2"
    assert ws.auto_filter.ref == "A1:C3"
    assert ws.column_dimensions["A"].width == len("A much longer village name indeed") + 2
    assert ws.column_dimensions["B"].width == len("members") + 2  # the header is wider than "12,000"
    assert ws.column_dimensions["C"].width == len("area_ha") + 2
    narrow = book_of(Sheet("n", ["a"], [[1]]))["n"]
    assert narrow.column_dimensions["A"].width == 8  # the minimum


def test_numbers_are_numbers_with_formats():
    ws = book_of(Sheet("s", ["n", "x", "d", "flag"], [[3, 1.23456, Decimal("2.5"), True]]))["s"]
    n, x, d, flag = ws[2]
    assert (n.value, n.data_type, n.number_format) == (3, "n", "#,##0")
    assert (x.value, x.data_type, x.number_format) == (1.23456, "n", "#,##0.000")  # the full value, shown to 3 places
    assert (d.value, d.number_format) == (2.5, "#,##0.000")
    assert flag.value is True and flag.data_type == "b"


def test_dates_are_dates_and_timestamps_are_utc():
    ws = book_of(
        Sheet(
            "s",
            ["day", "at", "text_day"],
            [[date(2025, 6, 1), "2025-03-01T05:30:00+05:30", "2025-06-01"]],
            kinds={"at": "datetime"},
        )
    )["s"]
    day, at, text_day = ws[2]
    assert day.is_date and day.value == datetime(2025, 6, 1) and day.number_format == "yyyy-mm-dd"
    assert at.is_date and at.value == datetime(2025, 3, 1, 0, 0) and at.number_format == "yyyy-mm-dd hh:mm:ss"
    assert text_day.value == "2025-06-01" and text_day.data_type == "s"  # auto never guesses a date from text


def test_an_interval_is_two_numeric_columns_or_two_rows_in_a_record():
    book = book_of(
        Sheet("t", ["plot", "net 90 % CI"], [["P1", Interval(1.0, 2.5)], ["P2", None]]),
        Sheet("r", ["Field", "Value"], [["Net 90 % CI", Interval(-0.5, 3.0)], ["Draws", 1000]]),
    )
    t = [[c.value for c in row] for row in book["t"].iter_rows()]
    assert t == [["plot", "net 90 % CI lower", "net 90 % CI upper"], ["P1", 1.0, 2.5], ["P2", None, None]]
    assert book["t"]["B2"].data_type == "n" and book["t"].auto_filter.ref == "A1:C3"
    r = [[c.value for c in row] for row in book["r"].iter_rows()]
    assert r == [["Field", "Value"], ["Net 90 % CI lower", -0.5], ["Net 90 % CI upper", 3.0], ["Draws", 1000]]
    assert str(Interval(-0.5, 3.0)) == "-0.500 to 3.000"  # what a PDF prints


@pytest.mark.parametrize("kind", ["auto", "text", "integer", "number", "date", "datetime"])
@pytest.mark.parametrize("value", ['=HYPERLINK("http://x","y")', "+1+2", "-2+3", "@SUM(A1)", "=1+1", "\tTab"])
def test_text_that_looks_like_a_formula_stays_text_in_every_kind_of_column(kind, value):
    ws = book_of(Sheet("s", ["c"], [[value]], kinds={"c": kind}))["s"]
    assert ws["A2"].value == value and ws["A2"].data_type == "s"


def test_what_a_column_cannot_hold_is_kept_as_text_or_left_empty():
    ws = book_of(
        Sheet(
            "s",
            ["n", "d", "bad", "inf", "obj"],
            [["about 3", "not a date", "bad\x01text", float("inf"), {"a": 1}]],
            kinds={"n": "number", "d": "date"},
        )
    )["s"]
    n, d, bad, inf, obj = ws[2]
    assert (n.value, n.data_type) == ("about 3", "s")
    assert (d.value, d.data_type) == ("not a date", "s")
    assert bad.value == "bad\ufffdtext"  # XLSX cannot carry U+0001
    assert inf.value is None  # nor infinity
    assert obj.value == "{'a': 1}" and obj.data_type == "s"


def test_a_text_column_keeps_numbers_as_text():
    cell = typed_cell(42, "text")
    assert (cell.value, cell.text) == ("42", True)
    assert typed_cell(True, "number").text  # a bool is not a number
    assert typed_cell(3.0, "integer").number_format == "#,##0"
    assert typed_cell(2.5, "integer").number_format == "#,##0.000"  # never shown rounded to 3
    aware = datetime(2025, 1, 1, 23, 0, tzinfo=timezone(timedelta(hours=-2)))
    assert typed_cell(aware, "date").value == date(2025, 1, 2)  # the UTC day


def test_sheet_names_are_what_excel_accepts():
    names = sheet_names(["a/b:c", "x" * 40, "x" * 40, "Data", "data", ""])
    assert names[0] == "a_b_c" and all(len(n) <= 31 for n in names)
    assert len({n.lower() for n in names}) == len(names)
    book = book_of(*[Sheet(n, ["c"], []) for n in ["a/b:c", "x" * 40, "x" * 40]])
    assert len(book.sheetnames) == 3
    assert book.worksheets[0].auto_filter.ref == "A1:A1"  # an empty table still has its header and filter


def test_a_record_sheet_types_each_field_and_formats_override_the_kind():
    ws = book_of(
        Sheet(
            "Decision",
            ["Field", "Value"],
            [["Decision", "approve"], ["Decided at", "2025-03-01T00:00:00Z"], ["Reason", "2025-03-01"], ["z", 1.6449]],
            kinds={"Decided at": "datetime"},
            formats={"z": "0.0000"},
        )
    )["Decision"]
    values = {r[0].value: r[1] for r in ws.iter_rows(min_row=2)}
    assert values["Decided at"].is_date and values["Decided at"].value == datetime(2025, 3, 1)
    assert (
        values["Reason"].value == "2025-03-01" and values["Reason"].data_type == "s"
    )  # only the named field is a date
    assert values["z"].number_format == "0.0000" and values["z"].value == 1.6449
    plots = book_of(Sheet("p", ["Lon", "Lat"], [[77.123456, 28.5]], formats={"Lon": "0.000000"}))["p"]
    assert plots["A2"].number_format == "0.000000" and plots["B2"].number_format == "#,##0.000"

"""Input hygiene (agri_common.platform.inputs) and spreadsheet-safe cells (agri_common.platform.cells)."""

from __future__ import annotations

import csv
import io

import pytest
from openpyxl import Workbook, load_workbook
from pydantic import ValidationError

from agri_common.platform.cells import csv_row, xlsx_append
from agri_common.platform.inputs import Input, Line, PartialUpdate


class Inner(Input):
    value: Line


class Body(Input):
    name: Line
    notes: str = ""
    inner: Inner | None = None
    data: dict = {}


class Patch(PartialUpdate):
    NULLABLE = frozenset({"note"})
    version: int
    name: Line | None = None
    note: str | None = None


@pytest.mark.parametrize(
    "text",
    [
        "a\x00b",
        "a\x01",
        "\x1b[31mred",
        "x\x7f",
        "x\x85",
        "abc\u202e",
        "a\u2066b",
        "a\u200fb",
        "a\ufeffb",
        "a\ud800b",
        "a\uffffb",
    ],
)
def test_control_and_bidi_characters_are_refused_naming_the_field(text):
    with pytest.raises(ValidationError) as err:
        Body(name="ok", notes=text)
    assert err.value.errors()[0]["loc"] == ("notes",)
    assert err.value.errors()[0]["type"] == "text_control_character"


@pytest.mark.parametrize(
    "body, loc, where",
    [
        ({"name": "ok", "data": {"k": ["fine", "bad\x01"]}}, ("data",), "in k[1]"),
        ({"name": "ok", "inner": {"value": "x\u202e"}}, ("inner",), "in value"),
        ({"name": "ok", "data": {"bad\x02key": 1}}, ("data",), "[key]"),
    ],
)
def test_nested_strings_are_checked_too(body, loc, where):
    with pytest.raises(ValidationError) as err:
        Body.model_validate(body)
    assert err.value.errors()[0]["loc"] == loc
    assert where in err.value.errors()[0]["msg"]


def test_single_line_text_refuses_line_breaks_but_multiline_text_keeps_them():
    with pytest.raises(ValidationError) as err:
        Body(name="two\nlines")
    assert err.value.errors()[0]["type"] == "text_line_break"
    assert Body(name="one", notes="a\r\nb\tc").notes == "a\r\nb\tc"


def test_indian_scripts_with_joiners_are_accepted():
    name = "क्\u200dष\u200c ਪੰਜਾਬ தமிழ் తెలుగు বাংলা ಕನ್ನಡ اردو"
    assert Body(name=name).name == name


def test_partial_update_refuses_explicit_null_unless_nullable():
    with pytest.raises(ValidationError) as err:
        Patch.model_validate({"version": 1, "name": None})
    assert err.value.errors()[0]["loc"] == ("name",)
    assert err.value.errors()[0]["type"] == "null_not_allowed"
    assert Patch.model_validate({"version": 1, "note": None}).model_dump(exclude_unset=True) == {
        "version": 1,
        "note": None,
    }
    assert Patch.model_validate({"version": 1}).model_dump(exclude_unset=True) == {"version": 1}


def test_xlsx_cells_are_text_never_formulas_and_illegal_characters_do_not_break_the_file():
    book = Workbook()
    xlsx_append(book.active, ['=HYPERLINK("http://x","y")', "+1", "@SUM(A1)", "a\x01b", 3.5, None, {"k": 1}])
    out = io.BytesIO()
    book.save(out)
    cells = list(load_workbook(io.BytesIO(out.getvalue())).active[1])
    assert [c.data_type for c in cells[:4]] == ["s", "s", "s", "s"]
    assert cells[0].value == '=HYPERLINK("http://x","y")'
    assert cells[3].value == "a\ufffdb"
    assert cells[4].value == 3.5 and cells[4].data_type == "n"


def test_csv_cells_that_a_spreadsheet_would_evaluate_are_quoted_with_an_apostrophe():
    row = csv_row(["=1+1", "+91 98", "-x", "@a", " =x", "\tx", "plain", -3, 2.5, None])
    out = io.StringIO()
    csv.writer(out).writerow(row)
    read = next(csv.reader(io.StringIO(out.getvalue())))
    assert read[:7] == ["'=1+1", "'+91 98", "'-x", "'@a", "' =x", "'\tx", "plain"]
    assert read[7:9] == ["-3", "2.5"]


@pytest.mark.parametrize("value", [1.1e-308, 5e-324, 1e200, float("nan"), float("inf"), 10**40])
def test_numbers_a_store_cannot_hold_are_refused(value):
    with pytest.raises(ValidationError) as err:
        Body.model_validate({"name": "ok", "data": {"lon": value}})
    assert err.value.errors()[0]["type"] == "number_out_of_range"
    assert "in lon" in err.value.errors()[0]["msg"]


def test_ordinary_numbers_pass():
    assert (
        Body.model_validate({"name": "ok", "data": {"a": 0.0, "b": -77.5, "c": 10**37, "d": True}}).data["c"] == 10**37
    )


def test_error_paths_name_fields_not_pydantic_schema_internals():
    from pydantic import BaseModel, Field

    from agri_common.platform.errors import validation_details

    class Row(BaseModel):
        id: Line | None = Field(default=None, max_length=5)

    with pytest.raises(ValidationError) as err:
        Row.model_validate({"id": {"a": 1}})
    fields = [d["field"] for d in validation_details(err.value.errors())]
    assert fields and all(f == "id" for f in fields), fields

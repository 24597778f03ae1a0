"""The FPO report downloads (``GET /fpos/{id}/reports?format=csv|xlsx``) carry stored text as data:
villages that look like formulas or hold control characters (stored before input hygiene existed,
written here straight into the store) come back as text cells, never as live formulas, and never
break the file (the route answers 200, not 500)."""

from __future__ import annotations

import base64
import csv
import io
import json
import zipfile

import pytest
from openpyxl import load_workbook

from agri_common.farm_table import keys
from agri_common.farm_table.records import FpoRecord
from agri_common.platform.clock import utc_iso_seconds_offset
from agri_common.platform.revocation import InMemoryRevocationStore
from agri_common.single_table import Put
from functions.fpo import export
from functions.fpo import handler as fpo
from functions.fpo import models as m
from functions.fpo.logic import FpoService
from infra.local.front import proxy_event
from infra.local.lambdas import LambdaContext
from tests.unit.fakes.assignments import Assignments
from tests.unit.fakes.farm import InMemoryFarmStore
from tests.unit.functions.conftest import claims_for

MANAGER = claims_for("fpo_manager", user="mgr", fpo="FPO-1")
VILLAGES = ['=HYPERLINK("http://x","y")', "+1+2", "-2+3", "@SUM(A1)", "\tTab", "bad\x01village", " =lead space"]
STORED = {v: v.replace("\x01", "\ufffd") for v in VILLAGES}  # what a file can carry: XML 1.0 has no U+0001


@pytest.fixture
def farm(monkeypatch):
    store = InMemoryFarmStore()
    store.transact(
        [
            Put(
                FpoRecord(
                    fpo_id="FPO-1", name="=cmd()", state="Punjab", created_by="a", created_at=utc_iso_seconds_offset()
                ).to_item()
            )
        ]
    )
    for i, village in enumerate(VILLAGES):  # bypassing every input check, as an old record would
        pk, sk = keys.fpo_village_agg("FPO-1", village)
        store.items[(pk, sk)] = {
            "pk": pk,
            "sk": sk,
            "village": village,
            "members": i + 1,
            "plots": 2,
            "area_ha": 1.5,
            "seasons": 1,
        }
    monkeypatch.setattr(fpo, "_revocation", lambda: InMemoryRevocationStore())
    fpo.app.dependency_overrides[fpo.get_service] = lambda: FpoService(store, utc_iso_seconds_offset)
    fpo.app.dependency_overrides[fpo.get_assignments] = Assignments().loader
    yield store
    fpo.app.dependency_overrides.clear()


def get_reports(query: str | None, claims: dict = MANAGER) -> dict:
    """GET /fpos/FPO-1/reports?<query> through the deployed handler."""
    event = proxy_event(
        "/fpos/{fpo_id}/reports",
        "GET",
        "/fpos/FPO-1/reports",
        query=query,
        body=b"",
        headers={},
        params={"fpo_id": "FPO-1"},
        claims=claims,
    )
    ctx = LambdaContext(
        function_name="test",
        memory_limit_in_mb=128,
        invoked_function_arn="arn:aws:lambda:x:1:function:test",
        aws_request_id="req-1",
        timeout_s=10,
    )
    return fpo.lambda_handler(event, ctx)


def download(fmt: str, table: str | None = None) -> dict:
    return get_reports(f"format={fmt}" + (f"&table={table}" if table else ""))


def test_the_excel_download_types_every_text_cell_as_a_string_with_the_exact_text(farm):
    resp = download("xlsx")
    assert resp["statusCode"] == 200, resp["body"][:300]
    book = load_workbook(io.BytesIO(base64.b64decode(resp["body"])))
    for sheet in book.worksheets:
        for row in sheet.iter_rows():
            for cell in row:
                if isinstance(cell.value, str):
                    assert cell.data_type == "s", (sheet.title, cell.coordinate, cell.value)
    rows = [[c.value for c in row] for row in book["villages"].iter_rows(min_row=2)]
    assert {r[0]: r[1] for r in rows} == {STORED[v]: i + 1 for i, v in enumerate(VILLAGES)}


def test_the_csv_download_prefixes_every_formula_trigger(farm):
    resp = download("csv", "villages")
    assert resp["statusCode"] == 200, resp["body"][:300]
    rows = list(csv.reader(io.StringIO(resp["body"])))
    assert rows[0] == ["village", "members", "plots", "area_ha", "seasons_reported"] and len(rows) == 1 + len(VILLAGES)
    cells = {r[0]: r[1] for r in rows[1:]}
    expected = {("'" + STORED[v] if v != "bad\x01village" else STORED[v]): str(i + 1) for i, v in enumerate(VILLAGES)}
    assert cells == expected and "bad\ufffdvillage" in cells
    assert all(not cell.startswith(("=", "+", "-", "@", "\t")) for row in rows for cell in row)


def test_the_json_report_keeps_the_text_as_stored(farm):
    resp = get_reports(None)
    assert resp["statusCode"] == 200
    assert {v["village"] for v in json.loads(resp["body"])["villages"]} == set(VILLAGES)


# ---- one table per file -------------------------------------------------------------------------------


@pytest.mark.parametrize("table", export.TABLES)
def test_each_table_is_its_own_csv_file_that_a_csv_reader_loads(farm, table):
    resp = download("csv", table)
    assert resp["statusCode"] == 200
    headers = resp["multiValueHeaders"]
    assert headers["Content-Type"] == [export.CSV_TYPE]
    assert headers["Content-Disposition"] == [f'attachment; filename="FPO-1-{table}.csv"']
    rows = list(csv.DictReader(io.StringIO(resp["body"])))  # one header line, then rows of the same width
    assert not any(line.startswith("#") for line in resp["body"].splitlines())
    if table == "villages":
        assert len(rows) == len(VILLAGES) and {r["members"] for r in rows} == {str(i + 1) for i in range(len(VILLAGES))}
    if table == "carbon_approved":
        assert rows == [
            {
                "approved_runs": "0",
                "plot_seasons": "0",
                **{f: "0.0" for f in m.CARBON_FIGURES},
                "runs_truncated": "false",
            }
        ]


def test_the_zip_holds_every_table_as_its_own_csv(farm):
    resp = download("zip")
    assert resp["statusCode"] == 200 and resp["isBase64Encoded"] is True
    assert resp["multiValueHeaders"]["Content-Type"] == ["application/zip"]
    archive = zipfile.ZipFile(io.BytesIO(base64.b64decode(resp["body"])))
    assert archive.namelist() == [f"FPO-1-{t}.csv" for t in export.TABLES]
    assert archive.read("FPO-1-villages.csv").decode() == download("csv", "villages")["body"]
    assert base64.b64decode(download("zip")["body"]) == base64.b64decode(resp["body"])  # same reports, same bytes


@pytest.mark.parametrize(
    "query, code",
    [
        ("format=csv", "table_required"),
        ("format=xlsx&table=villages", "table_not_applicable"),
        ("format=zip&table=carbon", "table_not_applicable"),
        ("table=villages", "table_not_applicable"),  # json holds every table
        ("format=csv&table=members", "validation_error"),  # no such table
        ("format=csv&table=", "validation_error"),
    ],
)
def test_a_table_request_that_cannot_be_answered_is_a_clear_422(farm, query, code):
    resp = get_reports(query)
    assert resp["statusCode"] == 422, resp
    error = json.loads(resp["body"])["error"]
    assert error["code"] == code and [d["field"] for d in error["details"]] == ["query.table"]


def test_an_fpo_the_caller_may_not_see_answers_404_whatever_the_table_query(farm):
    other = claims_for("fpo_manager", user="mgr2", fpo="FPO-2")
    for query in ("format=csv&table=villages", "format=zip"):
        resp = get_reports(query, other)
        assert resp["statusCode"] == 404, resp


def test_the_workbook_is_made_for_work(farm):
    book = load_workbook(io.BytesIO(base64.b64decode(download("xlsx")["body"])))
    assert book.sheetnames == list(export.TABLES)
    for sheet in book.worksheets:
        assert sheet.freeze_panes == "A2" and all(c.font.bold for c in sheet[1]), sheet.title
        assert sheet.auto_filter.ref == f"A1:{sheet.cell(1, sheet.max_column).column_letter}{sheet.max_row}"
        assert all(sheet.column_dimensions[c.column_letter].width >= 8 for c in sheet[1])
    villages = book["villages"]
    members, area = villages["B2"], villages["D2"]
    assert members.data_type == "n" and members.number_format == "#,##0"
    assert area.value == 1.5 and area.number_format == "#,##0.000"
    total = book["carbon_approved"]
    assert [c.value for c in total[1]][-1] == "runs_truncated" and total.cell(2, total.max_column).value is False

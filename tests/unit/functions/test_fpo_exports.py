"""The FPO report downloads (``GET /fpos/{id}/reports?format=csv|xlsx``) carry stored text as data:
villages that look like formulas or hold control characters (stored before input hygiene existed,
written here straight into the store) come back as text cells, never as live formulas, and never
break the file (the route answers 200, not 500)."""

from __future__ import annotations

import base64
import csv
import io

import pytest
from openpyxl import load_workbook

from agri_common.farm_table import keys
from agri_common.farm_table.records import FpoRecord
from agri_common.platform.clock import utc_iso_seconds_offset
from agri_common.single_table import Put
from agri_common.platform.revocation import InMemoryRevocationStore
from functions.fpo import handler as fpo
from functions.fpo.logic import FpoService
from infra.local.front import proxy_event
from infra.local.lambdas import LambdaContext
from tests.unit.assignments import Assignments
from tests.unit.farm_fakes import InMemoryFarmStore
from tests.unit.functions.conftest import claims_for

MANAGER = claims_for("fpo_manager", user="mgr", fpo="FPO-1")
VILLAGES = ['=HYPERLINK("http://x","y")', "+1+2", "-2+3", "@SUM(A1)", "\tTab", "bad\x01village", " =lead space"]
STORED = {v: v.replace("\x01", "\ufffd") for v in VILLAGES}  # what a file can carry: XML 1.0 has no U+0001


@pytest.fixture
def farm(monkeypatch):
    store = InMemoryFarmStore()
    store.transact([Put(FpoRecord(fpo_id="FPO-1", name="=cmd()", state="Punjab", created_by="a",
                                  created_at=utc_iso_seconds_offset()).to_item())])
    for i, village in enumerate(VILLAGES):  # bypassing every input check, as an old record would
        pk, sk = keys.fpo_village_agg("FPO-1", village)
        store.items[(pk, sk)] = {"pk": pk, "sk": sk, "village": village, "members": i + 1, "plots": 2, "area_ha": 1.5,
                                 "seasons": 1}
    monkeypatch.setattr(fpo, "_revocation", lambda: InMemoryRevocationStore())
    fpo.app.dependency_overrides[fpo.get_service] = lambda: FpoService(store, utc_iso_seconds_offset)
    fpo.app.dependency_overrides[fpo.get_assignments] = Assignments().loader
    yield store
    fpo.app.dependency_overrides.clear()


def download(fmt: str) -> dict:
    event = proxy_event("/fpos/{fpo_id}/reports", "GET", "/fpos/FPO-1/reports", query=f"format={fmt}", body=b"",
                        headers={}, params={"fpo_id": "FPO-1"}, claims=MANAGER)
    ctx = LambdaContext(function_name="test", memory_limit_in_mb=128, invoked_function_arn="arn:aws:lambda:x:1:function:test",
                        aws_request_id="req-1", timeout_s=10)
    return fpo.lambda_handler(event, ctx)


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
    resp = download("csv")
    assert resp["statusCode"] == 200, resp["body"][:300]
    rows = list(csv.reader(io.StringIO(resp["body"])))
    start = rows.index(["# villages"])
    cells = {r[0]: r[1] for r in rows[start + 2:start + 2 + len(VILLAGES)]}
    expected = {("'" + STORED[v] if v != "bad\x01village" else STORED[v]): str(i + 1) for i, v in enumerate(VILLAGES)}
    assert cells == expected and "bad\ufffdvillage" in cells
    assert all(not cell.startswith(("=", "+", "-", "@", "\t")) for row in rows for cell in row)


def test_the_json_report_keeps_the_text_as_stored(farm):
    event = proxy_event("/fpos/{fpo_id}/reports", "GET", "/fpos/FPO-1/reports", body=b"", headers={},
                        params={"fpo_id": "FPO-1"}, claims=MANAGER)
    resp = fpo.lambda_handler(event, LambdaContext(function_name="t", memory_limit_in_mb=128,
                                                   invoked_function_arn="arn:aws:lambda:x:1:function:t",
                                                   aws_request_id="r", timeout_s=10))
    assert resp["statusCode"] == 200
    import json

    assert {v["village"] for v in json.loads(resp["body"])["villages"]} == set(VILLAGES)

"""The audit reports carry stored text as data: a village, project name, finding message or the
auditor's note that looks like a formula (``=HYPERLINK(...)``, ``+``, ``-``, ``@``), holds markup
(``<b>``, ``&``) or control characters (records stored before input hygiene, written here straight
into the stores) neither becomes a live formula in the Excel file, nor breaks or injects into the
PDF, nor fails the run's report step."""

from __future__ import annotations

import dataclasses
import io

import pytest
from openpyxl import load_workbook

from agri_common import pipeline_table
from functions.pipeline import aggregate, await_decision, reports, sample_draw
from tests.unit import pdfread
from tests.unit.fakes.mrv import pipeline_context
from tests.unit.functions.pipeline.test_steps import PID, RID, RUN, Source, Uploader, run_calc

TRIGGERS = [
    '=HYPERLINK("http://x","y")',
    "+cmd|' /C calc'!A0",
    "-2+3",
    "@SUM(A1)",
    "bad\x01village\x0b",
    "a village name longer than forty characters <font name=x> & </para>",
]
NAME = 'Delta <b>bold</b> & </para> "=1+1"\x02'


@pytest.fixture
def decided():
    """A run whose plots live in villages named like formulas and whose auditor wrote formulas,
    through the monitoring report and the decision to the verification report."""
    ctx = pipeline_context(PID, RID, name=NAME)
    source = Source(farmers=len(TRIGGERS))
    for i, (fid, seasons) in enumerate(sorted(source.seasons.items())):
        source.seasons[fid] = [dataclasses.replace(s, village=TRIGGERS[i]) for s in seasons]
    planned, _ = run_calc(ctx, source)
    state = {**RUN, "plan": planned}
    aggregate.aggregate(state, ctx)
    state["verify"] = sample_draw.verify(state, ctx)
    up = Uploader()
    out = reports.reports(state, ctx, up)
    task_id = await_decision.await_decision({**state, "task_token": "t", "reports": out}, ctx)["task_id"]
    ctx.store.items[pipeline_table.task(task_id)]["decision"] = {
        "decision": "approve",
        "reason": "=1+1",
        "decided_by": "aud-1",
        "decided_at": "2025-03-01T00:00:00Z",
        "checklist": {"sample_visited": {"answer": "pass", "note": "@notes <i>x</i> & \x07"}},
        "findings": [{"severity": "info", "plot_id": None, "season_key": None, "message": "-see =A1"}],
    }
    reports.reports({**state, "phase": "decided"}, ctx, up)
    return ctx, up


def test_the_report_steps_succeed(decided):
    ctx, _ = decided
    assert ctx.store.get(pipeline_table.step(RID, "reports"))["status"] == "succeeded"
    assert ctx.store.get(pipeline_table.step(RID, "verification_report"))["status"] == "succeeded"


@pytest.mark.parametrize("kind", ["mon", "ver"])
def test_every_text_cell_of_the_excel_reports_is_a_string_with_the_exact_text(decided, kind):
    ctx, up = decided
    record = ctx.store.get(pipeline_table.report(f"{RID}_a1_{kind}"))
    book = load_workbook(io.BytesIO(up.objects[record["xlsx_key"]]))
    texts = []
    for sheet in book.worksheets:
        for row in sheet.iter_rows():
            for cell in row:
                if isinstance(cell.value, str):
                    assert cell.data_type == "s", (sheet.title, cell.coordinate, cell.value)
                    texts.append(cell.value)
    overview = {r[0].value: r[1].value for r in book["Overview"].iter_rows(min_row=2)}
    assert overview["Project"] == f'Delta <b>bold</b> & </para> "=1+1"\ufffd ({PID})'  # exact, control char replaced
    if kind == "ver":
        assert set(TRIGGERS[:4]) <= set(texts)  # the triggers are there, as text
        villages = {r[0].value for r in book["Sample strata"].iter_rows(min_row=2)}
        assert villages == {*TRIGGERS[:4], "bad\ufffdvillage\ufffd", TRIGGERS[5]}
        plots = {r[2].value for r in book["Sample plots"].iter_rows(min_row=2)}
        assert plots <= villages and plots
        decision = {r[0].value: r[1].value for r in book["Decision"].iter_rows(min_row=2)}
        assert decision["Reason"] == "=1+1"
        assert [c.value for c in book["Checklist"][2]] == ["sample_visited", "pass", "@notes <i>x</i> & \ufffd"]
        assert [c.value for c in book["Auditor findings"][2]][-1] == "-see =A1"


@pytest.mark.parametrize("kind", ["mon", "ver"])
def test_the_pdf_shows_markup_as_text(decided, kind):
    ctx, up = decided
    data = up.objects[ctx.store.get(pipeline_table.report(f"{RID}_a1_{kind}"))["pdf_key"]]
    assert data.startswith(b"%PDF")
    text = pdfread.text(data)
    # the title: the name's "<b>" is drawn as text, not turned into bold; the control character replaced
    assert 'report \u2014 Delta <b>bold</b> & </para> "=1+1"' in text
    assert "\x02" not in text
    if kind == "ver":
        compact = "".join(text.split())  # a long value wraps inside its table column
        assert '=HYPERLINK("http://x","y")' in compact  # a village: drawn as typed
        assert "avillagenamelongerthanfortycharacters<fontname=x>&</para>" in compact
        assert "@notes<i>x</i>&" in compact  # the auditor's note, as typed

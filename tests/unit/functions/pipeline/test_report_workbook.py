"""The MRV reports' workbooks are made for work: each sheet one table under a bold,
frozen, filterable header, numbers as numbers, the auditor's decision time as a date, the net's 90 %
interval as two numbers that equal the run summary's."""

from __future__ import annotations

import io
from datetime import datetime

import pytest
from openpyxl import load_workbook

from agri_common import pipeline_table
from functions.pipeline import core
from tests.unit.functions.pipeline.test_report_cells import RID, decided  # noqa: F401 - the fixture
from tests.unit.functions.pipeline.test_steps import RUN

SHEETS = {
    "mon": ["Overview", "Emissions by gas", "Deductions", "Methodology findings", "Plot-seasons"],
    "ver": [
        "Overview",
        "Emissions by gas",
        "Deductions",
        "Methodology findings",
        "Findings",
        "Sample strata",
        "Sample plots",
        "Sample design",
        "Decision",
        "Checklist",
        "Auditor findings",
        "Plot-seasons",
    ],
}


def book(ctx, up, kind):
    return load_workbook(io.BytesIO(up.objects[ctx.store.get(pipeline_table.report(f"{RID}_a1_{kind}"))["xlsx_key"]]))


@pytest.mark.parametrize("kind", ["mon", "ver"])
def test_every_sheet_is_one_formatted_table(decided, kind):
    ctx, up = decided
    wb = book(ctx, up, kind)
    assert wb.sheetnames == SHEETS[kind]
    for ws in wb.worksheets:
        assert ws.freeze_panes == "A2" and all(c.font.bold for c in ws[1]), ws.title
        assert ws.auto_filter.ref == f"A1:{ws.cell(1, ws.max_column).column_letter}{ws.max_row}", ws.title
        assert all(ws.column_dimensions[c.column_letter].width >= 8 for c in ws[1]), ws.title


@pytest.mark.parametrize("kind", ["mon", "ver"])
def test_numbers_are_numbers_and_the_interval_is_two_of_them(decided, kind):
    ctx, up = decided
    wb = book(ctx, up, kind)
    overview = {r[0].value: r[1] for r in wb["Overview"].iter_rows(min_row=2)}
    summary = ctx.get_json(core.summary_key(core.RunInput(**RUN)))
    lower, upper = summary["total"]["net"]["mc"]["ci"]["90"]
    assert (
        overview["Net 90 % CI lower"].value == pytest.approx(lower) and overview["Net 90 % CI lower"].data_type == "n"
    )
    assert (
        overview["Net 90 % CI upper"].value == pytest.approx(upper) and overview["Net 90 % CI upper"].data_type == "n"
    )
    assert "Net 90 % CI" not in overview  # no text cell "a to b" any more
    assert overview["Monte Carlo draws"].data_type == "n" and overview["Monte Carlo draws"].number_format == "#,##0"
    assert overview["Eligible"].data_type == "b"
    gases = list(wb["Emissions by gas"].iter_rows(min_row=2))
    assert gases and all(c.data_type == "n" and c.number_format == "#,##0.000" for row in gases for c in row[1:])


def test_the_decision_time_is_a_date_and_coordinates_keep_their_precision(decided):
    ctx, up = decided
    wb = book(ctx, up, "ver")
    decision = {r[0].value: r[1] for r in wb["Decision"].iter_rows(min_row=2)}
    assert decision["Decided at"].is_date and decision["Decided at"].value == datetime(2025, 3, 1)
    plots = wb["Sample plots"]
    header = [c.value for c in plots[1]]
    lon = plots.cell(2, header.index("Lon") + 1)
    assert isinstance(lon.value, (int, float)) and lon.data_type == "n" and lon.number_format == "0.000000"


@pytest.mark.parametrize("kind", ["mon", "ver"])
def test_plot_seasons_carry_each_net_90_interval_as_two_numbers_equal_to_the_stored_rows(decided, kind):
    from agri_common import pipeline_objects
    from functions.pipeline import aggregate

    ctx, up = decided
    ws = book(ctx, up, kind)["Plot-seasons"]
    header = [c.value for c in ws[1]]
    assert header[-2:] == ["Net 90 % low t CO2e", "Net 90 % high t CO2e"]
    run = core.RunInput(**RUN)
    count = 0
    while ctx.objects.exists(core.chunk_key(run, count, pipeline_objects.ROWS)):
        count += 1
    stored = {(r["plot_id"], r["season_key"]): r for r in aggregate.iter_rows(ctx, run, count)}
    sheet_rows = list(ws.iter_rows(min_row=2))
    assert len(sheet_rows) == len(stored) > 0
    for row in sheet_rows:
        r = stored[(row[0].value, row[1].value)]
        low, high = row[-2], row[-1]
        assert low.data_type == "n" and high.data_type == "n"
        assert low.value == pytest.approx(round(r["net_ci90_low"], 3)) and high.value == pytest.approx(
            round(r["net_ci90_high"], 3)
        )
        assert row[header.index("Net t CO2e")].value == pytest.approx(round(r["net"], 3))

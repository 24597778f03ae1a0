"""Reports as CSV (stdlib) or Excel (openpyxl, from the export layer, imported only when asked).

Every cell goes through ``agri_common.platform.cells``: stored text (villages, ids) is data, never a
formula (``=``, ``+``, ``-``, ``@`` ... are prefixed with ``'`` in CSV and typed as strings in
Excel), and characters the XLSX format cannot carry (records stored before input hygiene) are
replaced, so no stored text can break or weaponise the file."""

from __future__ import annotations

import csv
import io

from agri_common.platform.cells import csv_row, xlsx_append

from functions.fpo import models as m

CSV_TYPE = "text/csv; charset=utf-8"
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

Cell = str | int | float
Table = list[list[Cell]]


def _tables(r: m.Reports) -> dict[str, Table]:
    crops = sorted({c for s in r.seasons for c in s.area_ha_by_crop})
    regimes = sorted({w for s in r.seasons for w in s.area_ha_by_water_regime})
    seasons: Table = [["season", "seasons_reported", "synthetic_n_kg", *[f"area_ha_{c}" for c in crops],
                *[f"area_ha_{w}" for w in regimes]]]
    for s in r.seasons:
        seasons.append([s.season_key, s.seasons, s.synthetic_n_kg, *[s.area_ha_by_crop.get(c, 0) for c in crops],
                        *[s.area_ha_by_water_regime.get(w, 0) for w in regimes]])
    villages: Table = [["village", "members", "plots", "area_ha", "seasons_reported"]]
    villages += [[v.village, v.members, v.plots, v.area_ha, v.seasons] for v in r.villages]
    return {"seasons": seasons, "villages": villages, "carbon": _carbon(r.carbon)}


def _carbon(c: m.Carbon) -> Table:
    """A row per run, then the approved runs' total (farmers and area are not summed across runs)."""
    figures = m.CARBON_FIGURES
    rows: Table = [["period", "run_id", "project_id", "status", "plot_seasons", "farmers", "area_ha", *figures]]
    rows += [[r.period, r.run_id, r.project_id, r.status, r.plot_seasons, r.farmers, r.area_ha,
              *[getattr(r, f) for f in figures]] for r in c.runs]
    a = c.approved
    rows.append([f"total of {a.runs} approved runs", "", "", "approved", a.plot_seasons, "", "",
                 *[getattr(a, f) for f in figures]])
    if c.runs_truncated:
        rows.append(["more runs exist than listed"])
    return rows


def to_csv(r: m.Reports) -> str:
    """Both tables in one file, each under a ``# <name>`` line (spreadsheet apps show them stacked)."""
    out = io.StringIO()
    writer = csv.writer(out)
    for name, rows in _tables(r).items():
        writer.writerow(csv_row([f"# {name}"]))
        writer.writerows(csv_row(row) for row in rows)
        writer.writerow([])
    return out.getvalue()


def to_xlsx(r: m.Reports) -> bytes:
    from openpyxl import Workbook

    book = Workbook()
    book.remove(book.active)
    for name, rows in _tables(r).items():
        sheet = book.create_sheet(name)
        for row in rows:
            xlsx_append(sheet, row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()

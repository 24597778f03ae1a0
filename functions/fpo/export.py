"""Reports as CSV (stdlib), a zip of CSVs, or Excel (openpyxl, from the export layer, imported only when asked).

Four tables, each its own CSV file and its own sheet (``TABLES``): ``seasons`` (trends by season),
``villages``, ``carbon`` (a row per monitoring run) and ``carbon_approved`` (the approved runs'
total, one row, with ``runs_truncated`` saying whether more runs exist than were read).

Every cell goes through ``agri_common.platform.cells`` / ``agri_common.sheets``: stored text (villages, ids)
is data, never a formula (``=``, ``+``, ``-``, ``@`` ... are prefixed with ``'`` in CSV and typed as
strings in Excel), and characters the XLSX format cannot carry (records stored before input
hygiene) are replaced, so no stored text can break or weaponise the file. In Excel, numbers are
numbers (counts as integers, areas and tonnes to three places) under a bold, frozen, filterable header.
"""

from __future__ import annotations

import csv
import io
import zipfile
from dataclasses import dataclass
from typing import Any, Literal, get_args

from agri_common.platform.cells import csv_row
from agri_common.sheets import Kind, Sheet, workbook
from functions.fpo import models as m

CSV_TYPE = "text/csv; charset=utf-8"
ZIP_TYPE = "application/zip"
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
TableName = Literal["seasons", "villages", "carbon", "carbon_approved"]
TABLES: tuple[str, ...] = get_args(TableName)
# Fixed dates inside the zip: the same reports give the same bytes
_ZIP_TIME = (2000, 1, 1, 0, 0, 0)


@dataclass(frozen=True)
class Table:
    name: str
    header: list[str]
    rows: list[list[Any]]
    kinds: dict[str, Kind]


def _numbers(header: list[str], integers: set[str]) -> dict[str, Kind]:
    """Every column but the text ones is numeric: integers as counts, the others to three places."""
    text = {"season", "village", "period", "run_id", "project_id", "status"}
    flags = {"runs_truncated"}  # a bool: its own cell type in Excel, true/false in CSV
    return {h: ("text" if h in text else "integer" if h in integers else "number") for h in header if h not in flags}


def tables(r: m.Reports) -> list[Table]:
    crops = sorted({c for s in r.seasons for c in s.area_ha_by_crop})
    regimes = sorted({w for s in r.seasons for w in s.area_ha_by_water_regime})
    header = [
        "season",
        "seasons_reported",
        "synthetic_n_kg",
        *[f"area_ha_{c}" for c in crops],
        *[f"area_ha_{w}" for w in regimes],
    ]
    seasons = [
        [
            s.season_key,
            s.seasons,
            s.synthetic_n_kg,
            *[s.area_ha_by_crop.get(c, 0) for c in crops],
            *[s.area_ha_by_water_regime.get(w, 0) for w in regimes],
        ]
        for s in r.seasons
    ]
    village_header = ["village", "members", "plots", "area_ha", "seasons_reported"]
    villages = [[v.village, v.members, v.plots, v.area_ha, v.seasons] for v in r.villages]
    counts = {"seasons_reported", "members", "plots", "plot_seasons", "farmers", "approved_runs"}
    out = [
        Table("seasons", header, seasons, _numbers(header, counts)),
        Table("villages", village_header, villages, _numbers(village_header, counts)),
    ]
    return out + _carbon(r.carbon, counts)


def _carbon(c: m.Carbon, counts: set[str]) -> list[Table]:
    """A row per run; the approved runs' total as its own table (farmers and area are not summed
    across runs: the same farmers and plots recur in every run)."""
    figures = list(m.CARBON_FIGURES)
    header = ["period", "run_id", "project_id", "status", "plot_seasons", "farmers", "area_ha", *figures]
    rows = [
        [
            r.period,
            r.run_id,
            r.project_id,
            r.status,
            r.plot_seasons,
            r.farmers,
            r.area_ha,
            *[getattr(r, f) for f in figures],
        ]
        for r in c.runs
    ]
    a = c.approved
    total_header = ["approved_runs", "plot_seasons", *figures, "runs_truncated"]
    total = [[a.runs, a.plot_seasons, *[getattr(a, f) for f in figures], c.runs_truncated]]
    return [
        Table("carbon", header, rows, _numbers(header, counts)),
        Table("carbon_approved", total_header, total, _numbers(total_header, counts)),
    ]


def _table(r: m.Reports, name: str) -> Table:
    found = [t for t in tables(r) if t.name == name]
    if not found:
        raise ValueError(f"no table {name!r}: one of {', '.join(TABLES)}")
    return found[0]


def _csv(t: Table) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(csv_row(t.header))
    writer.writerows(csv_row([str(v).lower() if isinstance(v, bool) else v for v in row]) for row in t.rows)
    return out.getvalue()


def to_csv(r: m.Reports, table: str) -> str:
    """One table as a CSV file: a header line, then its rows (nothing else, so any CSV reader loads it)."""
    return _csv(_table(r, table))


def to_zip(r: m.Reports, prefix: str) -> bytes:
    """Every table as its own CSV, ``<prefix>-<table>.csv``, in one zip."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for t in tables(r):
            info = zipfile.ZipInfo(f"{prefix}-{t.name}.csv", date_time=_ZIP_TIME)
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, _csv(t).encode("utf-8"))
    return out.getvalue()


def to_xlsx(r: m.Reports) -> bytes:
    return workbook(Sheet(t.name, t.header, t.rows, t.kinds) for t in tables(r))

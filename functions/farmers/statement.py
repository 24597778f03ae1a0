"""A farmer's credit statement: one page in the farmer's preferred language.

What it says: who (farmer, village, FPO), which project run and when it was approved, each plot
with its season, area, what changed in practice (the project's baseline water regime before, the
season's regime now) and its tonnes, the farmer's tonnes and credits with their serial numbers,
and how anyone can check those credits (the ledger's serial lookup and the offline verifier).

Labels are data: ``statement_labels/<language>.json`` (same keys as ``en.json``; a test checks
it), so a language is one more file. An unknown language falls back to English. Drawn with
``agri_common.pdf`` (shaped Indian scripts, embedded fonts).

The route is ``GET /farmers/{farmer_id}/statement?run_id=`` (handler.py); who may have it and the
reads that fill :class:`Statement` are in logic_statement.py and statement_reads.py; this module
renders what it is given.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cache
from pathlib import Path
from typing import Any

LABELS = Path(__file__).with_name("statement_labels")
DEFAULT_LANGUAGE = "en"


@cache
def labels(language: str) -> dict[str, Any]:
    """The labels of ``language`` (an ISO 639-1 code such as ``hi``), else English."""
    path = LABELS / f"{language}.json"
    if not language.isalpha() or not path.is_file():
        path = LABELS / f"{DEFAULT_LANGUAGE}.json"
    data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return data


def languages() -> list[str]:
    return sorted(p.stem for p in LABELS.glob("*.json"))


@dataclass(frozen=True)
class StatementPlot:
    plot_id: str
    name: str | None
    season_key: str
    area_ha: float
    crop: str | None
    baseline_regime: str | None  # the practice the project replaced (rice: the project's baseline regime)
    project_regime: str | None
    net_t: float


@dataclass(frozen=True)
class CreditRange:
    serial_start: str  # unit serials, e.g. AGM-prj-2025-run-000000001
    serial_end: str
    count: int


@dataclass(frozen=True)
class Statement:
    statement_id: str
    generated_at: str
    language: str
    farmer_id: str
    farmer_name: str
    village: str
    fpo_id: str
    project_id: str
    project_name: str
    run_id: str
    period: str
    approved_at: str | None
    tonnes: float  # the farmer's share of the run's net (the ledger's weight), t CO2e
    plots: list[StatementPlot] = field(default_factory=list)
    credits: list[CreditRange] = field(default_factory=list)
    fpo_name: str | None = None


def render(statement: Statement) -> bytes:
    from agri_common.pdf import Document, number, when

    t = labels(statement.language)
    moment = datetime.fromisoformat(statement.generated_at.replace("Z", "+00:00"))
    moment = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    title = f"{t['title']} \u2014 {statement.farmer_name}"
    doc = Document(
        title=title,
        created_at=moment,
        footer=statement.statement_id,
        language=statement.language if statement.language in languages() else DEFAULT_LANGUAGE,
    )
    doc.title(title, t["subtitle"].format(project=statement.project_name, period=statement.period))
    doc.key_values(
        [
            (t["farmer"], statement.farmer_name),
            (t["farmer_id"], statement.farmer_id),
            (t["village"], statement.village),
            (t["fpo"], f"{statement.fpo_name} ({statement.fpo_id})" if statement.fpo_name else statement.fpo_id),
            (t["project"], f"{statement.project_name} ({statement.project_id})"),
            (t["run"], statement.run_id),
            (t["approved_at"], when(statement.approved_at) if statement.approved_at else t["not_approved"]),
            (t["generated_at"], when(statement.generated_at)),
        ],
        widths=(30, 70),
    )
    doc.heading(t["your_plots"])
    doc.grid(
        [t["plot"], t["season"], t["area_ha"], t["before"], t["now"], t["tonnes_col"]],
        [
            [
                f"{p.name} ({p.plot_id})" if p.name else p.plot_id,
                p.season_key,
                number(p.area_ha, 2),
                _practice(t, p, p.baseline_regime),
                _change(t, p),
                number(p.net_t),
            ]
            for p in statement.plots
        ],
        widths=(22, 11, 9, 22, 24, 10),
        align=("L", "L", "R", "L", "L", "R"),
        empty=t["no_plots"],
        size=8,
    )
    count = sum(c.count for c in statement.credits)
    doc.heading(t["your_result"])
    result = [
        (t["tonnes"], t["tonnes_unit"].format(value=number(statement.tonnes))),
        (
            t["credits"],
            t["credits_unit_one" if count == 1 else "credits_unit"].format(value=number(count))
            if count
            else t["no_credits"],
        ),
    ]
    if statement.credits:
        result.append((t["serials"], "\n".join(_range(c) for c in statement.credits)))
    doc.key_values(result, widths=(40, 60))
    doc.heading(t["how_to_verify"])
    if statement.credits:
        doc.paragraph(t["verify_text"].format(serial=statement.credits[0].serial_start))
    else:
        doc.paragraph(t["verify_none"])
    return doc.output()


def _regime(t: dict[str, Any], regime: str | None) -> str:
    return str(t["regimes"].get(regime, regime.replace("_", " "))) if regime else "\u2014"


def _practice(t: dict[str, Any], plot: StatementPlot, regime: str | None) -> str:
    crop = t["crops"].get(plot.crop, plot.crop) if plot.crop else None
    return ", ".join(x for x in (crop, _regime(t, regime)) if x)


def _change(t: dict[str, Any], plot: StatementPlot) -> str:
    if plot.project_regime == plot.baseline_regime:
        return f"{_practice(t, plot, plot.project_regime)} ({t['same_practice']})"
    return _practice(t, plot, plot.project_regime)


def _range(credit: CreditRange) -> str:
    if credit.serial_start == credit.serial_end:
        return credit.serial_start
    return f"{credit.serial_start} \u2026 {credit.serial_end.rsplit('-', 1)[-1]} ({credit.count})"

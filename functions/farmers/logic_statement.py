"""A farmer's credit statement for one approved run: who may have it, in which
language, and the figures that fill it (rendered by :mod:`functions.farmers.statement`).

Who: the farmer themself (their account owns the profile), the manager of their FPO while the farmer
is an approved member, and admins. Everyone else (another farmer, another FPO's manager, auditors,
the farmer's old FPO's manager after a removal) gets exactly the 404 a missing farmer gets. Auditors
are refused on purpose: the statement is the farmer's own document (name, plots, serials in their
language); an auditor has the run's verification report (every plot-season) and the ledger's reads.

The run: ``run_id`` must name an approved run of a project that covers the farmer's FPO and that
counted the farmer (computed plot-seasons, or credits issued to them); otherwise one 404
(``statement_run_not_found``), the same whether the run does not exist, is not approved or does not
include the farmer, and given only to a caller who may see the farmer.

Language: the farmer's preferred language when a label file exists for it, else ``?lang=`` (one of
the label files: anything else is a 422 even when unused), else English.
"""

from __future__ import annotations

from typing import Any

from agri_common.farm_table import keys
from agri_common.farm_table.records import FarmerRecord, PlotRecord
from agri_common.platform.errors import NotFoundError, UnprocessableError
from agri_common.platform.principal import Principal, Role
from agri_common.season_vocab import crop_key
from functions.farmers import statement as st
from functions.farmers.context import FarmContext, derived_id, not_found
from functions.farmers.logic import FarmerService
from functions.farmers.statement_reads import ApprovedRun, LedgerReads, RunReads

RUN_NOT_FOUND = "statement_run_not_found"


def run_not_found(run_id: str) -> NotFoundError:
    return NotFoundError(
        f"No approved run {run_id} counted this farmer: the run does not exist, is not approved yet, "
        "or did not include them",
        code=RUN_NOT_FOUND,
    )


def check_language(lang: str | None) -> None:
    """A requested language must have a label file (before any read: a refusal reads nothing)."""
    if lang is not None and lang not in st.languages():
        known = ", ".join(st.languages())
        raise UnprocessableError(
            f"There is no statement in {lang!r}: lang is one of {known}",
            code="unknown_language",
            details=[{"field": "query.lang", "issue": f"one of {known}", "type": "unknown_language"}],
        )


def choose_language(preferred: str | None, lang: str | None) -> str:
    known = st.languages()
    if preferred and preferred in known:
        return preferred
    return lang if lang in known else st.DEFAULT_LANGUAGE


def may_have_statement(caller: Principal, farmer: FarmerRecord) -> bool:
    if caller.role is Role.ADMIN:
        return True
    if caller.role is Role.FARMER:
        return farmer.owner_user_id is not None and farmer.owner_user_id == caller.user_id
    if caller.role is Role.FPO_MANAGER:
        return caller.fpo_id is not None and caller.fpo_id == farmer.fpo_id and farmer.counted
    return False  # auditors (see the module docstring); a new role fails closed


class StatementService:
    def __init__(self, ctx: FarmContext, runs: RunReads, ledger: LedgerReads):
        self.ctx = ctx
        self.runs = runs
        self.ledger = ledger

    def farmer(self, caller: Principal, farmer_id: str) -> FarmerRecord:
        record = FarmerService(self.ctx).load(farmer_id)
        if record is None or not may_have_statement(caller, record):
            raise not_found("farmer")  # the same answer as FarmerService.get for one the caller may not see
        return record

    def statement(self, caller: Principal, farmer_id: str, run_id: str, lang: str | None = None) -> st.Statement:
        check_language(lang)
        farmer = self.farmer(caller, farmer_id)
        run = self.runs.approved_run(run_id)
        if run is None or farmer.fpo_id not in run.project.fpo_ids:
            raise run_not_found(run_id)
        rows = self.runs.farmer_rows(run, farmer_id)
        credits = self.ledger.issued(farmer_id, run.project.project_id, run_id)
        if not rows and not credits:
            raise run_not_found(run_id)
        fpo = self.ctx.fpo(farmer.fpo_id)
        net = sum(float(r["net"]) for r in rows)
        return st.Statement(
            statement_id=derived_id("STM", farmer_id, run_id),
            generated_at=self.ctx.clock(),
            language=choose_language(farmer.preferred_language, lang),
            farmer_id=farmer.farmer_id,
            farmer_name=farmer.name,
            village=farmer.village,
            fpo_id=farmer.fpo_id,
            fpo_name=fpo.name,
            project_id=run.project.project_id,
            project_name=run.project.name,
            run_id=run_id,
            period=run.run.period,
            approved_at=run.approved_at,
            tonnes=max(0.0, net),  # the ledger's weight of the farmer (never negative)
            plots=self.plots(run, farmer_id, rows),
            credits=credits,
        )

    def plots(self, run: ApprovedRun, farmer_id: str, rows: list[dict[str, Any]]) -> list[st.StatementPlot]:
        """One line per computed plot-season, with the plot's stored name (one Query of the farmer's plots)."""
        items, _ = self.ctx.store.query(keys.farmer_plots_index(farmer_id), index=True)
        names = {p.plot_id: p.name for p in (PlotRecord.from_item(i) for i in items)}
        out = []
        for row in sorted(rows, key=lambda r: (str(r["plot_id"]), str(r["season_key"]))):
            crop = _crop(row.get("crop"))
            regime = row.get("water_regime")
            out.append(
                st.StatementPlot(
                    plot_id=str(row["plot_id"]),
                    name=names.get(str(row["plot_id"])),
                    season_key=str(row["season_key"]),
                    area_ha=float(row["area_ha"]),
                    crop=crop,
                    # the engine's baseline: for rice, the project's baseline regime (the practice it replaced)
                    baseline_regime=run.project.baseline_water_regime if crop == "rice" else regime,
                    project_regime=regime,
                    net_t=float(row["net"]),
                )
            )
        return out

    def pdf(self, caller: Principal, farmer_id: str, run_id: str, lang: str | None = None) -> bytes:
        return st.render(self.statement(caller, farmer_id, run_id, lang))


def _crop(value: Any) -> str | None:
    if not value:
        return None
    try:
        return crop_key(str(value))
    except ValueError:  # an ambiguous name: shown as recorded
        return str(value)

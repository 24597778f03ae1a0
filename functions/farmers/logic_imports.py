"""Bulk import by admins and FPO managers: farmers from CSV, plots from a GeoJSON FeatureCollection.

Rows are validated and written one by one through the same services as the single routes (same
rules, same aggregates, one transaction per row), and the report says for every row: accepted,
duplicate (already imported) or rejected with the reasons. Ids are derived from the FPO and the
row's own identity (farmers: ``external_id``, else the phone number; plots: ``external_id`` or
the Feature's ``id``), so importing the same file again changes nothing and reports duplicates. A
phone number derives the id through a keyed hash (``context.keyed_id``): an unkeyed one could be
reversed to the number by trying every number, and an erased farmer's id stays (docs/decisions/0017).
Caps: 1,000 rows per request and a body within API Gateway/Lambda's limits (about 900 KB of CSV).
"""

from __future__ import annotations

import csv
import io
import re
from typing import Any

from pydantic import ValidationError

from agri_common.farm_table import keys
from agri_common.platform.errors import AppError, ForbiddenError, validation_details
from agri_common.platform.principal import Principal, Role, require_role
from functions.farmers import models as m
from functions.farmers.context import FarmContext, derived_id, field_error, keyed_id
from functions.farmers.logic import FarmerService
from functions.farmers.logic_plots import PlotService

FARMER_COLUMNS = ("name", "phone", "village", "district", "state")
DUPLICATE_CODES = {"farmer_exists", "plot_exists"}


def _row_result(row: int, exc: Exception, prefix: str) -> m.ImportRow:
    if isinstance(exc, ValidationError):
        errors = validation_details([{**e, "loc": (prefix, *e.get("loc", ()))} for e in exc.errors(include_url=False)])
        return m.ImportRow(row=row, status="rejected", errors=[dict(d) for d in errors])
    assert isinstance(exc, AppError)
    if exc.code in DUPLICATE_CODES:
        return m.ImportRow(row=row, status="duplicate")
    return m.ImportRow(
        row=row,
        status="rejected",
        errors=[{"field": prefix, "type": exc.code, "issue": exc.message}, *map(dict, exc.details or [])],
    )


def _report(rows: list[m.ImportRow]) -> m.ImportReport:
    return m.ImportReport(
        rows=rows, **{s: sum(1 for r in rows if r.status == s) for s in ("accepted", "duplicate", "rejected")}
    )


class ImportService:
    def __init__(self, ctx: FarmContext):
        self.ctx = ctx
        self.farmers = FarmerService(ctx)
        self.plots = PlotService(ctx)

    def _authorise(self, caller: Principal, fpo_id: str) -> None:
        require_role(caller, Role.FPO_MANAGER, Role.ADMIN)
        if caller.role is Role.FPO_MANAGER and fpo_id != caller.fpo_id:
            raise ForbiddenError("You can import only into your own FPO", code="fpo_forbidden")
        self.ctx.fpo(fpo_id)

    def farmers_csv(self, caller: Principal, req: m.FarmerImportRequest) -> m.ImportReport:
        self._authorise(caller, req.fpo_id)
        reader = csv.DictReader(io.StringIO(req.csv))
        try:
            header = reader.fieldnames or []
        except csv.Error as exc:
            raise field_error("body.csv", f"The header row cannot be read as CSV: {exc}", "csv_unreadable") from exc
        missing = [c for c in FARMER_COLUMNS if c not in header]
        if missing:
            raise field_error("body.csv", f"The header row lacks the column(s): {', '.join(missing)}", "csv_header")
        rows = _records(reader)
        if len(rows) > m.MAX_IMPORT_ROWS:
            raise field_error("body.csv", f"At most {m.MAX_IMPORT_ROWS} rows per import", "too_many_rows")
        results = []
        for number, row in enumerate(rows, start=2):  # row 1 is the header
            if isinstance(row, csv.Error):  # this record only: the reader goes on with the next line
                results.append(
                    m.ImportRow(
                        row=number,
                        status="rejected",
                        errors=[
                            {
                                "field": f"row.{number}",
                                "type": "csv_unreadable",
                                "issue": f"The row cannot be read as CSV: {row}",
                            }
                        ],
                    )
                )
            else:
                results.append(self._farmer_row(caller, req, number, row))
        return _report(results)

    def _farmer_row(
        self, caller: Principal, req: m.FarmerImportRequest, number: int, row: dict[str, Any]
    ) -> m.ImportRow:
        def cell(name: str) -> str | None:
            value = (row.get(name) or "").strip()
            return value or None

        try:
            if (cell("consent_given") or "").lower() not in ("yes", "true", "1", "y"):
                raise field_error(
                    f"row.{number}.consent_given", "Consent to data use must be recorded as yes", "consent_missing"
                )
            body: dict[str, Any] = {k: cell(k) for k in FARMER_COLUMNS}
            for k in ("preferred_language", "aadhaar", "external_id"):
                if cell(k):
                    body[k] = cell(k)
            body.update(
                fpo_id=req.fpo_id, consent={"given": True, "version": req.consent_version, "at": cell("consent_at")}
            )
            parsed = m.RegisterFarmerRequest.model_validate(body)
            farmer_id = (
                derived_id("F", req.fpo_id, parsed.external_id)  # plot imports find the farmer by it
                if parsed.external_id
                else self._phone_farmer_id(req.fpo_id, parsed.phone)
            )
            record = self.farmers.register(caller, parsed, farmer_id=farmer_id)
            return m.ImportRow(row=number, status="accepted", id=record.farmer_id)
        except (ValidationError, AppError) as exc:
            return _row_result(number, exc, f"row.{number}")

    def _phone_farmer_id(self, fpo_id: str, phone: str) -> str:
        """The id of a farmer imported without an external id: keyed on the phone number (the id outlives
        an erasure, so it must not give the number back). A farmer imported before ids were keyed keeps
        the old unkeyed id, so a re-import of them is still recognised (one GetItem)."""
        legacy = derived_id("F", fpo_id, phone)
        if self.ctx.store.get(keys.farmer(legacy)) is not None:
            return legacy
        return keyed_id("F", self.ctx.aadhaar_key(), fpo_id, phone)

    def plots_geojson(self, caller: Principal, req: m.PlotImportRequest) -> m.ImportReport:
        self._authorise(caller, req.fpo_id)
        return _report([self._plot_row(caller, req.fpo_id, i, f) for i, f in enumerate(req.features)])

    def _plot_row(self, caller: Principal, fpo_id: str, index: int, feature: Any) -> m.ImportRow:
        where = f"features.{index}"
        try:
            if not isinstance(feature, dict):
                raise field_error(where, "A feature is a GeoJSON Feature object", "feature_invalid")
            props = feature.get("properties")
            if props is None:
                props = {}
            if not isinstance(props, dict):
                raise field_error(f"{where}.properties", "properties must be an object (or null)", "feature_invalid")
            props = dict(props)
            farmer_id = props.pop("farmer_id", None)
            farmer_external = props.pop("farmer_external_id", None)
            for name, value in (("farmer_id", farmer_id), ("farmer_external_id", farmer_external)):
                if value is not None and not (isinstance(value, str) and re.fullmatch(m.ID, value)):
                    raise field_error(
                        f"{where}.properties.{name}",
                        "an id of 1-64 letters, digits, '_' or '-'",
                        "string_pattern_mismatch",
                    )
            if not farmer_id and farmer_external:
                farmer_id = derived_id("F", fpo_id, farmer_external)
            if not farmer_id:
                raise field_error(f"{where}.properties.farmer_id", "give farmer_id or farmer_external_id", "missing")
            parsed = m.PlotFeature.model_validate({**feature, "properties": props})
            identity = parsed.properties.external_id or parsed.id
            if identity is None:
                raise field_error(
                    f"{where}.properties.external_id",
                    "give external_id (or a Feature id) so that re-imports are recognised",
                    "missing",
                )
            farmer = self.farmers.load(farmer_id)
            if farmer is None or farmer.fpo_id != fpo_id:
                raise field_error(
                    f"{where}.properties.farmer_id", f"No farmer {farmer_id} in FPO {fpo_id}", "unknown_farmer"
                )
            record = self.plots.create(caller, farmer.farmer_id, parsed, plot_id=derived_id("P", fpo_id, str(identity)))
            return m.ImportRow(row=index, status="accepted", id=record.plot_id)
        except (ValidationError, AppError) as exc:
            return _row_result(index, exc, where)


def _records(reader: csv.DictReader[str]) -> list[dict[str, Any] | csv.Error]:
    """Every record of the file; a record the csv module cannot read (a field over its 131,072-character
    limit...) is kept as its error, and reading goes on with the next line."""
    rows: list[dict[str, Any] | csv.Error] = []
    while len(rows) <= m.MAX_IMPORT_ROWS:
        try:
            rows.append(next(reader))
        except StopIteration:
            break
        except csv.Error as exc:
            rows.append(exc)
    return rows

"""FPO routes: create (admin), read, overview and reports (JSON, CSV or Excel)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Literal

from aws_lambda_powertools.event_handler import Depends, Response
from aws_lambda_powertools.event_handler.openapi.params import Path, Query

from agri_common.farm_table.records import FpoRecord
from agri_common.platform.activity import audited
from agri_common.platform.clock import utc_iso_seconds_offset
from agri_common.platform.errors import UnprocessableError
from agri_common.platform.principal import AuditScope, Principal, with_audit_scope
from agri_common.platform.resolver import PRIVATE, current_principal, make_handler, make_resolver
from agri_common.platform.revocation import revocation_store
from agri_common.platform.settings import BaseSettingsModel, load_settings
from agri_common.project_access import assignments_from_env
from agri_common.single_table import DynamoTableStore
from functions.fpo import export
from functions.fpo import models as m
from functions.fpo.dal import PipelineCarbonRuns
from functions.fpo.logic import FpoService

app = make_resolver()
TAGS = ["fpo"]
FpoId = Annotated[str, Path(pattern=m.FPO_ID)]


class FpoSettings(BaseSettingsModel):
    farm_table: str
    pipeline_table: str  # the carbon section (per-FPO run items) and auditors' assignments: reads only


_revocation = revocation_store  # looked up per call by make_handler: tests swap it


def get_service() -> FpoService:
    s = load_settings(FpoSettings)
    return FpoService(
        DynamoTableStore(s.farm_table), utc_iso_seconds_offset, PipelineCarbonRuns(DynamoTableStore(s.pipeline_table))
    )


get_assignments = assignments_from_env


def get_principal(assignments: Annotated[Callable[[str], AuditScope], Depends(get_assignments)]) -> Principal:
    return with_audit_scope(current_principal(app), assignments)


Service = Annotated[FpoService, Depends(get_service)]
Caller = Annotated[Principal, Depends(get_principal)]


def _out(record: FpoRecord) -> m.FpoOut:
    return m.FpoOut.model_validate(record.model_dump())


@app.post(
    "/fpos",
    status_code=201,
    tags=TAGS,
    security=PRIVATE,
    summary="Create an FPO (admin)",
    openapi_extensions=audited("fpo.create", errors=[409]),
)
def create_fpo(body: m.CreateFpoRequest, svc: Service, caller: Caller) -> m.FpoOut:
    return _out(svc.create(caller, body))


@app.get("/fpos/<fpo_id>", tags=TAGS, security=PRIVATE, summary="One FPO", openapi_extensions={"x-errors": [404]})
def get_fpo(fpo_id: FpoId, svc: Service, caller: Caller) -> m.FpoOut:
    return _out(svc.get(caller, fpo_id))


@app.get(
    "/fpos/<fpo_id>/overview",
    tags=TAGS,
    security=PRIVATE,
    summary="Members, plots, area by crop and water regime, seasons, completeness (maintained on write); "
    "carbon per monitoring run",
    openapi_extensions={"x-errors": [404]},
)
def overview(fpo_id: FpoId, svc: Service, caller: Caller) -> m.Overview:
    return svc.overview(caller, fpo_id)


@app.get(
    "/fpos/<fpo_id>/reports",
    tags=TAGS,
    security=PRIVATE,
    summary="Trends by season, a per-village breakdown, carbon per run; ?format=csv&table=<name> downloads one "
    "table as CSV, ?format=zip every table as its own CSV in a zip, ?format=xlsx a workbook (a sheet per table)",
    description="Tables: " + ", ".join(export.TABLES) + ". `table` is required with `format=csv` (one table per "
    "CSV file, so any CSV reader loads it) and refused with any other format (422 "
    "`table_required` / `table_not_applicable`).",
    openapi_extensions={"x-errors": [404]},
    responses={
        200: {
            "description": "The reports (JSON), or the file for format=csv|zip|xlsx",
            "content": {
                "application/json": {"model": m.Reports},
                export.CSV_TYPE: {"schema": {"type": "string"}},
                export.ZIP_TYPE: {"schema": {"type": "string", "format": "binary"}},
                export.XLSX_TYPE: {"schema": {"type": "string", "format": "binary"}},
            },
        }
    },
)
def reports(  # type: ignore[no-untyped-def]
    fpo_id: FpoId,
    svc: Service,
    caller: Caller,
    format: Annotated[Literal["json", "csv", "zip", "xlsx"], Query()] = "json",
    table: Annotated[export.TableName | None, Query()] = None,
):  # no return annotation: files must skip response validation (schema: responses above)
    _check_table(format, table)  # before any read: a refusal reads nothing
    data = svc.reports(caller, fpo_id)
    if format == "json":
        return Response(200, "application/json", data.model_dump(mode="json"))
    if format == "csv" and table is not None:
        return Response(200, export.CSV_TYPE, export.to_csv(data, table), headers=_attachment(f"{fpo_id}-{table}.csv"))
    if format == "zip":
        return Response(200, export.ZIP_TYPE, export.to_zip(data, fpo_id), headers=_attachment(f"{fpo_id}-reports.zip"))
    return Response(200, export.XLSX_TYPE, export.to_xlsx(data), headers=_attachment(f"{fpo_id}-reports.xlsx"))


def _attachment(filename: str) -> dict[str, str]:
    return {"Content-Disposition": f'attachment; filename="{filename}"'}


def _check_table(format: str, table: str | None) -> None:
    names = ", ".join(export.TABLES)
    if format == "csv" and table is None:
        raise UnprocessableError(
            f"format=csv gives one table per file: name it with table= (one of {names}), "
            "or ask for format=zip (every table, one CSV each)",
            code="table_required",
            details=[{"field": "query.table", "issue": f"required with format=csv: one of {names}", "type": "missing"}],
        )
    if format != "csv" and table is not None:
        raise UnprocessableError(
            f"table= applies to format=csv only (format={format} holds every table)",
            code="table_not_applicable",
            details=[{"field": "query.table", "issue": "only with format=csv", "type": "not_applicable"}],
        )


lambda_handler = make_handler(app, revocation=lambda: _revocation())  # looked up per call

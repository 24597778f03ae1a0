"""FPO routes: create (admin), read, overview and reports (JSON, CSV or Excel)."""

from __future__ import annotations

from typing import Annotated, Callable, Literal

from aws_lambda_powertools.event_handler import Depends, Response
from aws_lambda_powertools.event_handler.openapi.params import Path, Query

from agri_common.platform.clock import utc_iso_seconds_offset
from agri_common.single_table import DynamoTableStore
from agri_common.platform.principal import AuditScope, Principal, with_audit_scope
from agri_common.project_access import assignments_from_env
from agri_common.platform.resolver import PRIVATE, current_principal, make_handler, make_resolver
from agri_common.platform.revocation import revocation_store
from agri_common.platform.settings import BaseSettingsModel, load_settings
from agri_common.farm_table.records import FpoRecord

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
    return FpoService(DynamoTableStore(s.farm_table), utc_iso_seconds_offset, PipelineCarbonRuns(DynamoTableStore(s.pipeline_table)))


get_assignments = assignments_from_env


def get_principal(assignments: Annotated[Callable[[str], AuditScope], Depends(get_assignments)]) -> Principal:
    return with_audit_scope(current_principal(app), assignments)


Service = Annotated[FpoService, Depends(get_service)]
Caller = Annotated[Principal, Depends(get_principal)]


def _out(record: FpoRecord) -> m.FpoOut:
    return m.FpoOut.model_validate(record.model_dump())


@app.post("/fpos", status_code=201, tags=TAGS, security=PRIVATE, summary="Create an FPO (admin)",
          openapi_extensions={"x-errors": [409]})
def create_fpo(body: m.CreateFpoRequest, svc: Service, caller: Caller) -> m.FpoOut:
    return _out(svc.create(caller, body))


@app.get("/fpos/<fpo_id>", tags=TAGS, security=PRIVATE, summary="One FPO", openapi_extensions={"x-errors": [404]})
def get_fpo(fpo_id: FpoId, svc: Service, caller: Caller) -> m.FpoOut:
    return _out(svc.get(caller, fpo_id))


@app.get("/fpos/<fpo_id>/overview", tags=TAGS, security=PRIVATE,
         summary="Members, plots, area by crop and water regime, seasons, completeness (maintained on write); "
                 "carbon per monitoring run",
         openapi_extensions={"x-errors": [404]})
def overview(fpo_id: FpoId, svc: Service, caller: Caller) -> m.Overview:
    return svc.overview(caller, fpo_id)


@app.get("/fpos/<fpo_id>/reports", tags=TAGS, security=PRIVATE,
         summary="Trends by season, a per-village breakdown, carbon per run; ?format=csv|xlsx downloads them",
         openapi_extensions={"x-errors": [404]},
         responses={200: {"description": "The reports (JSON), or the file for format=csv|xlsx",
                          "content": {"application/json": {"model": m.Reports},
                                      export.CSV_TYPE: {"schema": {"type": "string"}},
                                      export.XLSX_TYPE: {"schema": {"type": "string", "format": "binary"}}}}})
# No return annotation, on purpose: Powertools validates and serialises a response against the route's return
# annotation, and a file (CSV text, XLSX bytes) must skip that; the responses above give the schema.
def reports(fpo_id: FpoId, svc: Service, caller: Caller,  # type: ignore[no-untyped-def]
            format: Annotated[Literal["json", "csv", "xlsx"], Query()] = "json"):
    data = svc.reports(caller, fpo_id)
    if format == "json":
        return Response(200, "application/json", data.model_dump(mode="json"))
    filename = f"{fpo_id}-reports.{format}"
    headers = {"Content-Disposition": f'attachment; filename="{filename}"'}
    if format == "csv":
        return Response(200, export.CSV_TYPE, export.to_csv(data), headers=headers)
    return Response(200, export.XLSX_TYPE, export.to_xlsx(data), headers=headers)


lambda_handler = make_handler(app, revocation=lambda: _revocation())  # looked up per call

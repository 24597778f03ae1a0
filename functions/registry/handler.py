"""The public registry view: a credit by serial, a project's totals and anchors. No account: the
routes declare the API key scheme (``API_KEY``), so API Gateway requires an integrator key
(``x-api-key``) and meters it with the key's usage plan before this function runs. The function
never sees the key and reads the ledger only (docs/decisions/0016-integrator-api-keys-and-registry.md).
"""

from __future__ import annotations

from typing import Annotated

from aws_lambda_powertools.event_handler import Depends
from aws_lambda_powertools.event_handler.openapi.params import Path, Query

from agri_common.platform.resolver import API_KEY, make_handler, make_resolver
from agri_common.platform.settings import BaseSettingsModel, load_settings
from functions.ledger import models as lm
from functions.ledger.dal import DynamoLedgerStore, S3ArtifactStore
from functions.ledger.queries import LedgerReader
from functions.registry import models as m
from functions.registry.logic import RegistryReader

app = make_resolver()
TAGS = ["registry"]
Serial = Annotated[lm.SerialStr, Path()]
ProjectId = Annotated[str, Path(pattern=f"^{lm.PART}$")]
NOT_FOUND = {"x-errors": [404]}
PAGED = {"x-errors": [400, 404]}  # 400 invalid_next_token


class RegistrySettings(BaseSettingsModel):
    ledger_table: str
    audit_bucket: str


def get_registry() -> RegistryReader:
    s = load_settings(RegistrySettings)
    store = DynamoLedgerStore(s.ledger_table)
    return RegistryReader(store, LedgerReader(store, S3ArtifactStore(s.audit_bucket)))


Registry = Annotated[RegistryReader, Depends(get_registry)]


@app.get(
    "/registry/credits/<serial>",
    tags=TAGS,
    security=API_KEY,
    openapi_extensions=NOT_FOUND,
    summary="A credit by serial (public, API key): status, vintage, project, methodology, retirement, proof",
)
def get_credit(serial: Serial, registry: Registry) -> m.RegistryCredit:
    return registry.credit(serial)


@app.get(
    "/registry/projects/<project_id>",
    tags=TAGS,
    security=API_KEY,
    openapi_extensions=PAGED,
    summary="A project's credits (public, API key): issued, retired, cancelled by vintage, on-chain anchors (paged)",
)
def get_project(
    project_id: ProjectId,
    registry: Registry,
    limit: Annotated[int, Query(ge=1, le=100, description="Anchors per page")] = 20,
    next_token: Annotated[str | None, Query(max_length=4096, description="The next page of anchors")] = None,
) -> m.RegistryProject:
    return registry.project(project_id, limit=limit, next_token=next_token)


lambda_handler = make_handler(app)

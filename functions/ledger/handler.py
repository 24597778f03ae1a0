"""Ledger routes: scoped reads of records and credits, Merkle proofs, and transfers, retirements
and manual issuances, which this function hands to the ledger writer (its role cannot write the
ledger table; it may only invoke the writer)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Literal

from aws_lambda_powertools.event_handler import Depends
from aws_lambda_powertools.event_handler.openapi.params import Path, Query

from agri_common.platform.activity import audited
from agri_common.platform.pagination import page_position, page_token
from agri_common.platform.principal import AuditScope, Principal, Role, require_role, with_audit_scope
from agri_common.platform.resolver import PRIVATE, current_principal, make_handler, make_resolver
from agri_common.platform.revocation import revocation_store
from agri_common.platform.settings import BaseSettingsModel, load_settings
from agri_common.project_access import assignments_from_env
from functions.ledger import models as m
from functions.ledger.dal import DynamoLedgerStore, S3ArtifactStore
from functions.ledger.issuance import IssueRequests
from functions.ledger.moves import MoveRequests
from functions.ledger.queries import LedgerReader
from functions.ledger.writer_client import LambdaWriterGateway

app = make_resolver()
TAGS = ["ledger"]
RecordId = Annotated[str, Path(pattern=m.RECORD_ID)]
Serial = Annotated[m.SerialStr, Path()]  # the shape and the range: a bad serial is a 422 naming path.serial


class LedgerSettings(BaseSettingsModel):
    ledger_table: str
    audit_bucket: str
    ledger_writer_function: str


_revocation = revocation_store  # looked up per call by make_handler: tests swap it


def get_reader() -> LedgerReader:
    s = load_settings(LedgerSettings)
    return LedgerReader(DynamoLedgerStore(s.ledger_table), S3ArtifactStore(s.audit_bucket))


def get_moves() -> MoveRequests:
    s = load_settings(LedgerSettings)
    return MoveRequests(DynamoLedgerStore(s.ledger_table), LambdaWriterGateway(s.ledger_writer_function))


def get_issuances() -> IssueRequests:
    return IssueRequests(LambdaWriterGateway(load_settings(LedgerSettings).ledger_writer_function))


get_assignments = assignments_from_env


def get_principal(assignments: Annotated[Callable[[str], AuditScope], Depends(get_assignments)]) -> Principal:
    return with_audit_scope(current_principal(app), assignments)


Reader = Annotated[LedgerReader, Depends(get_reader)]
Moves = Annotated[MoveRequests, Depends(get_moves)]
Issuances = Annotated[IssueRequests, Depends(get_issuances)]
Caller = Annotated[Principal, Depends(get_principal)]


@app.get("/ledger/records/<record_id>", tags=TAGS, security=PRIVATE, summary="One ledger record (scoped by role)")
def get_record(record_id: RecordId, reader: Reader, caller: Caller) -> m.RecordOut:
    return reader.get_record(caller, record_id)


@app.get(
    "/ledger/records",
    tags=TAGS,
    security=PRIVATE,
    summary="Ledger records, newest first: by project, farmer reference or serial (scoped by role)",
)
def list_records(
    reader: Reader,
    caller: Caller,
    project_id: Annotated[str | None, Query(pattern=f"^{m.PART}$")] = None,
    farmer_ref: Annotated[str | None, Query(pattern=r"^[0-9a-f]{64}$")] = None,
    serial: Annotated[m.SerialStr | None, Query()] = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    next_token: Annotated[str | None, Query(max_length=4096)] = None,
) -> m.RecordPage:
    query = [caller.user_id, project_id, farmer_ref, serial]
    cursor = page_position(next_token, query)  # its key is checked by the store (query_records)
    items, nxt = reader.list_records(
        caller, project_id=project_id, farmer_ref=farmer_ref, serial=serial, limit=limit, cursor=cursor
    )
    return m.RecordPage(items=items, next_token=page_token(query, nxt))


@app.get(
    "/ledger/proofs/<record_id>",
    tags=TAGS,
    security=PRIVATE,
    openapi_extensions={"x-errors": [409]},
    summary="A record with its hash, Merkle proof, root and anchoring transaction (for the verifier)",
)
def get_proof(record_id: RecordId, reader: Reader, caller: Caller) -> m.ProofOut:
    return reader.proof(caller, record_id)


@app.get(
    "/ledger/batches",
    tags=TAGS,
    security=PRIVATE,
    summary="Anchoring batches, newest first (admin): status, anchor id, transaction, and the foreign roots "
    "met on chain (conflicts)",
)
def list_batches(
    reader: Reader,
    caller: Caller,
    status: Annotated[Literal["pending", "anchored", "conflict"] | None, Query()] = None,
    conflicts_only: Annotated[bool, Query(description="Only batches that met a foreign root on chain")] = False,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    next_token: Annotated[str | None, Query(max_length=4096)] = None,
) -> m.BatchPage:
    require_role(caller, Role.ADMIN)
    query = ["batches", status, conflicts_only]
    cursor = page_position(next_token, query)  # its key is checked by the store (list_batches)
    items, nxt = reader.list_batches(limit=limit, cursor=cursor, status=status, conflicts_only=conflicts_only)
    return m.BatchPage(items=items, next_token=page_token(query, nxt))


@app.get("/credits/<serial>", tags=TAGS, security=PRIVATE, summary="The credit block holding a serial (scoped by role)")
def get_credit(serial: Serial, reader: Reader, caller: Caller) -> m.CreditOut:
    return reader.get_credit(caller, serial)


@app.post(
    "/credits/transfer",
    tags=TAGS,
    security=PRIVATE,
    openapi_extensions=audited("credit.transfer", errors=[409]),
    summary="Transfer credits to a buyer (admin or the credit owner); a partial transfer splits the block",
)
def transfer(body: m.TransferCommand, moves: Moves, caller: Caller) -> m.WriterResult:
    require_role(caller, Role.ADMIN, Role.FARMER)
    return moves.transfer(caller, body)


@app.post(
    "/credits/retire",
    tags=TAGS,
    security=PRIVATE,
    openapi_extensions=audited("credit.retire", errors=[409]),
    summary="Retire credits for a beneficiary (admin or the credit owner)",
)
def retire(body: m.RetireCommand, moves: Moves, caller: Caller) -> m.WriterResult:
    require_role(caller, Role.ADMIN, Role.FARMER)
    return moves.retire(caller, body)


@app.post(
    "/credits/cancel",
    tags=TAGS,
    security=PRIVATE,
    openapi_extensions=audited("credit.cancel", errors=[409]),
    summary="Cancel credits (admin): an issuance error or a reversal, recorded in the ledger",
)
def cancel(body: m.CancelCommand, moves: Moves, caller: Caller) -> m.WriterResult:
    require_role(caller, Role.ADMIN)
    return moves.cancel(caller, body)


@app.post(
    "/ledger/issuances",
    tags=TAGS,
    security=PRIVATE,
    openapi_extensions=audited("credit.issue", target="run", errors=[409]),
    summary="Issue credits for a manually approved run, or re-drive the pipeline's ledger step (admin)",
)
def issue(body: m.InlineRun, issuances: Issuances, caller: Caller) -> m.WriterResult:
    require_role(caller, Role.ADMIN)
    return issuances.issue(body)


lambda_handler = make_handler(app, revocation=lambda: _revocation())  # looked up per call: tests swap it

"""Farmers routes: farmers, plots, seasons, field data, offline sync, evidence uploads, imports.

Every route is private. Who may do what is decided per record in the services (404 for records the
caller may not see); auditors read the data of the FPOs of the projects they are assigned to
(read once per request from the pipeline table, see ``get_principal``) and never write.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache
from typing import Annotated

from aws_lambda_powertools.event_handler import Depends, Response
from aws_lambda_powertools.event_handler.openapi.params import Path, Query

from agri_common import pipeline_table
from agri_common.farm_table.records import MembershipStatus
from agri_common.platform.activity import audited
from agri_common.platform.principal import AuditScope, Principal, with_audit_scope
from agri_common.platform.resolver import PRIVATE, current_principal, make_handler, make_resolver
from agri_common.platform.revocation import revocation_store
from agri_common.platform.settings import BaseSettingsModel, load_settings
from agri_common.project_access import assignments_from_env
from agri_common.single_table import DynamoTableStore
from agri_common.sms import SmsSender, sms_sender
from functions.farmers import models as m
from functions.farmers.claiming import (
    ClaimCodeOut,
    ClaimRequest,
    ClaimService,
    IssueClaimCodeRequest,
)
from functions.farmers.context import FarmContext, OverlapPolicy
from functions.farmers.erasure import (
    AccountEraser,
    Eraser,
    ErasureService,
    EvidenceEraser,
    LedgerOwnerEraser,
    LedgerSaltEraser,
    NotificationsEraser,
    PlotEraser,
)
from functions.farmers.erasure_stores import (
    CognitoAccounts,
    DynamoLedgerSalts,
    FarmTableNotifications,
    S3EvidenceFiles,
    WriterLedgerOwners,
)
from functions.farmers.logic import FarmerService, farmer_out
from functions.farmers.logic_imports import ImportService
from functions.farmers.logic_plots import PlotService
from functions.farmers.logic_seasons import SeasonService, season_out
from functions.farmers.logic_statement import StatementService
from functions.farmers.logic_sync import SyncService
from functions.farmers.logic_uploads import S3UploadBucket, UploadService
from functions.farmers.membership import InvitationOut, IssueInvitationRequest, JoinRequest, MembershipService
from functions.farmers.statement import languages as statement_languages
from functions.farmers.statement_reads import DynamoLedgerReads, LedgerReads, PipelineRunReads, RunReads, S3Objects

app = make_resolver()
Id = Annotated[str, Path(pattern=m.ID)]
FpoId = Annotated[str, Path(pattern=m.FPO_ID)]


class FarmersSettings(BaseSettingsModel):
    farm_table: str
    uploads_bucket: str
    aadhaar_hmac_secret_arn: str
    overlap_max_fraction: float = 0.05
    overlap_max_ha: float = 0.05
    # the credit statement's reads (read-only grants: infra/domain_constructs/farmers.py)
    pipeline_table: str | None = None
    pipeline_bucket: str | None = None
    ledger_table: str | None = None
    # the erasure's account step (infra/domain_constructs/farmers.py: ListUsers, sign-out, delete only)
    user_pool_id: str | None = None
    # the erasure's ledger step: the ledger writer unlinks the account id (docs/decisions/0022)
    ledger_writer_function: str | None = None


_revocation = revocation_store  # looked up per call by make_handler: tests swap it


@lru_cache(maxsize=1)
def _aadhaar_key() -> bytes:
    """Read once per cold start, and only by the requests that carry an Aadhaar number."""
    from agri_common.platform.aws import client

    arn = load_settings(FarmersSettings).aadhaar_hmac_secret_arn
    secret: str = client("secretsmanager").get_secret_value(SecretId=arn)["SecretString"]  # boto3 is untyped
    return secret.encode()


def get_context() -> FarmContext:
    s = load_settings(FarmersSettings)
    return FarmContext(
        store=DynamoTableStore(s.farm_table),
        aadhaar_key=_aadhaar_key,
        overlap=OverlapPolicy(max_fraction_of_smaller=s.overlap_max_fraction, max_ha=s.overlap_max_ha),
    )


def get_uploads_objects() -> S3UploadBucket:
    return S3UploadBucket(load_settings(FarmersSettings).uploads_bucket)


get_assignments = assignments_from_env


def get_principal(assignments: Annotated[Callable[[str], AuditScope], Depends(get_assignments)]) -> Principal:
    return with_audit_scope(current_principal(app), assignments)


def _required(value: str | None, name: str) -> str:
    if not value:
        raise RuntimeError(f"{name} is not set: the farmers function cannot read credit statements or erase")
    return value


def get_run_reads() -> RunReads:
    s = load_settings(FarmersSettings)
    return PipelineRunReads(
        DynamoTableStore(_required(s.pipeline_table, "PIPELINE_TABLE")),
        S3Objects(_required(s.pipeline_bucket, "PIPELINE_BUCKET")),
    )


def get_ledger_reads() -> LedgerReads:
    return DynamoLedgerReads(_required(load_settings(FarmersSettings).ledger_table, "LEDGER_TABLE"))


def get_erasers(ctx: Annotated[FarmContext, Depends(get_context)]) -> list[Eraser]:
    """The stores an erasure goes through, in order (docs/decisions/0017): a new store adds its eraser here."""
    s = load_settings(FarmersSettings)
    return [
        EvidenceEraser(ctx, S3EvidenceFiles(s.uploads_bucket)),
        PlotEraser(ctx),
        LedgerSaltEraser(DynamoLedgerSalts(_required(s.ledger_table, "LEDGER_TABLE"))),
        LedgerOwnerEraser(WriterLedgerOwners(_required(s.ledger_writer_function, "LEDGER_WRITER_FUNCTION"))),
        NotificationsEraser(FarmTableNotifications(ctx.store)),
        AccountEraser(CognitoAccounts(_required(s.user_pool_id, "USER_POOL_ID"), _revocation())),
    ]


def get_sms() -> SmsSender:
    return sms_sender()  # SMS_SENDER_ID, SMS_DLT: the claim code's DLT template (agri_common.sms)


Ctx = Annotated[FarmContext, Depends(get_context)]
Sms = Annotated[SmsSender, Depends(get_sms)]
Erasers = Annotated[list[Eraser], Depends(get_erasers)]
Runs = Annotated[RunReads, Depends(get_run_reads)]
Ledger = Annotated[LedgerReads, Depends(get_ledger_reads)]
Objects = Annotated[S3UploadBucket, Depends(get_uploads_objects)]
Caller = Annotated[Principal, Depends(get_principal)]


# ---- farmers ------------------------------------------------------------------------------------
@app.post(
    "/farmers",
    status_code=201,
    tags=["farmers"],
    security=PRIVATE,
    summary="Register a farmer",
    openapi_extensions=audited("farmer.register", errors=[404, 409]),
)
def register_farmer(body: m.RegisterFarmerRequest, ctx: Ctx, caller: Caller) -> m.FarmerOut:
    return farmer_out(FarmerService(ctx).register(caller, body), caller)


@app.get(
    "/farmers",
    tags=["farmers"],
    security=PRIVATE,
    summary="List farmers (one FPO, optionally one village)",
    openapi_extensions={"x-errors": [404]},
)
def list_farmers(
    ctx: Ctx,
    caller: Caller,
    fpo_id: Annotated[str | None, Query(pattern=m.FPO_ID)] = None,
    village: Annotated[str | None, Query(min_length=1, max_length=100, pattern=r"^[^#\x00-\x1f\x7f-\x9f]+$")] = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 25,
    next_token: Annotated[str | None, Query(max_length=4096)] = None,
    status: Annotated[
        MembershipStatus | None,
        Query(
            description="Membership: approved members, pending requests, rejected ones or removed "
            "members (default: all, members first; auditors see members only)"
        ),
    ] = None,
) -> m.FarmerPage:
    return FarmerService(ctx).list(caller, fpo_id, village, limit, next_token, status)


@app.get(
    "/farmers/<farmer_id>",
    tags=["farmers"],
    security=PRIVATE,
    summary="One farmer",
    openapi_extensions={"x-errors": [404]},
)
def get_farmer(farmer_id: Id, ctx: Ctx, caller: Caller) -> m.FarmerOut:
    return farmer_out(FarmerService(ctx).get(caller, farmer_id), caller)


@app.patch(
    "/farmers/<farmer_id>",
    tags=["farmers"],
    security=PRIVATE,
    summary="Change a farmer's profile (optimistic concurrency on version)",
    openapi_extensions=audited("farmer.update", errors=[404, 409]),
)
def patch_farmer(farmer_id: Id, body: m.PatchFarmerRequest, ctx: Ctx, caller: Caller) -> m.FarmerOut:
    return farmer_out(FarmerService(ctx).patch(caller, farmer_id, body), caller)


@app.get(
    "/farmers/<farmer_id>/statement",
    tags=["farmers"],
    security=PRIVATE,
    summary="A farmer's credit statement for one approved run: one page (PDF) in their language (the farmer, "
    "their FPO's manager, admins)",
    description="Their plots in the run (what changed in practice, tonnes), their credits and serial numbers, "
    "and how anyone can check them. Language: the farmer's preferred language when the statement exists in it, "
    "else `lang`, else English (languages: " + ", ".join(statement_languages()) + "). 404 `not_found` for a "
    "farmer the caller may not see (another farmer, another FPO's manager, auditors) exactly as for a missing "
    "one; 404 `statement_run_not_found` when `run_id` is not an approved run that counted this farmer.",
    openapi_extensions={"x-errors": [404]},
    responses={
        200: {
            "description": "The statement (PDF, one page)",
            "content": {"application/pdf": {"schema": {"type": "string", "format": "binary"}}},
        }
    },
)
def farmer_statement(  # type: ignore[no-untyped-def]
    farmer_id: Id,
    run_id: Annotated[str, Query(pattern=pipeline_table.RUN_ID, description="An approved monitoring run")],
    ctx: Ctx,
    runs: Runs,
    ledger: Ledger,
    caller: Caller,
    lang: Annotated[
        str | None,
        Query(
            pattern=r"^[a-z]{2,3}$",
            description="Language when the farmer's preferred one has no statement (one of "
            + ", ".join(statement_languages())
            + "; 422 `unknown_language` otherwise)",
        ),
    ] = None,
):  # no return annotation: a file must skip response validation (schema: responses above)
    pdf = StatementService(ctx, runs, ledger).pdf(caller, farmer_id, run_id, lang)
    return Response(
        200,
        "application/pdf",
        pdf,
        headers={"Content-Disposition": f'attachment; filename="statement-{farmer_id}-{run_id}.pdf"'},
    )


@app.post(
    "/farmers/<farmer_id>/erasure",
    tags=["farmers"],
    security=PRIVATE,
    summary="Erase a farmer's personal data and withdraw their consent (the farmer themself, or an admin on "
    "their behalf)",
    description="Name, phone, Aadhaar (last digits and keyed hash), evidence files, plot names and the farmer's "
    "account are deleted; plots and seasons stay without identity (they back issued credits); the ledger salt "
    "is deleted, so no ledger record can be linked to the farmer again while every record still verifies, "
    "and the account id is unlinked from the ledger's records and credit blocks (no hashed body changes). "
    "The profile becomes a tombstone (farmer id, when, who asked, what was erased) and reads as missing "
    "from then on. `status` `in_progress` with `remaining` stores: a store failed, the same request resumes. "
    "An upload presigned before the erasure may land after it: a scheduled job sweeps the evidence files again "
    "30-45 minutes after the erasure, and a repeated request (an admin) sweeps them at once and answers the "
    "same tombstone; 503 `erasure_sweep_failed` if that sweep failed (nothing changed; repeat). 404 `not_found` "
    "for anyone else (an FPO manager, an auditor, another farmer) exactly as for a missing farmer "
    "(docs/decisions/0017, 0022).",
    openapi_extensions=audited("farmer.erase", errors=[404, 409]),
)
def erase_farmer(farmer_id: Id, ctx: Ctx, erasers: Erasers, caller: Caller) -> m.ErasureOut:
    return ErasureService(ctx, erasers).erase(caller, farmer_id)


# ---- FPO membership (docs/decisions/0007) --------------------------------------------------------
@app.post(
    "/fpos/<fpo_id>/members/<farmer_id>/approve",
    tags=["membership"],
    security=PRIVATE,
    summary="Approve a membership request (the FPO's manager, an admin): the farmer and their data count from now on",
    openapi_extensions=audited("membership.approve", target="farmer", errors=[404, 409]),
)
def approve_member(fpo_id: FpoId, farmer_id: Id, ctx: Ctx, caller: Caller) -> m.FarmerOut:
    return farmer_out(MembershipService(ctx).approve(caller, fpo_id, farmer_id), caller)


@app.post(
    "/fpos/<fpo_id>/members/<farmer_id>/reject",
    tags=["membership"],
    security=PRIVATE,
    summary="Reject a membership request (the FPO's manager, an admin)",
    openapi_extensions=audited("membership.reject", target="farmer", errors=[404, 409]),
)
def reject_member(fpo_id: FpoId, farmer_id: Id, ctx: Ctx, caller: Caller) -> m.FarmerOut:
    return farmer_out(MembershipService(ctx).reject(caller, fpo_id, farmer_id), caller)


@app.post(
    "/fpos/<fpo_id>/members/<farmer_id>/remove",
    tags=["membership"],
    security=PRIVATE,
    summary="Remove an approved member (the FPO's manager, an admin): their data leaves the FPO's totals at once "
    "and future MRV runs; past runs and credits stay",
    openapi_extensions=audited("membership.remove", target="farmer", errors=[404, 409]),
)
def remove_member(fpo_id: FpoId, farmer_id: Id, ctx: Ctx, caller: Caller) -> m.FarmerOut:
    return farmer_out(MembershipService(ctx).remove(caller, fpo_id, farmer_id), caller)


@app.post(
    "/farmers/<farmer_id>/membership-request",
    tags=["membership"],
    security=PRIVATE,
    summary="A rejected or removed farmer asks to join the FPO again (one pending request at a time)",
    openapi_extensions=audited("membership.request", target="farmer", errors=[404, 409]),
)
def request_membership(farmer_id: Id, ctx: Ctx, caller: Caller) -> m.FarmerOut:
    return farmer_out(MembershipService(ctx).request_again(caller, farmer_id), caller)


@app.post(
    "/fpos/<fpo_id>/invitations",
    status_code=201,
    tags=["membership"],
    security=PRIVATE,
    summary="Issue a single-use invitation code to join the FPO (the FPO's manager, an admin)",
    openapi_extensions=audited("membership.invite", target="fpo", errors=[404]),
)
def issue_invitation(
    fpo_id: FpoId, ctx: Ctx, caller: Caller, body: IssueInvitationRequest | None = None
) -> InvitationOut:
    return MembershipService(ctx).issue_invitation(caller, fpo_id, body or IssueInvitationRequest())


@app.post(
    "/farmers/<farmer_id>/join",
    tags=["membership"],
    security=PRIVATE,
    summary="A farmer's pending (or rejected, or removed) profile joins its FPO with an invitation code from the "
    "FPO's manager",
    openapi_extensions=audited("membership.join", target="farmer", errors=[404, 409]),
)
def join_fpo(farmer_id: Id, body: JoinRequest, ctx: Ctx, caller: Caller) -> m.FarmerOut:
    return farmer_out(MembershipService(ctx).join(caller, farmer_id, body), caller)


# ---- claiming a profile (decision 0015) ---------------------------------------------------------
@app.post(
    "/farmers/<farmer_id>/claim-code",
    status_code=201,
    tags=["membership"],
    security=PRIVATE,
    summary="Issue the one-time code with which the farmer's own account claims this profile (the FPO's "
    "manager, an admin); optionally texted to the profile's phone",
    openapi_extensions=audited("farmer.claim_code", errors=[409]),
)
def issue_claim_code(
    farmer_id: Id, ctx: Ctx, caller: Caller, sms: Sms, body: IssueClaimCodeRequest | None = None
) -> ClaimCodeOut:
    return ClaimService(ctx, sms).issue(caller, farmer_id, body or IssueClaimCodeRequest())


@app.post(
    "/farmers/<farmer_id>/claim",
    tags=["membership"],
    security=PRIVATE,
    summary="A signed-up farmer claims the profile an FPO manager registered for them, with its claim code",
    openapi_extensions=audited("farmer.claim", errors=[409]),
)
def claim_profile(farmer_id: Id, body: ClaimRequest, ctx: Ctx, caller: Caller) -> m.FarmerOut:
    return farmer_out(ClaimService(ctx).claim(caller, farmer_id, body), caller)


# ---- plots --------------------------------------------------------------------------------------
@app.post(
    "/farmers/<farmer_id>/plots",
    status_code=201,
    tags=["plots"],
    security=PRIVATE,
    summary="Add a plot (GeoJSON Feature); 409 if it overlaps other plots",
    openapi_extensions=audited("plot.create", errors=[404, 409]),
)
def create_plot(farmer_id: Id, body: m.PlotFeature, ctx: Ctx, caller: Caller) -> m.PlotOut:
    svc = PlotService(ctx)
    return svc.get(caller, svc.create(caller, farmer_id, body).plot_id)


@app.get(
    "/farmers/<farmer_id>/plots",
    tags=["plots"],
    security=PRIVATE,
    summary="A farmer's plots",
    openapi_extensions={"x-errors": [404]},
)
def list_plots(farmer_id: Id, ctx: Ctx, caller: Caller) -> m.PlotList:
    return PlotService(ctx).list_for_farmer(caller, farmer_id)


@app.get(
    "/plots/<plot_id>",
    tags=["plots"],
    security=PRIVATE,
    summary="A plot with its seasons and evidence",
    openapi_extensions={"x-errors": [404]},
)
def get_plot(plot_id: Id, ctx: Ctx, caller: Caller) -> m.PlotOut:
    return PlotService(ctx).get(caller, plot_id)


@app.put(
    "/plots/<plot_id>",
    tags=["plots"],
    security=PRIVATE,
    summary="Replace a plot's geometry and properties (optimistic concurrency on version)",
    openapi_extensions=audited("plot.replace", errors=[404, 409]),
)
def put_plot(plot_id: Id, body: m.PutPlotRequest, ctx: Ctx, caller: Caller) -> m.PlotOut:
    svc = PlotService(ctx)
    svc.replace(caller, plot_id, body, body.version)
    return svc.get(caller, plot_id)


# ---- seasons ------------------------------------------------------------------------------------
@app.post(
    "/plots/<plot_id>/seasons",
    status_code=201,
    tags=["seasons"],
    security=PRIVATE,
    summary="Record a season's activity data",
    openapi_extensions=audited("season.record", target="plot", errors=[404, 409]),
)
def create_season(plot_id: Id, body: m.SeasonData, ctx: Ctx, caller: Caller) -> m.SeasonOut:
    return season_out(SeasonService(ctx).create(caller, plot_id, body))


@app.post(
    "/farmers/field-data",
    status_code=201,
    tags=["seasons"],
    security=PRIVATE,
    summary="Submit a plot's season data in one call (same rules as POST /plots/{plot_id}/seasons)",
    openapi_extensions=audited("farmer.field_data", errors=[404, 409]),
)
def field_data(body: m.FieldDataRequest, ctx: Ctx, caller: Caller) -> m.SeasonOut:
    return season_out(SeasonService(ctx).field_data(caller, body))


# ---- sync, uploads, imports -----------------------------------------------------------------------
@app.post(
    "/sync",
    tags=["sync"],
    security=PRIVATE,
    summary="Apply up to 500 offline changes, each at most once",
    openapi_extensions=audited("sync.apply"),
)
def sync(body: m.SyncRequest, ctx: Ctx, caller: Caller) -> m.SyncResponse:
    return SyncService(ctx).apply(caller, body)


@app.post(
    "/uploads",
    status_code=201,
    tags=["evidence"],
    security=PRIVATE,
    summary="Presigned S3 POST for a photo or PDF attached to a plot or season",
    openapi_extensions=audited("upload.create", errors=[404]),
)
def create_upload(body: m.UploadRequest, ctx: Ctx, objects: Objects, caller: Caller) -> m.UploadOut:
    return UploadService(ctx, objects).issue(caller, body)


@app.post(
    "/uploads/<upload_id>/complete",
    tags=["evidence"],
    security=PRIVATE,
    summary="Confirm an upload (HEAD of the object) and mark the evidence stored",
    openapi_extensions=audited("upload.complete", errors=[404, 409]),
)
def complete_upload(upload_id: Id, ctx: Ctx, objects: Objects, caller: Caller) -> m.EvidenceOut:
    return UploadService(ctx, objects).complete(caller, upload_id)


@app.post(
    "/imports/farmers",
    tags=["imports"],
    security=PRIVATE,
    summary="Import farmers from CSV (admin, FPO manager)",
    openapi_extensions=audited("import.farmers"),
)
def import_farmers(body: m.FarmerImportRequest, ctx: Ctx, caller: Caller) -> m.ImportReport:
    return ImportService(ctx).farmers_csv(caller, body)


@app.post(
    "/imports/plots",
    tags=["imports"],
    security=PRIVATE,
    summary="Import plots from a GeoJSON FeatureCollection (admin, FPO manager)",
    openapi_extensions=audited("import.plots"),
)
def import_plots(body: m.PlotImportRequest, ctx: Ctx, caller: Caller) -> m.ImportReport:
    return ImportService(ctx).plots_geojson(caller, body)


lambda_handler = make_handler(app, revocation=lambda: _revocation())  # looked up per call

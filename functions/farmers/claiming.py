"""Claiming a profile (docs/decisions/0015-mfa-and-profile-claiming.md).

An FPO manager (of the farmer's FPO) or an admin registers a farmer who has no account; later the
farmer signs up (``POST /auth/register``, role farmer, no FPO), confirms, logs in and claims the
profile with the one-time code the manager handed over or had texted to the profile's phone:
``POST /farmers/{farmer_id}/claim`` with the code. The account then owns the profile and its
plots, seasons and evidence exactly as a self-registered farmer owns theirs (``owner_user_id`` on
every record, one ``OWNER#<user>`` item): the manager's code grants it, the farmer chooses nothing.

Codes: 80 random bits (16 base32 characters), only the SHA-256 stored, valid 72 hours by default,
single use, one live code per profile (a new one replaces it). Wrong codes are counted on the code
(:data:`MAX_CODE_FAILURES`, then it is locked until the manager issues a new one) and on the
account (:data:`MAX_ACCOUNT_FAILURES` per :data:`ACCOUNT_WINDOW_HOURS`, across profiles), in the farm
table, so every Lambda instance sees the same counts.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from agri_common.farm_table import keys
from agri_common.farm_table.records import ClaimAttempts, ClaimCodeRecord, FarmerRecord, OwnerClaim
from agri_common.platform.errors import (
    BadRequestError,
    ConflictError,
    DependencyError,
    ForbiddenError,
    TooManyRequestsError,
)
from agri_common.platform.inputs import Input
from agri_common.platform.observability import logger
from agri_common.platform.principal import Principal, Role, require_role
from agri_common.single_table import MAX_TRANSACTION_OPS, Check, Op, Put, Txn, Update, WriteConflict, commit
from agri_common.sms import SmsSender, SmsTemplateNotRegistered, template_name
from functions.farmers import examples
from functions.farmers.context import FarmContext, caller_label, not_found
from functions.farmers.membership import code_hash, new_code
from functions.farmers.membership_gate import farmer_plots

CLAIM_DEFAULT_HOURS = 72
CLAIM_MAX_HOURS = 168
MAX_CODE_FAILURES = 5
MAX_ACCOUNT_FAILURES = 10
ACCOUNT_WINDOW_HOURS = 24
CHILD_OPS_PER_TXN = MAX_TRANSACTION_OPS // 4  # owner updates are small: stay well under the limit


# ---- models -------------------------------------------------------------------------------------
class IssueClaimCodeRequest(Input):
    model_config = ConfigDict(json_schema_extra={"examples": [examples.ISSUE_CLAIM_CODE]})
    expires_in_hours: int = Field(
        default=CLAIM_DEFAULT_HOURS, ge=1, le=CLAIM_MAX_HOURS, description="1 hour to 7 days; default 72 hours"
    )
    send_sms: bool = Field(default=False, description="Also text the code to the profile's registered phone")


class ClaimCodeOut(BaseModel):
    farmer_id: str
    code: str = Field(description="Shown once: only its SHA-256 is stored. Single use; replaces any earlier code.")
    expires_at: str
    sms_sent_to: str | None = Field(default=None, description="The phone the code was texted to (masked)")


class ClaimRequest(Input):
    model_config = ConfigDict(json_schema_extra={"examples": [examples.CLAIM]})
    code: str = Field(min_length=8, max_length=40)


# ---- SMS ----------------------------------------------------------------------------------------
SMS_TEMPLATE = template_name("claim_code", "en")  # its DLT template name (agri_common.sms); the text is English


def send_code(sms: SmsSender, phone: str, message: str) -> None:
    """Text the code through the shared sender; any refusal is a 503 and the code stays unchanged."""
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        sms.send(phone, message, template=SMS_TEMPLATE)
    except (BotoCoreError, ClientError, SmsTemplateNotRegistered) as exc:
        raise DependencyError("The SMS could not be sent; the code was not changed") from exc


def masked(phone: str) -> str:
    return phone[:3] + "*" * max(len(phone) - 7, 0) + phone[-4:]


def sms_text(farmer: FarmerRecord, code: str, expires_at: str) -> str:
    return (
        f"AgriMRV: your farmer profile {farmer.farmer_id} can be claimed with code {code} "
        f"(valid until {expires_at[:16].replace('T', ' ')} UTC). Sign up, then claim it in the app."
    )


def _later(now: str, hours: int) -> str:
    return (dt.datetime.fromisoformat(now) + dt.timedelta(hours=hours)).isoformat(timespec="seconds")


def wrong_code() -> BadRequestError:
    # one answer for an unknown profile, no live code, a wrong or a used code: the code is the secret
    return BadRequestError("The claim code is wrong or was already used", code="invalid_claim_code")


# ---- the service ----------------------------------------------------------------------------------
class ClaimService:
    def __init__(self, ctx: FarmContext, sms: SmsSender | None = None):
        self.ctx = ctx
        self.sms = sms

    # ---- the manager's side -----------------------------------------------------------------------
    def issue(self, caller: Principal, farmer_id: str, req: IssueClaimCodeRequest) -> ClaimCodeOut:
        """Anyone but the farmer's FPO manager or an admin gets exactly a missing farmer's 404."""
        if caller.role not in (Role.FPO_MANAGER, Role.ADMIN):
            raise not_found("farmer")
        farmer = FarmerRecord.from_item(self.ctx.store.get(keys.farmer(farmer_id)))
        if farmer is None or (
            caller.role is Role.FPO_MANAGER and (not caller.fpo_id or farmer.fpo_id != caller.fpo_id)
        ):
            raise not_found("farmer")
        if farmer.owner_user_id:
            raise ConflictError("This profile already belongs to an account", code="profile_claimed")
        if req.send_sms and self.sms is None:
            raise DependencyError("SMS is not configured")
        code = new_code()
        now = self.ctx.clock()
        record = ClaimCodeRecord(
            farmer_id=farmer.farmer_id,
            code_hash=code_hash(code),
            expires_at=_later(now, req.expires_in_hours),
            created_by=caller_label(caller),
            created_at=now,
            sent_to=farmer.phone if req.send_sms else None,
        )
        if req.send_sms and self.sms is not None:
            send_code(
                self.sms, farmer.phone, sms_text(farmer, code, record.expires_at)
            )  # before storing: no code unsent
        try:
            self.ctx.store.transact([Put(record.to_item()), Check(farmer.key(), expect={"version": farmer.version})])
        except WriteConflict as exc:  # claimed (or edited) since the read: the code would be useless or stale
            raise ConflictError("The profile changed meanwhile; try again", code="profile_changed") from exc
        logger.info("claim code issued", extra={"farmer_id": farmer.farmer_id, "sms": req.send_sms})
        return ClaimCodeOut(
            farmer_id=farmer.farmer_id,
            code=code,
            expires_at=record.expires_at,
            sms_sent_to=masked(farmer.phone) if req.send_sms else None,
        )

    # ---- the farmer's side ------------------------------------------------------------------------
    def claim(self, caller: Principal, farmer_id: str, req: ClaimRequest) -> FarmerRecord:
        require_role(caller, Role.FARMER)
        now = self.ctx.clock()
        farmer = FarmerRecord.from_item(self.ctx.store.get(keys.farmer(farmer_id)))
        if farmer is not None and farmer.owner_user_id == caller.user_id:
            self._propagate(farmer, caller.user_id)  # a retry after a partial claim: finish it
            return farmer
        attempts = ClaimAttempts.from_item(self.ctx.store.get(keys.claim_attempts(caller.user_id)))
        window_open = attempts is not None and attempts.window_start > _later(now, -ACCOUNT_WINDOW_HOURS)
        if attempts is not None and window_open and attempts.failures >= MAX_ACCOUNT_FAILURES:
            raise TooManyRequestsError(
                "Too many wrong claim codes from this account: try again tomorrow", code="claim_rate_limited"
            )
        record = ClaimCodeRecord.from_item(self.ctx.store.get(keys.claim_code(farmer_id)))
        if record is not None and record.attempts >= MAX_CODE_FAILURES and record.used_by is None:
            raise TooManyRequestsError(
                "Too many wrong codes for this profile: ask your FPO manager for a new code", code="claim_code_locked"
            )
        if farmer is None or record is None or record.used_by is not None or record.code_hash != code_hash(req.code):
            self._count_failure(caller, record, attempts if window_open else None, now)
            raise wrong_code()
        if record.expires_at <= now:
            raise BadRequestError(
                "The claim code has expired: ask your FPO manager for a new one", code="expired_claim_code"
            )
        if farmer.owner_user_id:
            raise ConflictError("This profile already belongs to an account", code="profile_claimed")
        if caller.fpo_id and caller.fpo_id != farmer.fpo_id:  # an account an admin tied to another FPO
            raise ForbiddenError("This account belongs to another FPO", code="fpo_forbidden")
        if self.ctx.store.get(keys.owner(caller.user_id)) is not None:
            raise ConflictError("This account already has a farmer profile", code="profile_exists")

        def build() -> tuple[Txn, FarmerRecord]:
            current = FarmerRecord.from_item(self.ctx.store.get(keys.farmer(farmer_id)))
            if current is None or current.owner_user_id:
                raise ConflictError("This profile already belongs to an account", code="profile_claimed")
            claimed = current.model_copy(
                update={"owner_user_id": caller.user_id, "version": current.version + 1, "updated_at": now}
            )
            txn = Txn()
            txn.add(
                Update(
                    record.key(),
                    set={"used_by": caller_label(caller), "used_at": now},
                    add={"version": 1},
                    expect={"version": record.version, "code_hash": record.code_hash},
                    if_exists=True,
                ),
                on_fail=wrong_code(),  # spent or replaced meanwhile
            )
            txn.add(
                Update(
                    current.key(),
                    set={"owner_user_id": caller.user_id, "version": claimed.version, "updated_at": now},
                    expect={"version": current.version},
                    if_exists=True,
                ),
                race=True,
            )
            txn.add(
                Put(OwnerClaim(user_id=caller.user_id, farmer_id=current.farmer_id).to_item(), if_absent=True),
                on_fail=ConflictError("This account already has a farmer profile", code="profile_exists"),
            )
            return txn, claimed

        claimed: FarmerRecord = commit(self.ctx.store, build)
        logger.info("profile claimed", extra={"farmer_id": claimed.farmer_id})
        self._propagate(claimed, caller.user_id)
        return claimed

    def _count_failure(
        self, caller: Principal, record: ClaimCodeRecord | None, attempts: ClaimAttempts | None, now: str
    ) -> None:
        ops: list[Op] = []
        if attempts is None:  # none yet, or the window is over: a new window
            ops.append(Put(ClaimAttempts(user_id=caller.user_id, window_start=now, failures=1).to_item()))
        else:
            ops.append(Update(attempts.key(), add={"failures": 1}))
        if record is not None and record.used_by is None:
            ops.append(Update(record.key(), add={"attempts": 1, "version": 1}, if_exists=True))
        self.ctx.store.transact(ops)

    def _propagate(self, farmer: FarmerRecord, user_id: str) -> None:
        """The owner onto every record of the profile (plots and their cells, seasons, evidence), in
        transactions of at most :data:`CHILD_OPS_PER_TXN` updates. Idempotent: a claim retried by
        the owner runs it again (a crash between transactions leaves nothing another account sees)."""
        plots = farmer_plots(self.ctx, farmer)
        own = {p["plot_id"] for p in plots}
        ops: list[Op] = []
        for plot in plots:
            sets: dict[str, Any] = {"owner_user_id": user_id}
            for other in plot.get("overlaps", {}):
                if other in own:
                    sets[f"overlaps.{other}.owner_user_id"] = user_id
            ops.append(Update((plot["pk"], plot["sk"]), set=sets, if_exists=True))
            for cell in plot.get("cells", []):
                ops.append(
                    Update(keys.geo_member(cell, plot["plot_id"]), set={"owner_user_id": user_id}, if_exists=True)
                )
            start = None
            while True:
                children, start = self.ctx.store.query(keys.plot_partition(plot["plot_id"]), start=start)
                for child in children:
                    if child.get("kind") in ("season", "evidence"):
                        ops.append(Update((child["pk"], child["sk"]), set={"owner_user_id": user_id}, if_exists=True))
                if not start:
                    break
        for i in range(0, len(ops), CHILD_OPS_PER_TXN):
            self.ctx.store.transact(ops[i : i + CHILD_OPS_PER_TXN])

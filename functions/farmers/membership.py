"""FPO membership needs the FPO's consent (docs/decisions/0007-fpo-membership-consent.md).

A farmer's self-registered profile is a membership *request* (``pending``) until the FPO's
manager (or an admin) approves it, or an approved member at once when the farmer brings a valid
single-use invitation code issued by the manager. Profiles the FPO's manager or an admin create
are approved. Only approved members count: their farmer item sits in the FPO's member index
(``FPO#<id>#FARMERS``, what the MRV plan and the farmers list read), and only their data moves
the FPO's aggregates.

How the aggregates stay exact: every write of a non-member's data goes through :func:`gate`,
which drops the write's aggregate operations and instead bumps the farmer's ``pending_writes``
with a condition that the farmer is still ``pending``. Approval recomputes the farmer's whole
contribution from their records (plots, seasons, stored evidence) and adds it in the same
transaction as the status change, expecting ``pending_writes`` unchanged. So a write racing an
approval either lands before it (and is in the recomputed contribution) or fails its condition
and is retried as a member's write (counted by itself): never lost, never counted twice.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import secrets
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from agri_common.farm_table import keys
from agri_common.farm_table.records import (
    AadhaarClaim,
    FarmerRecord,
    InvitationRecord,
    MembershipStatus,
)
from agri_common.notify import NotificationEvent, notify
from agri_common.platform.errors import ConflictError, UnprocessableError
from agri_common.platform.inputs import Input
from agri_common.platform.principal import Principal, Role, require_role
from agri_common.single_table import MAX_TRANSACTION_OPS, Delete, Put, Txn, Update, commit
from functions.farmers import examples
from functions.farmers.context import FarmContext, caller_label, field_error, not_found
from functions.farmers.membership_gate import contribution as contribution
from functions.farmers.membership_gate import farmer_plots as farmer_plots
from functions.farmers.membership_gate import gate as gate

INVITATION_DEFAULT_HOURS = 168
INVITATION_MAX_HOURS = 720


# ---- models -------------------------------------------------------------------------------------
class IssueInvitationRequest(Input):
    model_config = ConfigDict(json_schema_extra={"examples": [examples.ISSUE_INVITATION]})
    expires_in_hours: int = Field(
        default=INVITATION_DEFAULT_HOURS,
        ge=1,
        le=INVITATION_MAX_HOURS,
        description="How long the code stays valid (1 hour to 30 days; default 7 days)",
    )


class InvitationOut(BaseModel):
    code: str = Field(description="Shown once: only its SHA-256 is stored. Single use.")
    fpo_id: str
    expires_at: str


class JoinRequest(Input):
    model_config = ConfigDict(json_schema_extra={"examples": [examples.JOIN]})
    invitation_code: str = Field(min_length=8, max_length=40)


# ---- invitation codes ---------------------------------------------------------------------------
def new_code() -> str:
    """80 random bits as 16 base32 characters in groups of 4 (no 0/1/8/9 to misread)."""
    raw = base64.b32encode(secrets.token_bytes(10)).decode()
    return "-".join(raw[i : i + 4] for i in range(0, 16, 4))


def code_hash(code: str) -> str:
    normal = "".join(ch for ch in code.upper() if ch.isalnum())
    return hashlib.sha256(normal.encode()).hexdigest()


def invalid_invitation(field: str = "body.invitation_code") -> UnprocessableError:
    # one answer for unknown, expired, used or another FPO's code: the code is the secret
    return field_error(
        field, "The invitation code is not valid for this FPO (unknown, expired or already used)", "invalid_invitation"
    )


def redeem_op(ctx: FarmContext, code: str, fpo_id: str, farmer_id: str, now: str) -> tuple[Update, object]:
    """The conditional update that spends a valid code (raise 422 if it is not valid now)."""
    key = keys.invitation(code_hash(code))
    item = ctx.store.get(key)
    if item is None or item.get("fpo_id") != fpo_id or item.get("uses", 0) or item.get("expires_at", "") <= now:
        raise invalid_invitation()
    return Update(
        key, add={"uses": 1}, set={"used_by_farmer": farmer_id, "used_at": now}, expect={"uses": 0}, if_exists=True
    ), invalid_invitation()


# ---- the service ----------------------------------------------------------------------------------
def tell(
    record: FarmerRecord, kind: Literal["membership_requested", "membership_approved", "membership_rejected"]
) -> None:
    """Hand a membership change to the notification port: a request to the FPO's managers, a
    decision to the farmer (never fails the action; one event per profile version)."""
    notify(
        NotificationEvent(
            kind=kind,
            event_id=f"{kind}:{record.farmer_id}:v{record.version}",
            fpo_id=record.fpo_id,
            farmer_id=record.farmer_id,
            # no name: a manager's inbox outlives the farmer's erasure (docs/decisions/0017), the id is enough
            values={},
        )
    )


class MembershipService:
    def __init__(self, ctx: FarmContext):
        self.ctx = ctx

    def _authorise(self, caller: Principal, fpo_id: str) -> None:
        """Managers act on their own FPO only, admins on any; farmers and auditors never."""
        require_role(caller, Role.FPO_MANAGER, Role.ADMIN)

    def _farmer(self, caller: Principal, fpo_id: str, farmer_id: str) -> FarmerRecord:
        """The farmer of ``fpo_id``; another FPO's manager gets exactly the answer of a missing one."""
        self._authorise(caller, fpo_id)
        record: FarmerRecord | None = FarmerRecord.from_item(self.ctx.store.get(keys.farmer(farmer_id)))
        if (
            record is None
            or record.erased
            or record.fpo_id != fpo_id
            or (caller.role is Role.FPO_MANAGER and caller.fpo_id != fpo_id)
        ):
            raise not_found("farmer")
        return record

    @staticmethod
    def _pending(record: FarmerRecord, *also: str) -> None:
        if record.member_status not in ("pending", *also):
            raise ConflictError(
                f"This membership request was already decided: {record.member_status}", code="membership_decided"
            )

    def _decide(self, record: FarmerRecord, status: MembershipStatus, by: str, now: str) -> tuple[Update, FarmerRecord]:
        """A decision changes the profile, so it moves its version: an edit based on the version
        before it gets an honest 409 (the current version is newer) and re-reads, never a 409
        naming the version the client already holds."""
        updated = record.model_copy(
            update={
                "membership": status,
                "membership_decided_by": by,
                "membership_decided_at": now,
                "version": record.version + 1,
                "aadhaar_duplicate": False if status == "approved" else record.aadhaar_duplicate,
            }
        )
        sets: dict[str, Any] = {
            "membership": status,
            "membership_decided_by": by,
            "membership_decided_at": now,
            **updated.index(),
        }
        if status == "approved":
            sets["aadhaar_duplicate"] = False
        op = Update(
            record.key(),
            set=sets,
            add={"version": 1},
            expect={
                "membership": record.member_status,
                "pending_writes": record.pending_writes,
                "version": record.version,
            },
            if_exists=True,
        )
        return op, updated

    def _approval(self, caller: Principal, record: FarmerRecord, by: str, now: str, txn: Txn) -> FarmerRecord:
        from functions.farmers.logic_plots import PlotService  # (it imports this module)

        op, updated = self._decide(record, "approved", by, now)
        txn.add(op, race=True)
        if record.aadhaar_duplicate and record.aadhaar_hmac:  # the clash may be resolved by now: take the link
            txn.add(
                Put(
                    AadhaarClaim(aadhaar_hmac=record.aadhaar_hmac, farmer_id=record.farmer_id).to_item(), if_absent=True
                ),
                on_fail=ConflictError(
                    "Another profile holds this Aadhaar number: reject one of the two first "
                    "(an admin resolves a clash across FPOs)",
                    code="aadhaar_duplicate",
                ),
            )
        for op in contribution(self.ctx, record):
            txn.add(op)
        PlotService(self.ctx).approval_overlaps(caller, record, txn)  # 409 while a plot overlaps a member's
        self._fits(txn)
        return updated

    @staticmethod
    def _fits(txn: Txn) -> None:
        if len(txn.ops) > MAX_TRANSACTION_OPS:
            raise ConflictError(
                "The farmer's plots and seasons are too many to change their membership in one "
                "transaction; an admin can split the work (contact support)",
                code="membership_too_large",
            )

    def approve(self, caller: Principal, fpo_id: str, farmer_id: str) -> FarmerRecord:
        def build() -> tuple[Txn, FarmerRecord]:
            record = self._farmer(caller, fpo_id, farmer_id)
            self._pending(record)
            txn = Txn()
            return txn, self._approval(caller, record, caller_label(caller), self.ctx.clock(), txn)

        approved: FarmerRecord = commit(self.ctx.store, build)
        tell(approved, "membership_approved")
        return approved

    def reject(self, caller: Principal, fpo_id: str, farmer_id: str) -> FarmerRecord:
        """A request never counted, so no totals move; its Aadhaar link (if it held one) is released
        so the real holder can be registered."""

        def build() -> tuple[Txn, FarmerRecord]:
            record = self._farmer(caller, fpo_id, farmer_id)
            self._pending(record)
            op, updated = self._decide(record, "rejected", caller_label(caller), self.ctx.clock())
            txn = Txn().add(op, race=True)
            if record.aadhaar_hmac and not record.aadhaar_duplicate:
                txn.add(Delete(keys.aadhaar(record.aadhaar_hmac)))
            return txn, updated

        rejected: FarmerRecord = commit(self.ctx.store, build)
        tell(rejected, "membership_rejected")
        return rejected

    def issue_invitation(self, caller: Principal, fpo_id: str, req: IssueInvitationRequest) -> InvitationOut:
        self._authorise(caller, fpo_id)
        if caller.role is Role.FPO_MANAGER and caller.fpo_id != fpo_id:
            raise not_found("FPO")
        if self.ctx.store.get(keys.fpo(fpo_id)) is None:
            raise not_found("FPO")
        now = self.ctx.clock()
        expires = (dt.datetime.fromisoformat(now) + dt.timedelta(hours=req.expires_in_hours)).isoformat(
            timespec="seconds"
        )
        code = new_code()
        invitation = InvitationRecord(
            code_hash=code_hash(code),
            fpo_id=fpo_id,
            expires_at=expires,
            created_by=caller_label(caller),
            created_at=now,
        )
        self.ctx.store.transact(Txn().add(Put(invitation.to_item(), if_absent=True)).ops)
        return InvitationOut(code=code, fpo_id=fpo_id, expires_at=expires)

    def _own(self, caller: Principal, farmer_id: str) -> FarmerRecord:
        """The caller's own profile (a farmer); anyone else's answers like a missing one."""
        require_role(caller, Role.FARMER)
        record: FarmerRecord | None = FarmerRecord.from_item(self.ctx.store.get(keys.farmer(farmer_id)))
        if record is None or record.erased or record.owner_user_id != caller.user_id:
            raise not_found("farmer")
        return record

    def join(self, caller: Principal, farmer_id: str, req: JoinRequest) -> FarmerRecord:
        """A farmer's pending (or rejected, or removed) profile becomes an approved member with a code
        from its FPO's manager: the code is the manager's consent, given after any earlier refusal."""

        def build() -> tuple[Txn, FarmerRecord]:
            record = self._own(caller, farmer_id)
            self._pending(record, "rejected", "removed")
            now = self.ctx.clock()
            spend, error = redeem_op(self.ctx, req.invitation_code, record.fpo_id, farmer_id, now)
            txn = Txn().add(spend, on_fail=error)
            if record.member_status != "pending":  # a rejection released the Aadhaar link: take it back if free
                record = record.model_copy(
                    update={"aadhaar_duplicate": record.aadhaar_duplicate or self._link_lost(record)}
                )
            return txn, self._approval(caller, record, "invitation:" + caller_label(caller), now, txn)

        joined: FarmerRecord = commit(self.ctx.store, build)
        return joined

    def _link_lost(self, record: FarmerRecord) -> bool:
        """Whether the profile's Aadhaar number is no longer linked to it (a rejection releases it)."""
        if not record.aadhaar_hmac:
            return False
        link = self.ctx.store.get(keys.aadhaar(record.aadhaar_hmac))
        return link is None or link.get("farmer_id") != record.farmer_id

    def request_again(self, caller: Principal, farmer_id: str) -> FarmerRecord:
        """A rejected (or removed) farmer asks to join again: the profile becomes a ``pending``
        request for the FPO's manager to decide, once more. One request at a time: a pending
        profile cannot ask again (409), so each request costs the manager at most one decision.
        Nothing moves in the totals (a non-member was not counted). A number whose link the
        rejection released is linked again if still free, else flagged for the manager, exactly
        as at registration (the answer is the same either way)."""

        def build() -> tuple[Txn, FarmerRecord]:
            record = self._own(caller, farmer_id)
            if record.member_status == "pending":
                raise ConflictError(
                    "Your membership request is waiting for the FPO's decision", code="membership_pending"
                )
            if record.member_status == "approved":
                raise ConflictError("You are a member of the FPO already", code="membership_decided")
            txn = Txn()
            duplicate = record.aadhaar_duplicate
            if record.aadhaar_hmac and not duplicate and self._link_lost(record):
                claim = AadhaarClaim(aadhaar_hmac=record.aadhaar_hmac, farmer_id=record.farmer_id)
                if self.ctx.store.get(claim.key()) is None:  # taken concurrently: rebuilt, and then flagged
                    txn.add(Put(claim.to_item(), if_absent=True), race=True)
                else:
                    duplicate = True
            updated = record.model_copy(
                update={
                    "membership": "pending",
                    "membership_decided_by": None,
                    "membership_decided_at": None,
                    "aadhaar_duplicate": duplicate,
                    "version": record.version + 1,
                }
            )
            txn.add(
                Update(
                    record.key(),
                    set={"membership": "pending", "aadhaar_duplicate": duplicate, **updated.index()},
                    remove=("membership_decided_by", "membership_decided_at"),
                    add={"version": 1},
                    expect={
                        "membership": record.member_status,
                        "pending_writes": record.pending_writes,
                        "version": record.version,
                    },
                    if_exists=True,
                ),
                race=True,
            )
            return txn, updated

        requested: FarmerRecord = commit(self.ctx.store, build)
        tell(requested, "membership_requested")
        return requested

    def remove(self, caller: Principal, fpo_id: str, farmer_id: str) -> FarmerRecord:
        """The FPO's manager (or an admin) removes an approved member: status ``removed``, out of the
        member index (so out of future MRV runs), and their whole contribution taken out of the
        FPO's totals in the same transaction, expecting ``member_writes`` unchanged (a member's
        write landing first is in the contribution; one built before and landing after fails its
        ``member_epoch`` guard and is rebuilt as a non-member's, uncounted). Past runs, their
        reports and credits are not touched. The Aadhaar link stays (the member was real)."""

        def build() -> tuple[Txn, FarmerRecord]:
            record = self._farmer(caller, fpo_id, farmer_id)
            if record.member_status != "approved":
                raise ConflictError(
                    f"Only an approved member can be removed (this profile is {record.member_status})",
                    code="not_a_member",
                )
            now = self.ctx.clock()
            by = caller_label(caller)
            updated = record.model_copy(
                update={
                    "membership": "removed",
                    "membership_decided_by": by,
                    "membership_decided_at": now,
                    "version": record.version + 1,
                    "member_epoch": record.member_epoch + 1,
                }
            )
            txn = Txn().add(
                Update(
                    record.key(),
                    set={
                        "membership": "removed",
                        "membership_decided_by": by,
                        "membership_decided_at": now,
                        "updated_at": now,
                        **updated.index(),
                    },
                    add={"version": 1, "member_epoch": 1},
                    expect={
                        "version": record.version,
                        "member_epoch": record.member_epoch,
                        "member_writes": record.member_writes,
                    },
                    if_exists=True,
                ),
                race=True,
            )
            for op in contribution(self.ctx, record, sign=-1):
                txn.add(op)
            self._fits(txn)
            return txn, updated

        removed: FarmerRecord = commit(self.ctx.store, build)
        return removed

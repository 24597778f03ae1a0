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
from dataclasses import replace
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from agri_common.farm_table import aggregates as agg
from agri_common.farm_table import keys
from agri_common.farm_table.records import (
    AadhaarClaim,
    EvidenceRecord,
    FarmerRecord,
    InvitationRecord,
    MembershipStatus,
    PlotRecord,
    SeasonRecord,
)
from agri_common.platform.errors import ConflictError, UnprocessableError
from agri_common.platform.inputs import Input
from agri_common.platform.principal import Principal, Role, require_role
from agri_common.single_table import MAX_TRANSACTION_OPS, Delete, Op, Put, Txn, Update, commit
from functions.farmers import examples
from functions.farmers.context import FarmContext, caller_label, field_error, not_found

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


# ---- the gate on every write of a farmer's data --------------------------------------------------
def _is_aggregate(op: Op) -> bool:
    return keys.is_fpo_aggregate((op.item["pk"], op.item["sk"]) if isinstance(op, Put) else op.key)


def _guard_member(txn: Txn, farmer: FarmerRecord) -> Txn:
    """A member's write keeps its aggregate operations and bumps ``member_writes`` on the farmer,
    expecting ``member_epoch`` unchanged: if the member is removed meanwhile, the write is rebuilt
    (and then not counted); a removal built before the write sees ``member_writes`` move and is
    rebuilt with the write in the contribution it takes out."""
    guard = {"member_epoch": farmer.member_epoch}
    for index, op in enumerate(txn.ops):
        if isinstance(op, Update) and op.key == farmer.key():
            txn.ops[index] = replace(op, add={**op.add, "member_writes": 1}, expect={**op.expect, **guard})
            txn.races.add(index)
            return txn
    return txn.add(Update(farmer.key(), add={"member_writes": 1}, expect=guard, if_exists=True), race=True)


def gate(txn: Txn, farmer: FarmerRecord) -> Txn:
    """A member's write is counted (:func:`_guard_member`). A non-member's write loses its
    aggregate operations and bumps ``pending_writes`` on the farmer, expecting the status it was
    built on (a race guard: if the farmer is approved meanwhile, the write is rebuilt and counted)."""
    if farmer.counted:
        return _guard_member(txn, farmer)
    ops: list[Op] = []
    races: set[int] = set()
    errors: dict[int, Any] = {}
    merged = False
    for index, op in enumerate(txn.ops):
        if _is_aggregate(op):
            continue
        if isinstance(op, Update) and op.key == farmer.key():
            op = replace(op, add={**op.add, "pending_writes": 1}, expect={**op.expect, "membership": farmer.membership})
            merged = True
            races.add(len(ops))
        if index in txn.races:
            races.add(len(ops))
        if index in txn.errors:
            errors[len(ops)] = txn.errors[index]
        ops.append(op)
    if not merged:
        races.add(len(ops))
        ops.append(
            Update(farmer.key(), add={"pending_writes": 1}, expect={"membership": farmer.membership}, if_exists=True)
        )
    txn.ops, txn.races, txn.errors = ops, races, errors
    return txn


# ---- what an approved farmer adds to the FPO's totals -------------------------------------------
def _season_deltas(season: SeasonRecord) -> dict[str, float]:
    a = season.activity
    return agg.season_deltas(
        a["crop"],
        a.get("water_regime"),
        season.area_ha,
        a.get("synthetic_n_kg_per_ha", 0),
        a.get("water_regime_evidence") is not None,
    )


def farmer_plots(ctx: FarmContext, farmer: FarmerRecord) -> list[dict[str, Any]]:
    """Every plot item of ``farmer`` (all pages of the farmer's index), checked against the farmer
    record's ``plot_count``, which ``farmer`` was read with consistently. The index is eventually
    consistent on DynamoDB (moto is not), so a plot written a moment ago can be missing from it; an
    approval or removal counted without it would leave that plot out of the totals for good (the
    write counters cannot see it: the plot's write already moved them). A short read is a 409 to
    retry, never a silent undercount."""
    items: list[dict[str, Any]] = []
    start = None
    while True:
        page, start = ctx.store.query(keys.farmer_plots_index(farmer.farmer_id), index=True, start=start)
        items += page
        if not start:
            break
    if len(items) != farmer.plot_count:
        raise ConflictError(
            "The farmer's newest plots are still being indexed; try again in a moment", code="index_lagging"
        )
    return items


def contribution(ctx: FarmContext, farmer: FarmerRecord, sign: int = 1) -> list[Update]:
    """The aggregate updates that count ``farmer`` and all their data, exactly as the writes
    would have moved them had the farmer been a member all along (one Query for the plots, one per
    plot for its seasons and evidence). ``sign=-1`` takes them out (the migration)."""
    plots = farmer_plots(ctx, farmer)
    fpo: list[dict[str, float]] = [{"members": 1}]
    village: dict[str, float] = {"members": 1, "plots": 0, "area_ha": 0.0, "seasons": 0}
    by_season: dict[str, list[dict[str, float]]] = {}
    for raw in plots:
        plot = PlotRecord.from_item(raw)
        items, _ = ctx.store.query(keys.plot_partition(plot.plot_id))
        seasons = [SeasonRecord.from_item(i) for i in items if i["sk"].startswith(keys.SEASON_PREFIX)]
        stored = [
            i
            for i in items
            if i["sk"].startswith(keys.EVIDENCE_PREFIX) and EvidenceRecord.from_item(i).status == "stored"
        ]
        fpo.append(
            {
                "plots": 1,
                "area_ha": plot.area_ha,
                "plots_with_seasons": 1 if seasons else 0,
                "evidence_files": len(stored),
            }
        )
        village["plots"] += 1
        village["area_ha"] += plot.area_ha
        village["seasons"] += len(seasons)
        for season in seasons:
            deltas = _season_deltas(season)
            fpo.append(deltas)
            by_season.setdefault(season.season_key, []).append(deltas)
    if plots:
        fpo.append({"farmers_with_plots": 1})

    def signed(deltas: dict[str, float]) -> dict[str, float]:
        return {k: sign * v for k, v in deltas.items()}

    ops = [
        agg.fpo_totals(farmer.fpo_id, signed(agg.merge(*fpo))),
        agg.village_totals(farmer.fpo_id, farmer.village, signed(village)),
    ]
    ops += [
        agg.season_totals(farmer.fpo_id, key, signed(agg.merge(*parts))) for key, parts in sorted(by_season.items())
    ]
    return [op for op in ops if op is not None]


# ---- the service ----------------------------------------------------------------------------------
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
        if record is None or record.fpo_id != fpo_id or (caller.role is Role.FPO_MANAGER and caller.fpo_id != fpo_id):
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
        if record is None or record.owner_user_id != caller.user_id:
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


# ---- migration of profiles from before this rule --------------------------------------------------
def migrate_fpo(ctx: FarmContext, fpo_id: str) -> dict[str, int]:
    """Give every profile of ``fpo_id`` registered before the consent rule an explicit status:
    registered by the FPO's manager or an admin (or imported) -> ``approved``, as they were;
    self-registered by a farmer -> ``pending`` (a membership request the manager decides), its
    contribution taken out of the FPO's totals in the same transaction. Idempotent: profiles with
    a status are left alone. Run it in a quiet window: a write to a self-registered farmer's data
    landing between its reads and its transaction could be left counted (the transaction expects
    the farmer's version and counters, which catches plots and new seasons, not season edits or
    evidence)."""
    done = {"approved": 0, "pending": 0}
    start = None
    while True:
        items, start = ctx.store.query(keys.fpo_farmers_index(fpo_id), index=True, limit=100, start=start)
        for item in items:
            if item.get("kind") != "farmer" or item.get("membership"):
                continue
            farmer: FarmerRecord = FarmerRecord.from_item(item)
            self_registered = farmer.created_by.startswith(f"{Role.FARMER.value}:")
            status: MembershipStatus = "pending" if self_registered else "approved"

            def build(farmer: FarmerRecord = farmer, status: MembershipStatus = status) -> tuple[Txn, MembershipStatus]:
                fresh = FarmerRecord.from_item(ctx.store.get(farmer.key()))
                if fresh is None:  # profiles are never deleted: a missing one is the 404 of a farmer not seen
                    raise not_found("farmer")
                updated = fresh.model_copy(update={"membership": status})
                txn = Txn().add(
                    Update(
                        fresh.key(),
                        set={"membership": status, **updated.index()},
                        expect={
                            "membership": 0,
                            "version": fresh.version,  # 0: absent
                            "plot_count": fresh.plot_count,
                            "season_count": fresh.season_count,
                        },
                    ),
                    race=True,
                )
                if status == "pending":
                    for op in contribution(ctx, fresh, sign=-1):
                        txn.add(op)
                return txn, status

            done[commit(ctx.store, build)] += 1
        if not start:
            return done

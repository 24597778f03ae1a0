"""Farmer profiles: who may register whom, Aadhaar handling, listing by scope, versioned edits.

Registration rules: a farmer registers their own profile (one per account, FPO = their token's
FPO when the token has one); an FPO manager registers farmers of their own FPO (no account linked
yet); an admin registers anyone. Auditors register no one. The FPO must exist.
"""

from __future__ import annotations

from typing import Any

from agri_common.farm_table import aggregates as agg
from agri_common.farm_table import keys
from agri_common.farm_table.records import AadhaarClaim, Consent, FarmerRecord, MembershipStatus, OwnerClaim
from agri_common.platform.errors import ConflictError, ForbiddenError
from agri_common.platform.pagination import invalid_token, page_position, page_token
from agri_common.platform.principal import Principal, Role, ensure_can_access, list_scope, require_role
from agri_common.single_table import Put, Txn, Update, commit
from functions.farmers import aadhaar, membership
from functions.farmers import models as m
from functions.farmers.context import (
    FarmContext,
    Receipt,
    VersionConflict,
    caller_label,
    field_error,
    new_id,
    not_found,
)

LIST_ORDER = ("approved", "pending", "rejected", "removed")
PROFILE_FIELDS = ("name", "phone", "village", "district", "state", "preferred_language")


def farmer_out(record: FarmerRecord, caller: Principal | None = None) -> m.FarmerOut:
    """The API view. ``aadhaar_duplicate`` only for the FPO's manager and admins (they resolve a
    clash); a farmer's own view is the same whether their number clashed or not."""
    out = record.model_dump(
        exclude={"aadhaar_hmac", "aadhaar_duplicate", "pending_writes", "member_writes", "member_epoch", "membership"}
    )
    out["membership"] = record.member_status
    if caller is not None and caller.role in (Role.FPO_MANAGER, Role.ADMIN):
        out["aadhaar_duplicate"] = record.aadhaar_duplicate
    return m.FarmerOut.model_validate(out)


def public_content(record: FarmerRecord) -> dict[str, Any]:
    return farmer_out(record).model_dump(mode="json")


class FarmerService:
    def __init__(self, ctx: FarmContext):
        self.ctx = ctx

    # ---- register -------------------------------------------------------------------------------
    def register(
        self,
        caller: Principal,
        req: m.RegisterFarmerRequest,
        *,
        farmer_id: str | None = None,
        receipt: Receipt | None = None,
    ) -> FarmerRecord:
        """Membership (docs/decisions/0007): a farmer's own profile is a request (``pending``) unless
        they bring a valid invitation code of the FPO; the FPO's manager's or an admin's is approved.

        Aadhaar: a number already registered is *not refused* (a 409 would tell any account whether
        a number is registered): the profile is stored without the uniqueness link, flagged
        ``aadhaar_duplicate`` for the FPO's manager or an admin to resolve, and is never a member
        until then. Without an invitation code the farmer's answer is the same either way (with one, the
        profile stays pending instead of approved: decision 0007, "What remains observable")."""
        require_role(caller, Role.FARMER, Role.FPO_MANAGER, Role.ADMIN)
        if caller.role in (Role.FARMER, Role.FPO_MANAGER) and caller.fpo_id and req.fpo_id != caller.fpo_id:
            raise ForbiddenError("You can register farmers only in your own FPO", code="fpo_forbidden")
        if caller.role is Role.FPO_MANAGER and not caller.fpo_id:
            raise ForbiddenError("FPO manager without an FPO", code="no_fpo")
        if req.invitation_code and caller.role is not Role.FARMER:
            raise field_error(
                "body.invitation_code",
                "Invitation codes are for farmers joining an FPO themselves; "
                "profiles registered by the FPO's manager or an admin are members already",
                "invitation_not_needed",
            )
        self.ctx.fpo(req.fpo_id)
        last4: str | None = None
        hmac_hex: str | None = None
        if req.aadhaar:
            number = aadhaar.normalise(req.aadhaar)
            problem = aadhaar.validation_error(number)
            if problem:
                raise field_error("body.aadhaar", problem, "aadhaar_invalid")
            last4, hmac_hex = number[-4:], aadhaar.keyed_hash(number, self.ctx.aadhaar_key())
        farmer_id = farmer_id or new_id("F")

        def build() -> tuple[Txn, FarmerRecord]:
            now = self.ctx.clock()
            txn = Txn()
            duplicate = hmac_hex is not None and self.ctx.store.get(keys.aadhaar(hmac_hex)) is not None
            approved = caller.role is not Role.FARMER
            if req.invitation_code:
                spend, error = membership.redeem_op(self.ctx, req.invitation_code, req.fpo_id, farmer_id, now)
                txn.add(spend, on_fail=error)
                approved = True
            status: MembershipStatus = "approved" if approved and not duplicate else "pending"
            record = FarmerRecord(
                farmer_id=farmer_id,
                fpo_id=req.fpo_id,
                owner_user_id=caller.user_id if caller.role is Role.FARMER else None,
                name=req.name,
                phone=req.phone,
                village=req.village,
                district=req.district,
                state=req.state,
                preferred_language=req.preferred_language,
                consent=Consent(given=True, version=req.consent.version, at=req.consent.at.isoformat()),
                aadhaar_last4=last4,
                aadhaar_hmac=hmac_hex,
                aadhaar_duplicate=duplicate,
                external_id=req.external_id,
                membership=status,
                membership_decided_by=caller_label(caller) if status == "approved" else None,
                membership_decided_at=now if status == "approved" else None,
                created_by=caller_label(caller),
                created_at=now,
            )
            txn.add(
                Put(record.to_item(), if_absent=True),
                on_fail=ConflictError(f"Farmer {record.farmer_id} already exists", code="farmer_exists"),
            )
            if record.owner_user_id:
                txn.add(
                    Put(OwnerClaim(user_id=record.owner_user_id, farmer_id=record.farmer_id).to_item(), if_absent=True),
                    on_fail=ConflictError("This account already has a farmer profile", code="profile_exists"),
                )
            if hmac_hex and not duplicate:  # taken concurrently: rebuilt, and then flagged
                txn.add(
                    Put(AadhaarClaim(aadhaar_hmac=hmac_hex, farmer_id=record.farmer_id).to_item(), if_absent=True),
                    race=True,
                )
            if record.counted:
                txn.add(agg.fpo_totals(record.fpo_id, {"members": 1}))
                txn.add(agg.village_totals(record.fpo_id, record.village, {"members": 1}))
            self.ctx.with_receipt(txn, receipt, "farmer", record.farmer_id, record.version, now)
            return txn, record

        registered: FarmerRecord = commit(self.ctx.store, build)
        if registered.member_status == "pending":  # a farmer's own registration asks the FPO to admit them
            membership.tell(registered, "membership_requested")
        return registered

    # ---- read -----------------------------------------------------------------------------------
    def load(self, farmer_id: str) -> FarmerRecord | None:
        """The farmer, or None when missing or erased: an erasure tombstone (docs/decisions/0017) is
        no profile to read, edit, add data to or issue a statement of (only the erasure route reads it)."""
        record: FarmerRecord | None = FarmerRecord.from_item(self.ctx.store.get(keys.farmer(farmer_id)))
        return None if record is None or record.erased else record

    def load_existing(self, farmer_id: str) -> FarmerRecord:
        """The farmer a stored plot or season names: every one was written under its farmer, and profiles
        are never deleted (an erased or missing one answers 404, like a farmer the caller may not see)."""
        record = self.load(farmer_id)
        if record is None:
            raise not_found("farmer")
        return record

    def get(self, caller: Principal, farmer_id: str) -> FarmerRecord:
        """404 unless the caller may see the farmer; an auditor sees approved members only (a
        request, rejected or removed profile answers exactly like a missing one)."""
        record = self.load(farmer_id)
        if record is None or (caller.role is Role.AUDITOR and not record.counted):
            raise not_found("farmer")  # the answer ensure_can_access gives one the caller may not see
        ensure_can_access(caller, record.owned(), what="farmer")
        return record

    def list(
        self,
        caller: Principal,
        fpo_id: str | None,
        village: str | None,
        limit: int,
        next_token: str | None,
        status: str | None = None,
    ) -> m.FarmerPage:
        """Farmers of one FPO (optionally one village, one membership status), by the gsi1 index;
        never a Scan. Without ``status``: the members, then the pending requests, then the rejected
        ones (one index partition each, see ``keys.farmer_index``); auditors see members only."""
        if caller.role is Role.AUDITOR:  # the FPOs of their projects only (an FPO outside them lists nothing)
            fpos = list_scope(caller).fpo_ids
            if fpo_id is None and len(fpos) > 1:
                raise field_error(
                    "query.fpo_id",
                    f"Your projects cover several FPOs: give fpo_id (one of {', '.join(sorted(fpos))})",
                    "missing",
                )
            fpo_id = fpo_id or next(iter(fpos), None)
            if fpo_id not in fpos or status not in (None, "approved"):
                return m.FarmerPage(items=[])
        if caller.role is Role.FARMER:
            owner = self.ctx.store.get(keys.owner(caller.user_id))
            record = self.load(owner["farmer_id"]) if owner else None
            visible = (
                record is not None
                and (not fpo_id or record.fpo_id == fpo_id)
                and (not village or record.village.casefold() == village.casefold())
                and (not status or record.member_status == status)
            )
            return m.FarmerPage(items=[farmer_out(record, caller)] if record is not None and visible else [])
        if caller.role is Role.FPO_MANAGER:
            if fpo_id and fpo_id != caller.fpo_id:
                raise not_found("FPO")
            fpo_id = caller.fpo_id
        if not fpo_id:
            raise field_error("query.fpo_id", "Admins list farmers one FPO at a time: give fpo_id", "missing")
        scope = {"fpo_id": fpo_id, "village": village, "status": status}
        position = page_position(next_token, scope)  # {"p": list part, "k": its key, checked by the store}
        parts = [status] if status else ([LIST_ORDER[0]] if caller.role is Role.AUDITOR else list(LIST_ORDER))
        if position is not None and (
            not isinstance(position, dict)
            or not set(position) <= {"p", "k"}
            or type(position.get("p", 0)) is not int
            or position.get("p", 0) not in range(len(parts))
        ):
            raise invalid_token()
        part, start = (position.get("p", 0), position.get("k")) if position else (0, None)
        page: list[m.FarmerOut] = []
        token = None
        while part < len(parts):
            items, last = self.ctx.store.query(
                keys.fpo_farmers_index(fpo_id, parts[part]),
                prefix=f"{village.casefold()}#" if village else "",
                index=True,
                limit=limit - len(page),
                start=start,
            )
            page += [farmer_out(FarmerRecord.from_item(i), caller) for i in items[: limit - len(page)]]
            if last:
                token = page_token(scope, {"p": part, "k": last})
                break
            part, start = part + 1, None
            if len(page) >= limit:
                if part < len(parts):
                    token = page_token(scope, {"p": part, "k": None})
                break
        return m.FarmerPage(items=page, next_token=token)

    # ---- update ---------------------------------------------------------------------------------
    def patch(
        self, caller: Principal, farmer_id: str, req: m.PatchFarmerRequest, *, receipt: Receipt | None = None
    ) -> FarmerRecord:
        require_role(caller, Role.FARMER, Role.FPO_MANAGER, Role.ADMIN)
        changes = req.model_dump(exclude_unset=True, exclude={"version"})

        def build() -> tuple[Txn, FarmerRecord]:
            current = self.get(caller, farmer_id)
            if current.version != req.version:
                raise VersionConflict("farmer", public_content(current))
            now = self.ctx.clock()
            values = {k: v for k, v in changes.items() if k in PROFILE_FIELDS}
            consent: dict[str, Consent] = {}
            if req.consent is not None:
                consent["consent"] = Consent(given=True, version=req.consent.version, at=req.consent.at.isoformat())
                values["consent"] = consent["consent"].model_dump()
            updated = current.model_copy(
                update={**values, **consent, "version": current.version + 1, "updated_at": now}
            )
            txn = Txn()
            sets = {**values, "updated_at": now, **updated.index()}
            txn.add(
                Update(current.key(), set=sets, add={"version": 1}, expect={"version": current.version}),
                on_fail=lambda: VersionConflict("farmer", public_content(self.load_existing(farmer_id))),
            )
            if updated.village.casefold() != current.village.casefold():
                moved = {
                    "members": 1,
                    "plots": current.plot_count,
                    "area_ha": current.area_ha,
                    "seasons": current.season_count,
                }
                txn.add(agg.village_totals(current.fpo_id, current.village, {k: -v for k, v in moved.items()}))
                txn.add(agg.village_totals(current.fpo_id, updated.village, moved))
            self.ctx.with_receipt(txn, receipt, "farmer", farmer_id, updated.version, now)
            return membership.gate(txn, current), updated

        patched: FarmerRecord = commit(self.ctx.store, build)
        return patched

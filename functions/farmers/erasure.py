"""A farmer's personal-data erasure and consent withdrawal (docs/decisions/0017-personal-data-erasure.md).

``POST /farmers/{farmer_id}/erasure``: the farmer themself (their own account) or an admin on their
behalf; anyone else gets exactly the 404 of a missing farmer. Three phases:

1. **Tombstone** (one transaction): the profile loses every personal value (name, phone, preferred
   language, Aadhaar last digits and keyed hash, external id), its consent is recorded as withdrawn,
   it leaves every membership list and the FPO's totals (as a removal does), and its Aadhaar
   uniqueness link is deleted. From here on the profile reads as missing everywhere (``FarmerService.load``)
   and no run counts it; there is never a half-erased profile that looks whole.
2. **Per-store erasers** (:class:`Eraser`, in order; each idempotent): evidence files (every
   version) and their items, plots and seasons without identity, the farmer's ledger salt
   (crypto-shredding), their account id on the ledger's records and blocks (unlinked by the ledger
   writer), their notifications, their account. After each one the tombstone moves the store from
   ``remaining`` to ``erased``; a failure stops there and the answer says what remains
   (``status: in_progress``): the same request again resumes.
3. **Complete**: the account link (``owner_user_id``, the owner claim) goes last, so the farmer can
   resume their own erasure until it is complete. A later request (an admin) answers the same
   tombstone after sweeping again the stores a late write can reach (:data:`SWEPT_AGAIN`: an upload
   presigned before the erasure), docs/decisions/0022.

A store added later plugs in as one more :class:`Eraser` (its ``name`` goes to the tombstone).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from agri_common.farm_table import keys
from agri_common.farm_table.records import Erasure, FarmerRecord, PlotRecord
from agri_common.platform.errors import ConflictError, DependencyError
from agri_common.platform.observability import logger
from agri_common.platform.principal import Principal, Role
from agri_common.single_table import MAX_TRANSACTION_OPS, Delete, Op, Txn, Update, commit, iter_chunks
from functions.farmers import models as m
from functions.farmers.context import FarmContext, not_found
from functions.farmers.logic_uploads import PRESIGN_SECONDS
from functions.farmers.membership_gate import contribution

# The stores that can receive the farmer's data after their eraser ran: an evidence upload presigned
# before the tombstone (valid PRESIGN_SECONDS, functions/farmers/logic_uploads.py) may still land. Every
# repeated request (a resumed or a complete erasure) runs these erasers again (docs/decisions/0022).
SWEPT_AGAIN = frozenset({"evidence"})

# Profile attributes that are personal: blanked (required text) or removed (optional ones).
BLANKED = ("name", "phone", "preferred_language")
# (its membership index keys, gsi1pk/gsi1sk, are replaced by the late-upload sweep's: out of every list)
REMOVED = ("aadhaar_last4", "aadhaar_hmac", "external_id")
# When the scheduled sweep runs the SWEPT_AGAIN erasers once more: after the last upload URL issued before
# the erasure expired (PRESIGN_SECONDS), with time for an upload started just before to finish.
SWEEP_AFTER = timedelta(seconds=PRESIGN_SECONDS) + timedelta(minutes=15)
SWEEP_PAGE = 50  # tombstones per run of the scheduled sweep (every 15 minutes)


@dataclass(frozen=True)
class ErasureTarget:
    """What an eraser needs to find the farmer's data in its store (no personal value)."""

    farmer_id: str
    fpo_id: str
    owner_user_id: str | None


class Eraser(Protocol):
    """One store's part of an erasure. ``erase`` is idempotent (a retry after a partial failure
    finishes the work) and raises on failure; ``name`` is what the tombstone lists."""

    name: str

    def erase(self, target: ErasureTarget) -> None: ...


def utc_z(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def sweep_due(requested_at: str) -> str:
    """When an erasure requested at ``requested_at`` (ISO 8601 with an offset) gets its final sweep."""
    return utc_z(datetime.fromisoformat(requested_at.replace("Z", "+00:00")) + SWEEP_AFTER)


def erasure_out(farmer_id: str, erasure: Erasure) -> m.ErasureOut:
    return m.ErasureOut(farmer_id=farmer_id, **erasure.model_dump())


def requested_by(caller: Principal) -> str:
    """Who asked, without the farmer's own account id (that is personal)."""
    return "farmer:self" if caller.role is Role.FARMER else f"{caller.role.value}:{caller.user_id}"


class ErasureService:
    def __init__(self, ctx: FarmContext, erasers: Sequence[Eraser]):
        self.ctx = ctx
        self.erasers = list(erasers)

    def _read(self, farmer_id: str) -> FarmerRecord | None:
        record: FarmerRecord | None = FarmerRecord.from_item(self.ctx.store.get(keys.farmer(farmer_id)))
        return record

    def _authorised(self, caller: Principal, record: FarmerRecord | None) -> FarmerRecord:
        """The farmer themself (while their account owns the profile) or an admin; anyone else, an
        FPO manager included, gets the answer of a missing farmer (same status, code and message)."""
        allowed = record is not None and (
            caller.role is Role.ADMIN
            or (
                caller.role is Role.FARMER
                and record.owner_user_id is not None
                and record.owner_user_id == caller.user_id
            )
        )
        if record is None or not allowed:
            raise not_found("farmer")
        return record

    def erase(self, caller: Principal, farmer_id: str) -> m.ErasureOut:
        record = self._authorised(caller, self._read(farmer_id))
        if record.erasure is None:
            record = self._tombstone(caller, farmer_id)
        else:  # a repeated request: what could land after the first pass is swept again
            self._sweep(record, record.erasure)
        erasure = record.erasure
        assert erasure is not None
        if erasure.status == "complete":
            return erasure_out(farmer_id, erasure)
        target = ErasureTarget(farmer_id=farmer_id, fpo_id=record.fpo_id, owner_user_id=record.owner_user_id)
        known = {*erasure.erased, *erasure.remaining}  # a store added since the tombstone was written runs too
        erasure = erasure.model_copy(
            update={"remaining": [*erasure.remaining, *(e.name for e in self.erasers if e.name not in known)]}
        )
        for eraser in self.erasers:
            if eraser.name not in erasure.remaining:
                continue
            try:
                eraser.erase(target)
            except Exception:  # reported, resumable: the tombstone keeps the store in `remaining`
                logger.exception("erasure step failed", extra={"farmer_id": farmer_id, "step": eraser.name})
                return erasure_out(farmer_id, erasure)
            erasure = erasure.model_copy(
                update={
                    "remaining": [n for n in erasure.remaining if n != eraser.name],
                    "erased": [*erasure.erased, eraser.name],
                }
            )
            self.ctx.store.transact(
                [
                    Update(
                        record.key(),
                        set={"erasure.remaining": erasure.remaining, "erasure.erased": erasure.erased},
                        if_exists=True,
                    )
                ]
            )
        if erasure.remaining:  # a name no eraser of this deployment knows: reported, never dropped
            return erasure_out(farmer_id, erasure)
        return erasure_out(farmer_id, self._complete(record, erasure))

    def _sweep(self, record: FarmerRecord, erasure: Erasure) -> None:
        """Run again the erasers of :data:`SWEPT_AGAIN` that already ran: an upload presigned before the
        tombstone may land after the evidence eraser (docs/decisions/0022). A failure is a 503 (the
        tombstone is unchanged; the same request again sweeps again), never a silent no-op."""
        target = ErasureTarget(farmer_id=record.farmer_id, fpo_id=record.fpo_id, owner_user_id=record.owner_user_id)
        for eraser in self.erasers:
            if eraser.name not in SWEPT_AGAIN or eraser.name not in erasure.erased:
                continue
            try:
                eraser.erase(target)
            except Exception as exc:
                logger.exception("erasure sweep failed", extra={"farmer_id": record.farmer_id, "step": eraser.name})
                raise DependencyError(
                    f"The erasure's sweep of {eraser.name} failed; repeat the request", code="erasure_sweep_failed"
                ) from exc

    def _tombstone(self, caller: Principal, farmer_id: str) -> FarmerRecord:
        """Phase 1, one transaction (rebuilt on a race with a concurrent write of the farmer's data)."""

        def build() -> tuple[Txn, FarmerRecord]:
            current = self._authorised(caller, self._read(farmer_id))
            if current.erasure is not None:  # a concurrent request started it
                return Txn(), current
            now = self.ctx.clock()
            by = requested_by(caller)
            erasure = Erasure(
                status="in_progress",
                requested_at=now,
                requested_by=by,
                consent_withdrawn_at=now,
                remaining=[e.name for e in self.erasers],
            )
            consent = {"given": False, "version": current.consent.version, "at": now}
            sweep = keys.erasure_sweep_index(sweep_due(now), farmer_id)
            txn = Txn().add(
                Update(
                    current.key(),
                    set={
                        **{f: "" for f in BLANKED},
                        "consent": consent,
                        "erasure": erasure.model_dump(),
                        "membership": "removed",
                        "membership_decided_by": f"erasure:{by}",
                        "membership_decided_at": now,
                        "updated_at": now,
                        # a self-registered profile names its creator by account id: that is the farmer's
                        "created_by": "farmer:self" if current.created_by.startswith("farmer:") else current.created_by,
                        **sweep,  # out of every membership list, into the late-upload sweep's
                    },
                    remove=REMOVED,
                    add={"version": 1, "member_epoch": 1},
                    expect={
                        "version": current.version,
                        "member_epoch": current.member_epoch,
                        "member_writes": current.member_writes,
                        "pending_writes": current.pending_writes,
                    },
                    if_exists=True,
                ),
                race=True,
            )
            if current.counted:  # its whole contribution leaves the FPO's totals, as a removal's does
                for op in contribution(self.ctx, current, sign=-1):
                    txn.add(op)
            if current.aadhaar_hmac:
                claim = self.ctx.store.get(keys.aadhaar(current.aadhaar_hmac))
                if claim is not None and claim.get("farmer_id") == farmer_id:
                    txn.add(Delete(keys.aadhaar(current.aadhaar_hmac)))
            if len(txn.ops) > MAX_TRANSACTION_OPS:
                raise ConflictError(
                    "The farmer's seasons are too many to erase in one transaction; contact support",
                    code="erasure_too_large",
                )
            tomb = current.model_copy(
                update={
                    **{f: "" for f in BLANKED},
                    **{f: None for f in ("aadhaar_last4", "aadhaar_hmac", "external_id")},
                    "erasure": erasure,
                    "membership": "removed",
                }
            )
            return txn, tomb

        tombstone: FarmerRecord = commit(self.ctx.store, build)
        return tombstone

    def _complete(self, record: FarmerRecord, erasure: Erasure) -> Erasure:
        """Phase 3: the account link goes last (until now the farmer could resume their own erasure)."""
        done = erasure.model_copy(update={"status": "complete", "completed_at": self.ctx.clock()})
        ops: list[Op] = [
            Update(
                record.key(),
                set={"erasure.status": done.status, "erasure.completed_at": done.completed_at},
                remove=("owner_user_id",),
                if_exists=True,
            )
        ]
        if record.owner_user_id:
            claim = self.ctx.store.get(keys.owner(record.owner_user_id))
            if claim is not None and claim.get("farmer_id") == record.farmer_id:
                ops.append(Delete(keys.owner(record.owner_user_id)))
        self.ctx.store.transact(ops)
        return done


@dataclass
class SweepReport:
    swept: list[str]  # farmer ids whose late-upload sweep ran (their sweep keys removed)
    failed: list[str]  # farmer ids whose sweep failed (kept: the next run tries again)
    more: bool  # more tombstones were due than one run takes


class ErasureSweeper:
    """The scheduled late-upload sweep (docs/decisions/0022): every tombstone whose sweep is due
    (:data:`SWEEP_AFTER` after the erasure was requested: no upload URL issued before it is valid any
    more) gets the :data:`SWEPT_AGAIN` erasers once more, then leaves the sweep index. One Query of that
    index (no Scan); a failure keeps the tombstone in it for the next run."""

    def __init__(self, ctx: FarmContext, erasers: Sequence[Eraser]):
        self.ctx = ctx
        self.erasers = [e for e in erasers if e.name in SWEPT_AGAIN]

    def sweep(self, now: datetime) -> SweepReport:
        cutoff = utc_z(now)
        items, start = self.ctx.store.query(keys.ERASURE_SWEEP_INDEX, index=True, limit=SWEEP_PAGE)
        report = SweepReport(swept=[], failed=[], more=False)
        for item in items:
            due = str(item["gsi1sk"])
            if due.split("#", 1)[0] > cutoff:  # sorted by due time: the rest is not due either
                return report
            farmer_id = str(item["farmer_id"])
            try:
                for eraser in self.erasers:
                    eraser.erase(ErasureTarget(farmer_id=farmer_id, fpo_id=str(item["fpo_id"]), owner_user_id=None))
                self.ctx.store.transact(
                    [
                        Update(
                            keys.farmer(farmer_id), remove=("gsi1pk", "gsi1sk"), expect={"gsi1sk": due}, if_exists=True
                        )
                    ]
                )
            except Exception:  # reported and counted; the tombstone stays due
                logger.exception("erasure sweep failed", extra={"farmer_id": farmer_id})
                report.failed.append(farmer_id)
                continue
            report.swept.append(farmer_id)
        report.more = bool(start)
        return report


# ---- the farm table's erasers ----------------------------------------------------------------------
def farmer_plot_items(ctx: FarmContext, farmer_id: str) -> list[dict[str, Any]]:
    """Every plot item of the farmer (all pages of the farmer's plot index)."""
    items: list[dict[str, Any]] = []
    start = None
    while True:
        page, start = ctx.store.query(keys.farmer_plots_index(farmer_id), index=True, start=start)
        items += page
        if not start:
            return items


def apply_in_chunks(ctx: FarmContext, ops: list[Op]) -> None:
    """Idempotent operations, applied in transactions of at most 100 (a retry re-applies them all)."""
    for chunk in iter_chunks(ops, MAX_TRANSACTION_OPS):
        ctx.store.transact(chunk)


class EvidenceFiles(Protocol):
    def delete_prefix(self, prefix: str) -> int:
        """Delete every object (every version) under ``prefix``; the number of versions deleted."""


def plot_evidence_prefix(fpo_id: str, plot_id: str) -> str:
    """Where a plot's evidence files are (functions/farmers/logic_uploads.py names them)."""
    return f"evidence/{fpo_id}/{plot_id}/"


class EvidenceEraser:
    """Evidence files (photos, PDFs: every version of every object under each plot's prefix, also
    one uploaded without completing) and their items (description, coordinates, uploader)."""

    name = "evidence"

    def __init__(self, ctx: FarmContext, files: EvidenceFiles):
        self.ctx = ctx
        self.files = files

    def erase(self, target: ErasureTarget) -> None:
        for raw in farmer_plot_items(self.ctx, target.farmer_id):
            plot = PlotRecord.from_item(raw)
            self.files.delete_prefix(plot_evidence_prefix(plot.fpo_id, plot.plot_id))
            items, _ = self.ctx.store.query(keys.plot_partition(plot.plot_id), prefix=keys.EVIDENCE_PREFIX)
            ops: list[Op] = [Delete((i["pk"], i["sk"])) for i in items]
            if ops:
                ops.append(Update(plot.key(), set={"evidence_count": 0}, if_exists=True))
            apply_in_chunks(self.ctx, ops)


class PlotEraser:
    """Plots and seasons stay (they back issued credits: area, geometry, practices, numbers) without
    identity: no plot name or external id, no account id on the plot, its seasons, its geo cells or
    the overlap notes of other plots, no free text in the seasons' water-regime evidence."""

    name = "plots"

    def __init__(self, ctx: FarmContext):
        self.ctx = ctx

    def erase(self, target: ErasureTarget) -> None:
        for raw in farmer_plot_items(self.ctx, target.farmer_id):
            plot = PlotRecord.from_item(raw)
            ops: list[Op] = [Update(plot.key(), remove=("name", "external_id", "owner_user_id"), if_exists=True)]
            seasons, _ = self.ctx.store.query(keys.plot_partition(plot.plot_id), prefix=keys.SEASON_PREFIX)
            for season in seasons:
                remove = ["owner_user_id"]
                evidence = (season.get("activity") or {}).get("water_regime_evidence") or {}
                if "description" in evidence:
                    remove.append("activity.water_regime_evidence.description")
                ops.append(Update((season["pk"], season["sk"]), remove=tuple(remove), if_exists=True))
            members = self.ctx.store.batch_get([keys.geo_member(cell, plot.plot_id) for cell in plot.cells])
            ops += [Update((g["pk"], g["sk"]), remove=("owner_user_id",), if_exists=True) for g in members]
            others = (
                self.ctx.store.batch_get([keys.plot(pid) for pid in sorted(plot.overlaps)]) if plot.overlaps else []
            )
            ops += [
                Update((o["pk"], o["sk"]), remove=(f"overlaps.{plot.plot_id}.owner_user_id",), if_exists=True)
                for o in others
                if "owner_user_id" in ((o.get("overlaps") or {}).get(plot.plot_id) or {})
            ]
            apply_in_chunks(self.ctx, ops)


# ---- other stores' erasers ---------------------------------------------------------------------------
class LedgerSalts(Protocol):
    def shred_salt(self, farmer_id: str) -> None:
        """Replace the farmer's ledger salt by an erased marker (also when there was none yet, so a run
        issued after the erasure names no one: decision 0022); repeating it is harmless."""


class LedgerSaltEraser:
    """Crypto-shredding: the ledger names a farmer only as ``sha256(salt || farmer_id)``; without the
    salt no record can be linked to the farmer again, and no record or hash changes."""

    name = "ledger_salt"

    def __init__(self, salts: LedgerSalts):
        self.salts = salts

    def erase(self, target: ErasureTarget) -> None:
        self.salts.shred_salt(target.farmer_id)


class LedgerOwners(Protocol):
    def unlink_owner(self, user_id: str) -> None:
        """Take the account id off the ledger's records and credit blocks (outside every hashed body), to
        the end; raise if that is not done (a retry resumes: what is unlinked stays unlinked)."""


class LedgerOwnerEraser:
    """The farmer's account id beside their ledger records (the owner index) and on their credit blocks:
    unlinked by the ledger writer, the one writer of those items (functions/ledger/unlinking.py); no
    hashed body changes, every record still verifies (docs/decisions/0022)."""

    name = "ledger_owner"

    def __init__(self, owners: LedgerOwners):
        self.owners = owners

    def erase(self, target: ErasureTarget) -> None:
        if target.owner_user_id:
            self.owners.unlink_owner(target.owner_user_id)


class Accounts(Protocol):
    def erase_account(self, user_id: str) -> None:
        """Revoke every token of the account and delete it (no error when it is gone already)."""


class AccountEraser:
    """The farmer's own sign-in account (phone number, name attributes), if the profile has one."""

    name = "account"

    def __init__(self, accounts: Accounts):
        self.accounts = accounts

    def erase(self, target: ErasureTarget) -> None:
        if target.owner_user_id:
            self.accounts.erase_account(target.owner_user_id)


class Notifications(Protocol):
    def erase_farmer(self, farmer_id: str) -> int:
        """Delete what was sent to the farmer's profile (texts to its phone, delivery statuses)."""

    def erase_user(self, user_id: str) -> int:
        """Delete an account's in-app notifications and preferences."""


class NotificationsEraser:
    """The farmer's notifications: rendered texts carry names and amounts, preferences a language and
    channels. Owned by the notifications domain (functions/notifications/store.py); this only calls it."""

    name = "notifications"

    def __init__(self, notifications: Notifications):
        self.notifications = notifications

    def erase(self, target: ErasureTarget) -> None:
        self.notifications.erase_farmer(target.farmer_id)
        if target.owner_user_id:
            self.notifications.erase_user(target.owner_user_id)

"""Stored records of the farm table (what is in DynamoDB, not what the API shows).

Each record knows its key and turns into / out of a table item. Farmers, plots and seasons carry
``fpo_id`` and ``owner_user_id`` denormalised, so one read answers both "what is it" and "who may
see it" (:meth:`owned`), and a plot's access check never needs its farmer's item.
"""

from __future__ import annotations

import json
from typing import Any, ClassVar, Literal

from pydantic import BaseModel, Field, model_validator

from agri_common.farm_table import keys
from agri_common.platform.principal import Owned
from agri_common.single_table import Stored


class Record(Stored):
    version: int = 1
    created_at: str
    updated_at: str | None = None


class FpoRecord(Record):
    kind: ClassVar[str] = "fpo"
    fpo_id: str
    name: str
    state: str
    district: str | None = None
    registration_number: str | None = None
    created_by: str

    def key(self) -> keys.Key:
        return keys.fpo(self.fpo_id)


class Consent(BaseModel):
    given: bool
    version: str
    at: str


ErasureStatus = Literal["in_progress", "complete"]


class Erasure(BaseModel):
    """The tombstone of an erased farmer (docs/decisions/0017): no personal value, only what happened.

    ``requested_by`` is a role label (``farmer:self`` or ``admin:<admin user id>``), never the farmer's
    account id; ``remaining`` lists the stores still to erase while ``status`` is ``in_progress``."""

    status: ErasureStatus
    requested_at: str
    requested_by: str
    consent_withdrawn_at: str
    completed_at: str | None = None
    erased: list[str] = Field(default_factory=list)
    remaining: list[str] = Field(default_factory=list)


MembershipStatus = Literal["pending", "approved", "rejected", "removed"]
"""The one spelling of the membership statuses (typing caches ``Literal[...] | None`` by the set of its
values, so two spellings in another order would make the OpenAPI enum order depend on import order)."""


class FarmerRecord(Record):
    kind: ClassVar[str] = "farmer"
    farmer_id: str
    fpo_id: str
    owner_user_id: str | None = None
    name: str
    phone: str
    village: str
    district: str
    state: str
    preferred_language: str
    consent: Consent
    aadhaar_last4: str | None = None
    aadhaar_hmac: str | None = None  # never returned by the API; the number itself is never stored
    external_id: str | None = None
    created_by: str
    plot_count: int = 0
    area_ha: float = 0.0
    season_count: int = 0
    # FPO membership (docs/decisions/0007): absent on profiles from before the consent rule = an
    # approved member (functions/farmers/migrate_membership.py turns old self-registered ones into requests).
    membership: MembershipStatus | None = None
    membership_decided_by: str | None = None
    membership_decided_at: str | None = None
    pending_writes: int = 0  # bumped by every write of a non-member's data: approval expects it unchanged
    member_writes: int = 0  # bumped by every write of a member's data: removal expects it unchanged
    member_epoch: int = 0  # bumped by removal: a member's write expects it unchanged (else it is rebuilt, uncounted)
    aadhaar_duplicate: bool = False  # the number was already registered: not linked, for the FPO to resolve
    erasure: Erasure | None = None  # set when the farmer's personal data is erased: the profile is a tombstone

    @property
    def erased(self) -> bool:
        """Whether the profile is an erasure tombstone (in progress or complete): no read or write of it."""
        return self.erasure is not None

    @property
    def member_status(self) -> str:
        return self.membership or "approved"

    @property
    def counted(self) -> bool:
        """Whether the FPO's totals, dashboards and MRV runs count this farmer and their data (never an
        erased farmer: consent is withdrawn)."""
        return self.member_status == "approved" and self.erasure is None

    @model_validator(mode="before")
    @classmethod
    def _legacy_nulls(cls, item: Any) -> Any:
        """Before the farmers PATCH refused ``null``, ``{"name": null}`` was stored as is. Such a
        record reads with "" in place of the missing text, so that it lists, shows and can be repaired by a
        PATCH instead of failing every read of it (and of its FPO's list) with a 500."""
        if isinstance(item, dict) and any(item.get(f) is None for f in cls.PROFILE_TEXT):
            item = {**item, **{f: "" for f in cls.PROFILE_TEXT if item.get(f) is None}}
        return item

    PROFILE_TEXT: ClassVar[tuple[str, ...]] = ("name", "phone", "village", "district", "state", "preferred_language")

    def key(self) -> keys.Key:
        return keys.farmer(self.farmer_id)

    def index(self) -> dict[str, str]:
        return keys.farmer_index(self.fpo_id, self.village, self.farmer_id, self.member_status)

    def owned(self) -> Owned:
        return Owned(owner_user_id=self.owner_user_id, fpo_id=self.fpo_id)


class PlotRecord(Record):
    kind: ClassVar[str] = "plot"
    plot_id: str
    farmer_id: str
    fpo_id: str
    owner_user_id: str | None = None
    name: str | None = None
    geometry_json: str  # GeoJSON geometry, kept as text: exact coordinates, no Decimal round trip
    area_ha: float
    declared_area_ha: float | None = None
    area_mismatch: bool = False
    centroid: list[float]  # [lon, lat]
    geohash: str
    cells: list[str]
    overlaps: dict[str, dict[str, Any]] = Field(default_factory=dict)  # plot id -> {overlap_ha, fpo_id, owner_user_id}
    season_count: int = 0
    evidence_count: int = 0
    external_id: str | None = None

    def key(self) -> keys.Key:
        return keys.plot(self.plot_id)

    def index(self) -> dict[str, str]:
        return keys.plot_index(self.farmer_id, self.plot_id)

    def owned(self) -> Owned:
        return Owned(owner_user_id=self.owner_user_id, fpo_id=self.fpo_id)

    @property
    def geometry(self) -> dict[str, Any]:
        shape: dict[str, Any] = json.loads(self.geometry_json)
        return shape


class SeasonRecord(Record):
    kind: ClassVar[str] = "season"
    plot_id: str
    season_key: str  # "<year>-<kharif|rabi|zaid>", unique per plot
    farmer_id: str
    fpo_id: str
    owner_user_id: str | None = None
    area_ha: float  # the plot's area when the season was recorded (what the aggregates counted)
    activity: dict[str, Any]  # the SeasonData as submitted, yield included: one copy, the pipeline reads it here

    def key(self) -> keys.Key:
        return keys.season(self.plot_id, self.season_key)

    def owned(self) -> Owned:
        return Owned(owner_user_id=self.owner_user_id, fpo_id=self.fpo_id)


class EvidenceRecord(Record):
    kind: ClassVar[str] = "evidence"
    upload_id: str
    plot_id: str
    season_key: str | None = None
    fpo_id: str
    owner_user_id: str | None = None
    object_key: str
    content_type: str
    max_bytes: int
    size_bytes: int | None = None
    status: str = "pending"  # pending until the upload is confirmed (HEAD), then stored
    description: str | None = None
    latitude: float | None = None
    longitude: float | None = None
    captured_at: str | None = None
    uploaded_by: str

    def key(self) -> keys.Key:
        return keys.evidence(self.plot_id, self.upload_id)

    def index(self) -> dict[str, str]:
        return keys.upload_index(self.upload_id)

    def owned(self) -> Owned:
        return Owned(owner_user_id=self.owner_user_id, fpo_id=self.fpo_id)


# ---- claims, cell members, receipts, invitations: the farm table's small items -------------------
# Their key attributes (the user, the Aadhaar hash, the cell, the code hash) are in the key only
# (``exclude=True``): the items hold what they held before these records were written down.
class OwnerClaim(Stored):
    """The one farmer profile a user account owns (written if absent)."""

    kind: ClassVar[str] = "owner"
    user_id: str = Field(exclude=True)
    farmer_id: str

    def key(self) -> keys.Key:
        return keys.owner(self.user_id)


class AadhaarClaim(Stored):
    """An Aadhaar number's one profile, by the number's keyed hash (written if absent)."""

    kind: ClassVar[str] = "aadhaar"
    aadhaar_hmac: str = Field(exclude=True)
    farmer_id: str

    def key(self) -> keys.Key:
        return keys.aadhaar(self.aadhaar_hmac)


class GeoMember(Stored):
    """A plot in a geo cell: what the overlap check reads without opening the plot."""

    kind: ClassVar[str] = "geo"
    cell: str = Field(exclude=True)
    plot_id: str
    bbox: list[float]
    fpo_id: str
    owner_user_id: str | None = None

    def key(self) -> keys.Key:
        return keys.geo_member(self.cell, self.plot_id)


class SyncReceipt(Stored):
    """Offline sync idempotency: the change a client id was applied as."""

    kind: ClassVar[str] = "sync_receipt"
    user_id: str = Field(exclude=True)
    client_id: str
    entity: str
    id: str
    version: int
    content_hash: str
    created_at: str

    def key(self) -> keys.Key:
        return keys.sync_receipt(self.user_id, self.client_id)


class InvitationRecord(Stored):
    """A single-use invitation to an FPO, by the SHA-256 of its code (the code is never stored)."""

    kind: ClassVar[str] = "invitation"
    code_hash: str = Field(exclude=True)
    fpo_id: str
    expires_at: str
    uses: int = 0
    created_by: str
    created_at: str

    def key(self) -> keys.Key:
        return keys.invitation(self.code_hash)


class ClaimCodeRecord(Stored):
    """The one-time code that lets a farmer's own account claim a profile an FPO manager registered
    (docs/decisions/0015). Only the code's SHA-256 is stored; ``version`` moves with every wrong
    attempt and with the claim itself, so two claims cannot both spend it."""

    kind: ClassVar[str] = "claim_code"
    farmer_id: str
    code_hash: str
    expires_at: str
    attempts: int = 0
    version: int = 1
    created_by: str
    created_at: str
    sent_to: str | None = None  # the phone the code was texted to, if it was
    used_by: str | None = None
    used_at: str | None = None

    def key(self) -> keys.Key:
        return keys.claim_code(self.farmer_id)


class ClaimAttempts(Stored):
    """Wrong claim codes of one account within a window (a rate limit that outlives any one Lambda)."""

    kind: ClassVar[str] = "claim_attempts"
    user_id: str
    window_start: str
    failures: int = 0

    def key(self) -> keys.Key:
        return keys.claim_attempts(self.user_id)

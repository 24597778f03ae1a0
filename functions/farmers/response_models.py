"""Farmers domain responses. Re-exported by ``functions.farmers.models``."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field

from agri_common.farm_table.records import ErasureStatus, MembershipStatus


class ConsentOut(BaseModel):
    given: bool
    version: str
    at: str


class FarmerOut(BaseModel):
    farmer_id: str
    fpo_id: str
    owner_user_id: str | None = None
    name: str
    phone: str
    village: str
    district: str
    state: str
    preferred_language: str
    consent: ConsentOut
    aadhaar_last4: str | None = None
    external_id: str | None = None
    membership: MembershipStatus = Field(
        description="pending: a membership request (not counted in the FPO's totals or MRV runs) until the FPO's "
        "manager approves it; rejected: a refused request; removed: a former member (no longer counted). "
        "A rejected or removed farmer may ask again (POST /farmers/{farmer_id}/membership-request)"
    )
    membership_decided_by: str | None = None
    membership_decided_at: str | None = None
    aadhaar_duplicate: bool | None = Field(
        default=None,
        description="FPO managers and admins only: the Aadhaar number was already registered, so it "
        "was not linked; approving takes the link if it is free by then",
    )
    plot_count: int
    area_ha: float
    version: int
    created_at: str
    updated_at: str | None = None


class FarmerPage(BaseModel):
    items: list[FarmerOut]
    next_token: str | None = Field(default=None, description="Pass back as ?next_token= for the next page")


# ---- plots ------------------------------------------------------------------------------------
class OverlapOut(BaseModel):
    plot_id: str | None = Field(description="None when the other plot is not visible to the caller")
    overlap_ha: float


class EvidenceOut(BaseModel):
    upload_id: str
    season_key: str | None = None
    object_key: str
    content_type: str
    status: str
    size_bytes: int | None = None
    description: str | None = None
    latitude: float | None = None
    longitude: float | None = None
    captured_at: str | None = None
    created_at: str


class SeasonOut(BaseModel):
    plot_id: str
    season_key: str
    area_ha: float
    activity: dict[str, Any] = Field(description="The season data as submitted (SeasonData), yield_t_per_ha included")
    version: int
    created_at: str
    updated_at: str | None = None


class PlotOut(BaseModel):
    plot_id: str
    farmer_id: str
    fpo_id: str
    name: str | None = None
    external_id: str | None = None
    geometry: dict[str, Any]
    area_ha: float = Field(description="Geodesic area on the WGS84 ellipsoid")
    declared_area_ha: float | None = None
    area_mismatch: bool = Field(description="Declared area differs from the computed one by more than 10 %")
    centroid: list[float] = Field(description="[longitude, latitude]")
    geohash: str
    overlaps: list[OverlapOut] = Field(description="Overlaps below the refusal threshold, flagged for review")
    version: int
    seasons: list[SeasonOut] = Field(default_factory=list)
    evidence: list[EvidenceOut] = Field(default_factory=list)
    created_at: str
    updated_at: str | None = None


class PlotSummary(BaseModel):
    plot_id: str
    name: str | None = None
    area_ha: float
    centroid: list[float]
    season_count: int
    version: int


class PlotList(BaseModel):
    items: list[PlotSummary]


# ---- sync -------------------------------------------------------------------------------------
class SyncResult(BaseModel):
    client_id: str
    status: Literal["applied", "duplicate", "conflict", "invalid"]
    entity: str
    id: str | None = None
    version: int | None = None
    current: dict[str, Any] | None = Field(
        default=None,
        description="conflict on a stale base_version: the server's current content (a reused client_id with other content is a conflict with the error idempotency_conflict and no current)",
    )
    errors: list[dict[str, Any]] | None = None


class SyncResponse(BaseModel):
    results: list[SyncResult]
    applied: int
    duplicate: int
    conflict: int
    invalid: int


# ---- uploads ----------------------------------------------------------------------------------
class UploadOut(BaseModel):
    upload_id: str
    object_key: str
    url: str
    fields: dict[str, str] = Field(description="Form fields to POST with the file (multipart/form-data, file last)")
    expires_in_s: int
    evidence: EvidenceOut


# ---- imports ----------------------------------------------------------------------------------
class ImportRow(BaseModel):
    row: int
    status: Literal["accepted", "duplicate", "rejected"]
    id: str | None = None
    errors: list[dict[str, Any]] | None = None


class ImportReport(BaseModel):
    accepted: int
    duplicate: int
    rejected: int
    rows: list[ImportRow]


class ErasureOut(BaseModel):
    """An erasure's tombstone (docs/decisions/0017): no personal value, only what happened."""

    farmer_id: str
    status: ErasureStatus = Field(description="`complete`, or `in_progress` while `remaining` lists stores to erase")
    requested_at: str
    requested_by: str = Field(description="`farmer:self`, or `admin:<admin user id>`")
    consent_withdrawn_at: str
    completed_at: str | None = None
    erased: list[str] = Field(description="Stores erased: evidence, plots, ledger_salt, account")
    remaining: list[str] = Field(description="Stores not erased yet: the same request again resumes")

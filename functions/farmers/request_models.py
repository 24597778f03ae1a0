"""Farmers domain request bodies (``Input``: ``extra="forbid"``, control characters refused) and the
limits they check. Re-exported by ``functions.farmers.models``."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

from pydantic import ConfigDict, Field, field_validator, model_validator

from agri_common.platform.inputs import Input, Line, PartialUpdate
from agri_common.season_vocab import AmendmentType, PreseasonWater, SeasonName, WaterRegime
from functions.farmers import examples, geometry

ID = r"^[A-Za-z0-9_-]{1,64}$"
FPO_ID = r"^[A-Za-z0-9_-]{1,64}$"
CLIENT_ID = r"^[A-Za-z0-9_-]{8,64}$"
Language = Literal["as", "bn", "en", "gu", "hi", "kn", "ml", "mr", "or", "pa", "ta", "te", "ur"]
UREA_N_FRACTION = 0.46  # urea is 46 % nitrogen by mass
MAX_YIELD_T_PER_HA = 30  # above any grain crop's field yield: a typo (kg/ha, quintals), not a harvest


def indian_mobile(value: str) -> str:
    """+91 and ten digits starting 6-9, from the ways people write it (spaces, dashes, 0/91 prefix)."""
    digits = "".join(ch for ch in value if ch.isdigit())
    if len(digits) == 12 and digits.startswith("91"):
        digits = digits[2:]
    elif len(digits) == 11 and digits.startswith("0"):
        digits = digits[1:]
    if len(digits) != 10 or digits[0] not in "6789":
        raise ValueError("an Indian mobile number is 10 digits starting with 6, 7, 8 or 9 (optionally +91)")
    return "+91" + digits


class ConsentIn(Input):
    given: Literal[True] = Field(description="Consent to data use must be given to register")
    version: Line = Field(min_length=1, max_length=32, description="Version of the consent text shown")
    at: dt.datetime = Field(description="When consent was given (ISO 8601 with timezone)")

    @field_validator("at")
    @classmethod
    def _aware(cls, v: dt.datetime) -> dt.datetime:
        if v.tzinfo is None:
            raise ValueError("the consent timestamp needs a timezone (e.g. 2025-06-01T10:00:00+05:30)")
        if v > dt.datetime.now(dt.UTC) + dt.timedelta(minutes=5):
            raise ValueError("the consent timestamp is in the future")
        return v


class FarmerFields(Input):
    name: Line = Field(min_length=1, max_length=200)
    phone: Line = Field(min_length=10, max_length=20, description="Indian mobile number; stored as +91XXXXXXXXXX")
    village: Line = Field(min_length=1, max_length=100, pattern=r"^[^#]+$")
    district: Line = Field(min_length=1, max_length=100)
    state: Line = Field(min_length=1, max_length=100)
    preferred_language: Language = "hi"

    @field_validator("phone")
    @classmethod
    def _phone(cls, v: str) -> str:
        return indian_mobile(v)


class RegisterFarmerRequest(FarmerFields):
    model_config = ConfigDict(json_schema_extra={"examples": [examples.REGISTER_FARMER]})
    fpo_id: str = Field(pattern=FPO_ID)
    consent: ConsentIn
    aadhaar: str | None = Field(
        default=None,
        min_length=12,
        max_length=14,
        description="Optional; validated (Verhoeff), then only the last 4 digits and a keyed hash are kept",
    )
    external_id: str | None = Field(default=None, pattern=ID, description="The FPO's own id for the farmer (imports)")
    invitation_code: str | None = Field(
        default=None,
        min_length=8,
        max_length=40,
        description="A farmer joining themselves: a single-use code from the FPO's "
        "manager makes the profile an approved member at once (otherwise "
        "it is a membership request until the manager approves it)",
    )


def _not_nullable(schema: dict[str, Any]) -> None:
    """The OpenAPI schema of a PartialUpdate body: its optional fields are not nullable (``null`` is a 422;
    the ``None`` default only stands for "absent")."""
    for prop in schema.get("properties", {}).values():
        options = prop.get("anyOf")
        if options and {"type": "null"} in options:
            rest = [o for o in options if o != {"type": "null"}]
            del prop["anyOf"]
            prop.update(rest[0] if len(rest) == 1 else {"anyOf": rest})
            if prop.get("default", ...) is None:
                del prop["default"]


def _patch_schema(schema: dict[str, Any]) -> None:
    _not_nullable(schema)
    schema["examples"] = [examples.PATCH_FARMER]


class PatchFarmerRequest(PartialUpdate):
    """Only the fields given change; ``null`` is refused (422 naming the field): leave a field out to keep it."""

    version: int = Field(ge=1, description="The version this change is based on (409 if stale)")
    model_config = ConfigDict(json_schema_extra=lambda schema, _: _patch_schema(schema))

    name: Line | None = Field(default=None, min_length=1, max_length=200)
    phone: Line | None = Field(default=None, min_length=10, max_length=20)
    village: Line | None = Field(default=None, min_length=1, max_length=100, pattern=r"^[^#]+$")
    district: Line | None = Field(default=None, min_length=1, max_length=100)
    state: Line | None = Field(default=None, min_length=1, max_length=100)
    preferred_language: Language | None = None
    consent: ConsentIn | None = None

    @field_validator("phone")
    @classmethod
    def _phone(cls, v: str | None) -> str | None:
        return indian_mobile(v) if v is not None else None


# ---- plots --------------------------------------------------------------------------------------
class PlotProperties(Input):
    name: Line | None = Field(default=None, max_length=100)
    declared_area_ha: float | None = Field(default=None, gt=0, le=10_000, description="Area the farmer declares (ha)")
    external_id: str | None = Field(default=None, pattern=ID)


class PlotGeometry(Input):
    """A GeoJSON Polygon or MultiPolygon in WGS84 ``[longitude, latitude]`` positions (RFC 7946).

    Limits: every position inside India (administered and claimed territory, buffered by about 5 km:
    ``outside_india`` otherwise), at most 5,000 positions and 200,000 bytes as compact JSON
    (``geometry_too_large``), area 0.01 to 500 ha, no self-intersection, rings closed. A ``bbox`` member is
    accepted and ignored (the server computes the extent); any other member (``crs``...) is refused."""

    type: Literal["Polygon", "MultiPolygon"]
    coordinates: list[Any] = Field(
        description="Polygon: rings of positions; MultiPolygon: polygons of rings. "
        f"At most {geometry.MAX_VERTICES} positions and "
        f"{geometry.MAX_GEOMETRY_BYTES} bytes of JSON in all"
    )
    bbox: list[float] | None = Field(
        default=None, min_length=4, max_length=6, exclude=True, description="Accepted and ignored (not stored)"
    )


class PlotFeature(Input):
    """A GeoJSON Feature (RFC 7946: WGS84 longitude/latitude) whose geometry is the plot. A ``bbox`` member is
    accepted and ignored; ``properties: null`` reads as no properties; other members are refused."""

    model_config = ConfigDict(json_schema_extra={"examples": [examples.PLOT]})
    type: Literal["Feature"]
    geometry: PlotGeometry
    properties: PlotProperties = Field(default_factory=PlotProperties)
    id: Annotated[Line, Field(min_length=1, max_length=100)] | int | None = None
    bbox: list[float] | None = Field(
        default=None, min_length=4, max_length=6, exclude=True, description="Accepted and ignored (not stored)"
    )

    @field_validator("properties", mode="before")
    @classmethod
    def _null_properties(cls, value: Any) -> Any:
        return {} if value is None else value


class PutPlotRequest(PlotFeature):
    model_config = ConfigDict(json_schema_extra={"examples": [examples.PUT_PLOT]})
    version: int = Field(ge=1, description="The version this change is based on (409 if stale)")


# ---- seasons ------------------------------------------------------------------------------------
class AmendmentIn(Input):
    type: AmendmentType
    t_per_ha: float = Field(gt=0, le=100, description="Straw: t dry matter/ha; others: t fresh weight/ha")


class TreeGroupIn(Input):
    species: Line = Field(min_length=1, max_length=100)
    count: int = Field(ge=0, le=100_000)
    dbh_cm: float = Field(gt=0, le=500)
    height_m: float = Field(gt=0, le=100)
    wood_density_g_per_cm3: float = Field(gt=0.05, le=1.5)
    planted_year: int | None = Field(
        default=None,
        ge=1900,
        le=2100,
        description="Year the group was planted. Trees planted before the project's crediting start are "
        "counted in the baseline too (no removal credited without an earlier inventory); "
        "without it, the MRV run assumes project planting and asks the auditor for evidence",
    )


class WaterEvidenceIn(Input):
    method: Literal["farmer_declaration", "field_visit", "awd_pipe_readings", "photos", "remote_sensing"]
    description: str | None = Field(default=None, max_length=1000)
    upload_ids: list[Annotated[str, Field(pattern=ID)]] = Field(default_factory=list, max_length=50)


class SeasonData(Input):
    """A season's activity data in the carbon engine's vocabulary, with units in the field names."""

    model_config = ConfigDict(json_schema_extra={"examples": [examples.SEASON]})
    year: int = Field(ge=2000, le=2100, description="Agricultural year the season starts in")
    season: SeasonName
    crop: Line = Field(min_length=1, max_length=50)
    sowing_date: dt.date
    harvest_date: dt.date
    cultivation_days: int | None = Field(
        default=None, gt=0, le=365, description="Days of cultivation (rice: the flooded/cropping period)"
    )
    water_regime: WaterRegime | None = None
    water_regime_evidence: WaterEvidenceIn | None = None
    preseason_water: PreseasonWater | None = None
    organic_amendments: list[AmendmentIn] = Field(default_factory=list, max_length=10)
    synthetic_n_kg_per_ha: float = Field(default=0, ge=0, le=2000)
    organic_n_kg_per_ha: float = Field(default=0, ge=0, le=2000)
    urea_kg_per_ha: float = Field(default=0, ge=0, le=5000)
    limestone_kg_per_ha: float = Field(default=0, ge=0, le=50000)
    dolomite_kg_per_ha: float = Field(default=0, ge=0, le=50000)
    residue_fate: Literal["incorporated", "removed", "burnt", "mulched", "grazed"] = "incorporated"
    residue_burnt_t_dm_per_ha: float = Field(default=0, ge=0, le=50)
    yield_t_per_ha: float | None = Field(
        default=None,
        ge=0,
        le=MAX_YIELD_T_PER_HA,
        description="Grain yield of the harvested product in t/ha, fresh weight as the farmer reports it (rice: "
        "paddy, not milled rice). Not used by the carbon engine; the MRV cross-checks compare it with "
        "the crop's regional range",
    )
    trees: list[TreeGroupIn] = Field(default_factory=list, max_length=100)

    @field_validator("crop")
    @classmethod
    def _crop(cls, v: str) -> str:
        """Stored as the engine names it ("Paddy" is rice), so every rice rule here and in the
        pipeline applies to it."""
        from agri_common.season_vocab import crop_key

        return crop_key(v)

    @model_validator(mode="after")
    def _consistent(self) -> SeasonData:
        span = (self.harvest_date - self.sowing_date).days
        if span <= 0:
            raise ValueError("harvest_date must be after sowing_date")
        if span > 366:
            raise ValueError("a season cannot last more than a year (sowing_date to harvest_date)")
        if self.cultivation_days is not None and self.cultivation_days > span + 1:
            raise ValueError(
                f"cultivation_days ({self.cultivation_days}) exceeds the {span + 1} days from sowing to harvest"
            )
        if self.sowing_date.year not in (self.year, self.year + 1):
            raise ValueError("sowing_date must fall in the season's year (or the next, for rabi)")
        if self.crop == "rice":
            for name in ("cultivation_days", "water_regime", "preseason_water"):
                if getattr(self, name) is None:
                    raise ValueError(f"{name} is required for a rice season")
        elif self.water_regime not in (None, "upland"):
            raise ValueError("water_regime must be upland (or omitted) for a non-rice crop")
        if any(t.planted_year is not None and t.planted_year > self.harvest_date.year for t in self.trees):
            raise ValueError("a tree group cannot be planted after the season's harvest (trees[].planted_year)")
        if self.urea_kg_per_ha * UREA_N_FRACTION > self.synthetic_n_kg_per_ha + 0.5:
            raise ValueError("urea_kg_per_ha supplies more nitrogen (46 %) than synthetic_n_kg_per_ha declares")
        if (self.residue_fate == "burnt") != (self.residue_burnt_t_dm_per_ha > 0):
            raise ValueError("residue_burnt_t_dm_per_ha must be > 0 exactly when residue_fate is burnt")
        return self

    @property
    def season_key(self) -> str:
        return f"{self.year}-{self.season}"


class FieldDataRequest(Input):
    model_config = ConfigDict(json_schema_extra={"examples": [examples.FIELD_DATA]})
    plot_id: str = Field(pattern=ID)
    season: SeasonData


# ---- sync ---------------------------------------------------------------------------------------
MAX_SYNC_RECORDS = 500


class SyncRecord(Input):
    PER_ITEM = frozenset({"data"})

    client_id: str = Field(pattern=CLIENT_ID, description="Generated by the client once per change; replays reuse it")
    entity: Literal["farmer", "plot", "season"]
    action: Literal["create", "update"]
    id: str | None = Field(
        default=None,
        pattern=ID,
        description="farmer_id / plot_id for updates (season: the plot_id), or the parent for creates",
    )
    base_version: int | None = Field(
        default=None, ge=1, description="Version the offline change was based on (updates)"
    )
    data: dict[str, Any]


class SyncRequest(Input):
    PER_ITEM = frozenset({"records"})  # each record is a SyncRecord, checked as such

    model_config = ConfigDict(json_schema_extra={"examples": [examples.SYNC]})
    records: list[SyncRecord] = Field(min_length=1, max_length=MAX_SYNC_RECORDS)


# ---- uploads ------------------------------------------------------------------------------------
UPLOAD_TYPES = {
    "image/jpeg": "jpg",
    "image/png": "png",
    "image/webp": "webp",
    "image/heic": "heic",
    "application/pdf": "pdf",
}
ContentType = Literal["image/jpeg", "image/png", "image/webp", "image/heic", "application/pdf"]
MAX_UPLOAD_BYTES = {"application/pdf": 20 * 1024 * 1024}
DEFAULT_MAX_UPLOAD_BYTES = 15 * 1024 * 1024


class UploadRequest(Input):
    model_config = ConfigDict(json_schema_extra={"examples": [examples.UPLOAD]})
    plot_id: str = Field(pattern=ID)
    season_key: str | None = Field(default=None, pattern=r"^[0-9]{4}-(kharif|rabi|zaid)$")
    content_type: ContentType
    size_bytes: int = Field(gt=0, description="Declared size; the presigned POST enforces it as the upper bound")
    description: str | None = Field(default=None, max_length=500)
    latitude: float | None = Field(default=None, ge=-90, le=90)
    longitude: float | None = Field(default=None, ge=-180, le=180)
    captured_at: dt.datetime | None = None

    @model_validator(mode="after")
    def _limits(self) -> UploadRequest:
        limit = MAX_UPLOAD_BYTES.get(self.content_type, DEFAULT_MAX_UPLOAD_BYTES)
        if self.size_bytes > limit:
            raise ValueError(f"{self.content_type} uploads are limited to {limit} bytes")
        if (self.latitude is None) != (self.longitude is None):
            raise ValueError("give both latitude and longitude (geo-tag) or neither")
        return self


# ---- imports ------------------------------------------------------------------------------------
MAX_IMPORT_ROWS = 1000


class FarmerImportRequest(Input):
    PER_ITEM = frozenset({"csv"})

    model_config = ConfigDict(json_schema_extra={"examples": [examples.FARMER_IMPORT]})
    fpo_id: str = Field(pattern=FPO_ID)
    csv: str = Field(
        min_length=1,
        max_length=900_000,
        description='UTF-8 CSV with a header row; a leading byte-order mark (Excel\'s "CSV UTF-8") is '
        "ignored. A row the CSV reader cannot read (a field over 131,072 characters) is "
        "rejected in the report; the other rows import",
    )
    consent_version: Line = Field(min_length=1, max_length=32)

    @model_validator(mode="before")
    @classmethod
    def _strip_bom(cls, data: Any) -> Any:
        """Excel saves "CSV UTF-8" with a byte-order mark: drop it, or the first column would be named
        "\ufeffname" and the header refused. (The text checks run per row, on the cells a row uses.)"""
        if isinstance(data, dict) and isinstance(data.get("csv"), str) and data["csv"].startswith("\ufeff"):
            data = {**data, "csv": data["csv"][1:]}
        return data


class PlotImportRequest(Input):
    PER_ITEM = frozenset({"features"})

    model_config = ConfigDict(json_schema_extra={"examples": [examples.PLOT_IMPORT]})
    fpo_id: str = Field(pattern=FPO_ID)
    type: Literal["FeatureCollection"]
    features: list[Any] = Field(
        min_length=1,
        max_length=MAX_IMPORT_ROWS,
        description="GeoJSON Features (see PlotFeature), each with properties.farmer_id or "
        "farmer_external_id and an external_id or Feature id. Each one is checked "
        "on its own: a feature that is not a valid plot is rejected in the report",
    )

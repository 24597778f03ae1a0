"""Request models (pydantic v2), and the result models re-exported from :mod:`carbon_engine.results`.
Both accept and produce plain JSON.

Invalid input raises ``pydantic.ValidationError`` naming the field (e.g. ``plots.0.area_ha``);
the engine never returns a number for it.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from .results import Assumption as Assumption
from .results import Deduction as Deduction
from .results import Finding as Finding
from .results import GasResult as GasResult
from .results import PlotMcStats as PlotMcStats
from .results import PlotTable as PlotTable
from .results import ProfileInfo as ProfileInfo
from .results import Quantity as Quantity
from .results import Result as Result
from .results import Stats as Stats
from .results import TotalResult as TotalResult

# Activity-data classes that may carry uncertainty (request.activity_uncertainty keys). Defined here,
# not in montecarlo.py, so that the request vocabulary imports without NumPy (API handlers that only
# validate seasons use it at cold start).
ACTIVITY_CLASSES = (
    "area",
    "cultivation_days",
    "amendments",
    "synthetic_n",
    "organic_n",
    "residue_n",
    "urea",
    "lime",
    "residue_burnt",
    "trees",
)

PER_PLOT_MC_CAP = 2_000_000
"""Per-plot Monte Carlo statistics are exact over all draws when distinct plot signatures x draws <= this
cap ("auto"); above it they come from the first ``PER_PLOT_QUANTILE_DRAWS`` draws."""
PER_PLOT_MC_EXACT_MAX = 50_000_000
"""The exact limit of per_plot_mc="always" (signatures x draws; above it the sampled method)."""
PER_PLOT_QUANTILE_DRAWS = 500
"""Draws per plot behind per-plot statistics above the exact cap (the first M of the request's draws;
docs/decisions/0018: Monte Carlo error of a 5 % bound +-0.97 percentage points of probability, 1 sd)."""
PER_PLOT_SAMPLED_CAP = 10_000_000
"""per_plot_mc="auto" computes the sampled statistics when signatures x ``PER_PLOT_QUANTILE_DRAWS`` <= this
(20,000 distinct plots); above it they are omitted unless "always" or "sampled" asks for them."""


WATER_REGIMES = (
    "continuously_flooded",
    "single_drainage",
    "multiple_drainage",
    "rainfed_regular",
    "rainfed_drought_prone",
    "deep_water",
    "upland",
)
PRESEASON_STATUSES = ("non_flooded_lt_180", "non_flooded_gt_180", "flooded_gt_30", "non_flooded_gt_365")
AMENDMENT_TYPES = ("straw_lt_30d", "straw_gt_30d", "compost", "farmyard_manure", "green_manure")

WaterRegime = Literal[
    "continuously_flooded",
    "single_drainage",
    "multiple_drainage",
    "rainfed_regular",
    "rainfed_drought_prone",
    "deep_water",
    "upland",
]
"""2019 Refinement Vol. 4 Table 5.12 water regimes during cultivation."""
PreseasonWater = Literal["non_flooded_lt_180", "non_flooded_gt_180", "flooded_gt_30", "non_flooded_gt_365"]
"""2019 Refinement Vol. 4 Table 5.13 pre-season water status."""
AmendmentType = Literal["straw_lt_30d", "straw_gt_30d", "compost", "farmyard_manure", "green_manure"]
"""2019 Refinement Vol. 4 Table 5.14 organic amendments (straw: dry weight; others: fresh weight)."""


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Amendment(Strict):
    """Organic amendment: straw in t dry weight/ha, others in t fresh weight/ha (Eq 5.3)."""

    type: AmendmentType
    t_per_ha: float = Field(gt=0, le=100)


class SocManagement(Strict):
    """Tier 1 SOC stock factors (Table 5.5) for this season's management."""

    land_use: Literal["long_term_cultivated", "paddy_rice", "perennial_tree_crop", "set_aside"]
    tillage: Literal["full", "reduced", "no_till"] = "full"
    input: Literal["low", "medium", "high_without_manure", "high_with_manure"] = "medium"


CHAVE2014_DBH_CM = (5.0, 212.0)
"""DBH range of the Chave et al. (2014) calibration data set (trees outside it are flagged)."""
UREA_N_FRACTION = 0.46
"""Urea is 46 % N: urea N is part of synthetic N, so synthetic N >= 0.46 x urea mass."""

CROP_SYNONYMS = {
    "rice": "rice",
    "paddy": "rice",
    "paddy rice": "rice",
    "paddy_rice": "rice",
    "rice paddy": "rice",
    "rice_paddy": "rice",
    "padi": "rice",
    "dhan": "rice",
    "oryza sativa": "rice",
    "oryza_sativa": "rice",
    "lowland rice": "rice",
    "irrigated rice": "rice",
    "rainfed rice": "rice",
    "upland rice": "rice",
    "wheat": "wheat",
    "triticum aestivum": "wheat",
}
"""Known crop names (lower case) -> the engine's crop key. Other names are non-rice crops, except
names mentioning rice or paddy that are not listed here: those are rejected (ambiguous)."""


class TreeGroup(Strict):
    """Trees of one species and size class (Tier 2, Chave et al. 2014 allometry)."""

    species: str = Field(min_length=1)
    count: int = Field(ge=0)
    dbh_cm: float = Field(gt=0, le=500)
    height_m: float = Field(gt=0, le=100)
    wood_density: float = Field(gt=0.05, le=1.5, description="g/cm3 (oven-dry mass / green volume)")


class Agroforestry(Strict):
    """Tier 1 growth-rate method (2019 agroforestry defaults, Southern Asia)."""

    system: Literal["default", "multistrata", "alley_cropping", "silvoarable", "hedgerow", "silvopasture"] = "default"
    zone: Literal["tropical_moist", "tropical_wet", "tropical_dry"] = "tropical_moist"
    area_ha: float | None = Field(default=None, ge=0, description="area under the system; default: plot area")
    age_years: float = Field(
        default=0, ge=0, description="age at the start of the year; growth stops at the maximum stock"
    )


class Season(Strict):
    """One cropping season of a plot (baseline or project)."""

    crop: str = Field(default="rice", min_length=1)
    cultivation_days: int | None = Field(default=None, gt=0, le=365)
    water_regime: WaterRegime | None = None
    preseason_water: PreseasonWater | None = None
    organic_amendments: list[Amendment] = Field(default_factory=list)
    organic_amendments_unknown: bool = Field(
        default=False,
        description="baseline only: the baseline's organic amendments are not known ([] means none). VM0051 "
        "then applies its default of 5 t/ha straw incorporated < 30 days before cultivation (section 8.2.3 "
        "footnote 16, secondary reading); the other profiles count none, with a finding",
    )
    synthetic_n_kg_per_ha: float = Field(default=0, ge=0, le=2000)
    organic_n_kg_per_ha: float = Field(default=0, ge=0, le=2000)
    urea_kg_per_ha: float = Field(default=0, ge=0, le=5000)
    limestone_kg_per_ha: float = Field(default=0, ge=0, le=50000)
    dolomite_kg_per_ha: float = Field(default=0, ge=0, le=50000)
    residue_burnt_t_dm_per_ha: float = Field(default=0, ge=0, le=50)
    residue_n_kg_per_ha: float = Field(default=0, ge=0, le=1000)
    sf_soil: float | None = Field(default=None, gt=0, le=10, description="Tier 2 soil scaling factor (Eq 5.2)")
    sf_cultivar: float | None = Field(default=None, gt=0, le=10, description="Tier 2 cultivar scaling factor (Eq 5.2)")
    soc: SocManagement | None = None
    agroforestry: Agroforestry | None = None
    trees: list[TreeGroup] | None = Field(
        default=None,
        description="Tier 2 tree inventory of this scenario (baseline: t1, project: t2); "
        "[] = inventoried, no trees; None = no inventory",
    )

    @field_validator("crop")
    @classmethod
    def _crop(cls, v: str) -> str:
        name = " ".join(v.strip().lower().split())
        if name in CROP_SYNONYMS:
            return CROP_SYNONYMS[name]
        if "rice" in name or "paddy" in name:
            raise ValueError(f"ambiguous crop {v!r}: use 'rice' (or a known synonym) for rice, or another crop name")
        return name

    @model_validator(mode="after")
    def _rice_fields(self) -> Season:
        if self.is_rice:
            for name in ("cultivation_days", "water_regime", "preseason_water"):
                if getattr(self, name) is None:
                    raise ValueError(f"{name} is required for a rice season")
        elif self.water_regime not in (None, "upland"):
            raise ValueError("water_regime must be upland (or omitted) for a non-rice crop")
        if self.agroforestry is not None and self.trees:
            raise ValueError("give either agroforestry (Tier 1) or trees (Tier 2), not both")
        if self.organic_amendments_unknown and self.organic_amendments:
            raise ValueError("give organic_amendments or organic_amendments_unknown, not both")
        if UREA_N_FRACTION * self.urea_kg_per_ha > self.synthetic_n_kg_per_ha * (1 + 1e-9) + 1e-9:
            raise ValueError(
                f"synthetic_n_kg_per_ha ({self.synthetic_n_kg_per_ha:g}) must include the urea N: "
                f"at least {UREA_N_FRACTION} x urea_kg_per_ha = {UREA_N_FRACTION * self.urea_kg_per_ha:g}"
            )
        return self

    @property
    def has_stock_change(self) -> bool:
        """True when the season carries a stock-change input (SOC, agroforestry or a tree inventory)."""
        return self.soc is not None or self.agroforestry is not None or bool(self.trees)

    @property
    def is_rice(self) -> bool:
        return self.crop == "rice"

    @property
    def flooded_rice(self) -> bool:
        return self.is_rice and self.water_regime not in (None, "upland")


class Soil(Strict):
    """Climate zone and soil class selecting SOC_ref (Table 2.3)."""

    climate_zone: Literal["tropical_dry", "tropical_moist", "tropical_wet", "tropical_montane"]
    soil_type: Literal["hac", "lac", "sandy", "volcanic", "wetland"]


class Plot(Strict):
    """One plot-season record. Stock changes (SOC, biomass) are annual: a request covers one year, and
    at most one record per physical field (``field_id``, default ``plot_id``) may carry them."""

    plot_id: str = Field(min_length=1)
    area_ha: float = Field(gt=0, le=10_000)
    baseline: Season
    project: Season
    soil: Soil | None = None
    field_id: str | None = Field(
        default=None,
        min_length=1,
        description="physical field of this record (default: plot_id); seasons of one field share it",
    )
    tree_inventory_years: float | None = Field(
        default=None,
        gt=0,
        le=100,
        description="years between the baseline (t1) and project (t2) tree inventories (Eq 2.8)",
    )

    @model_validator(mode="after")
    def _soc_pairs(self) -> Plot:
        if self.project.organic_amendments_unknown:
            raise ValueError(
                "project.organic_amendments_unknown: the project's amendments are monitored, give them "
                "(organic_amendments_unknown applies to the baseline only)"
            )
        has = (self.baseline.soc is not None, self.project.soc is not None)
        if any(has) and not (all(has) and self.soil is not None):
            raise ValueError("SOC needs soil on the plot and soc on both baseline and project")
        for name in ("baseline", "project"):
            af = getattr(self, name).agroforestry
            if af is not None and af.area_ha is not None and af.area_ha > self.area_ha:
                raise ValueError(
                    f"{name}.agroforestry.area_ha ({af.area_ha:g}) exceeds the plot area_ha ({self.area_ha:g})"
                )
        b, p = self.baseline.trees, self.project.trees
        if b or p:
            if b is None or p is None:
                raise ValueError(
                    "a Tier 2 tree inventory needs both baseline.trees (t1) and project.trees (t2); "
                    "give [] for an inventory with no trees"
                )
            if self.tree_inventory_years is None:
                raise ValueError(
                    "tree_inventory_years (interval between the t1 and t2 inventories) is required with trees"
                )
        return self

    @property
    def field_key(self) -> str:
        return self.field_id if self.field_id is not None else self.plot_id

    @property
    def has_stock_change(self) -> bool:
        return (
            (self.soil is not None and self.baseline.soc is not None)
            or self.baseline.has_stock_change
            or self.project.has_stock_change
        )


COUNTRY_FACTOR_NAMES = (
    "rice.ef_c",
    *(f"rice.sf_w.{w}" for w in WATER_REGIMES if w != "upland"),
    *(f"rice.sf_p.{p}" for p in PRESEASON_STATUSES),
)
"""Factors a request may replace with country-specific (Tier 2) values: the rice CH4 baseline emission
factor and the water-regime / pre-season scaling factors (2019 Refinement Eq 5.2)."""


class CountryFactor(Strict):
    """A country-specific (Tier 2) factor value with its 95 % range and where it comes from."""

    value: float = Field(gt=0, le=1000)
    low: float = Field(ge=0, le=1000)
    high: float = Field(gt=0, le=1000)
    source: str = Field(min_length=1, max_length=300, description="the publication or national inventory it is from")

    @model_validator(mode="after")
    def _range(self) -> CountryFactor:
        if not self.low <= self.value <= self.high:
            raise ValueError("a country-specific factor needs low <= value <= high (its 95 % range)")
        return self


class Request(Strict):
    """An estimation request.

    ``per_plot_mc``: "auto" gives per-plot Monte Carlo statistics exact over all draws when distinct
    plot signatures x draws <= ``PER_PLOT_MC_CAP`` (2,000,000), over the first
    ``PER_PLOT_QUANTILE_DRAWS`` (500) draws up to ``PER_PLOT_SAMPLED_CAP`` (20,000 distinct plots), and
    omits them above; "always" always gives them (exact up to ``PER_PLOT_MC_EXACT_MAX``, sampled above);
    "sampled" always uses the first 500 draws (figures independent of how plots are grouped into
    requests: the pipeline's chunks use it); "never" skips them. Per-plot point estimates are always given;
    project statistics always use every draw.
    ``activity_uncertainty``: relative sd per activity class (see ``montecarlo``).
    ``buffer_fraction``: non-permanence buffer on stock changes (profiles that use one).
    """

    gwp: Literal["AR5", "AR6"] = "AR6"
    profile: Literal["ipcc_tier1", "vm0042_qa3", "vm0051", "ccts_ag04_002"] = "ipcc_tier1"
    region: str = Field(
        default="south_asia", min_length=1, description="a region key of the factors file (checked there)"
    )
    climate: Literal["wet", "dry"] = "wet"
    draws: int = Field(default=10_000, ge=2, le=1_000_000)
    seed: int = Field(default=0, ge=0, le=2**63 - 1)
    confidence: list[float] = Field(default_factory=lambda: [0.90, 0.95], min_length=1)
    plots: list[Plot] = Field(min_length=1)
    per_plot_mc: Literal["auto", "always", "sampled", "never"] = "auto"
    country_factors: dict[str, CountryFactor] = Field(
        default_factory=dict,
        description="country-specific (Tier 2) replacements of rice.ef_c, rice.sf_w.<regime>, rice.sf_p.<status> "
        "(value, 95 % low/high, source); VM0051 requires them above 60,000 t CO2e/yr",
    )
    activity_uncertainty: dict[str, float] = Field(default_factory=dict)
    buffer_fraction: float | None = Field(default=None, ge=0, lt=1)
    root_shoot_ecozone: Literal[
        "rainforest", "moist_deciduous", "dry_forest", "shrubland", "mountain", "planted_moist_deciduous", "planted_dry"
    ] = "moist_deciduous"

    @field_validator("confidence", mode="before")
    @classmethod
    def _levels(cls, v: object) -> list[float]:
        values = [v] if isinstance(v, (int, float)) else v
        if not isinstance(values, (list, tuple)) or not all(isinstance(x, (int, float)) for x in values):
            # raw input (mode="before"): anything but numbers is refused here, not by a TypeError below
            raise ValueError("confidence must be a number or a list of numbers")
        levels = [x / 100 if x > 1 else x for x in values]
        if any(not 0.5 <= x < 1 for x in levels):
            raise ValueError("confidence levels must be in [0.5, 1) (or percentages)")
        return sorted(set(levels) | {0.90, 0.95})

    @field_validator("country_factors")
    @classmethod
    def _country(cls, v: dict[str, CountryFactor]) -> dict[str, CountryFactor]:
        for k in v:
            if k not in COUNTRY_FACTOR_NAMES:
                raise ValueError(f"unknown country-specific factor {k!r}; expected one of {COUNTRY_FACTOR_NAMES}")
        return v

    @field_validator("activity_uncertainty")
    @classmethod
    def _activity(cls, v: dict[str, float]) -> dict[str, float]:
        for k, sd in v.items():
            if k not in ACTIVITY_CLASSES:
                raise ValueError(f"unknown activity class {k!r}; expected one of {ACTIVITY_CLASSES}")
            if not 0 <= sd <= 1:
                raise ValueError(f"relative sd for {k} must be in [0, 1]")
        return v

    @model_validator(mode="after")
    def _limits(self) -> Request:
        ids = [p.plot_id for p in self.plots]
        if len(set(ids)) != len(ids):
            raise ValueError("plot_id values must be unique")
        seen: dict[str, str] = {}
        for p in self.plots:
            if p.has_stock_change:
                key = p.field_key
                if key in seen:
                    raise ValueError(
                        f"field {key!r}: stock-change inputs (soc, agroforestry, trees) on both {seen[key]!r} "
                        f"and {p.plot_id!r}; stock changes are annual, give them on one record per field"
                    )
                seen[key] = p.plot_id
        return self

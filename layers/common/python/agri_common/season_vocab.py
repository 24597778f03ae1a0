"""The season vocabulary of the carbon engine, mirrored for the farmers domain.

``carbon_engine.models`` itself imports without NumPy, but it ships in the carbon_engine layer
(NumPy included, ~54 MB), which the farmers function does not attach; so the literals are repeated
here and ``tests/unit/functions/farmers/test_domain_rules.py::test_the_season_vocabulary_is_the_carbon_engines``
fails if the two ever differ (``test_crop_names_are_read_as_the_engine_reads_them`` for crop names).
"""

from __future__ import annotations

from typing import Literal

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
PreseasonWater = Literal["non_flooded_lt_180", "non_flooded_gt_180", "flooded_gt_30", "non_flooded_gt_365"]
# the factors a project may replace with country-specific (Tier 2) values (carbon_engine.models)
COUNTRY_FACTOR_NAMES = (
    "rice.ef_c",
    *(f"rice.sf_w.{w}" for w in WATER_REGIMES if w != "upland"),
    *(f"rice.sf_p.{p}" for p in PRESEASON_STATUSES),
)
AmendmentType = Literal["straw_lt_30d", "straw_gt_30d", "compost", "farmyard_manure", "green_manure"]

SEASON_NAMES = ("kharif", "rabi", "zaid")
SeasonName = Literal["kharif", "rabi", "zaid"]

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


def crop_key(crop: str) -> str:
    """The crop as the engine names it ("Paddy" -> "rice"); other names pass through lower-cased,
    except unknown names mentioning rice or paddy, which are ambiguous (ValueError), as in the engine."""
    name = " ".join(crop.strip().lower().split())
    if name in CROP_SYNONYMS:
        return CROP_SYNONYMS[name]
    if "rice" in name or "paddy" in name:
        raise ValueError(f"ambiguous crop {crop!r}: use 'rice' (or a known synonym) for rice, or another crop name")
    return name

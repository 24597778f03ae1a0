"""Columnar activity data: the validated request turned into NumPy vectors over plots.

This is the only per-plot Python loop of the engine (attribute extraction, O(plots)); every
method then works on whole vectors.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from operator import attrgetter

import numpy as np

from .arrays import BoolArray, FloatArray, IntArray
from .models import AMENDMENT_TYPES, PRESEASON_STATUSES, Request, Season
from .models import WATER_REGIMES as _WATER_REGIMES

WATER_REGIMES = list(_WATER_REGIMES)
PRESEASON = list(PRESEASON_STATUSES)
AMENDMENTS = list(AMENDMENT_TYPES)
SOC_ZONES = ["tropical_dry", "tropical_moist", "tropical_wet", "tropical_montane"]
SOIL_TYPES = ["hac", "lac", "sandy", "volcanic", "wetland"]
LAND_USES = ["long_term_cultivated", "paddy_rice", "perennial_tree_crop", "set_aside"]
TILLAGE = ["full", "reduced", "no_till"]
INPUTS = ["low", "medium", "high_without_manure", "high_with_manure"]
AF_SYSTEMS = ["default", "multistrata", "alley_cropping", "silvoarable", "hedgerow", "silvopasture"]
AF_ZONES = ["tropical_moist", "tropical_wet", "tropical_dry"]
_IDX: dict[str, dict[str | None, int]] = {
    name: {v: i for i, v in enumerate(vals)}
    for name, vals in {
        "wr": WATER_REGIMES,
        "pp": PRESEASON,
        "am": AMENDMENTS,
        "lu": LAND_USES,
        "mg": TILLAGE,
        "fi": INPUTS,
        "zone": SOC_ZONES,
        "soil": SOIL_TYPES,
        "af": AF_SYSTEMS,
        "afz": AF_ZONES,
    }.items()
}


@dataclass
class SeasonArrays:
    """Activity vectors of one scenario (all length N = number of plots)."""

    area: FloatArray
    is_rice: BoolArray
    days: FloatArray
    water_regime: IntArray  # index into WATER_REGIMES (upland for non-rice)
    n2o_regime: IntArray  # regime that selects EF1FR for synthetic + organic N (may be the baseline's, see plot_arrays)
    preseason: IntArray
    roa: FloatArray  # (N, 5) t/ha per AMENDMENTS
    amendments_unknown: BoolArray  # rice seasons whose organic amendments are not known (baseline only)
    sf_soil_cultivar: FloatArray
    synthetic_n: FloatArray
    organic_n: FloatArray
    residue_n: FloatArray
    urea: FloatArray
    limestone: FloatArray
    dolomite: FloatArray
    residue_burnt: FloatArray
    burn_crop: IntArray  # combustion-factor class: 0 rice, 1 wheat, 2 other crop (rice value, assumption)
    soc_lu: IntArray  # -1 when no SOC block
    soc_mg: IntArray
    soc_fi: IntArray
    af_system: IntArray  # -1 when no agroforestry block
    af_zone: IntArray
    af_area: FloatArray
    af_age: FloatArray
    tree_plot: IntArray  # flattened tree groups: plot index
    tree_count: FloatArray
    tree_dbh: FloatArray
    tree_height: FloatArray
    tree_density: FloatArray


@dataclass
class PlotArrays:
    plot_id: list[str]
    area: FloatArray
    soil_zone: IntArray  # -1 when no soil
    soil_type: IntArray
    baseline: SeasonArrays
    project: SeasonArrays
    tree_years: FloatArray  # years between the tree inventories (1 where none)
    awd_switch: BoolArray  # bool: rice moved from continuous flooding to single/multiple drainage

    @property
    def n(self) -> int:
        return len(self.plot_id)

    def season(self, scenario: str) -> SeasonArrays:
        """The vectors of one scenario: ``"baseline"`` or ``"project"``."""
        if scenario == "baseline":
            return self.baseline
        if scenario == "project":
            return self.project
        raise ValueError(f"unknown scenario {scenario!r}")


def _f(values: Iterable[float]) -> FloatArray:
    return np.fromiter(values, dtype=np.float64)


def _i(values: Iterable[int]) -> IntArray:
    return np.fromiter(values, dtype=np.int64)


NUMERIC = (
    "synthetic_n_kg_per_ha",
    "organic_n_kg_per_ha",
    "residue_n_kg_per_ha",
    "urea_kg_per_ha",
    "limestone_kg_per_ha",
    "dolomite_kg_per_ha",
    "residue_burnt_t_dm_per_ha",
)
_FIELDS = (
    "crop",
    "cultivation_days",
    "water_regime",
    "preseason_water",
    "organic_amendments",
    "sf_soil",
    "sf_cultivar",
    "soc",
    "agroforestry",
    "trees",
    "organic_amendments_unknown",
    *NUMERIC,
)
_WR = {**_IDX["wr"], None: _IDX["wr"]["upland"]}  # no water regime: upland
_PP = {**_IDX["pp"], None: 0}


def season_arrays(seasons: list[Season], area: FloatArray) -> SeasonArrays:
    """Extract one scenario's vectors from the season models (one C-level getter per season,
    then column-wise work; optional blocks are visited only where present)."""
    n = len(seasons)
    cols = list(zip(*map(attrgetter(*_FIELDS), seasons))) if n else [()] * len(_FIELDS)
    crop, days, regime, preseason, amendments, sf_soil, sf_cultivar, soc, af, trees, unknown = cols[:11]
    num = np.array(cols[11:], dtype=np.float64).reshape(len(NUMERIC), n)
    rice = np.fromiter((c == "rice" for c in crop), dtype=bool, count=n)
    wr = _i(_WR[w] for w in regime)
    roa = np.zeros((n, len(AMENDMENTS)))
    for p, lst in enumerate(amendments):
        for a in lst:
            roa[p, _IDX["am"][a.type]] += a.t_per_ha
    soc_idx = np.full((3, n), -1, dtype=np.int64)
    for p, c in enumerate(soc):
        if c is not None:
            soc_idx[:, p] = (_IDX["lu"][c.land_use], _IDX["mg"][c.tillage], _IDX["fi"][c.input])
    af_sys, af_zone = np.full(n, -1, dtype=np.int64), np.full(n, -1, dtype=np.int64)
    af_area, af_age = np.zeros(n), np.zeros(n)
    for p, a in enumerate(af):
        if a is not None:
            af_sys[p], af_zone[p] = _IDX["af"][a.system], _IDX["afz"][a.zone]
            af_area[p] = a.area_ha if a.area_ha is not None else area[p]
            af_age[p] = a.age_years
    tree_rows = [(p, t.count, t.dbh_cm, t.height_m, t.wood_density) for p, lst in enumerate(trees) if lst for t in lst]
    tree_arr = np.array(tree_rows, dtype=np.float64).reshape(len(tree_rows), 5)
    return SeasonArrays(
        area=area,
        is_rice=rice,
        days=np.where(rice, _f(d or 0 for d in days), 0.0),
        water_regime=wr,
        n2o_regime=wr.copy(),
        preseason=_i(_PP[x] for x in preseason),
        roa=roa,
        amendments_unknown=np.fromiter(unknown, dtype=bool, count=n) & rice,
        sf_soil_cultivar=_f((a or 1.0) * (b or 1.0) for a, b in zip(sf_soil, sf_cultivar)),
        synthetic_n=num[0],
        organic_n=num[1],
        residue_n=num[2],
        urea=num[3],
        limestone=num[4],
        dolomite=num[5],
        residue_burnt=num[6],
        burn_crop=_i(0 if c == "rice" else 1 if c == "wheat" else 2 for c in crop),
        soc_lu=soc_idx[0],
        soc_mg=soc_idx[1],
        soc_fi=soc_idx[2],
        af_system=af_sys,
        af_zone=af_zone,
        af_area=af_area,
        af_age=af_age,
        tree_plot=tree_arr[:, 0].astype(np.int64),
        tree_count=tree_arr[:, 1].copy(),
        tree_dbh=tree_arr[:, 2].copy(),
        tree_height=tree_arr[:, 3].copy(),
        tree_density=tree_arr[:, 4].copy(),
    )


def awd_switch_mask(base: SeasonArrays, proj: SeasonArrays) -> BoolArray:
    """Rice plots moved from continuous flooding (baseline) to single or multiple drainage (project):
    the transition VM0051's mandatory N2O deduction covers."""
    drained = np.isin(proj.water_regime, [_IDX["wr"]["single_drainage"], _IDX["wr"]["multiple_drainage"]])
    mask: BoolArray = (base.water_regime == _IDX["wr"]["continuously_flooded"]) & drained & base.is_rice & proj.is_rice
    return mask  # (ndarray == int is typed Any by numpy's stubs: the annotation states the dtype)


BASELINE_STRAW_TYPE = "straw_lt_30d"
"""The amendment VM0051's baseline default stands for: straw incorporated shortly (< 30 days) before cultivation."""


def plot_arrays(
    request: Request, n2o_regime_from_baseline: bool = False, baseline_straw_default: float = 0.0
) -> PlotArrays:
    """Columnar view of the request.

    ``n2o_regime_from_baseline`` (VM0051): on plots moved from continuous flooding to single or
    multiple drainage, the project's EF1FR for synthetic and organic N is selected by the baseline
    regime, because the mandatory deduction (0.00314 kg N2O per kg of that N) replaces the modelled
    change. Every other transition, and residue N, keeps its own regime (the change is modelled).

    ``baseline_straw_default`` (VM0051: 5 t/ha): rice baselines whose organic amendments are unknown get this
    much straw incorporated < 30 days before cultivation (``BASELINE_STRAW_TYPE``); 0: they count none.
    """
    plots = request.plots
    area = _f(map(attrgetter("area_ha"), plots))
    base = season_arrays([p.baseline for p in plots], area)
    proj = season_arrays([p.project for p in plots], area)
    switch = awd_switch_mask(base, proj)
    if baseline_straw_default:
        base.roa[base.amendments_unknown, _IDX["am"][BASELINE_STRAW_TYPE]] = baseline_straw_default
    if n2o_regime_from_baseline:
        proj.n2o_regime = np.where(switch, base.water_regime, proj.water_regime)
    return PlotArrays(
        plot_id=[p.plot_id for p in plots],
        area=area,
        soil_zone=_i(_IDX["zone"][p.soil.climate_zone] if p.soil else -1 for p in plots),
        soil_type=_i(_IDX["soil"][p.soil.soil_type] if p.soil else -1 for p in plots),
        baseline=base,
        project=proj,
        tree_years=_f(p.tree_inventory_years or 1.0 for p in plots),
        awd_switch=switch,
    )

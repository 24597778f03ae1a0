"""A deliberate second implementation of the engine's equations: per plot, per draw, plain Python
floats. Shares only the random factor draws (``Draws``) with the engine. Used by the in-CI
comparison (test_naive_loop.py) and by bench/carbon_engine_bench.py.

Also the synthetic project generator used by both.
"""

from __future__ import annotations

import numpy as np

REGIMES = [
    "continuously_flooded",
    "single_drainage",
    "multiple_drainage",
    "rainfed_regular",
    "rainfed_drought_prone",
    "deep_water",
    "upland",
]
PRESEASON = ["non_flooded_lt_180", "non_flooded_gt_180", "flooded_gt_30", "non_flooded_gt_365"]
AMEND = ["straw_lt_30d", "straw_gt_30d", "compost", "farmyard_manure", "green_manure"]
C44_12, N44_28 = 44 / 12, 44 / 28
GWP = {"AR5": (28.0, 265.0), "AR6": (27.0, 273.0), "AR6_CH4_FOSSIL": (29.8, 273.0)}
PROFILE_GWP = {"vm0042_qa3": "AR5", "vm0051": "AR5", "ccts_ag04_002": "AR6_CH4_FOSSIL"}
IRRIGATED = ("continuously_flooded", "single_drainage", "multiple_drainage")


# ----------------------------------------------------------------------------- synthetic project


def synthetic_request(
    n: int, draws: int, seed: int = 7, profile: str = "vm0051", climate: str = "wet", crops: bool = False
) -> dict:
    """A reproducible synthetic project as a plain dict (JSON-able). ``crops``: some wheat/maize seasons."""
    rng = np.random.default_rng(seed)
    plots = []
    for i in range(n):
        area = float(np.round(rng.uniform(0.1, 3.0), 3))
        soil = None
        base_soc = proj_soc = None
        if rng.random() < 0.3:
            soil = {
                "climate_zone": ["tropical_dry", "tropical_moist", "tropical_wet", "tropical_montane"][rng.integers(4)],
                "soil_type": ["hac", "lac", "sandy"][rng.integers(3)],
            }
            base_soc = {
                "land_use": ["paddy_rice", "long_term_cultivated"][rng.integers(2)],
                "tillage": "full",
                "input": "medium",
            }
            proj_soc = {
                "land_use": ["paddy_rice", "long_term_cultivated"][rng.integers(2)],
                "tillage": ["reduced", "no_till"][rng.integers(2)],
                "input": ["medium", "high_without_manure"][rng.integers(2)],
            }
        plot = {
            "plot_id": f"P{i:06d}",
            "area_ha": area,
            "soil": soil,
            "baseline": _season(rng, "continuously_flooded" if rng.random() < 0.7 else None, base_soc, crops),
            "project": _season(rng, ["multiple_drainage", "single_drainage"][rng.integers(2)], proj_soc, crops),
        }
        u = rng.random()
        if u < 0.05:
            plot["project"]["agroforestry"] = {
                "system": ["default", "multistrata", "hedgerow"][rng.integers(3)],
                "zone": "tropical_moist",
                "area_ha": min(0.1, area),
                "age_years": float(rng.integers(0, 30)),
            }
        elif u < 0.10:
            dbh = float(np.round(rng.uniform(5, 40), 1))
            count = int(rng.integers(1, 30))
            grow = float(rng.integers(1, 6))
            plot["baseline"]["trees"] = [
                {
                    "species": "Tectona grandis",
                    "count": count,
                    "dbh_cm": dbh,
                    "height_m": float(np.round(rng.uniform(3, 15), 1)),
                    "wood_density": 0.55,
                }
            ]
            plot["project"]["trees"] = [
                {
                    "species": "Tectona grandis",
                    "count": count + int(rng.integers(0, 5)),
                    "dbh_cm": dbh + grow,
                    "height_m": float(np.round(rng.uniform(5, 20), 1)),
                    "wood_density": 0.55,
                }
            ]
            plot["tree_inventory_years"] = grow
        plots.append(plot)
    return {
        "gwp": "AR6",
        "profile": profile,
        "region": "IN",
        "climate": climate,
        "draws": draws,
        "seed": 42,
        "confidence": [0.9, 0.95],
        "plots": plots,
        "per_plot_mc": "auto",
    }


def _season(rng, regime, soc, crops: bool) -> dict:
    regime = regime or REGIMES[rng.integers(len(REGIMES))]
    amend = []
    for _ in range(rng.integers(0, 3)):
        amend.append({"type": AMEND[rng.integers(5)], "t_per_ha": float([1, 2, 2.5, 5, 10][rng.integers(5)])})
    syn = float(np.round(rng.uniform(40, 180), 1))
    s = {
        "crop": "rice",
        "cultivation_days": int(rng.integers(90, 141)),
        "water_regime": regime,
        "preseason_water": PRESEASON[rng.integers(4)],
        "organic_amendments": amend,
        "synthetic_n_kg_per_ha": syn,
        "organic_n_kg_per_ha": float(np.round(rng.uniform(0, 40), 1)),
        "urea_kg_per_ha": float(np.floor(min(rng.uniform(0, 300), syn / 0.46) * 10) / 10),
        "limestone_kg_per_ha": float(rng.choice([0.0, 0.0, 250.0])),
        "dolomite_kg_per_ha": float(rng.choice([0.0, 0.0, 200.0])),
        "residue_burnt_t_dm_per_ha": float(rng.choice([0.0, 0.0, 2.5, 4.0])),
        "residue_n_kg_per_ha": float(np.round(rng.uniform(10, 40), 1)),
        "soc": soc,
    }
    if crops and rng.random() < 0.15:
        s = {
            k: v
            for k, v in s.items()
            if k not in ("cultivation_days", "water_regime", "preseason_water", "organic_amendments")
        }
        s["crop"] = ["wheat", "maize"][rng.integers(2)]
    return s


# ----------------------------------------------------------------------------- naive loop


def naive_net_per_draw(req, draws, scope: tuple[str, ...] | None = None) -> list[float]:
    """Project net (t CO2e) per draw; ``scope``: count only these components (default: all)."""
    from carbon_engine.factors import default_library

    names = [
        n for n in default_library().factors if n.split(".")[0] in ("rice", "n2o", "co2", "burning", "soc", "biomass")
    ]
    f = {name: draws[name].tolist() for name in names}
    act = {}
    for cls in (
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
    ):
        for sc in ("baseline", "project"):
            col = "activity.area" if cls == "area" else f"activity.{cls}.{sc}"
            act[(cls, sc)] = draws[col].tolist()
    gwp = GWP[PROFILE_GWP.get(req.profile, req.gwp)]
    out = []
    for d in range(draws.n):
        total = 0.0
        for p in req.plots:
            total += _naive_plot(p, req, f, act, d, gwp, scope)
        out.append(total)
    return out


def _naive_plot(p, req, f, act, d, gwp, scope) -> float:
    b = _naive_season(p, p.baseline, "baseline", req, f, act, d, p.baseline.water_regime)
    n2o_regime = p.project.water_regime
    if (
        req.profile == "vm0051"
        and p.baseline.is_rice
        and p.project.is_rice
        and p.baseline.water_regime == "continuously_flooded"
        and p.project.water_regime in ("single_drainage", "multiple_drainage")
    ):
        n2o_regime = p.baseline.water_regime
    q = _naive_season(p, p.project, "project", req, f, act, d, n2o_regime)
    if scope is not None and req.profile == "ccts_ag04_002":  # in scope: baseline N capped at the project's per plot
        keys = ("synthetic_n_kg_per_ha", "organic_n_kg_per_ha", "residue_n_kg_per_ha")
        capped = p.baseline.model_copy(update={k: min(getattr(p.baseline, k), getattr(p.project, k)) for k in keys})
        bc = _naive_season(p, capped, "baseline", req, f, act, d, p.baseline.water_regime)
        b = {
            **{k: v for k, v in b.items() if not k.startswith("n2o_")},
            **{k: v for k, v in bc.items() if k.startswith("n2o_")},
        }
    net = 0.0
    for comp in set(b) | set(q):
        if scope is not None and comp not in scope:
            continue
        gas = (b.get(comp) or q.get(comp))[0]
        vb, vq = b.get(comp, (gas, 0.0))[1], q.get(comp, (gas, 0.0))[1]
        if gas == "stock":
            net += vq - vb
        else:
            w = {"CH4": gwp[0], "N2O": gwp[1], "CO2": 1.0}[gas]
            net += (vb - vq) * w
    return net


def _ef1(regime, s, req, f, d):
    if s.is_rice and regime is not None and regime != "upland":
        v = f["n2o.ef1fr.continuous" if regime in ("continuously_flooded", "deep_water") else "n2o.ef1fr.drainage"][d]
        return v, v
    if req.climate == "dry":
        return f["n2o.ef1.dry"][d], f["n2o.ef1.dry"][d]
    return f["n2o.ef1.synthetic_wet"][d], f["n2o.ef1.other_wet"][d]


def _naive_season(p, s, sc, req, f, act, d, n2o_regime) -> dict:
    """component -> (gas or 'stock', value in t gas / t CO2)."""
    A = lambda cls: act[(cls, sc)][d]
    a = p.area_ha * A("area")
    out = {}
    if s.is_rice and s.water_regime != "upland":
        load = sum(am.t_per_ha * f[f"rice.cfoa.{am.type}"][d] for am in s.organic_amendments) * A("amendments")
        sfo = (1 + load) ** f["rice.sf_o_exponent"][d]
        ef = (
            f["rice.ef_c.south_asia"][d]
            * f[f"rice.sf_w.{s.water_regime}"][d]
            * f[f"rice.sf_p.{s.preseason_water}"][d]
            * sfo
            * (s.sf_soil or 1)
            * (s.sf_cultivar or 1)
        )
        out["rice_ch4"] = ("CH4", ef * s.cultivation_days * A("cultivation_days") * a / 1000)
    sn = s.synthetic_n_kg_per_ha * a * A("synthetic_n")
    on = s.organic_n_kg_per_ha * a * A("organic_n")
    cr = s.residue_n_kg_per_ha * a * A("residue_n")
    ef_sn, ef_on = _ef1(n2o_regime, s, req, f, d)
    _, ef_cr = _ef1(s.water_regime, s, req, f, d)
    out["n2o_direct"] = ("N2O", (sn * ef_sn + on * ef_on + cr * ef_cr) * N44_28 / 1000)
    out["n2o_volatilisation"] = (
        "N2O",
        (sn * f["n2o.frac_gasf"][d] + on * f["n2o.frac_gasm"][d]) * f[f"n2o.ef4.{req.climate}"][d] * N44_28 / 1000,
    )
    if req.climate == "wet" or (s.is_rice and s.water_regime in IRRIGATED):
        out["n2o_leaching"] = ("N2O", (sn + on + cr) * f["n2o.frac_leach"][d] * f["n2o.ef5"][d] * N44_28 / 1000)
    cf = f["burning.cf_wheat"][d] if s.crop == "wheat" else f["burning.cf_rice"][d]
    burnt = a * s.residue_burnt_t_dm_per_ha * A("residue_burnt") * cf
    out["burning_ch4"] = ("CH4", burnt * f["burning.gef_ch4"][d] / 1000)
    out["burning_n2o"] = ("N2O", burnt * f["burning.gef_n2o"][d] / 1000)
    out["co2_urea"] = ("CO2", s.urea_kg_per_ha * A("urea") * f["co2.urea_c"][d] * a / 1000 * C44_12)
    out["co2_lime"] = (
        "CO2",
        (s.limestone_kg_per_ha * f["co2.limestone_c"][d] + s.dolomite_kg_per_ha * f["co2.dolomite_c"][d])
        * A("lime")
        * a
        / 1000
        * C44_12,
    )
    if p.soil is not None and s.soc is not None:
        z = p.soil.climate_zone
        col = "dry" if z == "tropical_dry" else "moist_wet"
        paddy = s.soc.land_use == "paddy_rice"
        f_mg = 1.0 if paddy else f[f"soc.f_mg.{s.soc.tillage}.{col}"][d]
        f_i = 1.0 if paddy else f[f"soc.f_i.{s.soc.input}.{col}"][d]
        out["soc"] = (
            "stock",
            a
            * f[f"soc.ref.{z}.{p.soil.soil_type}"][d]
            * f[f"soc.f_lu.{s.soc.land_use}.{col}"][d]
            * f_mg
            * f_i
            / 20
            * C44_12,
        )
    if s.agroforestry is not None:
        af = s.agroforestry
        g = f[f"biomass.ag_growth.south_asia.{af.zone}.{af.system}"][d]
        cmax = f[f"biomass.max_agb_c.tropical.{af.system}"][d]
        ag = min(g, max(0.0, cmax - af.age_years * g))
        bg_name = f"biomass.bg_growth.south_asia.{af.zone}.{af.system}"
        if bg_name in f:
            ratio = f[bg_name][d] / g if g > 0 else 0.0
        else:
            from carbon_engine.factors import default_library

            lib = default_library().factors  # the AGB class is chosen at default factors
            stock_dm = (
                min(
                    af.age_years * lib[f"biomass.ag_growth.south_asia.{af.zone}.{af.system}"].value,
                    lib[f"biomass.max_agb_c.tropical.{af.system}"].value,
                )
                / lib["biomass.carbon_fraction"].value
            )
            ratio = f[f"biomass.root_shoot.{req.root_shoot_ecozone}.{'gt125' if stock_dm > 125 else 'le125'}"][d]
        af_area = (af.area_ha if af.area_ha is not None else p.area_ha) * A("area")
        out["biomass_tier1"] = ("stock", af_area * ag * (1 + ratio) * C44_12)
    if s.trees:
        agb = sum(t.count * 0.0673 * (t.wood_density * t.dbh_cm**2 * t.height_m) ** 0.976 for t in s.trees) / 1000
        cls = "gt125" if agb / p.area_ha > 125 else "le125"
        out["biomass_tier2"] = (
            "stock",
            agb
            * A("trees")
            / p.tree_inventory_years
            * (1 + f[f"biomass.root_shoot.{req.root_shoot_ecozone}.{cls}"][d])
            * f["biomass.carbon_fraction"][d]
            * C44_12,
        )
    return out

"""Engine assumptions and unconfirmed choices, by id. The engine lists in each result the ones the
request actually depends on (``Result.assumptions``); README.md explains them."""

from __future__ import annotations

from collections.abc import Iterable

ASSUMPTIONS: dict[str, str] = {
    "n2o_ef1fr_deep_water": "deep-water rice uses the continuous-flooding EF1FR 0.003 (Table 11.1 has no deep-water row)",
    "n2o_ef1fr_rainfed": "rainfed rice (regular, drought-prone) uses the drainage EF1FR 0.005 (intermittently flooded; "
    "Table 11.1 has no rainfed row)",
    "n2o_leaching_dry_irrigated": "dry climate: leaching (Eq 11.10) applied only to irrigated rice (continuous flooding, "
    "single/multiple drainage); rainfed/deep-water/upland rice and other crops are treated "
    "as not irrigated",
    "soc_montane_moist_wet": "tropical montane soils use the moist/wet Table 5.5 column (montane factors unconfirmed)",
    "soc_paddy_no_mg_fi": "paddy rice SOC: F_MG = F_I = 1 (Table 5.5 gives no tillage/input factors for paddy rice); "
    "the stated tillage/input were ignored [U: table wording not checked by the team]",
    "burning_cf_other_crops": "residue burning of crops other than rice and wheat uses the rice combustion factor 0.80",
    "burning_cf_wheat": "wheat residue combustion factor 0.90 (Table 2.6) is unconfirmed [U]",
    "activity_uncertainty_correlation": "activity-data errors: one systematic error per class and scenario, fully "
    "correlated across plots, independent between baseline and project (area shared)",
    "chave2014_dbh_range": "a tree DBH lies outside 5-212 cm, the calibration range of Chave et al. (2014)",
    "stock_change_annual": "stock changes (SOC, biomass) are annual and counted once per field (one record per field)",
    "vm0042_buffer_default": "VM0042 non-permanence buffer 10 % (request gave none): engine default, not the AFOLU "
    "Non-Permanence Risk Tool result",
    "vm0051_request_is_one_year": "VM0051: the request is taken to be one year of the whole project for the "
    "60,000 t CO2e/yr flat-deduction limit",
    "vm0051_country_factors_flat_15": "VM0051 above 60,000 t CO2e/yr with a country-specific EF_c: the flat 15 % "
    "uncertainty deduction is still taken (the secondary readings differ on what replaces it: Eq 38 or the "
    "country-specific factors themselves)",
    "vm0051_n2o_applied_n_only": "VM0051 mandatory N2O deduction on synthetic + organic N applied; residue N keeps "
    "its modelled EF1FR by the project regime",
    "profile_scope": "the profile's counted components are the engine's reading of the methodology scope; the "
    "methodology text was not available to the team [U]",
    "vm0042_conservative_one_at_a_time": "VM0042 conservative factors chosen one at a time at low/default/high, one "
    "value per physical factor for both scenarios (correlated groups move together)",
    "correlated_factor_groups": "Monte Carlo: Table 5.12 SF_w, Table 5.13 SF_p and Table 11.1 EF1FR are drawn "
    "comonotonically within each table (one quantile per draw shared by the group)",
}


def describe(ids: Iterable[str]) -> list[dict[str, str]]:
    """Assumption records for ``ids`` (sorted, unique)."""
    return [{"id": i, "text": ASSUMPTIONS[i]} for i in sorted(set(ids))]

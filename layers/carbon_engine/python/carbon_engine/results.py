"""Result models (pydantic v2): what :func:`carbon_engine.estimate` returns, as plain JSON.
Re-exported by :mod:`carbon_engine.models`."""

from __future__ import annotations

from pydantic import BaseModel, Field


class Stats(BaseModel):
    """Monte Carlo statistics of one quantity (t CO2e)."""

    mean: float
    median: float
    sd: float
    ci: dict[str, tuple[float, float]]
    half_width_pct: dict[str, float | None]


class Quantity(BaseModel):
    """A quantity in t CO2e: the deterministic point estimate and its Monte Carlo statistics."""

    point: float
    mc: Stats


class GasResult(BaseModel):
    baseline: Quantity
    project: Quantity
    reduction: Quantity


class Deduction(BaseModel):
    rule: str
    t_co2e: float
    source: str
    note: str = ""
    equation: str = Field(default="", description="the methodology equation the rule applies")
    section: str = Field(default="", description="section of the methodology")
    status: str = Field(default="", description="confirmed / secondary / assumption (docs/methodologies.md)")


class Finding(BaseModel):
    """A statement the result must carry: a scope decision or an eligibility refusal, with its rule id."""

    id: str
    text: str
    status: str = ""


class TotalResult(BaseModel):
    gases: dict[str, GasResult]
    components: dict[str, dict[str, float]] = Field(description="point estimates per method component (t CO2e)")
    emissions_baseline: Quantity
    emissions_project: Quantity
    reductions: Quantity
    removals: Quantity
    removals_by_pool: dict[str, Quantity]
    net: Quantity
    deductions: list[Deduction]
    creditable_net: float
    eligible: bool
    creditable_basis: float = Field(description="in-scope net the deductions apply to (profile factor choice)")
    net_in_scope: Quantity | None = Field(
        default=None,
        description="net over the profile's creditable scope (counted "
        "components, mandatory conditional sources, scope caps)",
    )
    findings: list[Finding] = Field(default_factory=list, description="scope decisions and eligibility refusals")


class PlotMcStats(BaseModel):
    mean: list[float]
    median: list[float]
    ci: dict[str, dict[str, list[float]]]
    half_width_pct: dict[str, list[float | None]]


class PlotTable(BaseModel):
    """Per-plot results, columnar: ``point[metric][i]`` belongs to ``plot_id[i]``."""

    plot_id: list[str]
    point: dict[str, list[float]]
    mc_included: bool
    mc_note: str
    mc: dict[str, PlotMcStats] | None = None

    def row(self, plot_id: str) -> dict[str, float]:
        """Point estimates of one plot as a dict."""
        i = self.plot_id.index(plot_id)
        return {k: v[i] for k, v in self.point.items()}


class ProfileInfo(BaseModel):
    id: str
    title: str
    source: str
    factor_choice: str
    notes: list[str] = Field(default_factory=list)
    counted_components: list[str] = Field(default_factory=list, description="components in the creditable net")
    scope_source: str = ""
    scope_status: str = Field(
        default="", description="T / U: whether the component list was checked against the methodology text"
    )


class Assumption(BaseModel):
    """An engine assumption or unconfirmed choice that this result depends on."""

    id: str
    text: str


class Result(BaseModel):
    engine_version: str
    factors_version: str
    factors_file: str
    profile: ProfileInfo
    gwp: dict[str, float | str]
    region: str
    climate: str
    draws: int
    seed: int
    confidence: list[float]
    total: TotalResult
    plots: PlotTable
    unconfirmed_factors_used: list[str] = Field(
        description="factors whose value or range is unconfirmed [U] (range: 'name (range)')"
    )
    assumptions: list[Assumption] = Field(default_factory=list)
    factors_sha256: str = Field(default="", description="SHA-256 of the factors file content")
    numpy_version: str = Field(
        default="", description="NumPy version (random streams are not promised stable across versions)"
    )

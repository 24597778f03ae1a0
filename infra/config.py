"""Stage configuration: one validated pydantic model per stage, read from cdk.json context.

Everything that differs between ``dev`` and ``prod`` lives in ``context.stages.<stage>`` of
cdk.json, so the constructs never branch on the stage *name*: they read typed fields. A typo or a
missing field fails the synth with pydantic's field-level message instead of deploying a default.

Context keys read here (``-c key=value`` overrides them):

- ``stage``: ``dev`` (default) or ``prod``; picks the block below and names the stage's three stacks,
  ``AgriMrv-<stage>`` (data), ``AgriMrv-<stage>-pipeline`` and ``AgriMrv-<stage>-app`` (stateless;
  docs/stacks.md).
- ``stages``: ``{"dev": {...}, "prod": {...}}``, each a :class:`StageConfig` without ``name``.
- ``chain_contract_address``: the deployed AnchorRegistry of the stage's chain; fills (or replaces) the
  stage block's value, e.g. ``-c chain_contract_address=0x...`` right after deploying the registry.
- ``app_version``: the ``APP_VERSION`` every function reports.
- ``bundle_layers``: ``false`` skips the ``pip install`` of the layers (see infra/bundling.py).
"""

from __future__ import annotations

import json
import re
from typing import Any, Literal

from aws_cdk import RemovalPolicy
from aws_cdk.aws_logs import RetentionDays
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

DEFAULT_STAGE = "dev"
DEFAULT_APP_VERSION = "0.1.0"
STACK_PREFIX = "AgriMrv"

# CloudWatch Logs accepts only these retention periods (days); anything else fails at deploy time.
_LOG_RETENTION: dict[int, RetentionDays] = {
    1: RetentionDays.ONE_DAY,
    3: RetentionDays.THREE_DAYS,
    5: RetentionDays.FIVE_DAYS,
    7: RetentionDays.ONE_WEEK,
    14: RetentionDays.TWO_WEEKS,
    30: RetentionDays.ONE_MONTH,
    60: RetentionDays.TWO_MONTHS,
    90: RetentionDays.THREE_MONTHS,
    120: RetentionDays.FOUR_MONTHS,
    150: RetentionDays.FIVE_MONTHS,
    180: RetentionDays.SIX_MONTHS,
    365: RetentionDays.ONE_YEAR,
    400: RetentionDays.THIRTEEN_MONTHS,
    545: RetentionDays.EIGHTEEN_MONTHS,
    731: RetentionDays.TWO_YEARS,
    1096: RetentionDays.THREE_YEARS,
    1827: RetentionDays.FIVE_YEARS,
    2192: RetentionDays.SIX_YEARS,
    2557: RetentionDays.SEVEN_YEARS,
    2922: RetentionDays.EIGHT_YEARS,
    3288: RetentionDays.NINE_YEARS,
    3653: RetentionDays.TEN_YEARS,
}


class ApiPlan(BaseModel):
    """One usage plan for integrator API keys (the public registry view): throttle and quota per key."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    rate_limit: float = Field(gt=0)
    """Steady-state requests per second of one key."""
    burst_limit: int = Field(gt=0)
    quota_limit: int = Field(gt=0)
    """Requests one key may make per ``quota_period``; API Gateway answers 429 past it."""
    quota_period: Literal["DAY", "WEEK", "MONTH"] = "DAY"
    description: str = Field(default="", max_length=200)


# Tiers of integrator keys: a self-serve-sized trial and the standard plan of a registry or buyer.
DEFAULT_API_PLANS: dict[str, ApiPlan] = {
    "trial": ApiPlan(rate_limit=1, burst_limit=5, quota_limit=1_000, description="Evaluation: 1,000 requests a day"),
    "standard": ApiPlan(
        rate_limit=10, burst_limit=20, quota_limit=50_000, description="Registries, buyers: 50,000 requests a day"
    ),
}


class StageConfig(BaseModel):
    """The settings of one deployment stage (dev, prod)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str = Field(pattern=r"^[a-z][a-z0-9]{1,15}$")
    cors_origins: tuple[str, ...] = Field(min_length=1)
    """Browser origins allowed by CORS (API preflight, gateway errors, uploads bucket presigned PUT)."""
    throttle_rate_limit: float = Field(gt=0)
    """Steady-state requests per second for the whole API stage."""
    throttle_burst_limit: int = Field(gt=0)
    log_retention_days: int
    removal_policy: Literal["retain", "destroy"]
    """``retain`` keeps data stores (pool, tables, buckets) when the stack is deleted."""
    audit_retention_mode: Literal["GOVERNANCE", "COMPLIANCE"]
    """Object Lock mode of the audit bucket: COMPLIANCE cannot be shortened by anyone, root included."""
    audit_retention_days: int = Field(ge=1, le=36500)
    """Default Object Lock retention (7 years = 2557 days, leap days included)."""
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    chain_rpc_url: str = Field(default="eth-tester://in-process", pattern=r"^(eth-tester://in-process|https?://\S+)$")
    """Where the ledger writer anchors Merkle roots: ``eth-tester://in-process`` (an in-process EVM:
    the local twin and tests only) or a JSON-RPC URL (Polygon, Ethereum...). prod sets it explicitly."""
    chain_contract_address: str | None = Field(default=None, pattern=r"^0x[0-9a-fA-F]{40}$")
    """The AnchorRegistry on that chain (deploy once); unused for the in-process chain, which deploys its own."""
    api_plans: dict[str, ApiPlan] = Field(default_factory=lambda: dict(DEFAULT_API_PLANS), min_length=1)
    """Usage plans of integrator API keys by tier name (``POST /admin/api-keys`` picks one); each plan's
    throttle must stay within the stage's (API Gateway applies the stricter)."""

    @field_validator("api_plans")
    @classmethod
    def _plan_names(cls, value: dict[str, ApiPlan]) -> dict[str, ApiPlan]:
        for name in value:
            if not re.fullmatch(r"[a-z][a-z0-9]{1,15}", name):
                raise ValueError(f"plan name {name!r}: lower-case letters and digits, 2-16, starting with a letter")
        return value

    notification_email_sender: str | None = Field(default=None, pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$", max_length=254)
    """The From address of notification emails: an identity verified in SES (ops verify it once). Without
    one, notifications are not emailed (in-app and SMS only) and the delivery role gets no SES permission."""

    @model_validator(mode="after")
    def _real_chain_has_a_registry(self) -> StageConfig:
        """A JSON-RPC chain without the registry's address would deploy a writer that can never anchor
        (agri_chain.connect refuses at run time): stop the synth here instead, saying what to do."""
        if not self.uses_in_process_chain and self.chain_contract_address is None:
            raise ValueError(
                f"stage {self.name!r} anchors on the chain at {self.chain_rpc_url} but has no chain_contract_address: "
                f"deploy the AnchorRegistry on that chain once (docs/deploying.md, 'The registry contract'), then set "
                f"context.stages.{self.name}.chain_contract_address in cdk.json or pass -c chain_contract_address=0x..."
            )
        return self

    @property
    def uses_in_process_chain(self) -> bool:
        """True when no real chain (and so no signing key secret) is involved."""
        return self.chain_rpc_url.startswith("eth-tester://")

    @field_validator("log_retention_days")
    @classmethod
    def _known_retention(cls, value: int) -> int:
        if value not in _LOG_RETENTION:
            raise ValueError(f"CloudWatch Logs does not offer {value} days; use one of {sorted(_LOG_RETENTION)}")
        return value

    @field_validator("cors_origins")
    @classmethod
    def _origins_without_slash(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for origin in value:
            if origin != "*" and (not origin.startswith(("https://", "http://")) or origin.endswith("/")):
                raise ValueError(f"{origin!r} is not an origin (scheme://host[:port], no trailing slash)")
        return value

    @property
    def cdk_removal_policy(self) -> RemovalPolicy:
        return RemovalPolicy.RETAIN if self.removal_policy == "retain" else RemovalPolicy.DESTROY

    @property
    def log_retention(self) -> RetentionDays:
        return _LOG_RETENTION[self.log_retention_days]

    @property
    def is_ephemeral(self) -> bool:
        """True when the stage's data may be destroyed with the stack (dev)."""
        return self.removal_policy == "destroy"

    @property
    def stack_name(self) -> str:
        return f"{STACK_PREFIX}-{self.name}"


class AppSettings(BaseModel):
    """What app.py needs from the context besides the stage block."""

    model_config = ConfigDict(frozen=True)

    stage: StageConfig
    app_version: str = DEFAULT_APP_VERSION
    bundle_layers: bool = True


def _as_bool(value: Any) -> bool:
    """Context from ``-c key=value`` arrives as a string; cdk.json gives real booleans."""
    if isinstance(value, str):
        return value.strip().lower() not in {"false", "0", "no", "off", ""}
    return bool(value)


def _as_mapping(value: Any) -> dict[str, Any]:
    """``-c stages='{...}'`` arrives as a JSON string."""
    return json.loads(value) if isinstance(value, str) else dict(value or {})


def settings_from_context(get: Any) -> AppSettings:
    """Build :class:`AppSettings` from a context getter (``app.node.try_get_context``)."""
    stage = str(get("stage") or DEFAULT_STAGE)
    stages = _as_mapping(get("stages"))
    if stage not in stages:
        raise ValueError(f"Unknown stage {stage!r}: cdk.json context.stages defines {sorted(stages)}")
    block = {"name": stage, **stages[stage]}
    address = get("chain_contract_address")
    if address is not None:
        block["chain_contract_address"] = str(address)
    bundle = get("bundle_layers")
    return AppSettings(
        stage=StageConfig.model_validate(block),
        app_version=str(get("app_version") or DEFAULT_APP_VERSION),
        bundle_layers=True if bundle is None else _as_bool(bundle),
    )

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


class SmsDlt(BaseModel):
    """India's DLT registration of the stage's SMS sender (docs/decisions/0020): the principal entity id
    and, per SMS template name (``<kind>.<language>``, ``claim_code.en``), the registered template id.
    The synth refuses a registration that lacks a template the app can send (infra/messaging.py)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    entity_id: str = Field(pattern=r"^[A-Za-z0-9_-]{1,50}$")
    templates: dict[str, str] = Field(default_factory=dict)

    @field_validator("templates")
    @classmethod
    def _ids(cls, value: dict[str, str]) -> dict[str, str]:
        for name, template_id in value.items():
            if not re.fullmatch(r"[a-z][a-z0-9_]{0,63}\.[a-z]{2,3}", name):
                raise ValueError(f"template name {name!r}: <kind>.<language>, e.g. run_approved.hi")
            if not re.fullmatch(r"[A-Za-z0-9_-]{1,50}", template_id):
                raise ValueError(f"template {name!r}: its DLT id must be 1-50 letters or digits, not {template_id!r}")
        return value


_EMAIL = r"^[^@\s]+@[^@\s]+\.[^@\s]+$"


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

    notification_email_sender: str | None = Field(default=None, pattern=_EMAIL, max_length=254)
    """The From address of notification emails. The stack creates its SES identity
    (``notification_email_identity``) and the delivery role may send only from it. Without one,
    notifications are not emailed (in-app and SMS only) and the delivery role gets no SES permission."""
    notification_email_identity: Literal["address", "domain"] = "address"
    """The SES identity the stack creates for the sender: the address itself (SES mails it a link to click),
    or its whole domain (Easy DKIM: three CNAME records to publish; docs/operations.md)."""
    sms_sender_id: str | None = Field(
        default=None, min_length=3, max_length=11, pattern=r"^[A-Za-z0-9]*[A-Za-z][A-Za-z0-9]*$"
    )
    """The alphanumeric sender id of texts (India: the DLT-registered 6-letter header)."""
    sms_dlt: SmsDlt | None = None
    """India's DLT registration; without it texts carry no DLT attributes (Indian carriers drop them)."""
    alarm_emails: tuple[str, ...] = ()
    """Who the operations alarms topic emails (each confirms the subscription once); empty is allowed only
    in a stage whose data is destroyed with it (dev)."""

    @field_validator("alarm_emails")
    @classmethod
    def _emails(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for address in value:
            if len(address) > 254 or not re.fullmatch(_EMAIL, address):
                raise ValueError(f"{address!r} is not an email address")
        if len(set(value)) != len(value):
            raise ValueError("an address is listed twice")
        return value

    @model_validator(mode="after")
    def _kept_stage_can_tell_people(self) -> StageConfig:
        """A stage that keeps its data (prod) serves real farmers: without a DLT registration Indian carriers
        drop its texts, without a sender it cannot email, without subscribers its alarms reach nobody."""
        if self.sms_dlt is not None and not self.sms_sender_id:
            raise ValueError(
                f"stage {self.name!r}: sms_dlt needs sms_sender_id (a DLT template is registered for one sender id)"
            )
        if self.is_ephemeral:
            return self
        missing = [
            name
            for name, value in (
                ("sms_dlt", self.sms_dlt),
                ("sms_sender_id", self.sms_sender_id),
                ("notification_email_sender", self.notification_email_sender),
                ("alarm_emails", self.alarm_emails),
            )
            if not value
        ]
        if missing:
            raise ValueError(
                f"stage {self.name!r} keeps its data (removal_policy retain) but has no {', '.join(missing)} in "
                f"context.stages.{self.name} of cdk.json (docs/operations.md, 'Before the first deploy')"
            )
        return self

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

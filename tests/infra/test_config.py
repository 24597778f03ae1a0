"""Stage configuration: cdk.json's stages validate, and each field maps to the right CDK value."""

from __future__ import annotations

import pytest
from aws_cdk import RemovalPolicy
from pydantic import ValidationError

from infra.config import StageConfig, settings_from_context
from infra.synth import cdk_json_context

VALID = dict(cors_origins=["https://app.example"], throttle_rate_limit=10, throttle_burst_limit=20,
             log_retention_days=30, removal_policy="retain", audit_retention_mode="COMPLIANCE",
             audit_retention_days=2557)


def _settings(**context):
    return settings_from_context({**cdk_json_context(), **context}.get)


@pytest.mark.parametrize("stage", ["dev", "prod"])
def test_cdk_json_stages_are_valid(stage):
    settings = _settings(stage=stage)
    assert settings.stage.name == stage
    assert settings.stage.stack_name == f"AgriMrv-{stage}"


def test_default_stage_is_dev_and_bundles():
    settings = settings_from_context({k: v for k, v in cdk_json_context().items() if k != "stage"}.get)
    assert settings.stage.name == "dev" and settings.bundle_layers is True


def test_prod_retains_and_locks_in_compliance_mode():
    prod = _settings(stage="prod").stage
    assert prod.cdk_removal_policy == RemovalPolicy.RETAIN and not prod.is_ephemeral
    assert prod.audit_retention_mode == "COMPLIANCE" and prod.audit_retention_days >= 7 * 365


def test_dev_destroys():
    dev = _settings(stage="dev").stage
    assert dev.cdk_removal_policy == RemovalPolicy.DESTROY and dev.is_ephemeral


@pytest.mark.parametrize("value,expected", [("false", False), ("0", False), (False, False), ("true", True), (True, True)])
def test_bundle_layers_from_cli_strings(value, expected):
    assert _settings(bundle_layers=value).bundle_layers is expected


def test_unknown_stage_fails():
    with pytest.raises(ValueError, match="Unknown stage"):
        _settings(stage="qa")


@pytest.mark.parametrize("override", [
    {"log_retention_days": 31},  # CloudWatch has no 31-day retention
    {"cors_origins": ["https://app.example/"]},
    {"cors_origins": []},
    {"removal_policy": "snapshot"},
    {"audit_retention_mode": "LEGAL_HOLD"},
    {"throttle_rate_limit": 0},
    {"unexpected": 1},
])
def test_invalid_stage_config_is_rejected(override):
    with pytest.raises(ValidationError):
        StageConfig.model_validate({"name": "dev", **VALID, **override})

"""Stage configuration: cdk.json's stages validate, and each field maps to the right CDK value."""

from __future__ import annotations

import pytest
from aws_cdk import RemovalPolicy
from pydantic import ValidationError

from infra.config import StageConfig, settings_from_context
from infra.synth import cdk_json_context

VALID = dict(
    cors_origins=["https://app.example"],
    throttle_rate_limit=10,
    throttle_burst_limit=20,
    log_retention_days=30,
    removal_policy="retain",
    audit_retention_mode="COMPLIANCE",
    audit_retention_days=2557,
    # a stage that keeps its data must be able to tell people (decision 0020; tests/infra/test_operations.py)
    sms_sender_id="AGRMRV",
    sms_dlt={"entity_id": "1101", "templates": {}},
    notification_email_sender="notifications@example.org",
    alarm_emails=["ops@example.org"],
)


# Any well-formed address: the prod stage of cdk.json names a real chain, whose registry ops deploy first.
REGISTRY = "0x" + "ab" * 20


def _settings(**context):
    return settings_from_context({**cdk_json_context(), **context}.get)


@pytest.mark.parametrize("stage", ["dev", "prod"])
def test_cdk_json_stages_are_valid(stage):
    settings = _settings(stage=stage, chain_contract_address=REGISTRY)
    assert settings.stage.name == stage
    assert settings.stage.stack_name == f"AgriMrv-{stage}"


def test_default_stage_is_dev_and_bundles():
    settings = settings_from_context({k: v for k, v in cdk_json_context().items() if k != "stage"}.get)
    assert settings.stage.name == "dev" and settings.bundle_layers is True


def test_prod_retains_and_locks_in_compliance_mode():
    prod = _settings(stage="prod", chain_contract_address=REGISTRY).stage
    assert prod.cdk_removal_policy == RemovalPolicy.RETAIN and not prod.is_ephemeral
    assert prod.audit_retention_mode == "COMPLIANCE" and prod.audit_retention_days >= 7 * 365


def test_dev_destroys():
    dev = _settings(stage="dev").stage
    assert dev.cdk_removal_policy == RemovalPolicy.DESTROY and dev.is_ephemeral


@pytest.mark.parametrize(
    "value,expected", [("false", False), ("0", False), (False, False), ("true", True), (True, True)]
)
def test_bundle_layers_from_cli_strings(value, expected):
    assert _settings(bundle_layers=value).bundle_layers is expected


def test_unknown_stage_fails():
    with pytest.raises(ValueError, match="Unknown stage"):
        _settings(stage="qa")


@pytest.mark.parametrize(
    "override",
    [
        {"log_retention_days": 31},  # CloudWatch has no 31-day retention
        {"cors_origins": ["https://app.example/"]},
        {"cors_origins": []},
        {"removal_policy": "snapshot"},
        {"audit_retention_mode": "LEGAL_HOLD"},
        {"throttle_rate_limit": 0},
        {"unexpected": 1},
    ],
)
def test_invalid_stage_config_is_rejected(override):
    with pytest.raises(ValidationError):
        StageConfig.model_validate({"name": "dev", **VALID, **override})


# ---- a real chain needs its registry's address ----------------------------------------------------------


def test_prod_without_a_registry_address_fails_with_a_clear_message():
    """cdk.json's prod names a JSON-RPC URL and no contract: the synth must stop, not deploy a writer
    that can never anchor (agri_chain.connect refuses at run time, every 15 minutes)."""
    assert "chain_contract_address" not in cdk_json_context()["stages"]["prod"]
    with pytest.raises(ValidationError) as caught:
        _settings(stage="prod")
    message = str(caught.value)
    assert "stage 'prod'" in message and "chain_contract_address" in message
    assert "docs/deploying.md" in message


def test_synth_of_prod_without_a_registry_address_fails():
    from infra.synth import build_app

    with pytest.raises(ValidationError, match="chain_contract_address"):
        build_app({"stage": "prod", "bundle_layers": "false"}, outdir=None)


@pytest.mark.parametrize("rpc", ["https://rpc.example.org", "http://127.0.0.1:8545"])
def test_any_json_rpc_url_needs_a_contract_address(rpc):
    with pytest.raises(ValidationError, match="chain_contract_address"):
        StageConfig.model_validate({"name": "qa", **VALID, "chain_rpc_url": rpc})
    stage = StageConfig.model_validate(
        {"name": "qa", **VALID, "chain_rpc_url": rpc, "chain_contract_address": REGISTRY}
    )
    assert stage.chain_contract_address == REGISTRY and not stage.uses_in_process_chain


def test_the_in_process_chain_needs_no_address():
    stage = StageConfig.model_validate({"name": "dev", **VALID})
    assert stage.uses_in_process_chain and stage.chain_contract_address is None


def test_context_key_sets_the_registry_address_of_the_stage():
    """``-c chain_contract_address=0x...`` fills (or replaces) the stage's value, as ops do after deploying it."""
    prod = _settings(stage="prod", chain_contract_address=REGISTRY).stage
    assert prod.chain_contract_address == REGISTRY
    assert prod.chain_rpc_url == cdk_json_context()["stages"]["prod"]["chain_rpc_url"]


@pytest.mark.parametrize("address", ["0x1234", "ab" * 20, "0x" + "zz" * 20, ""])
def test_a_malformed_registry_address_is_refused(address):
    with pytest.raises(ValidationError):
        _settings(stage="prod", chain_contract_address=address)

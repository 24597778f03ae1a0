"""DynamoDB and S3 baselines, Object Lock, and what each stage keeps on stack deletion."""

from __future__ import annotations

import pytest

from tests.infra.cfn import resources

RESOURCE_KEY = "agri:resource"
DATA_TYPES = ("AWS::DynamoDB::Table", "AWS::S3::Bucket", "AWS::Cognito::UserPool")


def _bucket(template: dict, name: str) -> tuple[str, dict]:
    found = [
        (lid, b)
        for lid, b in resources(template, "AWS::S3::Bucket").items()
        if b.get("Metadata", {}).get(RESOURCE_KEY) == name
    ]
    assert len(found) == 1, name
    return found[0]


def test_tables_have_pitr_sse_and_on_demand(template):
    tables = resources(template, "AWS::DynamoDB::Table")
    assert tables
    for lid, table in tables.items():
        props = table["Properties"]
        assert props["PointInTimeRecoverySpecification"]["PointInTimeRecoveryEnabled"] is True, lid
        assert props["SSESpecification"]["SSEEnabled"] is True, lid
        assert props["BillingMode"] == "PAY_PER_REQUEST", lid


def test_revocation_table_keys_and_ttl(template):
    (table,) = [
        t["Properties"]
        for t in resources(template, "AWS::DynamoDB::Table").values()
        if t.get("Metadata", {}).get(RESOURCE_KEY) == "revocation"
    ]
    assert table["KeySchema"] == [{"AttributeName": "pk", "KeyType": "HASH"}]
    assert table["AttributeDefinitions"] == [{"AttributeName": "pk", "AttributeType": "S"}]
    assert table["TimeToLiveSpecification"] == {"AttributeName": "expires_at", "Enabled": True}


def test_every_bucket_is_private_versioned_encrypted_and_tls_only(template):
    policies = {
        p["Properties"]["Bucket"]["Ref"]: p["Properties"]["PolicyDocument"]["Statement"]
        for p in resources(template, "AWS::S3::BucketPolicy").values()
    }
    buckets = resources(template, "AWS::S3::Bucket")
    assert len(buckets) == 4  # access logs, uploads, audit, pipeline-data
    for lid, bucket in buckets.items():
        props = bucket["Properties"]
        assert props["PublicAccessBlockConfiguration"] == {
            "BlockPublicAcls": True,
            "BlockPublicPolicy": True,
            "IgnorePublicAcls": True,
            "RestrictPublicBuckets": True,
        }, lid
        assert props["VersioningConfiguration"] == {"Status": "Enabled"}, lid
        assert props["BucketEncryption"]["ServerSideEncryptionConfiguration"], lid
        deny_insecure = [
            s
            for s in policies[lid]
            if s["Effect"] == "Deny" and s.get("Condition", {}).get("Bool", {}).get("aws:SecureTransport") == "false"
        ]
        assert deny_insecure, f"{lid} has no TLS-only statement"


def test_buckets_log_to_the_access_log_bucket(template):
    log_lid, log_bucket = _bucket(template, "access-logs")
    assert "LoggingConfiguration" not in log_bucket["Properties"]
    for name in ("uploads", "audit", "pipeline-data"):
        _, bucket = _bucket(template, name)
        assert bucket["Properties"]["LoggingConfiguration"]["DestinationBucketName"] == {"Ref": log_lid}


def test_audit_bucket_has_object_lock_dev_governance(template):
    _, audit = _bucket(template, "audit")
    props = audit["Properties"]
    assert props["ObjectLockEnabled"] is True
    assert props["ObjectLockConfiguration"]["Rule"]["DefaultRetention"] == {"Mode": "GOVERNANCE", "Days": 1}


def test_uploads_cors_allows_presigned_put_from_stage_origins(template):
    _, uploads = _bucket(template, "uploads")
    (rule,) = uploads["Properties"]["CorsConfiguration"]["CorsRules"]
    assert "PUT" in rule["AllowedMethods"]
    assert set(rule["AllowedOrigins"]) == {"http://localhost:3000", "http://localhost:5173"}


@pytest.mark.parametrize("resource_type", DATA_TYPES)
def test_dev_destroys_data_stores(template, resource_type):
    for lid, res in resources(template, resource_type).items():
        assert res.get("DeletionPolicy") == "Delete", lid


def test_no_bucket_is_emptied_by_a_custom_resource(template):
    """S3 auto-delete needs a custom-resource Lambda in the buckets' stack, and the data stack holds
    no code (test_stacks.py): a dev stage's buckets are emptied by hand before a destroy (docs/stacks.md)."""
    assert len(resources(template, "AWS::S3::Bucket")) == 4
    assert not resources(template, "Custom::S3AutoDeleteObjects")
    for lid, bucket in resources(template, "AWS::S3::Bucket").items():
        tags = {t["Key"] for t in bucket["Properties"].get("Tags", [])}
        assert "aws-cdk:auto-delete-objects" not in tags, lid


@pytest.mark.parametrize("resource_type", DATA_TYPES)
def test_prod_retains_data_stores(prod_template, resource_type):
    found = resources(prod_template, resource_type)
    assert found
    for lid, res in found.items():
        assert res.get("DeletionPolicy") == "Retain", lid
        assert res.get("UpdateReplacePolicy") == "Retain", lid


def test_prod_audit_retention_is_compliance_seven_years(prod_template):
    _, audit = _bucket(prod_template, "audit")
    assert audit["Properties"]["ObjectLockConfiguration"]["Rule"]["DefaultRetention"] == {
        "Mode": "COMPLIANCE",
        "Days": 2557,
    }
    assert not resources(prod_template, "Custom::S3AutoDeleteObjects")

"""The erasure's AWS stores on moto (resources from the synthesized template): each deletes exactly the
farmer's part, and each is idempotent (a resumed erasure runs it again without error)."""

from __future__ import annotations

import boto3

from agri_common import ledger_table
from agri_common.platform.revocation import InMemoryRevocationStore, user_key
from functions.farmers.erasure_stores import CognitoAccounts, DynamoLedgerSalts, S3EvidenceFiles


def test_evidence_files_go_with_every_version_and_only_under_the_prefix(function_env):
    bucket = function_env("farmers")["UPLOADS_BUCKET"]
    s3 = boto3.client("s3")
    for body in (b"v1", b"v2"):  # two versions of the same photo
        s3.put_object(Bucket=bucket, Key="evidence/FPO-1/P-1/U-1.jpg", Body=body)
    s3.put_object(Bucket=bucket, Key="evidence/FPO-1/P-1/U-2.jpg", Body=b"deleted, kept as an old version")
    s3.delete_object(Bucket=bucket, Key="evidence/FPO-1/P-1/U-2.jpg")  # a delete marker above it
    assert s3.list_object_versions(Bucket=bucket, Prefix="evidence/FPO-1/P-1/U-2")["DeleteMarkers"]
    s3.put_object(Bucket=bucket, Key="evidence/FPO-1/P-10/U-3.jpg", Body=b"another plot")
    files = S3EvidenceFiles(bucket)
    assert files.delete_prefix("evidence/FPO-1/P-1/") == 4
    left = s3.list_object_versions(Bucket=bucket)
    assert [v["Key"] for v in left.get("Versions", [])] == ["evidence/FPO-1/P-10/U-3.jpg"]
    assert not left.get("DeleteMarkers")
    assert files.delete_prefix("evidence/FPO-1/P-1/") == 0  # again: nothing left, no error


def test_the_salt_goes_an_erased_marker_stays_and_nothing_else_of_the_ledger(function_env):
    from functions.ledger.dal import DynamoLedgerStore

    table = boto3.resource("dynamodb").Table(function_env("farmers")["LEDGER_TABLE"])
    table.put_item(Item={**ledger_table.salt_key("F-1"), ledger_table.SALT_ATTR: "00" * 16})
    table.put_item(Item={**ledger_table.salt_key("F-2"), ledger_table.SALT_ATTR: "11" * 16})
    salts = DynamoLedgerSalts(table.name)
    salts.shred_salt("F-1")
    marker = table.get_item(Key=ledger_table.salt_key("F-1"))["Item"]
    salts.shred_salt("F-1")  # again: no error, the first time stays
    salts.shred_salt("F-3")  # a farmer with no record yet: marked too, so a later issuance names no one
    assert table.get_item(Key=ledger_table.salt_key("F-1"))["Item"] == marker
    assert ledger_table.SALT_ATTR not in marker and marker[ledger_table.SALT_ERASED_ATTR].endswith("Z")
    assert table.get_item(Key=ledger_table.salt_key("F-2"))["Item"][ledger_table.SALT_ATTR] == "11" * 16
    # what the ledger writer reads before an issuance: erased farmers map to None, new ones are absent
    assert DynamoLedgerStore(table.name).salts(["F-1", "F-2", "F-3", "F-4"]) == {
        "F-1": None,
        "F-2": "11" * 16,
        "F-3": None,
    }


def test_the_account_is_found_by_its_id_revoked_and_deleted(function_env):
    pool = function_env("farmers")["USER_POOL_ID"]
    idp = boto3.client("cognito-idp")
    for username in ("ravi", "other"):
        idp.admin_create_user(
            UserPoolId=pool,
            Username=username,
            UserAttributes=[{"Name": "phone_number", "Value": "+919812300031"}],
            MessageAction="SUPPRESS",
        )
    sub = {a["Name"]: a["Value"] for a in idp.admin_get_user(UserPoolId=pool, Username="ravi")["UserAttributes"]}["sub"]
    revocation = InMemoryRevocationStore(clock=lambda: 1_800_000_000)
    accounts = CognitoAccounts(pool, revocation)
    accounts.erase_account(sub)
    assert [u["Username"] for u in idp.list_users(UserPoolId=pool)["Users"]] == ["other"]
    assert revocation.items[user_key(sub)] == {"revoked_before": 1_800_000_000}
    accounts.erase_account(sub)  # again (a resumed erasure): the account is gone, no error
    accounts.erase_account('no-such-sub" or name ^= "')  # a quote cannot widen the filter
    assert [u["Username"] for u in idp.list_users(UserPoolId=pool)["Users"]] == ["other"]

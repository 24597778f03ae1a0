"""The activity log's infrastructure: its table, its append-only grants, its two schedules."""

from __future__ import annotations

import json

from agri_common.activity_table import INDEXES, SORT
from tests.infra.cfn import (
    actions,
    all_identity_statements,
    as_list,
    domain_functions,
    resources,
    role_of,
    role_statements,
)

RESOURCE_KEY = "agri:resource"
APPEND_ONLY = {"dynamodb:PutItem", "dynamodb:Query", "dynamodb:GetItem", "dynamodb:BatchGetItem"}


def _table(template) -> tuple[str, dict]:
    (found,) = [
        (lid, t)
        for lid, t in resources(template, "AWS::DynamoDB::Table").items()
        if t.get("Metadata", {}).get(RESOURCE_KEY) == "activity"
    ]
    return found


def _refers_to(statement: dict, lid: str) -> bool:
    return lid in json.dumps(statement.get("Resource"))


def test_activity_table_keys_indexes_ttl_and_baseline(template):
    _, table = _table(template)
    props = table["Properties"]
    assert props["KeySchema"] == [
        {"AttributeName": "pk", "KeyType": "HASH"},
        {"AttributeName": "sk", "KeyType": "RANGE"},
    ]
    indexes = {g["IndexName"]: g for g in props["GlobalSecondaryIndexes"]}
    assert set(indexes) == set(INDEXES)  # the one owner of the keys (agri_common.activity_table)
    for name, attr in INDEXES.items():
        assert indexes[name]["KeySchema"] == [
            {"AttributeName": attr, "KeyType": "HASH"},
            {"AttributeName": SORT, "KeyType": "RANGE"},
        ]
        assert indexes[name]["Projection"] == {"ProjectionType": "ALL"}
    assert props["TimeToLiveSpecification"] == {"AttributeName": "expires_at", "Enabled": True}
    assert props["PointInTimeRecoverySpecification"]["PointInTimeRecoveryEnabled"] is True
    assert props["SSESpecification"]["SSEEnabled"] is True


def test_prod_activity_table_is_protected_and_retained(prod_template):
    _, table = _table(prod_template)
    assert table["Properties"]["DeletionProtectionEnabled"] is True
    assert table["DeletionPolicy"] == "Retain"


def test_no_role_may_update_or_delete_an_activity_event(template):
    """Append-only: every statement that names the activity table (or any resource) allows only
    conditional puts and reads; nothing may UpdateItem, DeleteItem, BatchWriteItem or use PartiQL."""
    lid, _ = _table(template)
    checked = 0
    for owner, statement in all_identity_statements(template):
        if statement["Effect"] != "Allow":
            continue
        granted = set(as_list(statement["Action"]))
        if _refers_to(statement, lid) or "*" in as_list(statement.get("Resource")):
            dynamo = {a for a in granted if a.startswith("dynamodb:")}
            if _refers_to(statement, lid):
                checked += 1
                assert dynamo <= APPEND_ONLY, (owner, sorted(dynamo - APPEND_ONLY))
            else:
                assert not dynamo & {"dynamodb:UpdateItem", "dynamodb:DeleteItem", "dynamodb:*"}, owner
    assert checked >= 10  # the API domains that write, the pipeline tasks, the activity functions


def test_every_writing_function_may_append_and_knows_the_table(template):
    """Each function with a mutating route, each pipeline task, the ledger writer and the sweeper append events."""
    lid, _ = _table(template)
    writers = {
        name
        for name in domain_functions(template)
        if name
        in {
            "admin",
            "auth",
            "farmers",
            "fpo",
            "ledger",
            "ledger-writer",
            "projects",
            "verification",
            "activity-sweeper",
        }
        or name.startswith("pipeline")
    }
    assert len(writers) >= 15
    for name in writers:
        fn_lid, fn = domain_functions(template)[name]
        env = fn["Properties"]["Environment"]["Variables"]
        assert lid in json.dumps(env["ACTIVITY_TABLE"]), name
        statements = [s for s in role_statements(template, role_of(fn)) if _refers_to(s, lid)]
        assert "dynamodb:PutItem" in actions(statements), name


def test_readers_query_by_index_name_never_scan(template):
    lid, _ = _table(template)
    for name in ("activity", "activity-sweeper", "activity-export"):
        _, fn = domain_functions(template)[name]
        statements = [s for s in role_statements(template, role_of(fn)) if _refers_to(s, lid)]
        assert "dynamodb:Query" in actions(statements), name
        assert "dynamodb:Scan" not in actions(statements), name
        assert "index/*" not in json.dumps(statements), name


def _rule_for(template, function_name: str) -> dict:
    _, fn = domain_functions(template)[function_name]
    fn_lid = next(lid for lid, r in resources(template, "AWS::Lambda::Function").items() if r is fn)
    (rule,) = [
        r["Properties"]
        for r in resources(template, "AWS::Events::Rule").values()
        if any(fn_lid in json.dumps(t["Arn"]) for t in r["Properties"]["Targets"])
    ]
    return rule


def test_sweeper_runs_every_five_minutes_and_export_daily(template):
    assert _rule_for(template, "activity-sweeper")["ScheduleExpression"] == "rate(5 minutes)"
    assert _rule_for(template, "activity-export")["ScheduleExpression"] == "cron(30 0 * * ? *)"


def test_export_writes_only_under_activity_in_the_audit_bucket(template):
    (audit_lid,) = [
        lid
        for lid, b in resources(template, "AWS::S3::Bucket").items()
        if b.get("Metadata", {}).get(RESOURCE_KEY) == "audit"
    ]
    _, fn = domain_functions(template)["activity-export"]
    s3 = [s for s in role_statements(template, role_of(fn)) if any(a.startswith("s3:") for a in as_list(s["Action"]))]
    assert actions(s3) == {"s3:PutObject"}
    assert all(audit_lid in json.dumps(s["Resource"]) and "/activity/*" in json.dumps(s["Resource"]) for s in s3)

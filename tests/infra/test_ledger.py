"""The ledger's infrastructure: two functions, the writer alone may write the ledger table, least
privilege for both, the anchoring schedule, the chain settings per stage, and the contract build."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.infra.cfn import (
    actions,
    all_identity_statements,
    as_list,
    domain_functions,
    resources,
    role_of,
    role_statements,
)

ROOT = Path(__file__).resolve().parents[2]
WRITE_ACTIONS = {
    "dynamodb:PutItem",
    "dynamodb:UpdateItem",
    "dynamodb:DeleteItem",
    "dynamodb:BatchWriteItem",
    "dynamodb:ConditionCheckItem",
    "dynamodb:PartiQLInsert",
    "dynamodb:PartiQLUpdate",
    "dynamodb:PartiQLDelete",
}


def _ledger_table(template) -> str:
    (lid,) = [
        lid
        for lid, t in resources(template, "AWS::DynamoDB::Table").items()
        if t.get("Metadata", {}).get("agri:resource") == "ledger"
    ]
    return lid


def _mentions(value, lid: str) -> bool:
    return lid in json.dumps(value)


SALTS_ONLY = {"ForAllValues:StringLike": {"dynamodb:LeadingKeys": ["SALT#*"]}}  # an erasure's one ledger write


def _statements_on(template, role_lid, resource_lid):
    return [s for s in role_statements(template, role_lid) if _mentions(s.get("Resource"), resource_lid)]


@pytest.fixture(scope="module")
def fns(template):
    return domain_functions(template)


def test_the_writer_is_a_second_function_of_the_ledger_domain(fns):
    _, writer = fns["ledger-writer"]
    props = writer["Properties"]
    assert props["Handler"] == "functions.ledger.writer_handler.lambda_handler"
    env = props["Environment"]["Variables"]
    assert env["CHAIN_RPC_URL"] == "eth-tester://in-process" and "CHAIN_KEY_SECRET_ARN" not in env
    assert {"LEDGER_TABLE", "AUDIT_BUCKET"} <= set(env)
    assert role_of(writer) != role_of(fns["ledger"][1])


def test_only_the_writer_role_may_write_the_ledger_table(template, fns):
    table = _ledger_table(template)
    writer_role = role_of(fns["ledger-writer"][1])
    writers = set()
    for owner, statement in all_identity_statements(template):
        if statement.get("Condition") == SALTS_ONLY and as_list(statement["Action"]) == ["dynamodb:UpdateItem"]:
            continue  # an erasure's crypto-shredding: a farmer's salt becomes an erased marker, no record (test_farm.py)
        if _mentions(statement.get("Resource"), table) and WRITE_ACTIONS & set(as_list(statement["Action"])):
            policy = template["Resources"][owner]
            roles = (
                [r["Ref"] for r in policy["Properties"].get("Roles", [])]
                if policy["Type"] == "AWS::IAM::Policy"
                else [owner]
            )
            writers.update(roles)
    assert writers == {writer_role}


def test_writer_permissions_are_append_only(template, fns):
    writer_role = role_of(fns["ledger-writer"][1])
    on_table = actions(_statements_on(template, writer_role, _ledger_table(template)))
    assert on_table == {
        "dynamodb:GetItem",
        "dynamodb:BatchGetItem",
        "dynamodb:Query",
        "dynamodb:PutItem",
        "dynamodb:UpdateItem",
        "dynamodb:ConditionCheckItem",
    }
    s3 = [s for s in role_statements(template, writer_role) if any(a.startswith("s3:") for a in as_list(s["Action"]))]
    assert actions(s3) == {"s3:PutObject", "s3:GetObject"}
    audit = [
        lid for lid, b in resources(template, "AWS::S3::Bucket").items() if b["Metadata"]["agri:resource"] == "audit"
    ]
    for statement in s3:
        assert statement["Resource"] == {"Fn::Join": ["", [{"Fn::GetAtt": [audit[0], "Arn"]}, "/ledger/*"]]}
    assert not any(a.startswith("secretsmanager:") for a in actions(role_statements(template, writer_role)))


def test_api_reads_the_ledger_and_may_only_invoke_the_writer(template, fns):
    api_role = role_of(fns["ledger"][1])
    writer_lid = fns["ledger-writer"][0]
    granted = actions(role_statements(template, api_role))
    assert actions(_statements_on(template, api_role, _ledger_table(template))) == {
        "dynamodb:GetItem",
        "dynamodb:BatchGetItem",
        "dynamodb:Query",
    }
    assert {a for a in granted if a.startswith("s3:")} == {"s3:GetObject"}
    (invoke,) = [s for s in role_statements(template, api_role) if "lambda:InvokeFunction" in as_list(s["Action"])]
    assert as_list(invoke["Resource"]) == [{"Fn::GetAtt": [writer_lid, "Arn"]}]
    assert fns["ledger"][1]["Properties"]["Environment"]["Variables"]["LEDGER_WRITER_FUNCTION"] == {"Ref": writer_lid}


def test_ledger_table_has_its_indexes_and_only_the_statement_and_registry_read_it_besides_the_ledger(template, fns):
    table = template["Resources"][_ledger_table(template)]["Properties"]
    indexes = {i["IndexName"]: [k["AttributeName"] for k in i["KeySchema"]] for i in table["GlobalSecondaryIndexes"]}
    assert indexes == {
        "by_chain": ["g_chain", "g_seq"],
        "by_project": ["g_project", "g_seq"],
        "by_farmer": ["g_farmer", "g_seq"],
        "by_owner": ["g_owner", "g_seq"],
        "by_fpo": ["g_fpo", "g_seq"],
    }
    allowed = {role_of(fns["ledger"][1]), role_of(fns["ledger-writer"][1])}
    for label, (_, function) in fns.items():
        on_ledger = _statements_on(template, role_of(function), _ledger_table(template))
        if label == "farmers":  # a credit statement: a farmer's salt and records (exactly: tests/infra/test_farm.py)
            reads = [st for st in on_ledger if st.get("Condition") != SALTS_ONLY]
            assert actions(reads) == {"dynamodb:GetItem", "dynamodb:Query"}
            assert actions([st for st in on_ledger if st.get("Condition") == SALTS_ONLY]) == {"dynamodb:UpdateItem"}
        elif label == "registry":  # the public view reads (exactly: tests/infra/test_registry.py)
            assert actions(on_ledger) <= {"dynamodb:BatchGetItem", "dynamodb:GetItem", "dynamodb:Query"}
        elif label == "ledger-export_job":  # the daily export (infra/jobs.py): reads only
            assert actions(on_ledger) == {"dynamodb:GetItem", "dynamodb:BatchGetItem", "dynamodb:Query"}
        elif role_of(function) not in allowed:
            assert not on_ledger, label


def test_an_anchoring_schedule_invokes_the_writer(template, fns):
    writer_lid = fns["ledger-writer"][0]
    rules = [
        r
        for r in resources(template, "AWS::Events::Rule").values()
        if any(_mentions(t["Arn"], writer_lid) for t in r["Properties"].get("Targets", []))
    ]
    (rule,) = rules
    assert rule["Properties"]["ScheduleExpression"] == "rate(15 minutes)"
    assert json.loads(rule["Properties"]["Targets"][0]["Input"]) == {"command": "anchor"}


def test_prod_signs_with_a_key_from_one_secret(prod_template):
    fns = domain_functions(prod_template)
    env = fns["ledger-writer"][1]["Properties"]["Environment"]["Variables"]
    assert env["CHAIN_RPC_URL"].startswith("https://")
    secret_lid = env["CHAIN_KEY_SECRET_ARN"]["Ref"]
    assert prod_template["Resources"][secret_lid]["Type"] == "AWS::SecretsManager::Secret"
    for owner, statement in all_identity_statements(prod_template):
        if any(a.startswith("secretsmanager:") for a in as_list(statement["Action"])) and _mentions(
            statement["Resource"], secret_lid
        ):
            assert as_list(statement["Resource"]) == [{"Ref": secret_lid}]
            assert role_of(fns["ledger-writer"][1]) in json.dumps(prod_template["Resources"][owner])


def test_committed_contract_build_matches_a_fresh_compile():
    node = shutil.which("node")
    assert node and (ROOT / "node_modules" / "solc").is_dir(), "run npm ci: solc is pinned in package.json"
    done = subprocess.run([node, "contracts/build.js", "--check"], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    build = json.loads((ROOT / "contracts" / "build" / "AnchorRegistry.json").read_text())
    assert build["compiler"]["version"].startswith("0.8.37") and build["settings"]["evmVersion"] == "paris"
    assert (ROOT / "layers/chain/python/agri_chain/AnchorRegistry.json").read_text() == (
        ROOT / "contracts/build/AnchorRegistry.json"
    ).read_text()

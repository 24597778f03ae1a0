"""Farmer data infrastructure: the farm table and its index, the Aadhaar HMAC secret, the farmers
and fpo functions' least-privilege grants (no Scan anywhere), their layers, binary reports."""

from __future__ import annotations

import pytest

from tests.infra.cfn import actions, as_list, domain_functions, resources, role_of, role_statements

SCAN = "dynamodb:Scan"
READS = {"dynamodb:GetItem", "dynamodb:BatchGetItem", "dynamodb:Query"}
SALTS_ONLY = {"ForAllValues:StringLike": {"dynamodb:LeadingKeys": ["SALT#*"]}}


def _by_metadata(template, rtype, name):
    (found,) = [
        (lid, r) for lid, r in resources(template, rtype).items() if r.get("Metadata", {}).get("agri:resource") == name
    ]
    return found


def _statements(template, name):
    return role_statements(template, role_of(domain_functions(template)[name][1]))


def test_farm_table_keys_and_index(template):
    _, table = _by_metadata(template, "AWS::DynamoDB::Table", "farm")
    props = table["Properties"]
    assert props["KeySchema"] == [
        {"AttributeName": "pk", "KeyType": "HASH"},
        {"AttributeName": "sk", "KeyType": "RANGE"},
    ]
    (gsi,) = props["GlobalSecondaryIndexes"]
    assert gsi["IndexName"] == "gsi1" and gsi["Projection"] == {"ProjectionType": "ALL"}
    assert gsi["KeySchema"] == [
        {"AttributeName": "gsi1pk", "KeyType": "HASH"},
        {"AttributeName": "gsi1sk", "KeyType": "RANGE"},
    ]


def test_farmers_grants(template):
    table_lid, _ = _by_metadata(template, "AWS::DynamoDB::Table", "farm")
    activity_lid, _ = _by_metadata(template, "AWS::DynamoDB::Table", "activity")
    secret_lid, _ = _by_metadata(template, "AWS::SecretsManager::Secret", "aadhaar-hmac")
    statements = _statements(template, "farmers")
    granted = actions(statements)
    assert {a for a in granted if a.startswith("dynamodb:")} == {
        "dynamodb:BatchGetItem",
        "dynamodb:GetItem",
        "dynamodb:Query",
        "dynamodb:PutItem",
        "dynamodb:UpdateItem",
        "dynamodb:DeleteItem",
        "dynamodb:ConditionCheckItem",
    }
    assert {a for a in granted if a.startswith("s3:")} == {
        "s3:PutObject",
        "s3:GetObject",
        "s3:ListBucketVersions",  # an erasure: every version under evidence/ (test below)
        "s3:DeleteObject",
        "s3:DeleteObjectVersion",
    }
    # claim codes by SMS (decision 0015): Publish only, in a statement of its own (phone numbers have no ARN)
    assert {a for a in granted if a.startswith("sns:")} == {"sns:Publish"}
    sns = [s for s in statements if any(a.startswith("sns:") for a in as_list(s["Action"]))]
    (sms,) = [s for s in sns if s["Effect"] == "Allow"]
    assert as_list(sms["Action"]) == ["sns:Publish"] and sms["Resource"] == "*"
    (no_topics,) = [s for s in sns if s["Effect"] == "Deny"]  # texts only: no topic (decision 0020)
    assert as_list(no_topics["Action"]) == ["sns:Publish"] and ":sns:" in str(no_topics["Resource"])
    assert {a for a in granted if a.startswith("secretsmanager:")} <= {
        "secretsmanager:GetSecretValue",
        "secretsmanager:DescribeSecret",
    }
    uploads_lid, _ = _by_metadata(template, "AWS::S3::Bucket", "uploads")
    for statement in statements:
        acts = as_list(statement["Action"])
        if any(a.startswith("secretsmanager:") for a in acts):
            assert statement["Resource"] == {"Ref": secret_lid}
        if any(a.startswith("s3:") for a in acts) and uploads_lid in str(statement["Resource"]):
            (resource,) = as_list(statement["Resource"])
            if acts == ["s3:ListBucketVersions"]:  # the bucket, listed under evidence/ only
                assert resource == {"Fn::GetAtt": [uploads_lid, "Arn"]}
                assert statement["Condition"] == {"StringLike": {"s3:prefix": ["evidence/*"]}}
            else:
                assert resource["Fn::Join"][1][-1] == "/evidence/*"
        if any(a.startswith("dynamodb:") and a not in READS for a in acts):  # writes: the farm table only
            if statement.get("Condition") == SALTS_ONLY:
                continue  # an erasure's ledger salt (test below)
            for res in as_list(statement["Resource"]):  # (and the activity log: PutItem, tests/infra/test_activity.py)
                if activity_lid in str(res):
                    assert acts == ["dynamodb:PutItem"] or acts == "dynamodb:PutItem"
                    continue
                assert table_lid in str(res) or "Revocation" in str(res)
    env = domain_functions(template)["farmers"][1]["Properties"]["Environment"]["Variables"]
    assert env["FARM_TABLE"] == {"Ref": table_lid} and env["AADHAAR_HMAC_SECRET_ARN"] == {"Ref": secret_lid}


def test_the_credit_statement_reads_only_the_ledger_salts_farmer_index_and_run_objects(template):
    """Exactly what the statement added: GetItem on the ledger table (a farmer's salt), Query on its
    by_farmer index (their records), GetObject of a run's plan, manifests and chunk rows in the
    pipeline bucket. Nothing else of the ledger table or the pipeline bucket, and no write."""
    ledger_lid, _ = _by_metadata(template, "AWS::DynamoDB::Table", "ledger")
    bucket_lid, _ = _by_metadata(template, "AWS::S3::Bucket", "pipeline-data")
    statements = _statements(template, "farmers")
    on_ledger = [s for s in statements if ledger_lid in str(s.get("Resource")) and s.get("Condition") != SALTS_ONLY]
    granted = sorted((a, str(r)) for s in on_ledger for a in as_list(s["Action"]) for r in as_list(s["Resource"]))
    table_arn = {"Fn::GetAtt": [ledger_lid, "Arn"]}
    assert granted == sorted(
        [
            ("dynamodb:GetItem", str(table_arn)),
            ("dynamodb:Query", str({"Fn::Join": ["", [table_arn, "/index/by_farmer"]]})),
        ]
    )
    on_bucket = [s for s in statements if bucket_lid in str(s.get("Resource"))]
    assert actions(on_bucket) == {"s3:GetObject"}
    suffixes = sorted(r["Fn::Join"][1][-1] for s in on_bucket for r in as_list(s["Resource"]))
    assert suffixes == ["/runs/*/*/chunks/*/rows.jsonl", "/runs/*/*/manifests/*.json", "/runs/*/*/plan.json"]
    env = domain_functions(template)["farmers"][1]["Properties"]["Environment"]["Variables"]
    assert env["LEDGER_TABLE"] == {"Ref": ledger_lid} and env["PIPELINE_BUCKET"] == {"Ref": bucket_lid}


def test_an_erasure_deletes_only_salts_evidence_versions_and_the_account(template):
    """docs/decisions/0017, 0022: UpdateItem on the ledger table only for ``SALT#`` partition keys (the
    salt shredded, an erased marker in its place; no record, block or batch), evidence versions only,
    three Cognito actions on the pool, the revocation write."""
    ledger_lid, _ = _by_metadata(template, "AWS::DynamoDB::Table", "ledger")
    statements = _statements(template, "farmers")
    (salts,) = [s for s in statements if s.get("Condition") == SALTS_ONLY]
    assert as_list(salts["Action"]) == ["dynamodb:UpdateItem"]
    assert salts["Resource"] == {"Fn::GetAtt": [ledger_lid, "Arn"]}
    deletes = [s for s in statements if {"s3:DeleteObject", "s3:DeleteObjectVersion"} & set(as_list(s["Action"]))]
    assert [r["Fn::Join"][1][-1] for s in deletes for r in as_list(s["Resource"])] == ["/evidence/*"]
    cognito = {a for a in actions(statements) if a.startswith("cognito-idp:")}
    assert cognito == {"cognito-idp:ListUsers", "cognito-idp:AdminUserGlobalSignOut", "cognito-idp:AdminDeleteUser"}
    for statement in statements:
        if any(a.startswith("cognito-idp:") for a in as_list(statement["Action"])):
            assert "UserPool" in str(statement["Resource"]) and "*" not in str(statement["Resource"])
    revocation = [s for s in statements if "Revocation" in str(s["Resource"]) and "dynamodb:PutItem" in s["Action"]]
    assert revocation
    env = domain_functions(template)["farmers"][1]["Properties"]["Environment"]["Variables"]
    assert "USER_POOL_ID" in env and "REVOCATION_TABLE" in env
    # the account id on the ledger: the farmers function may only ask the ledger writer (decision 0022)
    writer_lid = domain_functions(template)["ledger-writer"][0]
    invokes = [s for s in statements if any(a.startswith("lambda:") for a in as_list(s["Action"]))]
    assert [(as_list(s["Action"]), as_list(s["Resource"])) for s in invokes] == [
        (["lambda:InvokeFunction"], [{"Fn::GetAtt": [writer_lid, "Arn"]}])
    ]
    assert env["LEDGER_WRITER_FUNCTION"] == {"Ref": writer_lid}


def test_fpo_grants_are_reads_and_put(template):
    granted = actions(_statements(template, "fpo"))
    assert {a for a in granted if a.startswith("dynamodb:")} == {
        "dynamodb:BatchGetItem",
        "dynamodb:GetItem",
        "dynamodb:Query",
        "dynamodb:PutItem",
    }
    assert not any(a.startswith(("s3:", "secretsmanager:")) for a in granted)


@pytest.mark.parametrize("name", ["farmers", "fpo", "ledger"])
def test_auditor_scoped_domains_only_read_the_pipeline_table(template, name):
    """Auditors' project assignments: reads of the pipeline table and its index, nothing more."""
    pipeline_lid, _ = _by_metadata(template, "AWS::DynamoDB::Table", "pipeline")
    on_pipeline = [s for s in _statements(template, name) if pipeline_lid in str(s.get("Resource"))]
    assert on_pipeline, name
    assert actions(on_pipeline) == READS, name
    for statement in on_pipeline:  # (CDK may merge it with another table's reads: same actions)
        assert [r for r in as_list(statement["Resource"]) if pipeline_lid in str(r)] == [
            {"Fn::GetAtt": [pipeline_lid, "Arn"]},
            {"Fn::Join": ["", [{"Fn::GetAtt": [pipeline_lid, "Arn"]}, "/index/gsi1"]]},
        ], name
    env = domain_functions(template)[name][1]["Properties"]["Environment"]["Variables"]
    assert env["PIPELINE_TABLE"] == {"Ref": pipeline_lid}, name


def test_no_function_may_scan(template):
    for name in domain_functions(template):
        assert SCAN not in actions(_statements(template, name)), name


def test_secret_is_generated_and_never_in_the_template(template):
    _, secret = _by_metadata(template, "AWS::SecretsManager::Secret", "aadhaar-hmac")
    assert "GenerateSecretString" in secret["Properties"] and "SecretString" not in secret["Properties"]


def test_domain_layers_and_binary_reports(template):
    functions = domain_functions(template)
    layer_of = lambda name: [
        template["Resources"][ref["Ref"]]["Metadata"]["agri:layer"]
        for ref in functions[name][1]["Properties"]["Layers"]
    ]
    assert layer_of("farmers") == ["common", "export", "geo"]  # export: the credit statement's PDF toolkit and fonts
    assert layer_of("fpo") == ["common", "export"]
    # the workbook, the zip of CSVs and the credit statement leave as bytes whatever the Accept
    # (tests/infra/test_binary_media.py)
    (api,) = resources(template, "AWS::ApiGateway::RestApi").values()
    assert api["Properties"]["BinaryMediaTypes"] == ["*/*"]


def test_geo_and_export_layers_ship_wheels_for_the_runtime(synthesized, template):
    for layer, package in (("geo", "shapely"), ("geo", "pyproj"), ("export", "openpyxl")):
        (lid,) = [
            lid
            for lid, r in resources(template, "AWS::Lambda::LayerVersion").items()
            if r["Metadata"]["agri:layer"] == layer
        ]
        python = synthesized.asset_path(lid) / "python"
        assert (python / package).is_dir(), (layer, package)
        if package != "openpyxl":
            assert list(python.rglob("*.cpython-314-x86_64-linux-gnu.so")), package

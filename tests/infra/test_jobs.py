"""Scheduled jobs in the template (infra/jobs.py and the ledger writer's anchoring rule): the rules,
their schedules and targets, the permissions of each job's role (least privilege), the export's
conflict alarm, where they live (the pipeline stack), and that the twin reads exactly these rules."""

from __future__ import annotations

import json

from infra.local.jobs import Cron, Rate, parse_schedule, scheduled_rules
from tests.infra.cfn import actions, as_list, domain_functions, resources, role_of, role_statements

RULES = {
    # short name the twin gives it: (schedule, function domain label, fixed input)
    "ledger-anchor": ("rate(15 minutes)", "ledger-writer", {"command": "anchor"}),
    "jobs-sweep-runs": ("rate(15 minutes)", "pipeline-sweep", None),
    "jobs-export-ledger": ("cron(30 0 * * ? *)", "ledger-export_job", None),
    "jobs-sweep-erasures": ("rate(15 minutes)", "farmers-erasure_sweep_job", None),
    # the activity log's (infra/domain_constructs/activity.py) and the notifications' (.../notifications.py)
    "activity-sweep": ("rate(5 minutes)", "activity-sweeper", {}),
    "activity-export": ("cron(30 0 * * ? *)", "activity-export", {}),
    "notifications-reminder": ("rate(1 hour)", "notifications-reminder", None),
}


def _function_lid(arn) -> str:
    return arn["Fn::GetAtt"][0]


def test_each_job_has_its_rule_schedule_and_one_function_target(template):
    fns = {lid: res["Metadata"]["agri:domain"] for _, (lid, res) in domain_functions(template).items()}
    found = {}
    for rule in resources(template, "AWS::Events::Rule").values():
        props = rule["Properties"]
        (target,) = props["Targets"]
        raw = target.get("Input")
        found[fns[_function_lid(target["Arn"])]] = (props["ScheduleExpression"], json.loads(raw) if raw else None)
    assert found == {label: (schedule, fixed) for schedule, label, fixed in RULES.values()}


def test_only_its_rule_may_invoke_each_job(template):
    rules = resources(template, "AWS::Events::Rule")
    for lid, rule in rules.items():
        fn = _function_lid(rule["Properties"]["Targets"][0]["Arn"])
        permissions = [
            p["Properties"]
            for p in resources(template, "AWS::Lambda::Permission").values()
            if p["Properties"]["FunctionName"] == {"Fn::GetAtt": [fn, "Arn"]}
        ]
        assert permissions == [
            {
                "Action": "lambda:InvokeFunction",
                "FunctionName": {"Fn::GetAtt": [fn, "Arn"]},
                "Principal": "events.amazonaws.com",
                "SourceArn": {"Fn::GetAtt": [lid, "Arn"]},
            }
        ], lid


def _statements(template, label: str) -> list[dict]:
    _, fn = domain_functions(template)[label]
    own_logs_and_tracing = ("xray:", "logs:")  # every DomainFunction's (tests/infra/test_functions.py)
    return [
        s
        for s in role_statements(template, role_of(fn))
        if not all(a.startswith(own_logs_and_tracing) for a in as_list(s["Action"]))
    ]


def test_the_sweeper_reads_and_writes_runs_and_describes_or_stops_executions_only(template):
    statements = _statements(template, "pipeline-sweep")
    assert actions(statements) == {
        "dynamodb:GetItem",
        "dynamodb:BatchGetItem",
        "dynamodb:Query",
        "dynamodb:PutItem",
        "dynamodb:UpdateItem",
        "dynamodb:ConditionCheckItem",
        "states:DescribeExecution",
        "states:StopExecution",
    }
    (machine,) = resources(template, "AWS::StepFunctions::StateMachine")
    (states,) = [s for s in statements if "states:StopExecution" in as_list(s["Action"])]
    text = json.dumps(states["Resource"])
    assert ":execution:" in text and machine in text  # this state machine's executions, nothing else
    for s in statements:
        if any(a.startswith("dynamodb:") for a in as_list(s["Action"])):
            if "Activity" in json.dumps(s["Resource"]):  # one activity event per run it fails: append only
                assert as_list(s["Action"]) == ["dynamodb:PutItem"], s
                continue
            assert all("Pipeline" in json.dumps(r) for r in as_list(s["Resource"])), s  # the pipeline table only


def test_the_exporter_reads_the_ledger_and_writes_only_under_its_prefix(template):
    statements = _statements(template, "ledger-export_job")
    assert actions(statements) == {
        "dynamodb:GetItem",
        "dynamodb:BatchGetItem",
        "dynamodb:Query",
        "s3:GetObject",
        "s3:PutObject",
        "s3:ListBucket",
    }  # no write to the ledger, no delete anywhere
    (listing,) = [s for s in statements if "s3:ListBucket" in as_list(s["Action"])]
    assert listing["Condition"] == {"StringLike": {"s3:prefix": "ledger/exports/*"}} or listing["Condition"] == {
        "StringLike": {"s3:prefix": ["ledger/exports/*"]}
    }  # a missing export answers 404, not 403; nothing else of the bucket is listed
    (s3,) = [s for s in statements if "s3:PutObject" in as_list(s["Action"])]
    (resource,) = as_list(s3["Resource"])
    assert json.dumps(resource).endswith('/ledger/exports/*"]]}') or "/ledger/exports/*" in json.dumps(resource)
    assert "Audit" in json.dumps(resource)
    env = domain_functions(template)["ledger-export_job"][1]["Properties"]["Environment"]["Variables"]
    assert {"LEDGER_TABLE", "AUDIT_BUCKET"} <= set(env)


def test_the_erasure_sweeper_deletes_only_evidence_versions_and_writes_only_the_farm_table(template):
    """decision 0022: the evidence eraser's reads and writes of the farm table (its index by name, never
    Scan, no PutItem) and the uploads bucket's evidence/ versions: listed under the prefix, deleted."""
    statements = _statements(template, "farmers-erasure_sweep_job")
    assert actions(statements) == {
        "dynamodb:GetItem",
        "dynamodb:Query",
        "dynamodb:UpdateItem",
        "dynamodb:DeleteItem",
        "s3:ListBucketVersions",
        "s3:DeleteObject",
        "s3:DeleteObjectVersion",
    }
    for s in statements:
        text = json.dumps(s["Resource"])
        if any(a.startswith("dynamodb:") for a in as_list(s["Action"])):
            assert "FarmTable" in text and "index/*" not in text and "/index/gsi1" in text, s
        elif as_list(s["Action"]) == ["s3:ListBucketVersions"]:
            assert s["Condition"] == {"StringLike": {"s3:prefix": ["evidence/*"]}} and "Uploads" in text
        else:
            assert "Uploads" in text and text.endswith('/evidence/*"]]}'), s
    env = domain_functions(template)["farmers-erasure_sweep_job"][1]["Properties"]["Environment"]["Variables"]
    assert {"FARM_TABLE", "UPLOADS_BUCKET"} <= set(env)


def test_an_export_conflict_raises_an_alarm(template):
    alarms = [
        a["Properties"]
        for a in resources(template, "AWS::CloudWatch::Alarm").values()
        if a["Properties"].get("MetricName") == "LedgerExportConflict"
    ]
    (alarm,) = alarms
    assert alarm["Namespace"] == "AgriMrv" and alarm["Threshold"] == 1
    assert {"Name": "job", "Value": "export_ledger"} in alarm["Dimensions"]


def test_the_jobs_live_in_the_pipeline_stack(synthesized):
    pipeline = synthesized.stack("AgriMrv-dev-pipeline")
    assert len(pipeline.resources("AWS::Events::Rule")) == len(RULES)
    labels = {r["Metadata"].get("agri:domain") for r in pipeline.resources("AWS::Lambda::Function").values()}
    assert {"pipeline-sweep", "ledger-export_job", "ledger-writer", "activity-sweeper", "activity-export"} <= labels
    assert "notifications-reminder" in labels
    assert "farmers-erasure_sweep_job" in labels
    assert not synthesized.stack("AgriMrv-dev-app").resources("AWS::Events::Rule")


def test_the_twin_reads_these_rules_from_the_template(template):
    rules = scheduled_rules(template)
    assert {name: r.schedule for name, r in rules.items()} == {n: s for n, (s, _, _) in RULES.items()}
    assert rules["ledger-anchor"].targets[0].input == {"command": "anchor"}
    assert all(len(r.targets) == 1 and r.enabled for r in rules.values())
    assert isinstance(parse_schedule(rules["jobs-sweep-runs"].schedule), Rate)
    assert isinstance(parse_schedule(rules["jobs-export-ledger"].schedule), Cron)

"""Operations wiring (docs/decisions/0020), on the synthesized templates of both stages:

- texts: the sender id and India's DLT ids reach exactly the functions that text, each with the ids of
  its own texts only; prod's cdk.json registers every text the app can send (a new template or language
  without a registration fails here and at synth); a kept stage without a registration does not synth;
- email: the stack creates the sender's SES identity (prod: the domain, with its DKIM records as
  outputs) and the delivery role may send only from that identity, From address pinned;
- alarms: one KMS-encrypted, TLS-only topic; its subscribers are the stage's ``alarm_emails``; the
  dead-letter queue, the export conflict, failed and timed-out executions, the ledger writer's errors
  and anchoring failures and conflicts each notify it, and every alarm of the app does; only CloudWatch
  may use the key and publish, and no role may publish to a topic.
"""

from __future__ import annotations

import json

import pytest
from pydantic import ValidationError

from infra import messaging
from infra.config import StageConfig, settings_from_context
from infra.synth import cdk_json_context
from tests.infra.cfn import all_identity_statements, as_list, domain_functions, resources, role_of, role_statements

REGISTRY = "0x" + "ab" * 20  # prod anchors on a real chain: any registry address will do here


def stage_block(stage: str) -> dict:
    block = dict(cdk_json_context()["stages"][stage])
    return {**block, "chain_contract_address": REGISTRY} if stage == "prod" else block


def config(stage: str, **changes) -> StageConfig:
    return StageConfig.model_validate({"name": stage, **stage_block(stage), **changes})


@pytest.fixture(scope="module", params=["dev", "prod"])
def staged(request):
    """(stage, merged template, StageConfig) of each stage."""
    template = request.getfixturevalue("template" if request.param == "dev" else "prod_template")
    context = {**cdk_json_context(), "stage": request.param, "chain_contract_address": REGISTRY}
    return request.param, template, settings_from_context(context.get).stage


# ---- texts: DLT ---------------------------------------------------------------------------------
def test_prod_registers_every_text_the_app_can_send():
    names = messaging.all_sms_templates()
    assert "claim_code.en" in names and "run_approved.hi" in names and "credits_issued.en" in names
    assert messaging.missing_dlt_templates(config("prod")) == []
    assert config("prod").sms_sender_id  # a DLT template belongs to one sender id


def test_a_text_without_a_dlt_id_stops_the_synth_naming_it():
    block = stage_block("prod")
    templates = dict(block["sms_dlt"]["templates"])
    del templates["run_failed.hi"]
    lacking = config("prod", sms_dlt={"entity_id": block["sms_dlt"]["entity_id"], "templates": templates})
    assert messaging.missing_dlt_templates(lacking) == ["run_failed.hi"]
    with pytest.raises(ValueError, match=r"run_failed\.hi"):
        messaging.sms_environment(lacking, messaging.notification_sms_templates())
    # the claim code's function needs only its own text: unaffected
    assert set(messaging.sms_environment(lacking, messaging.claim_code_sms_templates())) == {
        "SMS_SENDER_ID",
        "SMS_DLT",
    }


@pytest.mark.parametrize("missing", ["sms_dlt", "sms_sender_id", "notification_email_sender", "alarm_emails"])
def test_a_stage_that_keeps_its_data_must_be_able_to_tell_people(missing):
    block = {k: v for k, v in stage_block("prod").items() if k != missing}
    if missing == "sms_sender_id":
        block.pop("sms_dlt")  # (a registration needs a sender id: its own error)
    with pytest.raises(ValidationError, match=missing):
        StageConfig.model_validate({"name": "prod", **block})


def test_dev_may_go_without_and_a_registration_needs_a_sender_id():
    dev = config("dev")
    assert dev.sms_dlt is None and dev.alarm_emails == () and messaging.sms_environment(dev, ("x.en",)) == {}
    with pytest.raises(ValidationError, match="sms_sender_id"):
        config("dev", sms_dlt={"entity_id": "1101", "templates": {}})
    for bad in (
        {"alarm_emails": ["not-an-address"]},
        {"alarm_emails": ["a@b.example", "a@b.example"]},
        {"sms_sender_id": "123456"},
        {"sms_sender_id": "AGRMRV", "sms_dlt": {"entity_id": "1101", "templates": {"run approved": "1"}}},
        {"sms_sender_id": "AGRMRV", "sms_dlt": {"entity_id": "1101", "templates": {"run_approved.en": "1 2"}}},
        {"notification_email_identity": "subdomain"},
    ):
        with pytest.raises(ValidationError):
            config("dev", **bad)


def test_each_texting_function_gets_the_sender_and_only_its_own_templates(staged):
    stage, template, cfg = staged
    functions = domain_functions(template)
    wanted = {
        "notifications-delivery": set(messaging.notification_sms_templates()),
        "farmers": set(messaging.claim_code_sms_templates()),
    }
    for name, (_, fn) in functions.items():
        env = fn["Properties"].get("Environment", {}).get("Variables", {})
        if name not in wanted:
            assert not {"SMS_DLT", "SMS_SENDER_ID"} & set(env), name
            continue
        if cfg.sms_dlt is None:
            assert "SMS_DLT" not in env, name
            continue
        dlt = json.loads(env["SMS_DLT"])
        assert dlt["entity_id"] == cfg.sms_dlt.entity_id
        assert set(dlt["templates"]) == wanted[name], name
        assert all(dlt["templates"][n] == cfg.sms_dlt.templates[n] for n in wanted[name])
        assert env["SMS_SENDER_ID"] == cfg.sms_sender_id
    assert stage == "dev" or cfg.sms_dlt is not None


def test_a_role_that_may_text_may_publish_to_no_topic(staged):
    _, template, _ = staged
    texting = 0
    for _, fn in domain_functions(template).values():
        statements = role_statements(template, role_of(fn))
        publish = [s for s in statements if "sns:Publish" in as_list(s["Action"])]
        if not publish:
            continue
        texting += 1
        allow = [s for s in publish if s["Effect"] == "Allow"]
        deny = [s for s in publish if s["Effect"] == "Deny"]
        assert [s["Resource"] for s in allow] == ["*"]  # a phone number has no ARN
        (denied,) = deny
        assert ":sns:" in json.dumps(denied["Resource"]) and json.dumps(denied["Resource"]).endswith(':*"]]}')
    assert texting == 2  # the delivery function and the farmers' claim code


# ---- email: SES identity ------------------------------------------------------------------------
def test_the_sender_identity_is_created_and_the_only_one_the_delivery_role_may_send_from(staged):
    stage, template, cfg = staged
    sender = cfg.notification_email_sender
    assert sender
    identity = sender if cfg.notification_email_identity == "address" else sender.split("@", 1)[1]
    ((_, created),) = resources(template, "AWS::SES::EmailIdentity").items()
    assert created["Properties"]["EmailIdentity"] == identity
    assert (stage, cfg.notification_email_identity) in {("dev", "address"), ("prod", "domain")}
    fn = domain_functions(template)["notifications-delivery"][1]
    assert fn["Properties"]["Environment"]["Variables"]["EMAIL_SENDER"] == sender
    ses = [
        s
        for _, s in all_identity_statements(template)
        if any(a.startswith("ses:") for a in as_list(s["Action"])) and s["Effect"] == "Allow"
    ]
    (statement,) = ses
    assert statement in role_statements(template, role_of(fn))
    (resource,) = as_list(statement["Resource"])
    assert json.dumps(resource).endswith(f':identity/{identity}"]]}}'), resource
    assert statement["Condition"] == {"StringEquals": {"ses:FromAddress": sender}}


def test_prod_outputs_the_dkim_records_to_publish(prod_synthesized):
    outputs = prod_synthesized.stack("AgriMrv-prod-pipeline").template.get("Outputs", {})
    dkim = [o for lid, o in outputs.items() if "EmailDkim" in lid]
    assert len(dkim) == 3 and all("CNAME" in json.dumps(o["Value"]) for o in dkim)


# ---- alarms ---------------------------------------------------------------------------------------
def _topic(template):
    (found,) = [lid for lid, t in resources(template, "AWS::SNS::Topic").items()]
    return found, template["Resources"][found]


def test_one_encrypted_tls_only_alarms_topic_only_cloudwatch_may_use(staged):
    _, template, _ = staged
    lid, topic = _topic(template)
    key_ref = topic["Properties"]["KmsMasterKeyId"]
    key = template["Resources"][key_ref["Fn::GetAtt"][0]]
    assert key["Type"] == "AWS::KMS::Key" and key["Properties"]["EnableKeyRotation"] is True
    others = [s for s in key["Properties"]["KeyPolicy"]["Statement"] if "Service" in s["Principal"]]
    assert [(s["Principal"], sorted(as_list(s["Action"]))) for s in others] == [
        ({"Service": "cloudwatch.amazonaws.com"}, ["kms:Decrypt", "kms:GenerateDataKey*"])
    ]
    (policy,) = [
        p for p in resources(template, "AWS::SNS::TopicPolicy").values() if {"Ref": lid} in p["Properties"]["Topics"]
    ]
    statements = policy["Properties"]["PolicyDocument"]["Statement"]
    (deny,) = [s for s in statements if s["Effect"] == "Deny"]
    assert deny["Condition"] == {"Bool": {"aws:SecureTransport": "false"}} and deny["Principal"] == "*"
    (allow,) = [s for s in statements if s["Effect"] == "Allow"]
    assert allow["Principal"] == {"Service": "cloudwatch.amazonaws.com"} and as_list(allow["Action"]) == ["sns:Publish"]
    assert "aws:SourceAccount" in allow["Condition"]["StringEquals"]
    assert ":alarm:*" in json.dumps(allow["Condition"]["ArnLike"]["aws:SourceArn"])
    # no role is granted anything on the topic or its key
    for owner, statement in all_identity_statements(template):
        text = json.dumps(statement.get("Resource"))
        assert lid not in text and key_ref["Fn::GetAtt"][0] not in text, owner


def test_the_subscribers_are_the_stages_alarm_emails(staged):
    _, template, cfg = staged
    lid, _ = _topic(template)
    subs = resources(template, "AWS::SNS::Subscription").values()
    assert sorted(s["Properties"]["Endpoint"] for s in subs) == sorted(cfg.alarm_emails)
    assert all(s["Properties"]["Protocol"] == "email" and s["Properties"]["TopicArn"] == {"Ref": lid} for s in subs)


def _alarm_for(template, namespace, metric, dimension=None):
    found = [
        a["Properties"]
        for a in resources(template, "AWS::CloudWatch::Alarm").values()
        if a["Properties"].get("Namespace") == namespace
        and a["Properties"].get("MetricName") == metric
        and (dimension is None or dimension in a["Properties"].get("Dimensions", []))
    ]
    assert len(found) == 1, (namespace, metric, found)
    return found[0]


def test_what_must_wake_someone_notifies_the_topic(staged):
    _, template, _ = staged
    lid, _ = _topic(template)
    functions = domain_functions(template)
    queues = resources(template, "AWS::SQS::Queue")
    (dlq,) = [q for q, r in queues.items() if "Notifications" in q and "RedrivePolicy" not in r["Properties"]]
    (machine,) = resources(template, "AWS::StepFunctions::StateMachine")
    writer = functions["ledger-writer"][0]
    expected = [
        (
            "AWS/SQS",
            "ApproximateNumberOfMessagesVisible",
            {"Name": "QueueName", "Value": {"Fn::GetAtt": [dlq, "QueueName"]}},
        ),
        ("AgriMrv", "LedgerExportConflict", None),
        ("AWS/States", "ExecutionsFailed", {"Name": "StateMachineArn", "Value": {"Ref": machine}}),
        ("AWS/States", "ExecutionsTimedOut", {"Name": "StateMachineArn", "Value": {"Ref": machine}}),
        ("AWS/Lambda", "Errors", {"Name": "FunctionName", "Value": {"Ref": writer}}),
        ("AgriMrv", "LedgerAnchorFailures", {"Name": "service", "Value": "agri-mrv"}),
        ("AgriMrv", "LedgerAnchorConflicts", {"Name": "service", "Value": "agri-mrv"}),
    ]
    for namespace, metric, dimension in expected:
        alarm = _alarm_for(template, namespace, metric, dimension)
        assert alarm["AlarmActions"] == [{"Ref": lid}] and alarm["OKActions"] == [{"Ref": lid}], metric
        assert alarm["Threshold"] == 1 and alarm["ComparisonOperator"] == "GreaterThanOrEqualToThreshold"
        assert alarm["TreatMissingData"] == "notBreaching"
    # the class: no alarm of the app goes unheard
    for alarm_lid, alarm in resources(template, "AWS::CloudWatch::Alarm").items():
        assert alarm["Properties"].get("AlarmActions") == [{"Ref": lid}], alarm_lid

"""The notification infrastructure: an encrypted, TLS-only queue with a dead-letter queue, the
delivery function on it reporting partial batch failures, the only role that may text or email
(each as tightly as the service allows), producers that may only enqueue, the hourly reminder."""

from __future__ import annotations

import pytest

from tests.infra.cfn import actions, as_list, domain_functions, resources, role_of, role_statements

PRODUCERS = (
    "pipeline-await_decision",
    "pipeline-outcome",
    "ledger",
    "ledger-writer",
    "farmers",
    "notifications-reminder",
)


@pytest.fixture(scope="module")
def functions(template):
    return domain_functions(template)


@pytest.fixture(scope="module")
def queues(template):
    found = {lid: q for lid, q in resources(template, "AWS::SQS::Queue").items() if "Notifications" in lid}
    (main,) = [lid for lid, q in found.items() if "RedrivePolicy" in q["Properties"]]
    (dlq,) = [lid for lid in found if lid != main]
    return main, dlq, found


def test_queue_and_dead_letter_queue_are_encrypted_and_tls_only(template, queues):
    main, dlq, found = queues
    for lid, queue in found.items():
        assert queue["Properties"].get("SqsManagedSseEnabled") is True, lid
        (policy,) = [
            p
            for p in resources(template, "AWS::SQS::QueuePolicy").values()
            if {"Ref": lid} in p["Properties"]["Queues"]
        ]
        denies = [s for s in policy["Properties"]["PolicyDocument"]["Statement"] if s["Effect"] == "Deny"]
        assert any(s["Condition"] == {"Bool": {"aws:SecureTransport": "false"}} for s in denies), lid
    redrive = found[main]["Properties"]["RedrivePolicy"]
    assert redrive["deadLetterTargetArn"] == {"Fn::GetAtt": [dlq, "Arn"]} and redrive["maxReceiveCount"] == 5
    assert found[dlq]["Properties"]["MessageRetentionPeriod"] == 14 * 24 * 3600


def test_the_delivery_function_reads_the_queue_with_partial_batch_failures(template, functions, queues):
    main, _, found = queues
    (mapping,) = [
        m
        for m in resources(template, "AWS::Lambda::EventSourceMapping").values()
        if m["Properties"]["EventSourceArn"] == {"Fn::GetAtt": [main, "Arn"]}
    ]
    lid, fn = functions["notifications-delivery"]
    assert mapping["Properties"]["FunctionName"] == {"Ref": lid}
    assert mapping["Properties"]["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    assert found[main]["Properties"]["VisibilityTimeout"] >= 6 * fn["Properties"]["Timeout"]


def test_only_the_delivery_role_and_the_claim_code_text_send_and_as_tightly_as_allowed(template, functions):
    delivery = role_statements(template, role_of(functions["notifications-delivery"][1]))
    sms = [s for s in delivery if "sns:Publish" in as_list(s["Action"])]
    allow = [s for s in sms if s["Effect"] == "Allow"]
    deny = [s for s in sms if s["Effect"] == "Deny"]
    assert [as_list(s["Action"]) for s in allow] == [["sns:Publish"]] and allow[0]["Resource"] == "*"
    assert len(deny) == 1 and "arn:" in str(deny[0]["Resource"]) and ":sns:" in str(deny[0]["Resource"])
    (ses,) = [s for s in delivery if any(a.startswith("ses:") for a in as_list(s["Action"]))]
    assert set(as_list(ses["Action"])) == {"ses:SendEmail", "ses:SendRawEmail"}
    assert "identity/notifications@agri-mrv.example" in str(ses["Resource"])
    assert ses["Condition"] == {"StringEquals": {"ses:FromAddress": "notifications@agri-mrv.example"}}
    for name, (_, fn) in functions.items():
        if name == "notifications-delivery":
            continue
        granted = actions(role_statements(template, role_of(fn)))
        if (
            name == "farmers"
        ):  # a profile's claim code, texted by the manager's request (exactly: tests/infra/test_farm.py)
            assert not {a for a in granted if a.startswith("ses:")} and {
                a for a in granted if a.startswith("sns:")
            } == {"sns:Publish"}, name
            continue
        assert not {a for a in granted if a.startswith(("ses:", "sns:"))}, name


def test_producers_may_only_enqueue(template, functions, queues):
    main, _, _ = queues
    senders = set()
    for name, (_, fn) in functions.items():
        statements = role_statements(template, role_of(fn))
        sqs = [s for s in statements if any(a.startswith("sqs:") for a in as_list(s["Action"]))]
        if name == "notifications-delivery":
            continue  # the event source mapping's receive/delete on the queue
        if not sqs:
            assert "NOTIFY_QUEUE_URL" not in fn["Properties"]["Environment"]["Variables"], name
            continue
        senders.add(name)
        assert [as_list(s["Action"]) for s in sqs] == [["sqs:SendMessage"]], name
        assert sqs[0]["Resource"] == {"Fn::GetAtt": [main, "Arn"]} or "GetStackOutput" in str(sqs[0]["Resource"])
        assert fn["Properties"]["Environment"]["Variables"]["NOTIFY_QUEUE_URL"] == {"Ref": main}
    assert senders == set(PRODUCERS)


def test_the_reminder_runs_hourly(template, functions):
    lid, _ = functions["notifications-reminder"]
    rules = [
        r
        for r in resources(template, "AWS::Events::Rule").values()
        if any(t["Arn"] == {"Fn::GetAtt": [lid, "Arn"]} for t in r["Properties"]["Targets"])
    ]
    assert [r["Properties"]["ScheduleExpression"] for r in rules] == ["rate(1 hour)"]

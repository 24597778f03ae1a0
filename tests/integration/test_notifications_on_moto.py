"""Notifications on moto, provisioned from the template: a producer enqueues on the real queue,
the queue's event source mapping (run as the twin runs it) hands the batch to the delivery
function, and SNS (SMS to a phone) and SES (email) actually "send" (moto keeps what was sent).
A failed email is retried by redelivery without texting twice."""

from __future__ import annotations

import boto3
import pytest

from agri_common import pipeline_table
from agri_common.notify import NotificationEvent, notify
from agri_common.single_table import DynamoTableStore, Put
from functions.notifications import delivery_handler
from functions.notifications.store import NotificationStore, PreferencesRecord
from infra.local import outbox
from infra.local.lambdas import LambdaContext
from infra.local.queues import LocalQueues
from infra.local.template import function_specs

PID = "prj_0000abcd"
RUN = f"{PID}_2025_kharif"


@pytest.fixture
def wired(aws, synthesized, function_env):
    queues = LocalQueues(synthesized.template, aws).provision()
    env = function_env("notifications-delivery")
    function_env("pipeline-await_decision")  # the producer's NOTIFY_QUEUE_URL
    (lid,) = [lid for lid, s in function_specs(synthesized.template).items() if s.domain == "notifications-delivery"]
    ctx = LambdaContext(
        function_name="delivery", memory_limit_in_mb=256, invoked_function_arn="arn:x", aws_request_id="r", timeout_s=60
    )
    invoke = {lid: lambda event: delivery_handler.lambda_handler(event, ctx)}
    idp = boto3.client("cognito-idp")
    sub = None
    for username, group, attrs in (
        ("audrey", "auditor", {"email": "audrey@example.org", "phone_number": "+919800000001"}),
        ("root", "admin", {"email": "root@example.org"}),
    ):
        created = idp.admin_create_user(
            UserPoolId=env["USER_POOL_ID"],
            Username=username,
            UserAttributes=[{"Name": k, "Value": v} for k, v in attrs.items()],
            MessageAction="SUPPRESS",
        )
        idp.admin_add_user_to_group(UserPoolId=env["USER_POOL_ID"], Username=username, GroupName=group)
        if username == "audrey":
            sub = next(a["Value"] for a in created["User"]["Attributes"] if a["Name"] == "sub")
    DynamoTableStore(env["PIPELINE_TABLE"]).transact(
        [
            Put(
                pipeline_table.AuditorAssignmentRecord(
                    project_id=PID,
                    user_id=sub,
                    username="audrey",
                    assigned_by="root",
                    assigned_at="2026-01-01T00:00:00Z",
                ).to_item()
            )
        ]
    )
    store = NotificationStore(DynamoTableStore(env["FARM_TABLE"]))
    return type("W", (), {"queues": queues, "invoke": invoke, "env": env, "sub": sub, "store": store})


def awaiting() -> NotificationEvent:
    return NotificationEvent(
        kind="run_awaiting_auditor",
        event_id=f"run_awaiting_auditor:{RUN}_a1",
        project_id=PID,
        run_id=RUN,
        task_id=f"{RUN}_a1",
    )


def test_the_auditor_is_texted_and_emailed_in_hindi_and_sees_it_in_app(wired):
    wired.queues.verify_email_senders(wired.env)
    wired.store.save_preferences(
        PreferencesRecord(
            recipient=f"u.{wired.sub}", language="hi", channels=["in_app", "sms", "email"], updated_at="t"
        )
    )
    assert notify(awaiting()) is True  # the producer's side: the real queue
    assert wired.queues.drain(wired.invoke) == 1
    sent = outbox.sent_messages()
    (sms,) = sent["sms"]
    assert sms["phone"] == "+919800000001" and "सत्यापन" in sms["text"] and RUN in sms["text"]
    (email,) = sent["email"]
    assert email["to"] == ["audrey@example.org"] and email["source"] == wired.env["EMAIL_SENDER"]
    assert "सत्यापन" in email["subject"]
    (item,) = wired.store.page(f"u.{wired.sub}", unread=True, limit=10, start=None)[0]
    assert item.language == "hi" and item.channels == {"sms": "sent", "email": "sent"}
    # delivered and deleted: nothing left in the queue or its dead-letter queue
    sqs = boto3.client("sqs")
    for mapping in wired.queues.mappings:
        attrs = sqs.get_queue_attributes(QueueUrl=mapping.queue_url, AttributeNames=["ApproximateNumberOfMessages"])
        assert attrs["Attributes"]["ApproximateNumberOfMessages"] == "0"


def test_with_a_dlt_registration_the_text_carries_the_entity_and_its_templates_id(wired, monkeypatch):
    """What prod sends (its cdk.json registration, here made up): the SNS publish names the DLT entity and
    the template of the Hindi text; the twin's outbox shows the attributes as SNS received them."""
    from agri_common.platform.settings import clear_settings_cache
    from agri_common.sms import dlt_environment

    outbox.record_sms_attributes()
    monkeypatch.setenv("SMS_SENDER_ID", "AGRMRV")
    monkeypatch.setenv(
        "SMS_DLT", dlt_environment("1101000000000000001", {"run_awaiting_auditor.hi": "1107000000000000042"})
    )
    clear_settings_cache()
    wired.store.save_preferences(
        PreferencesRecord(recipient=f"u.{wired.sub}", language="hi", channels=["sms"], updated_at="t")
    )
    notify(awaiting())
    assert wired.queues.drain(wired.invoke) == 1
    (sms,) = outbox.sent_messages()["sms"]
    assert sms["phone"] == "+919800000001" and "सत्यापन" in sms["text"]
    assert sms["attributes"] == {
        "AWS.SNS.SMS.SMSType": "Transactional",
        "AWS.SNS.SMS.SenderID": "AGRMRV",
        "AWS.MM.SMS.EntityId": "1101000000000000001",
        "AWS.MM.SMS.TemplateId": "1107000000000000042",
    }


def test_a_text_the_registration_lacks_is_not_sent_and_is_retried(wired, monkeypatch):
    from agri_common.platform.settings import clear_settings_cache
    from agri_common.sms import dlt_environment

    monkeypatch.setenv("SMS_DLT", dlt_environment("1101000000000000001", {"run_approved.en": "1107"}))
    clear_settings_cache()
    wired.store.save_preferences(
        PreferencesRecord(recipient=f"u.{wired.sub}", language="en", channels=["in_app", "sms"], updated_at="t")
    )
    notify(awaiting())
    wired.queues.drain(wired.invoke)
    assert outbox.sent_messages()["sms"] == []
    (item,) = wired.store.page(f"u.{wired.sub}", unread=False, limit=10, start=None)[0]
    assert item.channels == {"sms": "failed"}  # the message stays on the queue: retried, then the DLQ (alarmed)


def test_a_refused_email_is_retried_by_redelivery_and_the_sms_is_not_sent_twice(wired):
    # the sender identity is not verified yet: SES refuses the email, the SMS goes out
    notify(awaiting())
    wired.queues.drain(wired.invoke)
    assert len(outbox.sent_messages()["sms"]) == 1 and outbox.sent_messages()["email"] == []
    (item,) = wired.store.page(f"u.{wired.sub}", unread=False, limit=10, start=None)[0]
    assert item.channels == {"sms": "sent", "email": "failed"}
    # the message stayed in the queue (partial batch failure); it comes back after its visibility timeout
    sqs = boto3.client("sqs")
    url = wired.queues.mappings[0].queue_url
    attrs = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["ApproximateNumberOfMessagesNotVisible"])
    assert attrs["Attributes"]["ApproximateNumberOfMessagesNotVisible"] == "1"
    wired.queues.verify_email_senders(wired.env)  # ops verify the sender
    sqs.set_queue_attributes(QueueUrl=url, Attributes={"VisibilityTimeout": "0"})
    _expire_in_flight(url)
    assert wired.queues.drain(wired.invoke) == 1
    sent = outbox.sent_messages()
    assert len(sent["sms"]) == 1 and len(sent["email"]) == 1
    (item,) = wired.store.page(f"u.{wired.sub}", unread=False, limit=10, start=None)[0]
    assert item.channels == {"sms": "sent", "email": "sent"}


def _expire_in_flight(url: str) -> None:
    """moto keeps a received message invisible for the timeout it had when received: make it visible now
    (what the passing of the visibility timeout does on AWS)."""
    from moto.backends import get_backend

    for regions in get_backend("sqs").values():
        for backend in regions.values():
            for queue in backend.queues.values():
                if queue.url == url or url.endswith(queue.name):
                    for message in queue._messages:
                        message.change_visibility(0)

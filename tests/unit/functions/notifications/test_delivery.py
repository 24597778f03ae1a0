"""Delivery with fakes: recipients per event, preferences and language, idempotency on
redelivery, failures retried (never losing what was already sent), and the producer port."""

import json

import pytest

from agri_common import notify as port
from agri_common import pipeline_table
from agri_common.farm_table.records import FarmerRecord
from agri_common.notify import NotificationEvent
from agri_common.single_table import Put
from functions.notifications import delivery_handler
from functions.notifications.delivery import Deliverer, DeliveryFailed
from functions.notifications.recipients import Recipients
from functions.notifications.store import NotificationStore, PreferencesRecord, erase_farmer, erase_user
from infra.local.lambdas import LambdaContext
from tests.unit.fakes.farm import InMemoryFarmStore
from tests.unit.functions.notifications.fakes import FakeDirectory, FakeSender

NOW = "2026-11-27T10:00:00.000000Z"
PID = "prj_0000abcd"


@pytest.fixture
def world():
    farm, pipeline, directory = InMemoryFarmStore(), InMemoryFarmStore(), FakeDirectory()
    directory.add("aud-1", "auditor", email="aud@example.org", phone_number="+919800000001")
    directory.add("aud-2", "auditor", email="aud2@example.org")
    directory.add("adm-1", "admin", email="admin@example.org")
    directory.add("mgr-1", "fpo_manager", fpo_id="FPO-1", phone_number="+919800000002")
    directory.add("mgr-9", "fpo_manager", fpo_id="FPO-9", phone_number="+919800000009")
    directory.add("far-1", "farmer", fpo_id="FPO-1", phone_number="+919800000003")
    ops = [
        Put(r.to_item())
        for r in (
            pipeline_table.AuditorAssignmentRecord(
                project_id=PID, user_id="aud-1", username="a1", assigned_by="adm", assigned_at=NOW
            ),
            # assigned, then the role was taken away: not told
            pipeline_table.AuditorAssignmentRecord(
                project_id=PID, user_id="mgr-1", username="m1", assigned_by="adm", assigned_at=NOW
            ),
            pipeline_table.ProjectFpoRecord(project_id=PID, fpo_id="FPO-1"),
        )
    ]
    pipeline.transact(ops)
    for farmer_id, owner, lang in (("F-ACC", "far-1", "hi"), ("F-NOACC", None, "pa")):
        farm.transact(
            [
                Put(
                    FarmerRecord(
                        farmer_id=farmer_id,
                        fpo_id="FPO-1",
                        owner_user_id=owner,
                        name="Ravi",
                        phone="+919811111111",
                        village="Rampur",
                        district="Patiala",
                        state="Punjab",
                        preferred_language=lang,
                        consent={"given": True, "version": "v1", "at": NOW},
                        created_by="mgr-1",
                        created_at=NOW,
                        updated_at=NOW,
                    ).to_item()
                )
            ]
        )
    store = NotificationStore(farm)
    sms, email = FakeSender(), FakeSender()
    deliverer = Deliverer(store, Recipients(directory, pipeline, farm), sms, email)
    return type("W", (), {"farm": farm, "store": store, "sms": sms, "email": email, "d": deliverer})


def event(kind, **kw):
    return NotificationEvent(kind=kind, event_id=f"{kind}:{kw.get('run_id', 'x')}", occurred_at=NOW, **kw)


def inbox(w, user_id):
    return w.store.page(f"u.{user_id}", unread=False, limit=50, start=None)[0]


@pytest.mark.parametrize(
    "kind,kw,expected",
    [
        ("run_awaiting_auditor", {"project_id": PID, "run_id": "r1"}, {"u.aud-1"}),
        ("run_approved", {"project_id": PID, "run_id": "r1"}, {"u.adm-1", "u.mgr-1"}),
        ("run_sent_back", {"project_id": PID, "run_id": "r1"}, {"u.adm-1", "u.mgr-1"}),
        ("run_failed", {"project_id": PID, "run_id": "r1"}, {"u.adm-1"}),
        ("anchoring_conflict", {}, {"u.adm-1"}),
        ("membership_requested", {"fpo_id": "FPO-9"}, {"u.mgr-9"}),
        ("membership_approved", {"farmer_id": "F-ACC", "fpo_id": "FPO-1"}, {"u.far-1"}),
        ("credits_issued", {"farmer_id": "F-NOACC"}, {"f.F-NOACC"}),
        ("credits_transferred", {"user_ids": ("far-1",)}, {"u.far-1"}),
    ],
)
def test_recipients_per_event(world, kind, kw, expected):
    told = {r.recipient for r in world.d.deliver(event(kind, **kw))}
    assert told == expected


def test_a_farmer_without_an_account_gets_an_sms_in_their_profile_language_and_no_inbox_item(world):
    (record,) = world.d.deliver(event("credits_issued", farmer_id="F-NOACC", values={"quantity": 3}))
    assert record.in_app is False and record.channels == {"sms": "sent", "email": "skipped"}
    # pa has no template file: English text, to the profile's phone
    assert world.sms.sent == [("+919811111111", record.sms)] and "3 carbon credits" in record.sms
    assert world.sms.templates == ["credits_issued.en"]  # the DLT template of the text actually sent (English)


def test_a_farmer_with_an_account_is_texted_on_the_profiles_phone_in_the_profiles_language(world):
    (record,) = world.d.deliver(event("membership_approved", farmer_id="F-ACC", fpo_id="FPO-1"))
    assert record.recipient == "u.far-1" and record.in_app and record.language == "hi"
    assert world.sms.sent == [("+919811111111", record.sms)] and "सदस्य" in record.sms
    assert world.sms.templates == ["membership_approved.hi"]  # Hindi text: its own DLT template


def test_preferences_choose_language_and_channels(world):
    world.store.save_preferences(
        PreferencesRecord(recipient="u.aud-1", language="hi", channels=["in_app", "email"], updated_at=NOW)
    )
    world.d.deliver(event("run_awaiting_auditor", project_id=PID, run_id="r1", task_id="r1_a1"))
    (item,) = inbox(world, "aud-1")
    assert item.language == "hi" and "सत्यापन" in item.title
    assert item.channels == {"email": "sent"}  # no sms: not chosen
    assert world.sms.sent == [] and world.email.sent == [("aud@example.org", item.title, item.body)]


def test_channels_switched_off_store_no_inbox_item(world):
    world.store.save_preferences(PreferencesRecord(recipient="u.aud-1", language="en", channels=[], updated_at=NOW))
    (record,) = world.d.deliver(event("run_awaiting_auditor", project_id=PID, run_id="r1"))
    assert record.in_app is False and inbox(world, "aud-1") == []
    assert world.sms.sent == world.email.sent == []


def test_redelivery_is_idempotent(world):
    e = event("run_awaiting_auditor", project_id=PID, run_id="r1")
    world.d.deliver(e)
    world.d.deliver(e)
    assert len(inbox(world, "aud-1")) == 1
    assert len(world.sms.sent) == 1 and len(world.email.sent) == 1


def test_a_failed_channel_is_recorded_retried_and_nothing_sent_twice(world):
    world.sms.failures = 1
    e = event("run_awaiting_auditor", project_id=PID, run_id="r1")
    with pytest.raises(DeliveryFailed):
        world.d.deliver(e)
    (item,) = inbox(world, "aud-1")
    assert item.channels == {"sms": "failed", "email": "sent"}
    world.d.deliver(e)  # the queue redelivers the message
    (item,) = inbox(world, "aud-1")
    assert item.channels == {"sms": "sent", "email": "sent"}
    assert len(world.sms.sent) == 1 and len(world.email.sent) == 1


def test_no_contact_means_skipped_not_failed(world):
    (record,) = world.d.deliver(event("anchoring_stuck"))  # the admin has an email only
    assert record.channels == {"sms": "skipped", "email": "sent"}


def test_the_delivery_function_reports_only_the_failed_message(world, monkeypatch):
    monkeypatch.setattr(delivery_handler, "_deliverer", lambda: world.d)
    world.sms.failures = 1
    ok = event("anchoring_stuck")
    failing = event("run_awaiting_auditor", project_id=PID, run_id="r1")
    records = [
        {"messageId": mid, "body": body, "receiptHandle": "h", "attributes": {}, "eventSource": "aws:sqs"}
        for mid, body in (("m1", ok.model_dump_json()), ("m2", failing.model_dump_json()), ("m3", "not json"))
    ]
    ctx = LambdaContext(
        function_name="delivery",
        memory_limit_in_mb=128,
        invoked_function_arn="arn:aws:lambda:x:1:function:d",
        aws_request_id="r",
        timeout_s=10,
    )
    out = delivery_handler.lambda_handler({"Records": records}, ctx)
    assert out == {"batchItemFailures": [{"itemIdentifier": "m2"}]}


def test_erase_user_and_farmer_remove_their_partitions(world):
    world.store.save_preferences(
        PreferencesRecord(recipient="u.aud-1", language="hi", channels=["in_app"], updated_at=NOW)
    )
    world.d.deliver(event("run_awaiting_auditor", project_id=PID, run_id="r1"))
    world.d.deliver(event("credits_issued", farmer_id="F-NOACC"))
    assert erase_user("aud-1", store=world.store) == 3  # preferences, the notification, its event receipt
    assert erase_farmer("F-NOACC", store=world.store) == 2
    assert not [k for k in world.farm.items if k[0].startswith(("NOTIFY#u.aud-1", "NOTIFY#f.F-NOACC"))]
    assert world.store.preferences("u.aud-1") is None


# ---- the producers' port ----------------------------------------------------------------------
def test_notify_hands_events_to_the_transport_as_json():
    sent = []
    previous = port.use_transport(lambda bodies: sent.extend(bodies))
    try:
        assert port.notify(event("run_failed", run_id="r1"), event("run_failed", run_id="r2")) is True
    finally:
        port.use_transport(previous)
    assert [json.loads(b)["event_id"] for b in sent] == ["run_failed:r1", "run_failed:r2"]


def test_notify_never_raises_when_the_queue_fails():
    def broken(bodies):
        raise ConnectionError("SQS down")

    previous = port.use_transport(broken)
    try:
        assert port.notify(event("run_failed")) is False
    finally:
        port.use_transport(previous)


def test_notify_without_a_queue_configured_does_not_raise(monkeypatch):
    monkeypatch.delenv(port.QUEUE_ENV, raising=False)
    assert port.notify(event("run_failed")) is False


def test_a_retried_producer_stamping_another_time_is_still_told_once(world):
    first = event("run_awaiting_auditor", project_id=PID, run_id="r1")
    world.d.deliver(first)
    world.d.deliver(first.model_copy(update={"occurred_at": "2026-11-27T11:30:00.000000Z"}))
    assert len(inbox(world, "aud-1")) == 1 and len(world.sms.sent) == 1

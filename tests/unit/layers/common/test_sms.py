"""The one SMS sender (agri_common.sms): transactional, the sender id, and India's DLT entity and
template ids of the text being sent; without a DLT registration no DLT attribute; a text whose
template the registration lacks is refused before SNS is called."""

from __future__ import annotations

import json

import pytest
from pydantic import ValidationError

from agri_common import sms
from agri_common.platform.settings import clear_settings_cache

DLT = sms.DltRegistration(
    entity_id="1101234567890123456",
    templates={"claim_code.en": "1107000000000000001", "run_approved.hi": "1107000000000000002"},
)


def values(attributes: dict) -> dict[str, str]:
    assert all(a["DataType"] == "String" for a in attributes.values())
    return {name: a["StringValue"] for name, a in attributes.items()}


def test_with_a_registration_each_text_carries_the_entity_and_its_own_template():
    sender = sms.SnsSms("AGRMRV", DLT)
    assert values(sender.attributes("run_approved.hi")) == {
        "AWS.SNS.SMS.SMSType": "Transactional",
        "AWS.SNS.SMS.SenderID": "AGRMRV",
        "AWS.MM.SMS.EntityId": "1101234567890123456",
        "AWS.MM.SMS.TemplateId": "1107000000000000002",
    }
    assert values(sender.attributes("claim_code.en"))["AWS.MM.SMS.TemplateId"] == "1107000000000000001"


def test_without_a_registration_no_dlt_attribute_and_no_sender_id_unless_set():
    assert values(sms.SnsSms().attributes("anything.en")) == {"AWS.SNS.SMS.SMSType": "Transactional"}
    assert values(sms.SnsSms("AGRMRV").attributes("x.en")) == {
        "AWS.SNS.SMS.SMSType": "Transactional",
        "AWS.SNS.SMS.SenderID": "AGRMRV",
    }


def test_a_text_the_registration_lacks_is_refused_before_any_client(monkeypatch):
    def no_client(*_a, **_k):
        raise AssertionError("no SNS call for an unregistered text")

    monkeypatch.setattr("agri_common.platform.aws.client", no_client)
    with pytest.raises(sms.SmsTemplateNotRegistered, match="run_approved.en"):
        sms.SnsSms("AGRMRV", DLT).send("+919800000001", "hello", template="run_approved.en")


def test_the_sender_publishes_to_the_phone_with_the_attributes(monkeypatch):
    calls = []

    class Client:
        def publish(self, **kwargs):
            calls.append(kwargs)
            return {"MessageId": "m-1"}

    monkeypatch.setattr("agri_common.platform.aws.client", lambda name: Client())
    sms.SnsSms("AGRMRV", DLT).send("+919800000001", "code 1234", template="claim_code.en")
    (call,) = calls
    assert call["PhoneNumber"] == "+919800000001" and call["Message"] == "code 1234"
    assert values(call["MessageAttributes"])["AWS.MM.SMS.TemplateId"] == "1107000000000000001"


def test_settings_read_once_from_the_environment(monkeypatch):
    monkeypatch.setenv("SMS_SENDER_ID", "AGRMRV")
    monkeypatch.setenv("SMS_DLT", sms.dlt_environment(DLT.entity_id, DLT.templates))
    clear_settings_cache()
    try:
        sender = sms.sms_sender()
        assert sender.sender_id == "AGRMRV" and sender.dlt == DLT
        monkeypatch.delenv("SMS_DLT")
        assert sms.sms_sender().dlt == DLT  # cached: read once per process
    finally:
        clear_settings_cache()


@pytest.mark.parametrize(
    "env",
    [
        {"SMS_SENDER_ID": "A B"},  # a space
        {"SMS_SENDER_ID": "123456"},  # no letter
        {"SMS_SENDER_ID": "ABCDEFGHIJKL"},  # 12 characters
        {"SMS_DLT": json.dumps({"entity_id": "", "templates": {}})},
        {"SMS_DLT": json.dumps({"entity_id": "1" * 51, "templates": {}})},
        {"SMS_DLT": json.dumps({"entity_id": "1", "templates": {"run approved": "1"}})},
        {"SMS_DLT": json.dumps({"entity_id": "1", "templates": {"a.en": "1"}, "extra": 1})},
        {"SMS_DLT": "not json"},
    ],
)
def test_a_malformed_configuration_fails_loudly(monkeypatch, env):
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    clear_settings_cache()
    try:
        with pytest.raises(ValidationError):
            sms.sms_sender()
    finally:
        clear_settings_cache()

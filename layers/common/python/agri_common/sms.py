"""The one SMS sender of the app: a transactional text through SNS to a phone number, with India's
DLT registration (docs/decisions/0020).

Indian carriers drop commercial SMS that do not name the sender's registered DLT entity and the
registered template of the text. SNS takes both as message attributes of the publish
(``AWS.MM.SMS.EntityId``, ``AWS.MM.SMS.TemplateId``; docs.aws.amazon.com/sns/latest/dg/sms_publish-to-phone.html).
Every text the app sends has a template name, ``<kind>.<language>`` (:func:`template_name`): a
notification kind of ``functions/notifications/templates/<language>.json``, or ``claim_code.en``.
A DLT template is registered per exact text, so each language of a kind is its own template.

Configuration comes from the function's environment, read once (:class:`SmsSettings`):

- ``SMS_SENDER_ID``: the alphanumeric sender id (the DLT "header"), optional;
- ``SMS_DLT``: JSON ``{"entity_id": "...", "templates": {"<template name>": "<template id>"}}``, optional.
  Without it (dev, the twin) texts go without the DLT attributes. With it, a text whose template has no
  id is refused here (:class:`SmsTemplateNotRegistered`) instead of being paid for and dropped by the
  carrier; the synth refuses a stage whose registration misses a template (infra/messaging.py).

No AWS client at import: the SNS client is made on the first send.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any, Protocol

from pydantic import BaseModel, ConfigDict, Field, Json, StringConstraints

from agri_common.platform.settings import BaseSettingsModel, load_settings

SMS_TYPE = "AWS.SNS.SMS.SMSType"
SENDER_ID = "AWS.SNS.SMS.SenderID"
DLT_ENTITY_ID = "AWS.MM.SMS.EntityId"
DLT_TEMPLATE_ID = "AWS.MM.SMS.TemplateId"

# SNS: "a unique string of 1-50 characters" for both ids (TRAI issues 19-digit numbers in practice).
DltId = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_-]{1,50}$")]
TemplateName = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]{0,63}\.[a-z]{2,3}$")]
# SNS: 3-11 letters and digits, at least one letter (India's DLT headers are 6 letters).
SenderId = Annotated[str, StringConstraints(min_length=3, max_length=11, pattern=r"^[A-Za-z0-9]*[A-Za-z][A-Za-z0-9]*$")]


def template_name(kind: str, language: str) -> str:
    """The name a text's DLT template is registered under: ``<kind>.<language>``."""
    return f"{kind}.{language}"


class DltRegistration(BaseModel):
    """India's DLT registration of the sender: the entity (principal entity) id and each text's template id."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    entity_id: DltId
    templates: dict[TemplateName, DltId] = Field(default_factory=dict)


class SmsSettings(BaseSettingsModel):
    sms_sender_id: SenderId | None = None
    sms_dlt: Json[DltRegistration] | None = None


class SmsTemplateNotRegistered(LookupError):
    """The stage registers its texts with DLT but not this one: it is not sent (carriers would drop it)."""


class SmsSender(Protocol):
    def send(self, phone: str, text: str, *, template: str) -> None: ...


class SnsSms:
    """A transactional SMS through SNS: a direct publish to a phone number (no topic)."""

    def __init__(self, sender_id: str | None = None, dlt: DltRegistration | None = None):
        self.sender_id = sender_id
        self.dlt = dlt

    def attributes(self, template: str) -> dict[str, Any]:
        """The publish's message attributes for a text of ``template`` (raises when DLT lacks it)."""
        values: dict[str, str] = {SMS_TYPE: "Transactional"}
        if self.sender_id:
            values[SENDER_ID] = self.sender_id
        if self.dlt is not None:
            template_id = self.dlt.templates.get(template)
            if template_id is None:
                raise SmsTemplateNotRegistered(f"SMS template {template!r} has no DLT template id in SMS_DLT")
            values[DLT_ENTITY_ID] = self.dlt.entity_id
            values[DLT_TEMPLATE_ID] = template_id
        return {name: {"DataType": "String", "StringValue": value} for name, value in values.items()}

    def send(self, phone: str, text: str, *, template: str) -> None:
        attributes = self.attributes(template)  # before any client: an unregistered text costs nothing
        from agri_common.platform.aws import client

        client("sns").publish(PhoneNumber=phone, Message=text, MessageAttributes=attributes)


def sms_sender(settings: SmsSettings | None = None) -> SnsSms:
    """The sender configured by the function's environment (read once per process)."""
    s = settings if settings is not None else load_settings(SmsSettings)
    return SnsSms(s.sms_sender_id, s.sms_dlt)


def dlt_environment(entity_id: str, templates: Mapping[str, str]) -> str:
    """``SMS_DLT``'s value (compact JSON) for these templates: what the infrastructure puts in a function's environment."""
    registration = DltRegistration(entity_id=entity_id, templates=dict(sorted(templates.items())))
    return registration.model_dump_json()

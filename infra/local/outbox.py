"""What the twin's SNS and SES "sent": moto keeps every SMS published to a phone number
(``sms_messages`` of the SNS backend) and every email (``sent_messages`` of the SES backend) but
offers no call to read them. A process outside the twin (the e2e tests, a developer) reads them
at ``GET <moto>/moto-api/agri/sent-messages``:

    {"sms": [{"message_id", "phone", "text", "attributes"}], "email": [{"source", "to", "subject", "body"}]}

``attributes`` are the publish's message attributes by name (``{"AWS.SNS.SMS.SMSType": "Transactional",
"AWS.MM.SMS.EntityId": ..., "AWS.MM.SMS.TemplateId": ...}``): moto drops them for a text, so
:func:`record_sms_attributes` (installed with the endpoint, or by an in-process test) keeps them on
the backend. In-process tests read the backends directly (:func:`sent_messages`). Nothing is sent anywhere.
"""

from __future__ import annotations

import json
from typing import Any

PATH = "/moto-api/agri/sent-messages"
_ATTRIBUTES = "agri_sms_attributes"  # on each SNS backend: message id -> {name: value}


def record_sms_attributes() -> None:
    """Wrap moto's SNS publish so that a text's message attributes are kept (idempotent)."""
    from moto.sns.models import SNSBackend

    publish = SNSBackend.publish
    if getattr(publish, "_agri_records_attributes", False):
        return

    def recording(self: Any, message: str, arn: str | None, phone_number: str | None = None, **kw: Any) -> str:
        message_id: str = publish(self, message, arn, phone_number=phone_number, **kw)
        if phone_number:
            attrs = kw.get("message_attributes") or {}  # moto's shape: {name: {"Type", "Value"}}
            kept = self.__dict__.setdefault(_ATTRIBUTES, {})
            kept[message_id] = {name: a.get("Value") for name, a in attrs.items()}
        return message_id

    recording._agri_records_attributes = True  # type: ignore[attr-defined]  # a marker on the function
    SNSBackend.publish = recording  # type: ignore[method-assign]  # moto has no hook for this


def sent_messages() -> dict[str, list[dict[str, Any]]]:
    from moto.backends import get_backend

    sms = [
        {"message_id": mid, "phone": phone, "text": text, "attributes": getattr(backend, _ATTRIBUTES, {}).get(mid, {})}
        for regions in get_backend("sns").values()
        for backend in regions.values()
        for mid, (phone, text) in backend.sms_messages.items()
    ]
    email = [
        {"source": m.source, "to": list(m.destinations.get("ToAddresses", [])), "subject": m.subject, "body": m.body}
        for regions in get_backend("ses").values()
        for backend in regions.values()
        for m in backend.sent_messages
        if hasattr(m, "subject")
    ]
    return {"sms": sms, "email": email}


def _respond(request: Any, full_url: str, headers: Any) -> tuple[int, dict[str, str], str]:
    return 200, {"Content-Type": "application/json"}, json.dumps(sent_messages(), ensure_ascii=False)


def install() -> None:
    """Add the read-only endpoint to moto's own API routes (before the server builds its app), and keep
    the texts' message attributes."""
    from moto.moto_api._internal import urls

    record_sms_attributes()
    urls.url_paths["{0}" + PATH + "$"] = _respond

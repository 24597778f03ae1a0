"""What the twin's SNS and SES "sent": moto keeps every SMS published to a phone number
(``sms_messages`` of the SNS backend) and every email (``sent_messages`` of the SES backend) but
offers no call to read them. A process outside the twin (the e2e tests, a developer) reads them
at ``GET <moto>/moto-api/agri/sent-messages``:

    {"sms": [{"message_id", "phone", "text"}], "email": [{"source", "to", "subject", "body"}]}

In-process tests read the backends directly (:func:`sent_messages`). Nothing is sent anywhere.
"""

from __future__ import annotations

import json
from typing import Any

PATH = "/moto-api/agri/sent-messages"


def sent_messages() -> dict[str, list[dict[str, Any]]]:
    from moto.backends import get_backend

    sms = [
        {"message_id": mid, "phone": phone, "text": text}
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
    """Add the read-only endpoint to moto's own API routes (before the server builds its app)."""
    from moto.moto_api._internal import urls

    urls.url_paths["{0}" + PATH + "$"] = _respond

"""Notifications over HTTP against the local twin: a farmer's own registration asks the FPO's
manager (Hindi-preferring) to admit them: the manager finds it in the app in Hindi and gets the
email; the approval texts the farmer on their profile's phone. The twin's queue poller delivers as
Lambda does; what SNS and SES "sent" is read from the twin's moto."""

from __future__ import annotations

import time

import requests

from tests.e2e.conftest import Client
from tests.e2e.test_api import PASSWORD, unique
from tests.e2e.test_farm import CONSENT
from tests.e2e.test_membership import admin, new_farmer  # noqa: F401  # admin: fixture


def new_manager_with_contacts(client: Client, admin: str, fpo_id: str, email: str) -> str:
    username = unique("mgr")
    r = client.call(
        "POST",
        "/admin/users",
        {
            "username": username,
            "role": "fpo_manager",
            "fpo_id": fpo_id,
            "name": "FPO Manager",
            "email": email,
            "temporary_password": "Temp-Passw0rd!x",
        },
        token=admin,
    )
    assert r.status_code == 201, r.text
    first = client.call("POST", "/auth/login", {"username": username, "password": "Temp-Passw0rd!x"}).json()
    done = client.call(
        "POST",
        "/auth/challenge",
        {
            "challenge_name": "NEW_PASSWORD_REQUIRED",
            "username": username,
            "session": first["challenge"]["session"],
            "new_password": PASSWORD,
        },
    )
    return done.json()["tokens"]["id_token"]


def eventually(read, what: str, attempts: int = 120):
    """Poll ``read`` until it answers something truthy (the twin's poller delivers in the background)."""
    for _ in range(attempts):
        found = read()
        if found:
            return found
        time.sleep(0.25)
    raise AssertionError(f"never saw {what}")


def sent(twin) -> dict:
    return requests.get(f"{twin['moto']}/moto-api/agri/sent-messages", timeout=10).json()


def test_membership_request_and_approval_are_notified_in_app_by_email_and_by_sms(twin, client, admin):
    fpo_id = unique("FPO-N-")
    assert client.call("POST", "/fpos", {"fpo_id": fpo_id, "name": "Notify FPO", "state": "Punjab"}, token=admin).ok
    email = f"{unique('mgr')}@example.org"
    manager = new_manager_with_contacts(client, admin, fpo_id, email)
    r = client.call("PUT", "/me/preferences", {"language": "hi"}, token=manager)
    assert r.status_code == 200 and r.json()["language"] == "hi", r.text
    assert client.call("PUT", "/me/preferences", {"language": None}, token=manager).status_code == 422

    farmer = new_farmer(client)
    phone = "98" + unique("")[:8].translate(str.maketrans("abcdef", "123456"))
    body = {
        "name": "Ravi Kumar",
        "phone": phone,
        "village": "Rampur",
        "district": "Patiala",
        "state": "Punjab",
        "fpo_id": fpo_id,
        "consent": CONSENT,
    }
    r = client.call("POST", "/farmers", body, token=farmer)
    assert r.status_code == 201, r.text
    farmer_id = r.json()["farmer_id"]

    # the manager's inbox: the request, in Hindi, unread
    items = eventually(
        lambda: client.call("GET", "/notifications?unread=true", token=manager).json()["items"], "the request"
    )
    (item,) = items
    assert item["kind"] == "membership_requested" and item["language"] == "hi"
    assert fpo_id in item["title"] and "जुड़ना" in item["title"] and item["refs"]["farmer_id"] == farmer_id
    mail = eventually(lambda: [m for m in sent(twin)["email"] if m["to"] == [email]], "the email")
    assert mail[0]["subject"] == item["title"]

    # someone else cannot mark it read: exactly a missing notification
    other = client.call("POST", f"/notifications/{item['notification_id']}/read", token=farmer)
    missing = client.call("POST", "/notifications/n20260101000000000000-0000000000000000/read", token=farmer)
    assert other.status_code == missing.status_code == 404
    assert other.json()["error"]["message"] == missing.json()["error"]["message"]
    read = client.call("POST", f"/notifications/{item['notification_id']}/read", token=manager)
    assert read.status_code == 200 and read.json()["read"] is True
    assert client.call("GET", "/notifications?unread=true", token=manager).json()["items"] == []

    # the approval: the farmer (profile language hi, the default) is texted on the profile's phone
    r = client.call("POST", f"/fpos/{fpo_id}/members/{farmer_id}/approve", token=manager)
    assert r.status_code == 200, r.text
    texts = eventually(lambda: [s for s in sent(twin)["sms"] if s["phone"] == f"+91{phone}"], "the SMS")
    assert fpo_id in texts[0]["text"] and "सदस्य" in texts[0]["text"]
    # sent by the shared sender (agri_common.sms): transactional; dev registers no DLT ids, so none
    assert texts[0]["attributes"] == {"AWS.SNS.SMS.SMSType": "Transactional"}
    mine = eventually(lambda: client.call("GET", "/notifications", token=farmer).json()["items"], "the farmer's item")
    assert mine[0]["kind"] == "membership_approved"

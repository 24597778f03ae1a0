"""The events the real domains write: what they hold, and what they never hold (personal data)."""

from __future__ import annotations

import json

import pytest

from agri_common.farm_table.records import FpoRecord
from agri_common.platform.clock import utc_iso_seconds_offset
from agri_common.platform.revocation import InMemoryRevocationStore
from agri_common.single_table import Put
from functions.farmers import handler as farmers
from functions.farmers.context import FarmContext
from tests.unit.fakes.assignments import Assignments
from tests.unit.fakes.farm import InMemoryFarmStore
from tests.unit.functions.conftest import call, claims_for

MANAGER = claims_for("fpo_manager", user="mgr", fpo="FPO-1")
PERSONAL = {
    "name": "Ravi Kumar Sharma",
    "phone": "+91 98765 43210",
    "village": "Rampurkalan",
    "district": "Patialadist",
    "state": "Punjabstate",
}
AADHAAR = "234123412346"
CONSENT = {"given": True, "version": "v1", "at": "2025-06-01T10:00:00+05:30"}


@pytest.fixture
def farm(monkeypatch):
    store = InMemoryFarmStore()
    fpo = FpoRecord(fpo_id="FPO-1", name="One", state="Punjab", created_by="a", created_at=utc_iso_seconds_offset())
    store.transact([Put(fpo.to_item())])
    monkeypatch.setattr(farmers, "_revocation", InMemoryRevocationStore)
    farmers.app.dependency_overrides[farmers.get_context] = lambda: FarmContext(store=store, aadhaar_key=lambda: b"k")
    farmers.app.dependency_overrides[farmers.get_assignments] = Assignments().loader
    yield store
    farmers.app.dependency_overrides.clear()


def _all_text(events) -> str:
    return json.dumps([e.to_item() for e in events], ensure_ascii=False)


def test_register_patch_and_refusal_each_write_one_event_without_personal_values(farm, activity_log):
    body = {**PERSONAL, "aadhaar": AADHAAR, "fpo_id": "FPO-1", "consent": CONSENT}
    created = call(farmers, "POST", "/farmers", body, claims=MANAGER)
    assert created.status == 201, created.body
    farmer_id = created.body["farmer_id"]
    patch = {"version": 1, "name": "Ravi K. Sharma", "phone": "+91 91234 56789", "village": "Navapind"}
    patched = call(farmers, "PATCH", f"/farmers/{farmer_id}", patch, claims=MANAGER)
    assert patched.status == 200, patched.body
    stale = call(farmers, "PATCH", f"/farmers/{farmer_id}", {**patch, "name": "Other Name"}, claims=MANAGER)
    assert stale.status == 409

    register, update, refused = activity_log.all()
    assert (register.action, register.target_kind, register.target_id) == ("farmer.register", "farmer", farmer_id)
    assert register.fpo_id == "FPO-1" and register.actor_id == "mgr" and register.actor_role == "fpo_manager"
    assert register.outcome == "ok" and register.status == 201
    assert set(register.diff["fields"]) >= {"name", "phone", "village", "aadhaar", "fpo_id", "consent"}
    assert update.action == "farmer.update" and update.target_id == farmer_id
    assert update.diff == {"fields": ["name", "phone", "version", "village"], "values": {"version": 1}}
    assert refused.outcome == stale.body["error"]["code"] and refused.status == 409
    assert refused.diff is None  # a refusal changed nothing

    text = _all_text(activity_log.all()) + json.dumps(
        [i.to_item() for i in activity_log.intent_items.values()], ensure_ascii=False
    )
    for value in [*PERSONAL.values(), AADHAAR, patch["name"], patch["phone"], patch["village"], "Other Name"]:
        assert value not in text
    assert "98765" not in text and "2341" not in text


def test_diff_keeps_values_only_of_non_personal_scalars():
    from agri_common.platform.activity import diff_of

    diff = diff_of(
        {
            "status": "approved",
            "name": "Asha",
            "reason": "my husband's field flooded",
            "year": 2025,
            "role": {"nested": "x"},
            "crop": "x" * 200,
        }
    )
    assert diff == {
        "fields": ["crop", "name", "reason", "role", "status", "year"],
        "values": {"status": "approved", "year": 2025},
    }

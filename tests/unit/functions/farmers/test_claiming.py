"""Claiming a profile an FPO manager registered (decision 0015), through the farmers Lambda entry
point on the in-memory store: who may issue a code, what is stored, the claim and what the farmer
then sees and edits, and every refusal (wrong, used, expired, locked, rate-limited, already claimed)."""

from __future__ import annotations

import json

import pytest

from agri_common.farm_table import keys
from functions.farmers import handler as farmers
from functions.farmers.claiming import MAX_ACCOUNT_FAILURES, MAX_CODE_FAILURES
from functions.farmers.membership import code_hash
from tests.unit.functions.conftest import claims_for
from tests.unit.functions.farmers.world import MANAGER, WHEAT, World, feature

FARMER = claims_for("farmer", user="acct-1", username="asha", fpo=None)
OTHER_FARMER = claims_for("farmer", user="acct-2", username="bina", fpo=None)
OTHER_MANAGER = claims_for("fpo_manager", user="mgr2", fpo="FPO-2")
AUDITOR = claims_for("auditor", user="aud", fpo=None)
ADMIN = claims_for("admin", user="adm", fpo=None)


class Texts:
    def __init__(self) -> None:
        self.sent: list[tuple[str, str]] = []
        self.templates: list[str] = []

    def send(self, phone: str, message: str, *, template: str) -> None:
        self.templates.append(template)
        self.sent.append((phone, message))


@pytest.fixture
def texts():
    return Texts()


@pytest.fixture
def w(monkeypatch, texts):
    world = World(monkeypatch)
    farmers.app.dependency_overrides[farmers.get_sms] = lambda: texts
    yield world
    world.uninstall()


def issue(w, fid, body=None, claims=None):
    path = f"/farmers/{fid}/claim-code"
    return w.request("POST", path, body, "/farmers/{farmer_id}/claim-code", {"farmer_id": fid}, claims=claims or ADMIN)


def claim(w, fid, code, claims=FARMER):
    path = f"/farmers/{fid}/claim"
    return w.request("POST", path, {"code": code}, "/farmers/{farmer_id}/claim", {"farmer_id": fid}, claims=claims)


def as_farmer(w, method, path, resource, params, body=None, claims=FARMER):
    return w.request(method, path, body, resource, params, claims=claims)


def profile_with_data(w) -> tuple[str, str]:
    fid = w.register()["farmer_id"]
    pid = w.add_plot(fid, feature()).body["plot_id"]
    assert w.add_plot(fid, feature(lon=75.852)).status == 201
    assert w.add_season(pid, WHEAT).status == 201
    return fid, pid


def without_request_id(body):
    return {**body["error"], "request_id": None}


def test_the_manager_issues_a_code_the_farmer_claims_and_then_sees_and_edits_their_data(w):
    fid, pid = profile_with_data(w)
    r = issue(w, fid, claims=MANAGER)  # the FPO's manager
    assert r.status == 201, r.body
    code = r.body["code"]
    stored = json.dumps(w.store.items[keys.claim_code(fid)])
    assert code not in stored and code_hash(code) in stored  # only the hash
    # before the claim, the account sees nothing of the profile
    before = as_farmer(w, "GET", f"/farmers/{fid}", "/farmers/{farmer_id}", {"farmer_id": fid})
    assert before.status == 404
    r = claim(w, fid, code)
    assert r.status == 200, r.body
    assert r.body["owner_user_id"] == "acct-1" and r.body["fpo_id"] == "FPO-1" and r.body["membership"] == "approved"
    # every record of the profile now names the owner
    records = [i for i in w.store.items.values() if i.get("kind") in ("farmer", "plot", "season", "evidence")]
    assert {i["kind"] for i in records} == {"farmer", "plot", "season"}
    assert all(i.get("owner_user_id") == "acct-1" for i in records), records
    overlaps = [o for i in records if i["kind"] == "plot" for o in i.get("overlaps", {}).values()]
    assert all(o.get("owner_user_id") == "acct-1" for o in overlaps)
    geo = [i for k, i in w.store.items.items() if k[0].startswith("GEO#") and k[1] != "LOCK"]
    assert geo and all(i["owner_user_id"] == "acct-1" for i in geo)
    # reads and edits with the farmer's own token, as for a self-registered farmer
    got = as_farmer(w, "GET", f"/farmers/{fid}", "/farmers/{farmer_id}", {"farmer_id": fid})
    assert got.status == 200 and got.body["owner_user_id"] == "acct-1"
    patch = {"version": got.body["version"], "village": "Sonepur"}
    r = as_farmer(w, "PATCH", f"/farmers/{fid}", "/farmers/{farmer_id}", {"farmer_id": fid}, patch)
    assert r.status == 200 and r.body["village"] == "Sonepur", r.body
    listed = as_farmer(w, "GET", "/farmers", "/farmers", None)
    assert [f["farmer_id"] for f in listed.body["items"]] == [fid]
    plots = as_farmer(w, "GET", f"/farmers/{fid}/plots", "/farmers/{farmer_id}/plots", {"farmer_id": fid})
    assert plots.status == 200 and len(plots.body["items"]) == 2
    plot = as_farmer(w, "GET", f"/plots/{pid}", "/plots/{plot_id}", {"plot_id": pid})
    assert plot.status == 200 and [s["season_key"] for s in plot.body["seasons"]] == ["2025-rabi"], plot.body
    other_plot = next(p["plot_id"] for p in plots.body["items"] if p["plot_id"] != pid)
    r = as_farmer(w, "POST", f"/plots/{other_plot}/seasons", "/plots/{plot_id}/seasons", {"plot_id": other_plot}, WHEAT)
    assert r.status == 201, r.body
    # and another account still sees nothing
    other = as_farmer(w, "GET", f"/farmers/{fid}", "/farmers/{farmer_id}", {"farmer_id": fid}, claims=OTHER_FARMER)
    assert other.status == 404


@pytest.mark.parametrize("caller", [OTHER_MANAGER, AUDITOR, FARMER], ids=["other-fpo-manager", "auditor", "farmer"])
def test_only_the_fpos_manager_or_an_admin_issue_codes_others_see_a_missing_farmer(w, caller):
    fid = w.register()["farmer_id"]
    before = w.snapshot()
    refused = issue(w, fid, claims=caller)
    missing = issue(w, "F-nobody", claims=caller)
    assert refused.status == missing.status == 404
    assert without_request_id(refused.body) == without_request_id(missing.body)
    assert w.snapshot() == before


def test_the_code_can_be_texted_to_the_registered_phone(w, texts):
    fid = w.register()["farmer_id"]
    r = issue(w, fid, {"send_sms": True})
    assert r.status == 201, r.body
    ((phone, message),) = texts.sent
    assert phone == "+919876543210" and r.body["code"] in message and fid in message
    assert r.body["sms_sent_to"] == "+91******3210"
    assert texts.templates == ["claim_code.en"]  # its DLT template (agri_common.sms)


def test_a_stage_that_did_not_register_the_claim_text_with_dlt_sends_nothing_and_stores_no_code(w):
    """The real shared sender, configured with a DLT registration that lacks the claim code's template:
    refused before any SNS call, a 503, and no code stored (the manager retries once it is registered)."""
    from agri_common.sms import DltRegistration, SnsSms

    farmers.app.dependency_overrides[farmers.get_sms] = lambda: SnsSms(
        "AGRMRV", DltRegistration(entity_id="1101", templates={"run_approved.en": "1107"})
    )
    fid = w.register()["farmer_id"]
    before = w.snapshot()
    r = issue(w, fid, {"send_sms": True})
    assert r.status == 503 and r.body["error"]["code"] == "service_unavailable", r.body
    assert w.snapshot() == before


def test_a_wrong_code_stores_no_ownership_and_five_lock_the_code_until_a_new_one(w):
    fid = w.register()["farmer_id"]
    code = issue(w, fid).body["code"]
    for _ in range(MAX_CODE_FAILURES):
        r = claim(w, fid, "AAAA-BBBB-CCCC-DDDD")
        assert r.status == 400 and r.body["error"]["code"] == "invalid_claim_code"
    r = claim(w, fid, code)  # even the right code: locked
    assert r.status == 429 and r.body["error"]["code"] == "claim_code_locked"
    assert w.store.get(keys.owner("acct-1")) is None
    assert "owner_user_id" not in w.store.items[keys.farmer(fid)]
    fresh = issue(w, fid).body["code"]  # a new code replaces the locked one
    assert claim(w, fid, code).status == 400  # the old one is gone
    assert claim(w, fid, fresh).status == 200


def test_a_used_code_fails_for_anyone_else_and_a_retry_by_the_owner_is_harmless(w):
    fid = w.register()["farmer_id"]
    code = issue(w, fid).body["code"]
    assert claim(w, fid, code).status == 200
    r = claim(w, fid, code, claims=OTHER_FARMER)
    assert r.status == 400 and r.body["error"]["code"] == "invalid_claim_code"
    assert w.store.get(keys.owner("acct-2")) is None
    again = claim(w, fid, code)
    assert again.status == 200 and again.body["owner_user_id"] == "acct-1"
    r = issue(w, fid)
    assert r.status == 409 and r.body["error"]["code"] == "profile_claimed"


def test_an_expired_code_fails(w):
    fid = w.register()["farmer_id"]
    code = issue(w, fid, {"expires_in_hours": 1}).body["code"]
    w.store.items[keys.claim_code(fid)]["expires_at"] = "2020-01-01T00:00:00+00:00"
    r = claim(w, fid, code)
    assert r.status == 400 and r.body["error"]["code"] == "expired_claim_code"
    assert "owner_user_id" not in w.store.items[keys.farmer(fid)]


def test_an_account_with_a_profile_cannot_claim_another(w):
    first = w.register()["farmer_id"]
    second = w.register(phone="9876543211")["farmer_id"]
    assert claim(w, first, issue(w, first).body["code"]).status == 200
    r = claim(w, second, issue(w, second).body["code"])
    assert r.status == 409 and r.body["error"]["code"] == "profile_exists"
    assert "owner_user_id" not in w.store.items[keys.farmer(second)]


def test_an_account_is_rate_limited_across_profiles(w):
    fids = [w.register(phone=f"98765432{i:02d}")["farmer_id"] for i in range(3)]
    codes = {fid: issue(w, fid).body["code"] for fid in fids}
    for n in range(MAX_ACCOUNT_FAILURES):
        assert claim(w, fids[n % 3], "AAAA-BBBB-CCCC-DDDD").status in (400, 429)
    r = claim(w, fids[2], codes[fids[2]])
    assert r.status == 429 and r.body["error"]["code"] in ("claim_rate_limited", "claim_code_locked")
    r = claim(w, fids[0], codes[fids[0]], claims=OTHER_FARMER)  # another account is not limited by it
    assert r.status in (200, 429)


@pytest.mark.parametrize(
    "caller, status", [(OTHER_MANAGER, 403), (AUDITOR, 403), (ADMIN, 403)], ids=["manager", "auditor", "admin"]
)
def test_only_farmer_accounts_claim(w, caller, status):
    fid = w.register()["farmer_id"]
    code = issue(w, fid).body["code"]
    assert claim(w, fid, code, claims=caller).status == status
    assert "owner_user_id" not in w.store.items[keys.farmer(fid)]


@pytest.mark.parametrize("extra", [{"fpo_id": "FPO-2"}, {"role": "fpo_manager"}, {"owner_user_id": "acct-1"}])
def test_the_farmer_picks_no_fpo_role_or_owner(w, extra):
    fid = w.register()["farmer_id"]
    code = issue(w, fid).body["code"]
    path = f"/farmers/{fid}/claim"
    r = w.request(
        "POST", path, {"code": code, **extra}, "/farmers/{farmer_id}/claim", {"farmer_id": fid}, claims=FARMER
    )
    assert r.status == 422 and r.body["error"]["details"][0]["field"] == f"body.{next(iter(extra))}"
    assert "owner_user_id" not in w.store.items[keys.farmer(fid)]


def test_without_a_code_there_is_no_claim(w):
    fid = w.register()["farmer_id"]
    r = claim(w, fid, "AAAA-BBBB-CCCC-DDDD")
    assert r.status == 400 and r.body["error"]["code"] == "invalid_claim_code"
    r = claim(w, "F-nobody", "AAAA-BBBB-CCCC-DDDD")
    assert r.status == 400 and r.body["error"]["code"] == "invalid_claim_code"


def test_an_account_tied_to_another_fpo_cannot_claim_this_fpos_profile(w):
    fid = w.register()["farmer_id"]
    code = issue(w, fid).body["code"]
    elsewhere = claims_for("farmer", user="acct-9", username="tara", fpo="FPO-2")
    r = claim(w, fid, code, claims=elsewhere)
    assert r.status == 403 and r.body["error"]["code"] == "fpo_forbidden"
    assert "owner_user_id" not in w.store.items[keys.farmer(fid)] and w.store.get(keys.owner("acct-9")) is None
    same_fpo = claims_for("farmer", user="acct-8", username="uma", fpo="FPO-1")
    assert claim(w, fid, code, claims=same_fpo).status == 200

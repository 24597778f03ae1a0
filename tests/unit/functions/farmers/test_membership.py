"""FPO membership needs the FPO's consent (docs/decisions/0007), on the in-memory store:
requests, approval moving the totals exactly once, races, invitation codes, Aadhaar probing."""

from __future__ import annotations

import pytest

from agri_common.farm_table import aggregates as agg
from agri_common.farm_table import keys
from agri_common.farm_table.records import FarmerRecord, FpoRecord
from agri_common.platform.errors import ConflictError, ForbiddenError, NotFoundError, UnprocessableError
from agri_common.platform.principal import Principal, Role
from agri_common.single_table import Put
from functions.farmers import models as m
from functions.farmers.aadhaar import verhoeff_check_digit
from functions.farmers.context import FarmContext
from functions.farmers.logic import FarmerService, farmer_out
from functions.farmers.logic_plots import PlotService
from functions.farmers.logic_seasons import SeasonService
from functions.farmers.membership import IssueInvitationRequest, JoinRequest, MembershipService, code_hash
from functions.pipeline.sources import FarmSeasonSource
from tests.unit.fakes.farm import InMemoryFarmStore

CONSENT = {"given": True, "version": "v1", "at": "2025-06-01T10:00:00+05:30"}
ADMIN = Principal(user_id="adm", username="adm", role=Role.ADMIN)
MGR1 = Principal(user_id="mgr1", username="mgr1", role=Role.FPO_MANAGER, fpo_id="FPO-1")
MGR2 = Principal(user_id="mgr2", username="mgr2", role=Role.FPO_MANAGER, fpo_id="FPO-2")
AUDITOR = Principal(user_id="aud", username="aud", role=Role.AUDITOR)


def farmer_account(n: int) -> Principal:
    return Principal(user_id=f"user-{n}", username=f"farmer{n}", role=Role.FARMER)  # public sign-up: no FPO


def aadhaar_number(seed: int) -> str:
    digits = f"2{seed:010d}"
    return digits + verhoeff_check_digit(digits)


class RacingStore(InMemoryFarmStore):
    """Runs ``before`` once, just before the next transaction (another request winning a race)."""

    before = None

    def transact(self, ops):
        hook, self.before = self.before, None
        if hook:
            hook()
        return super().transact(ops)


@pytest.fixture
def ctx():
    store = RacingStore()
    for fpo_id in ("FPO-1", "FPO-2"):
        store.transact(
            [
                Put(
                    FpoRecord(
                        fpo_id=fpo_id,
                        name=fpo_id,
                        state="Punjab",
                        created_by="adm",
                        created_at="2025-01-01T00:00:00+00:00",
                    ).to_item()
                )
            ]
        )
    return FarmContext(store=store, aadhaar_key=lambda: b"test-key")


def body(fpo_id="FPO-1", **extra):
    return m.RegisterFarmerRequest.model_validate(
        {
            "name": "Ravi",
            "phone": "9876543210",
            "village": "Rampur",
            "district": "Patiala",
            "state": "Punjab",
            "fpo_id": fpo_id,
            "consent": CONSENT,
            **extra,
        }
    )


def square(lon, lat, size=0.001):
    return m.PlotFeature.model_validate(
        {
            "type": "Feature",
            "geometry": {
                "type": "Polygon",
                "coordinates": [
                    [[lon, lat], [lon + size, lat], [lon + size, lat + size], [lon, lat + size], [lon, lat]]
                ],
            },
        }
    )


RICE = {
    "year": 2025,
    "season": "kharif",
    "crop": "rice",
    "sowing_date": "2025-06-20",
    "harvest_date": "2025-10-20",
    "cultivation_days": 110,
    "water_regime": "single_drainage",
    "preseason_water": "non_flooded_lt_180",
    "synthetic_n_kg_per_ha": 100,
    "yield_t_per_ha": 5,
}
WHEAT = {
    **RICE,
    "season": "rabi",
    "crop": "wheat",
    "water_regime": None,
    "preseason_water": None,
    "cultivation_days": None,
    "sowing_date": "2025-11-10",
    "harvest_date": "2026-04-10",
    "yield_t_per_ha": 4,
}


def season(key="2025-kharif"):
    return m.SeasonData.model_validate(RICE if key.endswith("kharif") else WHEAT)


def fpo_items(ctx, fpo_id):
    """Every aggregate item of the FPO, by sort key, as the dashboards read them."""
    items, _ = ctx.store.query(keys.fpo(fpo_id)[0], prefix=keys.AGG)
    return {i["sk"]: agg.read_totals(i) for i in items}


def with_data(ctx, caller, farmer_id, lon):
    plot = PlotService(ctx).create(caller, farmer_id, square(lon, 30.0))
    SeasonService(ctx).create(caller, plot.plot_id, season())
    return plot


def test_a_self_registered_profile_is_a_request_that_counts_nowhere(ctx):
    me = farmer_account(1)
    record = FarmerService(ctx).register(me, body())
    assert record.membership == "pending" and farmer_out(record, me).membership == "pending"
    with_data(ctx, me, record.farmer_id, 75.0)  # a pending farmer still adds their plots and seasons
    patched = FarmerService(ctx).patch(me, record.farmer_id, m.PatchFarmerRequest(version=1, village="Nabha"))
    assert patched.village == "Nabha" and FarmerService(ctx).get(me, record.farmer_id).plot_count == 1
    assert fpo_items(ctx, "FPO-1") == {}  # no member, plot, season, village or season total moved
    assert list(FarmSeasonSource(ctx.store).plan_units(["FPO-1"])) == []  # invisible to the MRV run
    assert [f.farmer_id for f in FarmerService(ctx).list(MGR1, None, None, 25, None, "pending").items] == [
        record.farmer_id
    ]
    assert FarmerService(ctx).list(MGR1, None, None, 25, None, "approved").items == []


def test_approval_counts_the_farmer_and_their_data_exactly_as_a_member_from_the_start(ctx):
    me = farmer_account(1)
    pending = FarmerService(ctx).register(me, body())
    with_data(ctx, me, pending.farmer_id, 75.0)
    member = FarmerService(ctx).register(MGR2, body("FPO-2"))  # the same data, a member from the start
    assert member.membership == "approved"
    with_data(ctx, MGR2, member.farmer_id, 76.0)

    approved = MembershipService(ctx).approve(MGR1, "FPO-1", pending.farmer_id)
    assert (approved.membership, approved.membership_decided_by) == ("approved", "fpo_manager:mgr1")
    assert fpo_items(ctx, "FPO-1") == fpo_items(ctx, "FPO-2") != {}
    assert fpo_items(ctx, "FPO-1")["AGG"]["members"] == 1
    assert list(FarmSeasonSource(ctx.store).plan_units(["FPO-1"])) == [pending.farmer_id]
    # from now on the member's writes count by themselves
    SeasonService(ctx).create(me, with_data(ctx, me, pending.farmer_id, 77.0).plot_id, season("2025-rabi"))
    SeasonService(ctx).create(MGR2, with_data(ctx, MGR2, member.farmer_id, 78.0).plot_id, season("2025-rabi"))
    assert fpo_items(ctx, "FPO-1") == fpo_items(ctx, "FPO-2")
    with pytest.raises(ConflictError) as err:  # decided once
        MembershipService(ctx).reject(MGR1, "FPO-1", pending.farmer_id)
    assert err.value.code == "membership_decided"


class Objects:
    def presigned_post(self, key, content_type, max_bytes, expires_in):
        return {"url": "https://uploads.example/", "fields": {"key": key}}

    def head(self, key):
        return {"content_length": 100, "content_type": "application/pdf"}


def every_kind_of_write(ctx, caller, farmer_id, lon):
    """Plot, replaced plot, season, edited season, stored evidence, village move: each moves totals."""
    from functions.farmers.logic_uploads import UploadService

    plot = with_data(ctx, caller, farmer_id, lon)
    PlotService(ctx).replace(caller, plot.plot_id, square(lon, 30.0, 0.002), 1)
    SeasonService(ctx).update(
        caller, plot.plot_id, m.SeasonData.model_validate({**RICE, "synthetic_n_kg_per_ha": 60, "urea_kg_per_ha": 0}), 1
    )
    uploads = UploadService(ctx, Objects())
    issued = uploads.issue(
        caller, m.UploadRequest(plot_id=plot.plot_id, content_type="application/pdf", size_bytes=100)
    )
    uploads.complete(caller, issued.upload_id)
    version = FarmerService(ctx).load(farmer_id).version
    FarmerService(ctx).patch(caller, farmer_id, m.PatchFarmerRequest(version=version, village="Nabha"))


def test_no_write_of_a_request_moves_the_totals_and_approval_adds_them_all(ctx):
    me = farmer_account(1)
    pending = FarmerService(ctx).register(me, body()).farmer_id
    every_kind_of_write(ctx, me, pending, 75.0)
    assert fpo_items(ctx, "FPO-1") == {}
    member = FarmerService(ctx).register(MGR2, body("FPO-2")).farmer_id
    every_kind_of_write(ctx, MGR2, member, 76.0)
    MembershipService(ctx).approve(MGR1, "FPO-1", pending)
    nonzero = lambda items: {k: v for k, v in _rounded(items).items() if any(v.values())}
    assert nonzero(fpo_items(ctx, "FPO-1")) == nonzero(fpo_items(ctx, "FPO-2"))
    assert fpo_items(ctx, "FPO-1")["AGG"]["evidence_files"] == 1


def test_a_write_racing_the_approval_is_counted_once(ctx):
    me = farmer_account(1)
    farmer_id = FarmerService(ctx).register(me, body()).farmer_id
    # the farmer's plot lands between the approval's reads and its transaction: the approval retries
    ctx.store.before = lambda: with_data(ctx, me, farmer_id, 75.0)
    MembershipService(ctx).approve(MGR1, "FPO-1", farmer_id)
    totals = fpo_items(ctx, "FPO-1")["AGG"]
    assert (totals["members"], totals["plots"], totals["seasons"]) == (1, 1, 1)

    # and a write built on the stale "pending" view, committed after the approval, is rebuilt and counted
    other = farmer_account(2)
    second = FarmerService(ctx).register(other, body(phone="9876543211")).farmer_id
    svc = PlotService(ctx)
    reads = []
    real_get = svc.farmers.get

    def get(caller, fid):
        reads.append(fid)
        return real_get(caller, fid)

    svc.farmers.get = get
    ctx.store.before = lambda: MembershipService(ctx).approve(MGR1, "FPO-1", second)  # lands after the plot's reads
    svc.create(other, second, square(76.0, 30.0))
    totals = fpo_items(ctx, "FPO-1")["AGG"]
    assert (totals["members"], totals["plots"]) == (2, 2) and len(reads) == 2  # rebuilt once, then counted


def test_only_the_fpos_manager_or_an_admin_decides_and_others_learn_nothing(ctx):
    me = farmer_account(1)
    farmer_id = FarmerService(ctx).register(me, body()).farmer_id
    errors = []
    for caller, fpo_id, fid in (
        (MGR2, "FPO-1", farmer_id),
        (MGR2, "FPO-2", farmer_id),
        (MGR1, "FPO-1", "F-missing"),
        (MGR1, "FPO-2", farmer_id),
        (ADMIN, "FPO-2", farmer_id),
    ):
        with pytest.raises(NotFoundError) as err:
            MembershipService(ctx).approve(caller, fpo_id, fid)
        errors.append((err.value.status, err.value.code, str(err.value)))
    assert len(set(errors)) == 1  # another FPO's manager: exactly the answer of a missing record
    for caller in (me, AUDITOR):  # a farmer never approves (themselves or anyone)
        with pytest.raises(ForbiddenError):
            MembershipService(ctx).approve(caller, "FPO-1", farmer_id)
    assert FarmerService(ctx).load(farmer_id).membership == "pending"
    assert MembershipService(ctx).reject(ADMIN, "FPO-1", farmer_id).membership == "rejected"
    assert [f.farmer_id for f in FarmerService(ctx).list(MGR1, None, None, 25, None, "rejected").items] == [farmer_id]
    assert fpo_items(ctx, "FPO-1") == {}


def test_invitation_codes_are_single_use_hashed_scoped_and_expire(ctx):
    invite = MembershipService(ctx).issue_invitation(MGR1, "FPO-1", IssueInvitationRequest())
    stored = ctx.store.get(keys.invitation(code_hash(invite.code)))
    assert stored["fpo_id"] == "FPO-1" and invite.code not in str(ctx.store.items)  # only the hash is kept
    with pytest.raises(NotFoundError):  # another FPO's manager: as for an FPO that does not exist
        MembershipService(ctx).issue_invitation(MGR2, "FPO-1", IssueInvitationRequest())
    with pytest.raises(ForbiddenError):
        MembershipService(ctx).issue_invitation(farmer_account(9), "FPO-1", IssueInvitationRequest())

    with pytest.raises(UnprocessableError) as err:  # FPO-1's code does not open FPO-2
        FarmerService(ctx).register(farmer_account(1), body("FPO-2", invitation_code=invite.code))
    assert err.value.details[0]["type"] == "invalid_invitation"
    joined = FarmerService(ctx).register(farmer_account(1), body(invitation_code=invite.code.lower()))
    assert joined.membership == "approved" and fpo_items(ctx, "FPO-1")["AGG"]["members"] == 1
    with pytest.raises(UnprocessableError) as err:  # single use: the same code again, another account
        FarmerService(ctx).register(farmer_account(2), body(invitation_code=invite.code))
    assert err.value.details[0]["type"] == "invalid_invitation"
    assert ctx.store.get(keys.owner("user-2")) is None  # a refusal stores nothing

    ctx.clock = lambda: "2025-01-01T00:00:00+00:00"
    old = MembershipService(ctx).issue_invitation(MGR1, "FPO-1", IssueInvitationRequest(expires_in_hours=1))
    ctx.clock = lambda: "2025-01-01T01:00:01+00:00"
    with pytest.raises(UnprocessableError):
        FarmerService(ctx).register(farmer_account(3), body(invitation_code=old.code))
    with pytest.raises(UnprocessableError) as err:  # managers register members directly
        FarmerService(ctx).register(MGR1, body(invitation_code=old.code))
    assert err.value.details[0]["type"] == "invitation_not_needed"


def test_a_pending_profile_joins_with_a_code(ctx):
    me = farmer_account(1)
    farmer_id = FarmerService(ctx).register(me, body()).farmer_id
    with_data(ctx, me, farmer_id, 75.0)
    code = MembershipService(ctx).issue_invitation(MGR1, "FPO-1", IssueInvitationRequest()).code
    with pytest.raises(NotFoundError):  # only the profile's own account redeems for it
        MembershipService(ctx).join(farmer_account(2), farmer_id, JoinRequest(invitation_code=code))
    assert MembershipService(ctx).join(me, farmer_id, JoinRequest(invitation_code=code)).membership == "approved"
    assert fpo_items(ctx, "FPO-1")["AGG"]["plots"] == 1
    with pytest.raises(ConflictError):
        MembershipService(ctx).join(me, farmer_id, JoinRequest(invitation_code=code))


def _visible(out: m.FarmerOut) -> dict:
    return out.model_dump(exclude={"farmer_id", "owner_user_id", "created_at", "membership_decided_at"})


def test_a_probing_account_cannot_tell_a_registered_aadhaar_number_from_a_fresh_one(ctx):
    taken, fresh = aadhaar_number(1), aadhaar_number(2)
    holder = FarmerService(ctx).register(MGR2, body("FPO-2", aadhaar=taken, phone="9876500000"))
    assert holder.membership == "approved"
    answers = []
    for n, number in ((1, taken), (2, fresh), (3, taken[:4] + " " + taken[4:])):
        prober = farmer_account(n)
        record = FarmerService(ctx).register(prober, body(aadhaar=number))
        answers.append(
            (
                record,
                _visible(farmer_out(record, prober)),
                _visible(farmer_out(FarmerService(ctx).get(prober, record.farmer_id), prober)),
            )
        )
    # the same answer (status, body) on registration and on reading the profile back
    assert answers[0][1] == {**answers[1][1], "aadhaar_last4": taken[-4:]} and answers[0][2] == answers[0][1]
    assert answers[1][2] == answers[1][1] and answers[0][1]["aadhaar_duplicate"] is None  # not shown to the farmer
    # the clash is flagged for the FPO's manager, never linked, never a member until resolved
    assert farmer_out(answers[0][0], MGR1).aadhaar_duplicate is True
    assert farmer_out(answers[1][0], MGR1).aadhaar_duplicate is False
    assert ctx.store.get(keys.aadhaar(answers[0][0].aadhaar_hmac))["farmer_id"] == holder.farmer_id
    with pytest.raises(ConflictError) as err:
        MembershipService(ctx).approve(MGR1, "FPO-1", answers[0][0].farmer_id)
    assert err.value.code == "aadhaar_duplicate"
    # a manager's registration of a clashing number is not a member either (no double counting)
    assert FarmerService(ctx).register(MGR1, body(aadhaar=taken, phone="9876511111")).membership == "pending"


def test_a_squatted_aadhaar_number_is_released_by_rejecting_the_squatter(ctx):
    number = aadhaar_number(5)
    squatter = FarmerService(ctx).register(farmer_account(1), body(aadhaar=number))  # pending, holds the link
    real = FarmerService(ctx).register(MGR1, body(aadhaar=number, phone="9876512345"))
    assert (real.membership, real.aadhaar_duplicate) == ("pending", True)
    MembershipService(ctx).reject(MGR1, "FPO-1", squatter.farmer_id)
    approved = MembershipService(ctx).approve(MGR1, "FPO-1", real.farmer_id)
    assert (approved.membership, approved.aadhaar_duplicate) == ("approved", False)
    assert ctx.store.get(keys.aadhaar(real.aadhaar_hmac))["farmer_id"] == real.farmer_id
    assert FarmerRecord.from_item(ctx.store.get(keys.farmer(real.farmer_id))).aadhaar_duplicate is False


def test_the_list_shows_members_then_requests_then_rejected_across_pages(ctx):
    ids = {}
    for n in range(5):
        ids[n] = FarmerService(ctx).register(farmer_account(n), body(phone=f"98765432{n}0")).farmer_id
    MembershipService(ctx).approve(MGR1, "FPO-1", ids[0])
    MembershipService(ctx).approve(MGR1, "FPO-1", ids[1])
    MembershipService(ctx).reject(MGR1, "FPO-1", ids[2])
    seen, token = [], None
    while True:
        page = FarmerService(ctx).list(MGR1, None, None, 2, token)
        seen += [(f.farmer_id, f.membership) for f in page.items]
        token = page.next_token
        if not token:
            break
    assert [s for _, s in seen] == ["approved", "approved", "pending", "pending", "rejected"]
    assert {f for f, _ in seen} == set(ids.values())


# ---- over the Lambda entry point: routes, envelope, statuses ------------------------------------
@pytest.fixture
def api(monkeypatch, ctx):
    from agri_common.platform.revocation import InMemoryRevocationStore
    from functions.farmers import handler as farmers
    from tests.unit.fakes.assignments import Assignments

    revocations = InMemoryRevocationStore()
    monkeypatch.setattr(farmers, "_revocation", lambda: revocations)
    farmers.app.dependency_overrides[farmers.get_context] = lambda: ctx
    farmers.app.dependency_overrides[farmers.get_assignments] = Assignments().loader
    yield farmers
    farmers.app.dependency_overrides.clear()


def test_membership_routes_over_the_handler(api, ctx):
    from tests.unit.functions.conftest import call, claims_for

    me, mgr1, mgr2 = (
        claims_for("farmer", user="f1", fpo=None),
        claims_for("fpo_manager", user="m1", fpo="FPO-1"),
        claims_for("fpo_manager", user="m2", fpo="FPO-2"),
    )
    r = call(api, "POST", "/farmers", {**body().model_dump(mode="json", exclude_none=True)}, claims=me)
    assert r.status == 201 and r.body["membership"] == "pending" and r.body["aadhaar_duplicate"] is None
    fid = r.body["farmer_id"]
    listed = call(api, "GET", "/farmers", claims=mgr1, query="status=pending")
    assert [f["farmer_id"] for f in listed.body["items"]] == [fid] and listed.body["items"][0][
        "aadhaar_duplicate"
    ] is False
    assert call(api, "GET", "/farmers", claims=mgr1, query="status=nonsense").status == 422

    def decide(claims, fpo_id, farmer_id, verb="approve"):
        return call(
            api,
            "POST",
            f"/fpos/{fpo_id}/members/{farmer_id}/{verb}",
            claims=claims,
            resource=f"/fpos/{{fpo_id}}/members/{{farmer_id}}/{verb}",
            params={"fpo_id": fpo_id, "farmer_id": farmer_id},
        )

    other, missing = decide(mgr2, "FPO-1", fid), decide(mgr1, "FPO-1", "F-nobody")
    assert other.status == missing.status == 404
    assert {k: v for k, v in other.body["error"].items() if k != "request_id"} == {
        k: v for k, v in missing.body["error"].items() if k != "request_id"
    }
    assert decide(me, "FPO-1", fid).status == 403  # never themselves
    ok = decide(mgr1, "FPO-1", fid)
    assert ok.status == 200 and ok.body["membership"] == "approved"
    again = decide(mgr1, "FPO-1", fid, "reject")
    assert again.status == 409 and again.body["error"]["code"] == "membership_decided"

    inv = call(
        api,
        "POST",
        "/fpos/FPO-1/invitations",
        claims=mgr1,
        resource="/fpos/{fpo_id}/invitations",
        params={"fpo_id": "FPO-1"},
    )
    assert inv.status == 201 and set(inv.body) == {"code", "fpo_id", "expires_at"}
    assert (
        call(
            api,
            "POST",
            "/fpos/FPO-1/invitations",
            {"expires_in_hours": 0},
            claims=mgr1,
            resource="/fpos/{fpo_id}/invitations",
            params={"fpo_id": "FPO-1"},
        ).status
        == 422
    )
    assert (
        call(
            api,
            "POST",
            "/fpos/FPO-1/invitations",
            {},
            claims=mgr2,
            resource="/fpos/{fpo_id}/invitations",
            params={"fpo_id": "FPO-1"},
        ).status
        == 404
    )
    two = claims_for("farmer", user="f2", fpo=None)
    joined = call(
        api,
        "POST",
        "/farmers",
        {**body(phone="9876543219").model_dump(mode="json", exclude_none=True), "invitation_code": inv.body["code"]},
        claims=two,
    )
    assert joined.status == 201 and joined.body["membership"] == "approved"
    reuse = call(
        api,
        "POST",
        "/farmers",
        {**body(phone="9876543218").model_dump(mode="json", exclude_none=True), "invitation_code": inv.body["code"]},
        claims=claims_for("farmer", user="f3", fpo=None),
    )
    assert reuse.status == 422 and reuse.body["error"]["details"][0]["type"] == "invalid_invitation"


def _rounded(items: dict) -> dict:
    def r(v):
        return {k: r(x) for k, x in v.items()} if isinstance(v, dict) else round(v, 6) if isinstance(v, float) else v

    return r(items)


def test_the_migration_turns_old_self_registrations_into_requests_and_takes_them_out_of_the_totals(ctx):
    from functions.farmers.migrate_membership import migrate_fpo

    def legacy(farmer_id, created_by):  # a profile as stored before membership existed
        item = ctx.store.items[keys.farmer(farmer_id)]
        item.pop("membership"), item.pop("membership_decided_by"), item.pop("membership_decided_at")
        item["created_by"] = created_by

    by_manager = FarmerService(ctx).register(MGR1, body()).farmer_id
    with_data(ctx, MGR1, by_manager, 75.0)
    legacy(by_manager, "fpo_manager:mgr1")
    before = _rounded(fpo_items(ctx, "FPO-1"))
    self_registered = FarmerService(ctx).register(MGR1, body(phone="9876500001")).farmer_id  # counted, as before
    with_data(ctx, MGR1, self_registered, 76.0)
    legacy(self_registered, "farmer:user-7")
    assert fpo_items(ctx, "FPO-1")["AGG"]["members"] == 2
    assert list(FarmSeasonSource(ctx.store).plan_units(["FPO-1"])) == sorted([by_manager, self_registered])

    assert migrate_fpo(ctx, "FPO-1") == {"approved": 1, "pending": 1}
    assert _rounded(fpo_items(ctx, "FPO-1")) == before
    assert FarmerService(ctx).load(self_registered).membership == "pending"
    assert FarmerService(ctx).load(by_manager).membership == "approved"
    assert list(FarmSeasonSource(ctx.store).plan_units(["FPO-1"])) == [by_manager]
    assert migrate_fpo(ctx, "FPO-1") == {"approved": 0, "pending": 0}  # idempotent
    MembershipService(ctx).approve(MGR1, "FPO-1", self_registered)  # and the request is decided as any other
    assert fpo_items(ctx, "FPO-1")["AGG"]["members"] == 2


def test_evidence_completed_while_the_farmer_is_approved_is_stored_and_counted(ctx):
    from functions.farmers.logic_uploads import UploadService

    me = farmer_account(1)
    farmer_id = FarmerService(ctx).register(me, body()).farmer_id
    plot = PlotService(ctx).create(me, farmer_id, square(75.0, 30.0))
    uploads = UploadService(ctx, Objects())
    issued = uploads.issue(me, m.UploadRequest(plot_id=plot.plot_id, content_type="application/pdf", size_bytes=100))
    ctx.store.before = lambda: MembershipService(ctx).approve(MGR1, "FPO-1", farmer_id)  # after complete's reads
    assert uploads.complete(me, issued.upload_id).status == "stored"
    totals = fpo_items(ctx, "FPO-1")["AGG"]
    assert (totals["members"], totals["plots"], totals["evidence_files"]) == (1, 1, 1)


class LaggingIndexStore(RacingStore):
    """DynamoDB's index is eventually consistent: a farmer's plot written a moment ago may be
    missing from the farmer's plot index (moto and the in-memory store are always consistent)."""

    hide: set[str] = set()

    def query(self, pk, **kwargs):
        items, last = super().query(pk, **kwargs)
        if kwargs.get("index") and pk.startswith("FARMER#") and pk.endswith("#PLOTS"):
            items = [i for i in items if i.get("plot_id") not in self.hide]
        return items, last


def test_an_approval_that_reads_a_lagging_plot_index_is_a_409_to_retry_and_moves_nothing():
    store = LaggingIndexStore()
    store.transact(
        [
            Put(
                FpoRecord(
                    fpo_id="FPO-1",
                    name="FPO-1",
                    state="Punjab",
                    created_by="adm",
                    created_at="2025-01-01T00:00:00+00:00",
                ).to_item()
            )
        ]
    )
    ctx = FarmContext(store=store, aadhaar_key=lambda: b"test-key")
    me = farmer_account(1)
    pending = FarmerService(ctx).register(me, body())
    with_data(ctx, me, pending.farmer_id, 75.0)
    newest = with_data(ctx, me, pending.farmer_id, 75.01)
    store.hide = {newest.plot_id}  # written, not yet in the index
    with pytest.raises(ConflictError) as err:
        MembershipService(ctx).approve(MGR1, "FPO-1", pending.farmer_id)
    assert err.value.code == "index_lagging"
    assert fpo_items(ctx, "FPO-1") == {} and FarmerService(ctx).get(me, pending.farmer_id).membership == "pending"
    store.hide = set()  # the index caught up: the retry counts both plots
    assert MembershipService(ctx).approve(MGR1, "FPO-1", pending.farmer_id).membership == "approved"
    totals = fpo_items(ctx, "FPO-1")[keys.AGG]
    assert (totals["members"], totals["plots"]) == (1, 2), totals


def test_an_edit_racing_a_decision_gets_a_409_naming_the_newer_version(ctx):
    """A decision moves the profile's version, so an edit based on the version before it is told
    the truth (the current version is newer) and re-reads, instead of a 409 naming its own version."""
    from functions.farmers.context import VersionConflict

    me = farmer_account(1)
    pending = FarmerService(ctx).register(me, body())
    ctx.store.before = lambda: MembershipService(ctx).approve(MGR1, "FPO-1", pending.farmer_id)
    with pytest.raises(VersionConflict) as err:
        FarmerService(ctx).patch(me, pending.farmer_id, m.PatchFarmerRequest(version=1, village="Nabha"))
    assert err.value.current["version"] == 2 and err.value.current["membership"] == "approved"
    again = FarmerService(ctx).patch(me, pending.farmer_id, m.PatchFarmerRequest(version=2, village="Nabha"))
    assert (again.version, again.village, again.membership) == (3, "Nabha", "approved")

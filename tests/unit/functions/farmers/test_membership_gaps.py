"""The gaps left by FPO membership (docs/decisions/0007), on the in-memory store:
auditors see approved members only; a non-member's plot never blocks a member's plot and its
farmer's approval waits while it overlaps; rejected and removed farmers may ask again; a member
can be removed, their totals leaving in the same transaction."""

from __future__ import annotations

import pytest

from agri_common.farm_table import keys
from agri_common.platform.errors import ConflictError, ForbiddenError, NotFoundError
from agri_common.platform.principal import AuditScope, Principal, Role
from functions.farmers import models as m
from functions.farmers.logic import FarmerService
from functions.farmers.logic_plots import OverlapRefused, PlotService
from functions.farmers.logic_seasons import SeasonService
from functions.farmers.membership import IssueInvitationRequest, JoinRequest, MembershipService
from functions.pipeline.sources import FarmSeasonSource
from tests.unit.functions.conftest import call
from tests.unit.functions.farmers import test_auditor_access as access
from tests.unit.functions.farmers.test_auditor_access import world  # noqa: F401 (fixture)
from tests.unit.functions.farmers.test_membership import (  # noqa: F401 (ctx: fixture)
    ADMIN,
    MGR1,
    MGR2,
    _rounded,
    aadhaar_number,
    body,
    ctx,
    every_kind_of_write,
    farmer_account,
    fpo_items,
    season,
    square,
    with_data,
)

AUDITOR = Principal(
    user_id="aud",
    username="aud",
    role=Role.AUDITOR,
    audit=AuditScope(project_ids=frozenset({"prj"}), fpo_ids=frozenset({"FPO-1"})),
)


def refusal(fn, *args):
    with pytest.raises(NotFoundError) as err:
        fn(*args)
    return err.value.status, err.value.code, str(err.value)


# ---- 1. auditors see approved members only --------------------------------------------------------
def test_an_auditor_sees_a_non_member_exactly_like_a_missing_record(ctx):
    farmers, plots, decide = FarmerService(ctx), PlotService(ctx), MembershipService(ctx)
    ids = {}
    for n, fate in enumerate(("pending", "rejected", "removed", "approved")):
        me = farmer_account(n)
        ids[fate] = farmers.register(me, body(phone=f"98765000{n}0")).farmer_id
        ids[fate + "-plot"] = with_data(ctx, me, ids[fate], 75.0 + n).plot_id
    decide.reject(MGR1, "FPO-1", ids["rejected"])
    decide.approve(MGR1, "FPO-1", ids["removed"])
    decide.remove(MGR1, "FPO-1", ids["removed"])
    decide.approve(MGR1, "FPO-1", ids["approved"])

    missing_farmer = refusal(farmers.get, AUDITOR, "F-nobody")
    missing_plot = refusal(plots.get, AUDITOR, "P-nobody")
    for fate in ("pending", "rejected", "removed"):
        assert refusal(farmers.get, AUDITOR, ids[fate]) == missing_farmer
        assert refusal(plots.list_for_farmer, AUDITOR, ids[fate]) == missing_farmer
        assert refusal(plots.get, AUDITOR, ids[fate + "-plot"]) == missing_plot
        assert refusal(plots.get_record, AUDITOR, ids[fate + "-plot"]) == missing_plot
        assert farmers.get(MGR1, ids[fate]).farmer_id == ids[fate]  # the manager still sees them all
    assert farmers.get(AUDITOR, ids["approved"]).farmer_id == ids["approved"]
    assert [p.plot_id for p in plots.list_for_farmer(AUDITOR, ids["approved"]).items] == [ids["approved-plot"]]
    assert plots.get(AUDITOR, ids["approved-plot"]).seasons[0].season_key == "2025-kharif"
    listed = farmers.list(AUDITOR, None, None, 25, None)
    assert [f.farmer_id for f in listed.items] == [ids["approved"]]
    for status in ("pending", "rejected", "removed"):
        assert farmers.list(AUDITOR, None, None, 25, None, status).items == []


def test_an_auditor_does_not_learn_the_id_of_a_non_members_overlapping_plot(ctx):
    member = FarmerService(ctx).register(MGR1, body()).farmer_id
    mine = PlotService(ctx).create(MGR1, member, square(75.0, 30.0, 0.01)).plot_id
    me = farmer_account(1)
    pending = FarmerService(ctx).register(me, body(phone="9876500011")).farmer_id
    # a corner inside the member's plot: below the refusal threshold, flagged on both plots
    theirs = PlotService(ctx).create(me, pending, square(75.0099, 30.0099, 0.001)).plot_id
    assert [o.plot_id for o in PlotService(ctx).get(MGR1, mine).overlaps] == [theirs]
    assert [o.plot_id for o in PlotService(ctx).get(AUDITOR, mine).overlaps] == [None]
    MembershipService(ctx).approve(MGR1, "FPO-1", pending)
    assert [o.plot_id for o in PlotService(ctx).get(AUDITOR, mine).overlaps] == [theirs]


def test_auditor_reads_over_the_routes_answer_like_missing_records(world):
    ids, store = world["ids"], world["store"]
    me = access.claims_for("farmer", user="f-req", fpo=None)
    r = call(access.farmers, "POST", "/farmers", access.farmer_body("FPO-1") | {"phone": "9876500099"}, claims=me)
    assert r.status == 201 and r.body["membership"] == "pending"
    fid = r.body["farmer_id"]
    r = call(
        access.farmers,
        "POST",
        f"/farmers/{fid}/plots",
        access.square(75.95, 30.9),
        claims=me,
        resource="/farmers/{farmer_id}/plots",
        params={"farmer_id": fid},
    )
    assert r.status == 201
    pid = r.body["plot_id"]

    def envelope(response):
        return response.status, {k: v for k, v in response.body["error"].items() if k != "request_id"}

    for read, hidden, missing in (
        (access.farmer, fid, "F-nobody"),
        (access.plots_of, fid, "F-nobody"),
        (access.plot, pid, "P-nobody"),
    ):
        assert envelope(read(hidden, access.AUDREY)) == envelope(read(missing, access.AUDREY))
        assert envelope(read(hidden, access.AUDREY))[0] == 404
    assert access.farmer(ids["f1"], access.AUDREY).status == 200  # the member, as before
    assert access.plot(ids["p1"], access.AUDREY).status == 200
    assert store.get(keys.farmer(fid))["membership"] == "pending"


# ---- 2. a non-member's plot never blocks a member's plot ------------------------------------------
def test_a_fake_request_over_a_members_field_does_not_block_the_member_and_cannot_be_approved(ctx):
    squatter = farmer_account(1)
    fake = FarmerService(ctx).register(squatter, body()).farmer_id
    fake_plot = PlotService(ctx).create(squatter, fake, square(75.0, 30.0)).plot_id  # drawn first
    member = FarmerService(ctx).register(MGR1, body(phone="9876500012")).farmer_id
    real_plot = PlotService(ctx).create(MGR1, member, square(75.0, 30.0)).plot_id  # the same field: not refused
    assert PlotService(ctx).load(real_plot).overlaps.keys() == {fake_plot}  # flagged on both plots
    assert PlotService(ctx).load(fake_plot).overlaps.keys() == {real_plot}
    assert fpo_items(ctx, "FPO-1")["AGG"]["plots"] == 1

    with pytest.raises(OverlapRefused) as err:  # approval waits while the overlap stands
        MembershipService(ctx).approve(MGR1, "FPO-1", fake)
    assert err.value.status == 409 and err.value.code == "plot_overlap"
    assert [(d["plot_id"], d["overlapping_plot_id"]) for d in err.value.details] == [(fake_plot, real_plot)]
    code = MembershipService(ctx).issue_invitation(MGR1, "FPO-1", IssueInvitationRequest()).code
    with pytest.raises(OverlapRefused) as err:  # and so does a join with a code; the code is not spent
        MembershipService(ctx).join(squatter, fake, JoinRequest(invitation_code=code))
    assert err.value.details[0]["overlapping_plot_id"] is None  # the farmer does not learn the member's plot id
    assert FarmerService(ctx).load(fake).membership == "pending" and fpo_items(ctx, "FPO-1")["AGG"]["plots"] == 1

    # the squatter moves their plot off the member's field: the approval goes through
    PlotService(ctx).replace(squatter, fake_plot, square(75.01, 30.0), 1)
    assert MembershipService(ctx).join(squatter, fake, JoinRequest(invitation_code=code)).membership == "approved"
    assert fpo_items(ctx, "FPO-1")["AGG"]["plots"] == 2


def test_overlaps_with_members_are_refused_as_before_whoever_draws(ctx):
    member = FarmerService(ctx).register(MGR1, body()).farmer_id
    first = PlotService(ctx).create(MGR1, member, square(75.0, 30.0)).plot_id
    other = FarmerService(ctx).register(MGR1, body(phone="9876500013")).farmer_id
    with pytest.raises(OverlapRefused) as err:  # member over member: refused, unchanged
        PlotService(ctx).create(MGR1, other, square(75.0, 30.0))
    assert err.value.details[0]["overlapping_plot_ids"] == [first]
    me = farmer_account(1)
    pending = FarmerService(ctx).register(me, body(phone="9876500014")).farmer_id
    with pytest.raises(OverlapRefused):  # a request over an existing member's plot: refused too
        PlotService(ctx).create(me, pending, square(75.0, 30.0))
    second = PlotService(ctx).create(MGR1, other, square(75.01, 30.0)).plot_id
    with pytest.raises(OverlapRefused):  # and a member's replace over another member's plot
        PlotService(ctx).replace(MGR1, second, square(75.0, 30.0), 1)
    assert PlotService(ctx).load(second).version == 1 and PlotService(ctx).load(first).overlaps == {}


def test_a_requests_own_plots_may_not_overlap_each_other_once_approved(ctx):
    me = farmer_account(1)
    fid = FarmerService(ctx).register(me, body()).farmer_id
    a = PlotService(ctx).create(me, fid, square(75.0, 30.0)).plot_id
    b = PlotService(ctx).create(me, fid, square(75.0, 30.0)).plot_id  # not refused: nothing here counts yet
    with pytest.raises(OverlapRefused) as err:
        MembershipService(ctx).approve(MGR1, "FPO-1", fid)
    assert {(d["plot_id"], d["overlapping_plot_id"]) for d in err.value.details} == {(a, b), (b, a)}


def test_a_members_plot_racing_the_approval_of_an_overlapping_request_is_checked_again(ctx):
    me = farmer_account(1)
    fid = FarmerService(ctx).register(me, body()).farmer_id
    PlotService(ctx).create(me, fid, square(75.0, 30.0))
    member = FarmerService(ctx).register(MGR1, body(phone="9876500015")).farmer_id
    # the approval lands between the member's plot's reads (request: not counted) and its transaction
    ctx.store.before = lambda: MembershipService(ctx).approve(MGR1, "FPO-1", fid)
    with pytest.raises(OverlapRefused):  # rebuilt against a member's plot: refused as between members
        PlotService(ctx).create(MGR1, member, square(75.0, 30.0))
    assert FarmerService(ctx).load(fid).membership == "approved"
    assert fpo_items(ctx, "FPO-1")["AGG"]["plots"] == 1


# ---- 3. asking again -------------------------------------------------------------------------------
def test_a_rejected_farmer_asks_again_one_request_at_a_time(ctx):
    me = farmer_account(1)
    number = aadhaar_number(7)
    fid = FarmerService(ctx).register(me, body(aadhaar=number)).farmer_id
    with_data(ctx, me, fid, 75.0)
    svc = MembershipService(ctx)
    with pytest.raises(ConflictError) as err:  # pending: one request at a time
        svc.request_again(me, fid)
    assert err.value.code == "membership_pending"
    rejected = svc.reject(MGR1, "FPO-1", fid)
    hmac = rejected.aadhaar_hmac
    assert ctx.store.get(keys.aadhaar(hmac)) is None  # the rejection released the number
    for stranger in (farmer_account(2), MGR1, ADMIN):  # only the profile's own account asks
        with pytest.raises((NotFoundError, ForbiddenError)):
            svc.request_again(stranger, fid)
    again = svc.request_again(me, fid)
    assert (again.membership, again.membership_decided_by) == ("pending", None)
    assert ctx.store.get(keys.aadhaar(hmac))["farmer_id"] == fid  # linked again (it was free)
    assert [f.farmer_id for f in FarmerService(ctx).list(MGR1, None, None, 25, None, "pending").items] == [fid]
    assert fpo_items(ctx, "FPO-1") == {}  # still counts nowhere
    approved = svc.approve(MGR1, "FPO-1", fid)
    assert approved.membership == "approved" and fpo_items(ctx, "FPO-1")["AGG"]["plots"] == 1
    with pytest.raises(ConflictError) as err:
        svc.request_again(me, fid)
    assert err.value.code == "membership_decided"


def test_a_rejected_farmers_number_taken_meanwhile_is_flagged_not_linked(ctx):
    me = farmer_account(1)
    number = aadhaar_number(8)
    fid = FarmerService(ctx).register(me, body(aadhaar=number)).farmer_id
    MembershipService(ctx).reject(MGR1, "FPO-1", fid)
    real = FarmerService(ctx).register(MGR1, body(aadhaar=number, phone="9876500016"))
    assert real.membership == "approved"
    again = MembershipService(ctx).request_again(me, fid)
    assert again.membership == "pending" and again.aadhaar_duplicate is True
    assert ctx.store.get(keys.aadhaar(real.aadhaar_hmac))["farmer_id"] == real.farmer_id
    with pytest.raises(ConflictError) as err:
        MembershipService(ctx).approve(MGR1, "FPO-1", fid)
    assert err.value.code == "aadhaar_duplicate"


def test_a_rejected_farmer_joins_with_a_code(ctx):
    me = farmer_account(1)
    fid = FarmerService(ctx).register(me, body(aadhaar=aadhaar_number(9))).farmer_id
    with_data(ctx, me, fid, 75.0)
    MembershipService(ctx).reject(MGR1, "FPO-1", fid)
    code = MembershipService(ctx).issue_invitation(MGR1, "FPO-1", IssueInvitationRequest()).code
    joined = MembershipService(ctx).join(me, fid, JoinRequest(invitation_code=code))
    assert joined.membership == "approved" and fpo_items(ctx, "FPO-1")["AGG"]["members"] == 1
    assert ctx.store.get(keys.aadhaar(joined.aadhaar_hmac))["farmer_id"] == fid  # linked again


# ---- 4. removing a member --------------------------------------------------------------------------
def test_removal_takes_the_members_totals_out_and_the_member_out_of_future_runs(ctx):
    stays = FarmerService(ctx).register(MGR1, body()).farmer_id
    every_kind_of_write(ctx, MGR1, stays, 75.0)
    before = _rounded(fpo_items(ctx, "FPO-1"))
    leaves = FarmerService(ctx).register(MGR1, body(phone="9876500017")).farmer_id
    every_kind_of_write(ctx, MGR1, leaves, 76.0)
    assert fpo_items(ctx, "FPO-1")["AGG"]["members"] == 2
    assert FarmSeasonSource(ctx.store).plan_units(["FPO-1"]) == sorted([stays, leaves])

    removed = MembershipService(ctx).remove(MGR1, "FPO-1", leaves)
    assert (removed.membership, removed.membership_decided_by) == ("removed", "fpo_manager:mgr1")
    nonzero = lambda items: {
        k: {n: v for n, v in t.items() if v} for k, t in _rounded(items).items() if any(t.values())
    }
    assert nonzero(fpo_items(ctx, "FPO-1")) == nonzero(before)
    assert FarmSeasonSource(ctx.store).plan_units(["FPO-1"]) == [stays]
    assert [f.farmer_id for f in FarmerService(ctx).list(MGR1, None, None, 25, None, "removed").items] == [leaves]
    # their later writes count nowhere; a removed farmer is removed once
    with_data(ctx, MGR1, leaves, 77.0)
    assert nonzero(fpo_items(ctx, "FPO-1")) == nonzero(before)
    with pytest.raises(ConflictError) as err:
        MembershipService(ctx).remove(MGR1, "FPO-1", leaves)
    assert err.value.code == "not_a_member"


def test_only_the_fpos_manager_or_an_admin_removes_and_others_learn_nothing(ctx):
    fid = FarmerService(ctx).register(MGR1, body()).farmer_id
    answers = {
        refusal(MembershipService(ctx).remove, MGR2, "FPO-1", fid),
        refusal(MembershipService(ctx).remove, MGR1, "FPO-1", "F-nobody"),
        refusal(MembershipService(ctx).remove, ADMIN, "FPO-2", fid),
    }
    assert len(answers) == 1
    for caller in (farmer_account(1), AUDITOR):
        with pytest.raises(ForbiddenError):
            MembershipService(ctx).remove(caller, "FPO-1", fid)
    pending = FarmerService(ctx).register(farmer_account(2), body(phone="9876500018")).farmer_id
    with pytest.raises(ConflictError):  # a request is rejected, not removed
        MembershipService(ctx).remove(MGR1, "FPO-1", pending)
    assert MembershipService(ctx).remove(ADMIN, "FPO-1", fid).membership == "removed"


def test_writes_racing_a_removal_are_counted_exactly_once(ctx):
    fid = FarmerService(ctx).register(MGR1, body()).farmer_id
    with_data(ctx, MGR1, fid, 75.0)
    # a member's season lands between the removal's reads and its transaction: the removal rebuilds
    plot = with_data(ctx, MGR1, fid, 76.0)
    ctx.store.before = lambda: SeasonService(ctx).create(MGR1, plot.plot_id, season("2025-rabi"))
    MembershipService(ctx).remove(MGR1, "FPO-1", fid)
    totals = fpo_items(ctx, "FPO-1")["AGG"]
    assert (totals["members"], totals["plots"], totals["seasons"]) == (0, 0, 0)

    # a member's write built before the removal, landing after it: rebuilt as a non-member's, uncounted
    other = FarmerService(ctx).register(MGR1, body(phone="9876500019")).farmer_id
    other_plot = with_data(ctx, MGR1, other, 77.0)
    ctx.store.before = lambda: MembershipService(ctx).remove(MGR1, "FPO-1", other)
    SeasonService(ctx).update(
        MGR1,
        other_plot.plot_id,
        m.SeasonData.model_validate({**season().model_dump(mode="json"), "synthetic_n_kg_per_ha": 60}),
        1,
    )
    totals = fpo_items(ctx, "FPO-1")["AGG"]
    assert (totals["members"], totals["plots"], totals["seasons"]) == (0, 0, 0)
    assert all(abs(v) < 1e-9 for v in totals.values())


def test_a_removed_member_asks_again_and_is_counted_again_on_approval(ctx):
    me = farmer_account(1)
    code = MembershipService(ctx).issue_invitation(MGR1, "FPO-1", IssueInvitationRequest()).code
    fid = FarmerService(ctx).register(me, body(invitation_code=code)).farmer_id
    with_data(ctx, me, fid, 75.0)
    counted = _rounded(fpo_items(ctx, "FPO-1"))
    MembershipService(ctx).remove(MGR1, "FPO-1", fid)
    assert MembershipService(ctx).request_again(me, fid).membership == "pending"
    MembershipService(ctx).approve(MGR1, "FPO-1", fid)
    assert _rounded(fpo_items(ctx, "FPO-1")) == counted


# ---- over the Lambda entry point ---------------------------------------------------------------------
from tests.unit.functions.farmers.test_membership import api  # noqa: E402,F401 (fixture)


def test_remove_and_request_again_over_the_handler(api, ctx):
    from tests.unit.functions.conftest import claims_for

    me, mgr1, mgr2 = (
        claims_for("farmer", user="f1", fpo=None),
        claims_for("fpo_manager", user="m1", fpo="FPO-1"),
        claims_for("fpo_manager", user="m2", fpo="FPO-2"),
    )
    fid = call(api, "POST", "/farmers", body().model_dump(mode="json", exclude_none=True), claims=me).body["farmer_id"]

    def member(claims, verb, fpo_id="FPO-1", farmer_id=fid):
        return call(
            api,
            "POST",
            f"/fpos/{fpo_id}/members/{farmer_id}/{verb}",
            claims=claims,
            resource=f"/fpos/{{fpo_id}}/members/{{farmer_id}}/{verb}",
            params={"fpo_id": fpo_id, "farmer_id": farmer_id},
        )

    def ask(claims, farmer_id=fid):
        return call(
            api,
            "POST",
            f"/farmers/{farmer_id}/membership-request",
            claims=claims,
            resource="/farmers/{farmer_id}/membership-request",
            params={"farmer_id": farmer_id},
        )

    assert (ask(me).status, ask(me).body["error"]["code"]) == (409, "membership_pending")
    assert member(mgr1, "reject").body["membership"] == "rejected"
    other, missing = ask(claims_for("farmer", user="f2", fpo=None)), ask(me, "F-nobody")
    assert other.status == missing.status == 404 and other.body["error"]["message"] == missing.body["error"]["message"]
    r = ask(me)
    assert r.status == 200 and r.body["membership"] == "pending" and r.body["membership_decided_by"] is None
    assert member(mgr1, "approve").body["membership"] == "approved"
    hidden, absent = member(mgr2, "remove"), member(mgr1, "remove", farmer_id="F-nobody")
    assert hidden.status == absent.status == 404 and hidden.body["error"]["code"] == absent.body["error"]["code"]
    assert hidden.body["error"]["message"] == absent.body["error"]["message"]
    assert member(me, "remove").status == 403
    r = member(mgr1, "remove")
    assert r.status == 200 and r.body["membership"] == "removed" and "member_epoch" not in r.body
    again = member(mgr1, "remove")
    assert (again.status, again.body["error"]["code"]) == (409, "not_a_member")
    listed = call(api, "GET", "/farmers", claims=mgr1, query="status=removed")
    assert [f["farmer_id"] for f in listed.body["items"]] == [fid]
    assert ask(me).body["membership"] == "pending"


def test_an_approval_too_large_for_one_transaction_is_a_clear_conflict_not_a_crash(ctx):
    me = farmer_account(1)
    fid = FarmerService(ctx).register(me, body()).farmer_id
    for n in range(100):  # 100 plots ~2 km apart: at least 100 cell locks to bump with the status change
        PlotService(ctx).create(me, fid, square(75.0 + 0.02 * (n % 10), 30.0 + 0.02 * (n // 10)))
    with pytest.raises(ConflictError) as err:
        MembershipService(ctx).approve(MGR1, "FPO-1", fid)
    assert err.value.code == "membership_too_large"
    assert FarmerService(ctx).load(fid).membership == "pending" and fpo_items(ctx, "FPO-1") == {}


def test_an_mrv_run_sees_no_overlap_with_a_non_members_plot(ctx):
    me = farmer_account(1)
    request = FarmerService(ctx).register(me, body(phone="9876500022")).farmer_id
    fake = PlotService(ctx).create(me, request, square(74.9995, 30.0)).plot_id  # drawn first
    member = FarmerService(ctx).register(MGR1, body()).farmer_id
    plot = with_data(ctx, MGR1, member, 75.0).plot_id  # half over the request's plot, with a kharif season
    neighbour = FarmerService(ctx).register(MGR1, body(phone="9876500021")).farmer_id
    beside = PlotService(ctx).create(MGR1, neighbour, square(75.00099, 30.0)).plot_id  # a sliver: flagged
    assert PlotService(ctx).load(plot).overlaps.keys() == {beside, fake}

    def flagged():
        rows = FarmSeasonSource(ctx.store).load(FarmSeasonSource(ctx.store).plan_units(["FPO-1"]), "2025-kharif")
        return {r.plot_id: sorted(r.overlaps) for r in rows}

    assert flagged() == {plot: [beside]}
    MembershipService(ctx).reject(MGR1, "FPO-1", request)
    assert flagged() == {plot: [beside]}

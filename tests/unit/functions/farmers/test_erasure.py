"""Personal-data erasure (docs/decisions/0017) on the in-memory farm store with fake stores: what each
eraser leaves, who may erase, idempotency, a failing store and the resumed erasure, the readers of an
erased profile (routes, membership, an MRV run's season source)."""

from __future__ import annotations

import json

import pytest

from agri_common.farm_table import keys
from agri_common.farm_table.records import FpoRecord
from agri_common.platform.errors import NotFoundError
from agri_common.platform.principal import Principal, Role
from agri_common.single_table import Put
from functions.farmers import aadhaar
from functions.farmers import models as m
from functions.farmers.context import FarmContext
from functions.farmers.erasure import (
    AccountEraser,
    ErasureService,
    EvidenceEraser,
    LedgerOwnerEraser,
    LedgerSaltEraser,
    NotificationsEraser,
    PlotEraser,
)
from functions.farmers.erasure_stores import FarmTableNotifications
from functions.farmers.logic import FarmerService
from functions.farmers.logic_plots import PlotService
from functions.farmers.logic_seasons import SeasonService
from functions.farmers.logic_uploads import UploadService
from functions.farmers.membership import MembershipService
from functions.notifications.store import (
    NotificationRecord,
    NotificationStore,
    PreferencesRecord,
    farmer_recipient,
    user_recipient,
)
from functions.pipeline.sources import FarmSeasonSource
from tests.unit.fakes.farm import InMemoryFarmStore

ADMIN = Principal(user_id="adm", username="adm", role=Role.ADMIN)
MANAGER = Principal(user_id="mgr", username="mgr", role=Role.FPO_MANAGER, fpo_id="FPO-1")
FARMER = Principal(user_id="sub-ravi", username="ravi", role=Role.FARMER, fpo_id="FPO-1")
OTHER_FARMER = Principal(user_id="sub-other", username="other", role=Role.FARMER, fpo_id="FPO-1")
AUDITOR = Principal(user_id="aud", username="aud", role=Role.AUDITOR)
AADHAAR = "23412341234" + aadhaar.verhoeff_check_digit("23412341234")
OTHER_AADHAAR = "34523452345" + aadhaar.verhoeff_check_digit("34523452345")
NAME, PHONE, PLOT_NAME, NOTE = "Ravi Erasable", "9876543210", "Ravi's north field", "Ravi's pipe readings"
RICE = {
    "year": 2025,
    "season": "kharif",
    "crop": "rice",
    "sowing_date": "2025-06-20",
    "harvest_date": "2025-10-20",
    "cultivation_days": 110,
    "water_regime": "multiple_drainage",
    "preseason_water": "non_flooded_lt_180",
    "water_regime_evidence": {"method": "awd_pipe_readings", "description": NOTE},
    "synthetic_n_kg_per_ha": 100,
    "yield_t_per_ha": 5,
}


class Files:
    """Fake evidence bucket: object keys; ``fail`` times the next delete raises."""

    def __init__(self):
        self.objects: set[str] = set()
        self.fail = 0

    def delete_prefix(self, prefix):
        if self.fail:
            self.fail -= 1
            raise RuntimeError("S3 is down")
        gone = {k for k in self.objects if k.startswith(prefix)}
        self.objects -= gone
        return len(gone)


class Salts:
    def __init__(self):
        self.salts: dict[str, str | None] = {}  # None: the erased marker in the salt's place

    def shred_salt(self, farmer_id):
        self.salts[farmer_id] = None


class Owners:
    """Fake ledger writer's unlink: the account ids named on the ledger; ``fail`` times the next call raises."""

    def __init__(self):
        self.owners = {"sub-ravi", "sub-x"}
        self.fail = 0

    def unlink_owner(self, user_id):
        if self.fail:
            self.fail -= 1
            raise RuntimeError("the ledger writer is throttled")
        self.owners.discard(user_id)


class Accounts:
    def __init__(self):
        self.accounts = {"sub-ravi": {"phone_number": "+919876543210"}}
        self.erased: list[str] = []

    def erase_account(self, user_id):
        self.accounts.pop(user_id, None)
        self.erased.append(user_id)


class Uploads:
    def presigned_post(self, key, content_type, max_bytes, expires_in):
        return {"url": "https://uploads.example/", "fields": {"key": key}}

    def head(self, key):
        return {"content_length": 100, "content_type": "image/jpeg"}


class World:
    def __init__(self):
        store = InMemoryFarmStore()
        store.transact(
            [
                Put(
                    FpoRecord(
                        fpo_id="FPO-1", name="One", state="Punjab", created_by="a", created_at="2025-01-01"
                    ).to_item()
                )
            ]
        )
        self.ctx = FarmContext(store=store, aadhaar_key=lambda: b"test-key")
        self.files, self.salts, self.accounts, self.owners = Files(), Salts(), Accounts(), Owners()

    def erasers(self):
        return [
            EvidenceEraser(self.ctx, self.files),
            PlotEraser(self.ctx),
            LedgerSaltEraser(self.salts),
            LedgerOwnerEraser(self.owners),
            NotificationsEraser(FarmTableNotifications(self.ctx.store)),
            AccountEraser(self.accounts),
        ]

    def service(self):
        return ErasureService(self.ctx, self.erasers())

    def farmer_with_everything(self, caller=FARMER, lon=75.85, number=AADHAAR):
        """A farmer's own profile (with invitation-free approval by the manager), Aadhaar, a named plot,
        a season with free text, a stored evidence photo, a ledger salt; and a neighbour whose plot
        overlaps theirs a little (so the neighbour's plot notes this farmer's account)."""
        body = {
            "name": NAME,
            "phone": PHONE,
            "village": "Rampur",
            "district": "Patiala",
            "state": "Punjab",
            "fpo_id": "FPO-1",
            "aadhaar": number,
            "external_id": "EXT-RAVI",
            "consent": {"given": True, "version": "v1", "at": "2025-06-01T10:00:00+05:30"},
        }
        farmer = FarmerService(self.ctx).register(caller, m.RegisterFarmerRequest.model_validate(body))
        if caller.role is Role.FARMER:
            MembershipService(self.ctx).approve(MANAGER, "FPO-1", farmer.farmer_id)
        geometry = square(lon, 30.9, 0.002)
        plot = PlotService(self.ctx).create(
            caller,
            farmer.farmer_id,
            m.PlotFeature.model_validate(
                {"type": "Feature", "properties": {"name": PLOT_NAME, "external_id": "EXT-PLOT"}, "geometry": geometry}
            ),
        )
        SeasonService(self.ctx).create(caller, plot.plot_id, m.SeasonData.model_validate(RICE))
        uploads = UploadService(self.ctx, Uploads())
        issued = uploads.issue(
            caller,
            m.UploadRequest(plot_id=plot.plot_id, content_type="image/jpeg", size_bytes=100, description=NOTE),
        )
        uploads.complete(caller, issued.upload_id)
        evidence = next(
            i
            for i in self.ctx.store.items.values()
            if i.get("kind") == "evidence" and i["upload_id"] == issued.upload_id
        )
        self.files.objects.add(evidence["object_key"])
        self.files.objects.add("evidence/FPO-1/P-someone-else/U-1.jpg")
        self.salts.salts[farmer.farmer_id] = "00" * 16
        self.salts.salts["F-someone-else"] = "11" * 16
        # notifications: a text to the profile's phone, the account's inbox item and preferences; a neighbour's
        notes = NotificationStore(self.ctx.store)
        for recipient in (farmer_recipient(farmer.farmer_id), user_recipient("sub-ravi"), user_recipient("sub-x")):
            notes.add(
                NotificationRecord(
                    recipient=recipient,
                    notification_id=f"N-{recipient}",
                    event_id="credits_issued:R-1",
                    event_kind="credits_issued",
                    language="hi",
                    title="Credits issued",
                    body=f"{NAME}: 3 credits" if recipient != user_recipient("sub-x") else "3 credits",
                    sms=f"{NAME}: 3 credits" if recipient != user_recipient("sub-x") else "3 credits",
                    created_at="2026-01-01T00:00:00Z",
                    in_app=recipient != farmer_recipient(farmer.farmer_id),
                )
            )
        notes.save_preferences(
            PreferencesRecord(recipient=user_recipient("sub-ravi"), language="hi", channels=["sms"], updated_at="x")
        )
        return farmer, plot


def square(lon, lat, size):
    return {
        "type": "Polygon",
        "coordinates": [[[lon, lat], [lon + size, lat], [lon + size, lat + size], [lon, lat + size], [lon, lat]]],
    }


@pytest.fixture
def world():
    return World()


def everything(world) -> str:
    return json.dumps(list(world.ctx.store.items.values()), sort_keys=True, default=str)


def test_a_farmer_erases_themself_and_nothing_personal_is_left(world):
    farmer, plot = world.farmer_with_everything()
    before = everything(world)
    hmac_hex = aadhaar.keyed_hash(AADHAAR, b"test-key")
    for value in (NAME, PHONE, PLOT_NAME, NOTE, hmac_hex, "EXT-RAVI", "EXT-PLOT", "sub-ravi"):
        assert value in before  # the test data is really there before the erasure
    assert world.ctx.store.get(keys.fpo_agg("FPO-1"))["members"] == 1

    out = world.service().erase(FARMER, farmer.farmer_id)

    assert out.status == "complete" and out.remaining == []
    assert out.erased == ["evidence", "plots", "ledger_salt", "ledger_owner", "notifications", "account"]
    assert out.requested_by == "farmer:self" and out.completed_at and out.consent_withdrawn_at
    after = everything(world)
    for value in (NAME, PHONE, PLOT_NAME, NOTE, hmac_hex, AADHAAR, AADHAAR[-4:], "EXT-RAVI", "EXT-PLOT", "sub-ravi"):
        assert value not in after, value
    tomb = world.ctx.store.get(keys.farmer(farmer.farmer_id))
    assert tomb["consent"]["given"] is False and tomb["erasure"]["status"] == "complete"
    assert tomb["gsi1pk"] == keys.ERASURE_SWEEP_INDEX  # out of every membership list, due for the late sweep
    assert world.ctx.store.get(keys.owner("sub-ravi")) is None
    assert world.ctx.store.get(keys.aadhaar(hmac_hex)) is None
    # the plot and its season stay, without identity: area, geometry, practice and numbers
    kept = world.ctx.store.get(keys.plot(plot.plot_id))
    assert kept["area_ha"] == plot.area_ha and kept["geometry_json"] == plot.geometry_json
    assert kept["evidence_count"] == 0 and "name" not in kept
    season = world.ctx.store.get(keys.season(plot.plot_id, "2025-kharif"))
    assert season["activity"]["water_regime"] == "multiple_drainage"
    assert season["activity"]["water_regime_evidence"] == {"method": "awd_pipe_readings", "upload_ids": []}
    assert not [i for i in world.ctx.store.items.values() if i.get("kind") == "evidence"]
    # the other stores: this farmer's evidence files, salt and account only
    assert world.files.objects == {"evidence/FPO-1/P-someone-else/U-1.jpg"}
    assert world.salts.salts == {farmer.farmer_id: None, "F-someone-else": "11" * 16}
    assert world.owners.owners == {"sub-x"}  # the ledger no longer names the farmer's account
    assert world.accounts.erased == ["sub-ravi"] and world.accounts.accounts == {}
    notes = NotificationStore(world.ctx.store)
    assert notes.get(user_recipient("sub-ravi"), f"N-{user_recipient('sub-ravi')}") is None
    assert notes.preferences(user_recipient("sub-ravi")) is None
    assert notes.get(user_recipient("sub-x"), f"N-{user_recipient('sub-x')}") is not None  # a neighbour's stays
    # the FPO's totals no longer count the farmer (consent withdrawn)
    totals = world.ctx.store.get(keys.fpo_agg("FPO-1"))
    assert totals["members"] == 0 and totals["plots"] == 0 and abs(totals["area_ha"]) < 1e-9


def test_an_erased_profile_reads_as_missing_everywhere(world):
    farmer, plot = world.farmer_with_everything(caller=MANAGER)
    world.service().erase(ADMIN, farmer.farmer_id)
    missing = "F-does-not-exist"
    for call in (
        lambda fid: FarmerService(world.ctx).get(ADMIN, fid),
        lambda fid: FarmerService(world.ctx).get(MANAGER, fid),
        lambda fid: PlotService(world.ctx).create(
            MANAGER,
            fid,
            m.PlotFeature.model_validate({"type": "Feature", "properties": {}, "geometry": square(76.5, 30.9, 0.001)}),
        ),
        lambda fid: MembershipService(world.ctx).reject(MANAGER, "FPO-1", fid),
        lambda fid: MembershipService(world.ctx).remove(MANAGER, "FPO-1", fid),
    ):
        with pytest.raises(NotFoundError) as erased:
            call(farmer.farmer_id)
        with pytest.raises(NotFoundError) as absent:
            call(missing)
        assert (erased.value.code, str(erased.value)) == (absent.value.code, str(absent.value))
    assert FarmerService(world.ctx).list(MANAGER, "FPO-1", None, 25, None).items == []
    # the plot stays visible to the FPO (it backs issued credits), without owner and name
    out = PlotService(world.ctx).get(MANAGER, plot.plot_id)
    assert out.farmer_id == farmer.farmer_id and out.name is None
    # a season cannot be added for an erased farmer
    with pytest.raises(NotFoundError):
        SeasonService(world.ctx).create(
            MANAGER,
            plot.plot_id,
            m.SeasonData.model_validate(
                {
                    **RICE,
                    "season": "zaid",
                    "sowing_date": "2026-03-01",
                    "harvest_date": "2026-05-30",
                    "cultivation_days": 80,
                }
            ),
        )


@pytest.mark.parametrize("caller", [MANAGER, AUDITOR, OTHER_FARMER], ids=["fpo_manager", "auditor", "other_farmer"])
def test_anyone_but_the_farmer_or_an_admin_is_refused_like_a_missing_farmer(world, caller):
    farmer, _ = world.farmer_with_everything()
    before = everything(world)
    with pytest.raises(NotFoundError) as refused:
        world.service().erase(caller, farmer.farmer_id)
    with pytest.raises(NotFoundError) as missing:
        world.service().erase(ADMIN, "F-does-not-exist")
    assert (refused.value.status, refused.value.code, str(refused.value)) == (
        missing.value.status,
        missing.value.code,
        str(missing.value),
    )
    assert everything(world) == before  # a refusal stores nothing
    assert world.accounts.erased == [] and world.salts.salts[farmer.farmer_id] == "00" * 16


def test_a_second_erasure_answers_the_same_tombstone_and_erases_nothing_again(world):
    farmer, _ = world.farmer_with_everything()
    first = world.service().erase(ADMIN, farmer.farmer_id)
    assert first.requested_by == "admin:adm"
    snapshot = everything(world)
    again = world.service().erase(ADMIN, farmer.farmer_id)
    assert again == first
    assert everything(world) == snapshot and world.accounts.erased == ["sub-ravi"]
    # the farmer's own account no longer owns the profile: their retry answers like a missing farmer
    with pytest.raises(NotFoundError):
        world.service().erase(FARMER, farmer.farmer_id)


def test_a_failing_store_leaves_a_tombstone_that_says_what_remains_and_a_retry_finishes(world):
    farmer, plot = world.farmer_with_everything()
    world.files.fail = 1
    out = world.service().erase(FARMER, farmer.farmer_id)
    assert out.status == "in_progress"
    assert (
        out.remaining == ["evidence", "plots", "ledger_salt", "ledger_owner", "notifications", "account"]
        and out.erased == []
    )
    # never a half-erased profile that looks whole: the identity is gone and it reads as missing already
    # (the texts already sent are the "notifications" step, still listed as remaining)
    notified = {"notification", "notify_prefs", "notify_event"}
    after = json.dumps([i for i in world.ctx.store.items.values() if i.get("kind") not in notified], default=str)
    assert NAME not in after and PHONE not in after
    assert NAME in everything(world)
    with pytest.raises(NotFoundError):
        FarmerService(world.ctx).get(ADMIN, farmer.farmer_id)
    assert world.ctx.store.get(keys.farmer(farmer.farmer_id))["erasure"]["remaining"] == out.remaining
    # the farmer resumes their own erasure (their account still owns it until it is complete)
    done = world.service().erase(FARMER, farmer.farmer_id)
    assert done.status == "complete" and done.remaining == []
    assert done.requested_at == out.requested_at and done.requested_by == "farmer:self"
    assert PLOT_NAME not in everything(world)
    assert world.files.objects == {"evidence/FPO-1/P-someone-else/U-1.jpg"}


def test_a_failure_midway_resumes_at_the_store_that_failed(world):
    farmer, _ = world.farmer_with_everything()
    calls: list[str] = []

    class Flaky:
        name = "ledger_salt"

        def __init__(self):
            self.fail = True

        def erase(self, target):
            calls.append(target.farmer_id)
            if self.fail:
                self.fail = False
                raise RuntimeError("throttled")
            world.salts.shred_salt(target.farmer_id)

    flaky = Flaky()
    erasers = [e if e.name != "ledger_salt" else flaky for e in world.erasers()]
    first = ErasureService(world.ctx, erasers).erase(ADMIN, farmer.farmer_id)
    assert first.erased == ["evidence", "plots"]
    assert first.remaining == ["ledger_salt", "ledger_owner", "notifications", "account"]
    assert world.accounts.erased == []  # a later store is not erased past a failure
    second = ErasureService(world.ctx, erasers).erase(ADMIN, farmer.farmer_id)
    assert second.status == "complete" and second.erased == [
        "evidence",
        "plots",
        "ledger_salt",
        "ledger_owner",
        "notifications",
        "account",
    ]
    assert calls == [farmer.farmer_id, farmer.farmer_id] and world.salts.salts[farmer.farmer_id] is None


def test_a_run_reading_an_erased_farmer_skips_them_and_does_not_fail(world):
    kept, _ = world.farmer_with_everything(caller=MANAGER, lon=75.80)
    erased, _ = world.farmer_with_everything(caller=MANAGER, lon=75.90, number=OTHER_AADHAAR)
    source = FarmSeasonSource(world.ctx.store)
    units = list(source.plan_units(["FPO-1"]))  # planned before the erasure
    assert units == sorted([kept.farmer_id, erased.farmer_id])
    world.service().erase(ADMIN, erased.farmer_id)
    rows = source.load(units, "2025")
    assert {r.farmer_id for r in rows} == {kept.farmer_id}
    assert list(source.plan_units(["FPO-1"])) == [kept.farmer_id]


def test_an_imported_farmers_id_does_not_give_their_phone_number_back(world):
    """The id outlives an erasure (plots, runs, reports): derived from the phone number without a key, it
    could be reversed by hashing every 10-digit number; keyed, it cannot. Re-imports stay idempotent, and
    a farmer imported under the old unkeyed id keeps it."""
    from functions.farmers.context import derived_id
    from functions.farmers.logic_imports import ImportService

    def import_csv(*rows):
        header = "name,phone,village,district,state,consent_given,consent_at"
        text = "\n".join([header, *[f"{n},{p},Rampur,Patiala,Punjab,yes,2025-06-01T10:00:00+05:30" for n, p in rows]])
        req = m.FarmerImportRequest.model_validate({"fpo_id": "FPO-1", "csv": text, "consent_version": "v1"})
        return ImportService(world.ctx).farmers_csv(MANAGER, req)

    first = import_csv(("Ravi", "9876543210"))
    (row,) = first.rows
    assert row.status == "accepted"
    assert row.id != derived_id("F", "FPO-1", "+919876543210") and row.id != derived_id("F", "FPO-1", "9876543210")
    assert [r.status for r in import_csv(("Ravi", "9876543210")).rows] == ["duplicate"]
    # a farmer imported before ids were keyed: the re-import finds them under their old id
    legacy = derived_id("F", "FPO-1", "+919876500001")
    old = FarmerService(world.ctx).register(
        MANAGER,
        m.RegisterFarmerRequest.model_validate(
            {
                "name": "Old",
                "phone": "9876500001",
                "village": "Rampur",
                "district": "Patiala",
                "state": "Punjab",
                "fpo_id": "FPO-1",
                "consent": {"given": True, "version": "v1", "at": "2025-06-01T10:00:00+05:30"},
            }
        ),
        farmer_id=legacy,
    )
    assert old.phone == "+919876500001"
    assert [r.status for r in import_csv(("Old", "9876500001")).rows] == ["duplicate"]
    farmers = [i for i in world.ctx.store.items.values() if i.get("kind") == "farmer"]
    assert sorted(f["farmer_id"] for f in farmers) == sorted([row.id, legacy])


def test_no_upload_can_be_issued_on_an_erased_farmers_plot_by_anyone(world):
    """The plot stays readable by the FPO (it backs issued credits), but no file is added to it: a manager's
    or an admin's upload request answers the 404 of a missing farmer, and stores nothing."""
    farmer, plot = world.farmer_with_everything(caller=MANAGER)
    world.service().erase(ADMIN, farmer.farmer_id)
    assert PlotService(world.ctx).get(MANAGER, plot.plot_id).plot_id == plot.plot_id
    before = everything(world)
    request = m.UploadRequest(plot_id=plot.plot_id, content_type="image/jpeg", size_bytes=100)
    for caller in (MANAGER, ADMIN):
        with pytest.raises(NotFoundError) as refused:
            UploadService(world.ctx, Uploads()).issue(caller, request)
        with pytest.raises(NotFoundError) as missing:
            FarmerService(world.ctx).get(caller, "F-does-not-exist")
        assert (refused.value.status, refused.value.code, str(refused.value)) == (
            missing.value.status,
            missing.value.code,
            str(missing.value),
        )
    assert everything(world) == before


def test_a_repeated_erasure_sweeps_a_late_upload_away(world):
    """An upload presigned before the erasure lands after it: the next request of the erasure (complete
    or still in progress) deletes it, and answers the same tombstone."""
    farmer, plot = world.farmer_with_everything(caller=MANAGER)
    first = world.service().erase(ADMIN, farmer.farmer_id)
    assert first.status == "complete"
    late = f"evidence/FPO-1/{plot.plot_id}/U-late.jpg"
    world.files.objects.add(late)  # the pre-issued POST used after the erasure
    again = world.service().erase(ADMIN, farmer.farmer_id)
    assert again == first
    assert late not in world.files.objects
    assert world.files.objects == {"evidence/FPO-1/P-someone-else/U-1.jpg"}


def test_a_failed_sweep_is_a_503_and_changes_no_tombstone(world):
    from agri_common.platform.errors import DependencyError

    farmer, plot = world.farmer_with_everything(caller=MANAGER)
    world.service().erase(ADMIN, farmer.farmer_id)
    late = f"evidence/FPO-1/{plot.plot_id}/U-late.jpg"
    world.files.objects.add(late)
    snapshot = everything(world)
    world.files.fail = 1
    with pytest.raises(DependencyError) as failed:
        world.service().erase(ADMIN, farmer.farmer_id)
    assert failed.value.status == 503 and failed.value.code == "erasure_sweep_failed"
    assert everything(world) == snapshot and late in world.files.objects
    world.service().erase(ADMIN, farmer.farmer_id)
    assert late not in world.files.objects


def test_a_resumed_erasure_also_sweeps_the_evidence_it_already_erased(world):
    farmer, plot = world.farmer_with_everything()
    world.accounts.erase_account = _raise  # the last store fails: the erasure stays in progress
    out = world.service().erase(FARMER, farmer.farmer_id)
    assert out.status == "in_progress" and out.remaining == ["account"]
    late = f"evidence/FPO-1/{plot.plot_id}/U-late.jpg"
    world.files.objects.add(late)
    del world.accounts.erase_account
    done = world.service().erase(FARMER, farmer.farmer_id)
    assert done.status == "complete" and late not in world.files.objects


def _raise(user_id):
    raise RuntimeError("Cognito is throttling")


def test_a_failing_ledger_unlink_keeps_the_account_until_a_retry_unlinks_it(world):
    """The account goes last: while the ledger still names it, the farmer (or an admin) can resume."""
    farmer, _ = world.farmer_with_everything()
    world.owners.fail = 1
    out = world.service().erase(FARMER, farmer.farmer_id)
    assert out.status == "in_progress" and out.remaining == ["ledger_owner", "notifications", "account"]
    assert "sub-ravi" in world.owners.owners and world.accounts.erased == []
    done = world.service().erase(FARMER, farmer.farmer_id)
    assert done.status == "complete" and "sub-ravi" not in world.owners.owners


def test_a_store_added_after_an_erasure_started_runs_when_it_resumes(world):
    """A tombstone written before the ledger_owner eraser existed (its `remaining` does not name it):
    the resumed erasure runs it too, and the answer lists it until it ran."""
    farmer, _ = world.farmer_with_everything()
    older = [e for e in world.erasers() if e.name != "ledger_owner"]
    world.files.fail = 1
    first = ErasureService(world.ctx, older).erase(FARMER, farmer.farmer_id)
    assert "ledger_owner" not in first.remaining
    world.owners.fail = 1
    resumed = world.service().erase(FARMER, farmer.farmer_id)
    # the stores run in this deployment's order (the account still last): ledger_salt, then ledger_owner fails
    assert resumed.status == "in_progress" and resumed.remaining == ["notifications", "account", "ledger_owner"]
    assert world.accounts.erased == []
    done = world.service().erase(FARMER, farmer.farmer_id)
    assert done.status == "complete" and "ledger_owner" in done.erased and "sub-ravi" not in world.owners.owners


def test_the_scheduled_sweep_deletes_a_late_upload_once_it_is_due_and_then_forgets_the_erasure(world):
    """decision 0022: no admin needed. Before the upload URLs of the erasure's time expired the sweep leaves
    the tombstone alone; after, it deletes what landed under the farmer's plots and takes the tombstone out
    of its index (the next runs read nothing); another farmer's files stay."""
    from datetime import datetime, timedelta

    from functions.farmers.erasure import SWEEP_AFTER, ErasureSweeper

    farmer, plot = world.farmer_with_everything(caller=MANAGER)
    out = world.service().erase(ADMIN, farmer.farmer_id)
    late = f"evidence/FPO-1/{plot.plot_id}/U-late.jpg"
    world.files.objects.add(late)
    requested = datetime.fromisoformat(out.requested_at)
    sweeper = ErasureSweeper(world.ctx, world.erasers())

    early = sweeper.sweep(requested + SWEEP_AFTER - timedelta(seconds=1))
    assert (early.swept, early.failed) == ([], []) and late in world.files.objects

    world.files.fail = 1  # S3 down: reported, and the tombstone stays due
    failed = sweeper.sweep(requested + SWEEP_AFTER)
    assert failed.failed == [farmer.farmer_id] and late in world.files.objects

    done = sweeper.sweep(requested + SWEEP_AFTER)
    assert done.swept == [farmer.farmer_id] and late not in world.files.objects
    assert world.files.objects == {"evidence/FPO-1/P-someone-else/U-1.jpg"}
    tomb = world.ctx.store.get(keys.farmer(farmer.farmer_id))
    assert "gsi1pk" not in tomb and tomb["erasure"] == out.model_dump(exclude={"farmer_id"})
    world.files.objects.add(late)  # (a file landing days later would be an upload never issued)
    assert sweeper.sweep(requested + timedelta(days=2)).swept == []


def test_the_sweep_job_reads_the_scheduled_event_and_answers_what_it_swept(world):
    from datetime import datetime

    from agri_common.platform.schedule import InvalidJobInput
    from functions.farmers.erasure import SWEEP_AFTER
    from functions.farmers.erasure_sweep_job import sweep_erasures

    farmer, plot = world.farmer_with_everything(caller=MANAGER)
    out = world.service().erase(ADMIN, farmer.farmer_id)
    world.files.objects.add(f"evidence/FPO-1/{plot.plot_id}/U-late.jpg")
    fired = (datetime.fromisoformat(out.requested_at) + SWEEP_AFTER).isoformat()
    event = {"version": "0", "id": "e-1", "detail-type": "Scheduled Event", "source": "aws.events", "time": fired}
    result = sweep_erasures(event, world.ctx, world.erasers())
    assert result == {"swept": [farmer.farmer_id], "failed": [], "more": False}
    assert world.files.objects == {"evidence/FPO-1/P-someone-else/U-1.jpg"}
    with pytest.raises(InvalidJobInput):
        sweep_erasures({"time": "not a time"}, world.ctx, world.erasers())

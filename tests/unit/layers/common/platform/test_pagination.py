"""Pagination tokens are checked before any store sees them (agri_common.platform.pagination): an edited
token is a 400 ``invalid_next_token`` on every paginated route, never a 500 and never a page of
another partition. Routes: GET /farmers (farm store), GET /admin/users (Cognito's token), GET
/ledger/records (ledger store; over HTTP on moto in tests/integration/test_ledger_on_moto.py)."""

from __future__ import annotations

import base64
import json
from urllib.parse import quote

import pytest

from agri_common.farm_table.records import FpoRecord
from agri_common.platform.clock import utc_iso_seconds_offset
from agri_common.platform.errors import BadRequestError
from agri_common.platform.pagination import check_start_key, decode_token, encode_token, page_position, page_token
from agri_common.platform.revocation import InMemoryRevocationStore
from agri_common.single_table import Put
from functions.admin import handler as admin
from functions.admin.logic import AdminService
from functions.farmers import handler as farmers
from functions.farmers.context import FarmContext
from functions.ledger.dal import DynamoLedgerStore
from tests.unit.fakes.assignments import Assignments
from tests.unit.fakes.farm import InMemoryFarmStore
from tests.unit.fakes.idp import FakeIdp
from tests.unit.functions.conftest import call, claims_for
from tests.unit.layers.common.test_aws_unavailable import FakeTable, FakeTableStore

MANAGER = claims_for("fpo_manager", user="mgr", fpo="FPO-1")
ADMIN = claims_for("admin", user="adm", username="root", fpo=None)
CONSENT = {"given": True, "version": "v1", "at": "2025-06-01T10:00:00+05:30"}


def edit(token: str, change) -> str:
    """``token`` decoded, changed by ``change(value)`` (returns the new value), encoded again."""
    return encode_token(change(decode_token(token)))


def with_key(**changes):
    def change(value):
        value["k"] = {**value["k"], **changes}
        return value

    return change


def without_key(attr: str):
    def change(value):
        value["k"] = {k: v for k, v in value["k"].items() if k != attr}
        return value

    return change


def set_position(position):
    def change(value):
        value["k"] = position
        return value

    return change


# ---- the shared primitives --------------------------------------------------------------------------
def test_page_position_round_trips_and_refuses_another_query():
    token = page_token({"fpo_id": "F", "village": None}, {"pk": "a"})
    assert page_position(token, {"fpo_id": "F", "village": None}) == {"pk": "a"}
    assert page_position(None, {"x": 1}) is None and page_token({"x": 1}, None) is None
    with pytest.raises(BadRequestError) as err:
        page_position(token, {"fpo_id": "G", "village": None})
    assert err.value.code == "invalid_next_token"


@pytest.mark.parametrize(
    "token",
    [
        "%%%",
        "bm90IGpzb24",
        encode_token([1, 2]),
        encode_token({"q": 1}),
        encode_token({"q": None, "k": None, "x": 1}),
        encode_token({"q": None, "k": {}}),
        base64.urlsafe_b64encode(b"[" * 5000).decode(),
    ],
)
def test_a_token_that_is_not_ours_is_400(token):
    with pytest.raises(BadRequestError) as err:
        page_position(token, None)
    assert err.value.code == "invalid_next_token"


GOOD_KEY = {"pk": "FARMER#F-1", "sk": "META", "gsi1pk": "FPO#FPO-1#FARMERS", "gsi1sk": "rampur#F-1"}


@pytest.mark.parametrize(
    "key",
    [
        {**GOOD_KEY, "gsi1pk": "FPO#FPO-2#FARMERS"},  # another partition
        {**GOOD_KEY, "gsi1sk": "sonepur#F-1"},  # outside the village prefix
        {**GOOD_KEY, "extra": "x"},
        {k: v for k, v in GOOD_KEY.items() if k != "sk"},  # not the index's key attributes
        {**GOOD_KEY, "sk": 5},
        {**GOOD_KEY, "sk": {"S": "META"}},
        {**GOOD_KEY, "sk": ["META"]},
        {**GOOD_KEY, "sk": None},
        {**GOOD_KEY, "sk": True},
        {**GOOD_KEY, "sk": ""},
        {**GOOD_KEY, "sk": "x" * 1025},  # not a storable key string
        {**GOOD_KEY, "sk": "\ud800"},
        {**GOOD_KEY, "sk": "M\u202eETA"},
        {**GOOD_KEY, "sk": "META\x00"},
        "FARMER#F-1",
        ["FARMER#F-1"],
        7,
    ],
    ids=lambda k: json.dumps(k, ensure_ascii=True)[:60],
)
def test_an_edited_start_key_is_400(key):
    with pytest.raises(BadRequestError) as err:
        check_start_key(
            key, attrs=GOOD_KEY, partition=("gsi1pk", "FPO#FPO-1#FARMERS"), sort_prefix=("gsi1sk", "rampur#")
        )
    assert (err.value.status, err.value.code) == (400, "invalid_next_token")


def test_the_real_start_key_passes():
    assert (
        check_start_key(
            dict(GOOD_KEY), attrs=GOOD_KEY, partition=("gsi1pk", "FPO#FPO-1#FARMERS"), sort_prefix=("gsi1sk", "rampur#")
        )
        == GOOD_KEY
    )


def test_the_dynamo_farm_store_checks_start_before_querying():
    table = FakeTable()
    store = FakeTableStore(table)
    with pytest.raises(BadRequestError):
        store.query("FPO#FPO-1#FARMERS", index=True, start={**GOOD_KEY, "gsi1pk": "FPO#FPO-2#FARMERS"})
    with pytest.raises(BadRequestError):  # a base-table query takes the base-table key only
        store.query("FARMER#F-1", start=GOOD_KEY)
    assert table.calls == []
    store.query("FPO#FPO-1#FARMERS", index=True, prefix="rampur#", start=dict(GOOD_KEY))
    assert table.calls == ["Query"]


class FakeLedgerStore(DynamoLedgerStore):
    def __init__(self, table):
        super().__init__("ledger")
        self.fake = table

    @property
    def _table(self):
        return self.fake


LEDGER_KEY = {"pk": "REC#r-1", "sk": "R", "g_fpo": "FPO-1", "g_seq": "000000000007"}


@pytest.mark.parametrize(
    "cursor",
    [
        {**LEDGER_KEY, "g_fpo": "FPO-2"},
        {**LEDGER_KEY, "g_project": "P1"},
        {k: v for k, v in LEDGER_KEY.items() if k != "g_seq"},
        {**LEDGER_KEY, "g_seq": 7},
        {"seq": 7},
        "x",
    ],
)
def test_the_ledger_store_checks_its_cursor_before_querying(cursor):
    table = FakeTable()
    with pytest.raises(BadRequestError) as err:
        FakeLedgerStore(table).query_records("fpo_id", "FPO-1", 10, cursor, {})
    assert err.value.code == "invalid_next_token" and table.calls == []
    FakeLedgerStore(table).query_records("fpo_id", "FPO-1", 10, dict(LEDGER_KEY), {})
    assert table.calls == ["Query"]


# ---- GET /farmers -------------------------------------------------------------------------------------
@pytest.fixture
def farm(monkeypatch):
    store = InMemoryFarmStore()
    for fpo_id in ("FPO-1", "FPO-2"):
        store.transact(
            [
                Put(
                    FpoRecord(
                        fpo_id=fpo_id, name="One", state="Punjab", created_by="a", created_at=utc_iso_seconds_offset()
                    ).to_item()
                )
            ]
        )
    revocations = InMemoryRevocationStore()
    monkeypatch.setattr(farmers, "_revocation", lambda: revocations)
    farmers.app.dependency_overrides[farmers.get_context] = lambda: FarmContext(store=store, aadhaar_key=lambda: b"k")
    farmers.app.dependency_overrides[farmers.get_assignments] = Assignments().loader
    for i in range(4):
        for fpo_id, claims in (("FPO-1", MANAGER), ("FPO-2", claims_for("fpo_manager", user="m2", fpo="FPO-2"))):
            r = call(
                farmers,
                "POST",
                "/farmers",
                {
                    "name": f"F{i}",
                    "phone": f"+9198123456{i:02d}",
                    "village": "Rampur",
                    "district": "d",
                    "state": "s",
                    "fpo_id": fpo_id,
                    "consent": CONSENT,
                },
                claims=claims,
            )
            assert r.status == 201, r.body
    yield store
    farmers.app.dependency_overrides.clear()


def list_farmers(query: str):
    return call(farmers, "GET", "/farmers", claims=MANAGER, query=query)


def in_part(change):
    """A change to the DynamoDB key of a farmers-list position ({"p": list part, "k": key})."""

    def wrapped(value):
        value["k"] = {**value["k"], "k": change({"k": value["k"]["k"]})["k"]}
        return value

    return wrapped


FARMER_EDITS = {
    "another FPO's partition": in_part(with_key(gsi1pk="FPO#FPO-2#FARMERS")),
    "outside the village": in_part(with_key(gsi1sk="sonepur#F-x")),
    "extra attribute": in_part(with_key(extra="x")),
    "missing attribute": in_part(without_key("sk")),
    "number": in_part(with_key(sk=5)),
    "map": in_part(with_key(gsi1sk={"S": "x"})),
    "lone surrogate": in_part(with_key(gsi1sk="rampur#\ud800")),
    "string key": in_part(set_position("FARMER#F-1")),
    "string position": set_position("FARMER#F-1"),
    "list part out of range": lambda v: {**v, "k": {**v["k"], "p": 7}},
    "list part not an integer": lambda v: {**v, "k": {**v["k"], "p": True}},
    "extra position member": lambda v: {**v, "k": {**v["k"], "x": 1}},
    "another query": lambda v: {**v, "q": {**v["q"], "fpo_id": "FPO-2"}},
}


@pytest.mark.parametrize("name", FARMER_EDITS)
def test_list_farmers_with_an_edited_token_is_400(farm, name):
    first = list_farmers("village=rampur&limit=2")
    assert first.status == 200 and len(first.body["items"]) == 2 and first.body["next_token"]
    token = edit(first.body["next_token"], FARMER_EDITS[name])
    r = list_farmers(f"village=rampur&limit=2&next_token={quote(token)}")
    assert r.status == 400 and r.body["error"]["code"] == "invalid_next_token", r.body
    assert list_farmers(f"village=rampur&limit=2&next_token={first.body['next_token']}").status == 200


def test_list_farmers_pages_through_with_the_real_token(farm):
    first = list_farmers("limit=3")
    rest = list_farmers(f"limit=3&next_token={first.body['next_token']}")
    names = [f["name"] for f in first.body["items"] + rest.body["items"]]
    assert sorted(names) == ["F0", "F1", "F2", "F3"] and rest.body["next_token"] is None


# ---- GET /admin/users -----------------------------------------------------------------------------------
@pytest.fixture
def users(monkeypatch):
    idp = FakeIdp()
    for i in range(5):
        idp.sign_up(f"user{i}", "Str0ng-Passw0rd!", {})
    revocations = InMemoryRevocationStore()
    admin.app.dependency_overrides[admin.get_service] = lambda: AdminService(idp, revocations)
    monkeypatch.setattr(admin, "_revocation", lambda: revocations)
    yield idp
    admin.app.dependency_overrides.clear()


ADMIN_EDITS = {
    "a token Cognito refuses": set_position("not-a-cognito-token"),
    "number": set_position(2),
    "map": set_position({"t": "2"}),
    "control character": set_position("2\x00"),
    "another role": lambda v: {**v, "q": {"role": "admin"}},
}


@pytest.mark.parametrize("name", ADMIN_EDITS)
def test_list_users_with_an_edited_token_is_400(users, name):
    first = call(admin, "GET", "/admin/users", claims=ADMIN, query="limit=2")
    assert first.status == 200 and first.body["next_token"], first.body
    token = edit(first.body["next_token"], ADMIN_EDITS[name])
    r = call(admin, "GET", "/admin/users", claims=ADMIN, query=f"limit=2&next_token={quote(token)}")
    assert r.status == 400 and r.body["error"]["code"] == "invalid_next_token", r.body

"""Serials wherever they arrive (path, query, transfer/retire/cancel bodies, writer events): a bad one
is a 422 naming its field, never a 5xx; a range that is no block is a 404 (or an empty list)."""

from __future__ import annotations

from urllib.parse import urlencode

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from functions.ledger import handler
from functions.ledger import models as m
from functions.ledger.writer_handler import handle
from tests.unit.functions.conftest import call
from tests.unit.functions.ledger.conftest import Ledger
from tests.unit.functions.ledger.test_handler import ADMIN, OWNER, credit, get

SERIES = "AGM-P1-2025-R1"
BAD_SERIALS = {
    "reversed": f"{SERIES}-000000005-000000001",
    "zero unit": f"{SERIES}-000000000",
    "zero start": f"{SERIES}-000000000-000000002",
    "over the width": f"{SERIES}-0000000001-000000002",
    "ten digit unit": f"{SERIES}-1000000000",
    "short number": f"{SERIES}-1-2",
    "non-ASCII digits": f"{SERIES}-٠٠٠٠٠٠٠٠١",
    "empty": "",
    "three numbers": f"{SERIES}-000000001-000000002-000000003",
    "no series": "AGM-000000001",
}
SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


pytestmark = pytest.mark.usefixtures("wired_api")


def moves(serial: str) -> dict[str, dict]:
    return {
        "transfer": {"serial": serial, "quantity": 1, "to_ref": "BUYER-1", "client_token": "token-9000"},
        "retire": {
            "serial": serial,
            "quantity": 1,
            "beneficiary_ref": "B",
            "reason": "voluntary",
            "client_token": "token-9001",
        },
        "cancel": {"serial": serial, "quantity": 1, "reason": "other", "client_token": "token-9002"},
    }


def every_site(serial: str) -> dict[str, object]:
    """The answer of every route that parses a serial."""
    out = {"path": credit(serial, ADMIN), "query": get("/ledger/records", ADMIN, query=urlencode({"serial": serial}))}
    for route, body in moves(serial).items():
        out[route] = call(handler, "POST", f"/credits/{route}", body, claims=ADMIN)
    return out


@pytest.mark.parametrize("serial", BAD_SERIALS.values(), ids=BAD_SERIALS.keys())
def test_a_bad_serial_is_a_422_naming_its_field_at_every_site(ledger, serial):
    ledger.issue()
    before = dict(ledger.store.records)
    for site, r in every_site(serial).items():
        if site == "path" and not serial:
            assert r.status == 404 and r.body["error"]["code"] == "route_not_found"  # "/credits/" is no route
            continue
        field = {"path": "path.serial", "query": "query.serial"}.get(site, "body.serial")
        assert r.status == 422, (site, r.body)
        assert r.body["error"]["code"] == "validation_error"
        assert field in [d["field"] for d in r.body["error"]["details"]], (site, r.body)
    assert ledger.store.records == before and ledger.gateway.events == []  # a refusal stores nothing


def test_a_reversed_range_says_why():
    r = credit(BAD_SERIALS["reversed"], ADMIN)
    assert "end before it starts" in r.body["error"]["details"][0]["issue"]


def test_the_parser_refuses_reversed_zero_and_malformed_serials():
    assert m.parse_serial(f"{SERIES}-000000002-000000005") == (SERIES, 2, 5)
    assert m.parse_serial(f"{SERIES}-000000007") == (SERIES, 7, 7)
    assert m.parse_serial(f"{SERIES}-{m.MAX_SERIAL}") == (SERIES, m.MAX_SERIAL, m.MAX_SERIAL)
    for serial in [*BAD_SERIALS.values(), f"{SERIES}-000000001-000000002\n"]:  # (bodies strip whitespace first)
        with pytest.raises(m.InvalidSerial):
            m.parse_serial(serial)
    with pytest.raises(ValueError):
        m.parse_serial(None)  # type: ignore[arg-type]


def test_a_range_wider_than_any_block_is_not_found(ledger):
    issued = ledger.issue()
    block = issued.credits[0]  # 1..2
    wider = m.block_serial(SERIES, 1, 999_999_999)
    assert credit(wider, ADMIN).status == 404
    assert get("/ledger/records", ADMIN, query=f"serial={wider}").body["items"] == []
    assert get("/ledger/records", ADMIN, query=f"serial={block.serial}").body["items"] != []
    r = call(handler, "POST", "/credits/transfer", moves(wider)["transfer"], claims=ADMIN)
    assert r.status == 404 and r.body["error"]["code"] == "not_found"
    spanning = m.block_serial(SERIES, 2, 3)  # across two farmers' blocks
    assert credit(spanning, ADMIN).status == 404
    assert call(handler, "POST", "/credits/retire", moves(spanning)["retire"], claims=OWNER).status == 404


def test_the_writer_refuses_a_bad_serial_in_an_event_as_a_422(ledger):
    ledger.issue()
    actor = {"user_id": "admin-1", "is_admin": True}
    for command, body in moves(BAD_SERIALS["reversed"]).items():
        out = handle({"command": command, command: body, "actor": actor}, ledger.writer)
        assert out["ok"] is False and out["error"]["status"] == 422, out
        assert any(d["field"].endswith("serial") for d in out["error"]["details"])


_near = st.builds(
    lambda a, b, c: f"{SERIES}-{a}-{b}{c}",
    st.text("0123456789", max_size=11),
    st.text("0123456789-", max_size=11),
    st.sampled_from(["", "\n", " ", "\x00", "/x", "٣"]),
)


_ranges = st.builds(
    lambda a, b: f"{SERIES}-{a:09d}-{b:09d}", st.integers(0, m.MAX_SERIAL), st.integers(0, m.MAX_SERIAL)
)


@SETTINGS
@given(serial=st.one_of(st.text(max_size=80), _near, _ranges))
def test_any_string_as_a_serial_never_answers_5xx(serial):
    ledger = Ledger()
    ledger.serve(handler)
    ledger.issue()
    for site, r in every_site(serial).items():
        assert r.status < 500, (site, serial, r.body)
        assert r.status in (200, 404, 422), (site, serial, r.body)
    for command, body in moves(serial).items():  # and straight into the writer, as an event
        out = handle(
            {"command": command, command: body, "actor": {"user_id": "admin-1", "is_admin": True}}, ledger.writer
        )
        assert out["ok"] or out["error"]["status"] in (404, 409, 422), (command, serial, out)

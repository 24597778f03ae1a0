"""The public registry view over the fake ledger: fields, no personal data, statuses, proofs."""

from __future__ import annotations

from typing import Any

import pytest

from agri_common.ledger_crypto import root_from_proof
from functions.ledger import models as lm
from functions.registry import handler
from functions.registry.logic import RegistryReader
from tests.unit.functions.conftest import call
from tests.unit.functions.ledger.conftest import Ledger, approved_run

ADMIN = lm.Actor(user_id="admin-1", is_admin=True)
# Every key that carries personal data somewhere in the ledger, and must never reach the registry view.
PERSONAL_KEYS = {
    "farmer_id",
    "farmer_ref",
    "from_ref",
    "holder_ref",
    "owner_user_id",
    "user_id",
    "fpo_id",
    "approved_by",
    "contribution_t",
    "share_exact",
    "farmer_index",
    "name",
    "geometry",
    "record",
}


@pytest.fixture
def ledger() -> Ledger:
    return Ledger()


@pytest.fixture
def registry(ledger):
    handler.app.dependency_overrides[handler.get_registry] = lambda: RegistryReader(ledger.store, ledger.reader)
    yield ledger
    handler.app.dependency_overrides.clear()


def personal_values(ledger: Ledger) -> set[str]:
    """The farmers' ids, user ids, FPO, salted references and approver of the fake ledger."""
    values = {"auditor-sub-1", "FPO-1"}
    for record in ledger.store.records.values():
        for key in ("farmer_ref", "from_ref"):
            if record.body.get(key):
                values.add(str(record.body[key]))
        if record.owner_user_id:
            values.add(record.owner_user_id)
    values |= set(ledger.store.salt_items) | set(ledger.store.salt_items.values())
    return values


def walk(value: Any, path: str = "") -> list[tuple[str, Any]]:
    """(path, value) of every key and leaf in a JSON document."""
    out: list[tuple[str, Any]] = []
    if isinstance(value, dict):
        for key, item in value.items():
            out.append((f"{path}.{key}", key))
            out.extend(walk(item, f"{path}.{key}"))
    elif isinstance(value, list):
        for i, item in enumerate(value):
            out.extend(walk(item, f"{path}[{i}]"))
    else:
        out.append((path, value))
    return out


def assert_no_personal_data(body: dict, ledger: Ledger) -> None:
    secrets = personal_values(ledger)
    assert secrets, "the fixture must hold personal data to look for"
    for path, value in walk(body):
        key = path.rsplit(".", 1)[-1]
        assert key not in PERSONAL_KEYS, f"{path} is a personal-data field"
        if isinstance(value, str):
            for secret in secrets:
                assert secret not in value, f"{path} carries {secret!r}"


def retire(ledger: Ledger, serial: str, quantity: int) -> lm.WriterResult:
    cmd = lm.RetireCommand(
        serial=serial,
        quantity=quantity,
        beneficiary_ref="ACME-2025",
        reason="compensation",
        client_token="tok-retire-1",
    )
    return ledger.writer.handle(lm.WriterEvent(command="retire", retire=cmd, actor=ADMIN))


def get(path: str, resource: str, params: dict[str, str]):
    return call(handler, "GET", path, resource=resource, params=params)


def credit(serial: str):
    return get(f"/registry/credits/{serial}", "/registry/credits/{serial}", {"serial": serial})


def project(project_id: str, query: str = ""):
    return call(
        handler,
        "GET",
        f"/registry/projects/{project_id}",
        resource="/registry/projects/{project_id}",
        params={"project_id": project_id},
        query=query,
    )


def test_an_issued_credit_shows_its_registry_fields_and_an_anchored_proof(registry):
    block = registry.issue().credits[0]
    registry.anchor()
    r = credit(block.serial)
    assert r.status == 200, r.body
    body = r.body
    assert (body["serial"], body["status"], body["vintage"], body["project_id"]) == (block.serial, "active", 2025, "P1")
    assert (body["run_id"], body["methodology_profile"], body["gwp"]) == ("R1", "awd-rice-v1", "AR5")
    assert body["quantity"] == block.quantity and body["issued_at"] == "2026-01-01T00:00:00Z"
    assert body["retirement"] is None and body["cancellation"] is None
    [record] = body["proof"]["records"]
    assert record["kind"] == "issuance" and record["anchored"] is True
    stored = registry.store.records[record["record_id"]]
    assert record["record_hash"] == stored.body["record_hash"]
    # the published path leads from the record's hash to the root the anchor holds on chain
    assert root_from_proof(record["record_hash"], record["merkle_proof"]) == record["anchor"]["root"]
    assert record["anchor"]["tx_hash"] and record["anchor"]["chain_id"]
    assert "agri-ledger-verify" in body["proof"]["how_to_verify"]
    assert_no_personal_data(body, registry)


def test_a_unit_serial_answers_its_block(registry):
    block = registry.issue().credits[0]
    unit = lm.unit_serial(block.series, block.start)
    r = credit(unit)
    assert r.status == 200 and r.body["serial"] == block.serial


def test_a_retired_credit_shows_beneficiary_and_reason_and_both_records(registry):
    block = registry.issue().credits[0]
    retire(registry, block.serial, block.quantity)
    r = credit(block.serial)
    assert r.status == 200, r.body
    assert r.body["status"] == "retired"
    assert r.body["retirement"]["beneficiary_ref"] == "ACME-2025"
    assert r.body["retirement"]["reason"] == "compensation"
    assert [p["kind"] for p in r.body["proof"]["records"]] == ["issuance", "retirement"]
    pending = r.body["proof"]["records"][-1]  # the issuance was anchored with its run; the retirement waits
    assert pending["anchored"] is False and pending["anchor"] is None and pending["merkle_proof"] is None
    assert_no_personal_data(r.body, registry)
    registry.anchor()
    anchored = credit(block.serial).body["proof"]["records"]
    assert all(p["anchored"] for p in anchored)
    for p in anchored:
        assert root_from_proof(p["record_hash"], p["merkle_proof"]) == p["anchor"]["root"]


def test_a_partly_retired_block_splits_and_each_part_answers_its_own_status(registry):
    block = next(b for b in registry.issue().credits if b.quantity >= 2)
    retire(registry, block.serial, 1)
    retired = lm.block_serial(block.series, block.start, block.start)
    rest = lm.block_serial(block.series, block.start + 1, block.end)
    assert credit(retired).body["status"] == "retired"
    assert credit(rest).body["status"] == "active" and credit(rest).body["retirement"] is None
    # the original range is no longer one block: not found, like an unknown serial
    assert credit(block.serial).status == 404


@pytest.mark.parametrize(
    "serial",
    ["AGM-P1-2025-R1-000009999", "AGM-P9-2025-R1-000000001", "AGM-P1-2025-R1-000000001-000009999"],
)
def test_unknown_serials_answer_one_404(registry, serial):
    registry.issue()
    r = credit(serial)
    assert r.status == 404
    assert r.body["error"]["code"] == "not_found" and r.body["error"]["message"] == "credit not found"


@pytest.mark.parametrize(
    "serial", ["AGM-P1-2025-R1-1", "AGM-P1-2025-R1-000000000", "AGM-P1-2025-R1-000000005-000000002", "x"]
)
def test_malformed_serials_are_422_naming_the_path_parameter(registry, serial):
    r = credit(serial)
    assert r.status == 422
    assert r.body["error"]["details"][0]["field"] == "path.serial"


def test_a_project_shows_totals_by_vintage_and_its_anchors(registry):
    first = registry.issue()
    registry.issue(approved_run(run_id="R2", vintage=2026, net="5.2"))
    block = first.credits[0]
    retire(registry, block.serial, block.quantity)
    registry.anchor()
    r = project("P1")
    assert r.status == 200, r.body
    body = r.body
    issued_2025 = first.credits_total or sum(c.quantity for c in first.credits)
    by_vintage = {v["vintage"]: v for v in body["vintages"]}
    assert by_vintage[2025]["issued"] == issued_2025 == 10
    assert by_vintage[2025]["retired"] == block.quantity
    assert by_vintage[2025]["outstanding"] == issued_2025 - block.quantity
    assert by_vintage[2026]["issued"] == 5 and by_vintage[2026]["retired"] == 0
    assert body["issued"] == 15 and body["retired"] == block.quantity and body["cancelled"] == 0
    assert body["runs"] == ["AGM-P1-2025-R1", "AGM-P1-2026-R2"]
    assert body["methodology_profiles"] == ["awd-rice-v1"]
    assert body["records"] == len(registry.store.records) and body["unanchored_records"] == 0
    batches = {b.key_id for b in registry.store.batches.values() if b.status == "anchored"}
    assert {a["anchor_id"] for a in body["anchors"]} == batches
    assert_no_personal_data(body, registry)


def test_a_project_whose_records_predate_its_summary_is_counted_from_its_records_and_flagged(registry, monkeypatch):
    from functions.registry import logic

    monkeypatch.setattr(logic, "PAGE", 2)  # three farmers and a retirement: two pages and more
    block = registry.issue().credits[0]
    from_summary = project("P1").body
    assert from_summary["totals_from"] == "summary"
    del registry.store.summaries["P1"]  # as a project issued before the summary existed
    body = project("P1").body
    assert body["totals_from"] == "records"
    assert {k: v for k, v in body.items() if k != "totals_from"} == {
        k: v for k, v in from_summary.items() if k != "totals_from"
    }
    # a later record creates a summary holding that record only: never shown as the project's totals
    retire(registry, block.serial, block.quantity)
    assert registry.store.summaries["P1"].records == 1
    body = project("P1").body
    assert body["totals_from"] == "records"
    assert body["records"] == 4 and body["issued"] == 10 and body["retired"] == block.quantity
    assert body["unanchored_records"] == 1  # the retirement waits for the next anchoring
    # backfilled: from the summary again, the same totals
    from functions.ledger import summary_backfill

    summary_backfill.rebuild(registry.store)
    after = project("P1").body
    assert after["totals_from"] == "summary"
    assert {k: v for k, v in after.items() if k != "totals_from"} == {
        k: v for k, v in body.items() if k != "totals_from"
    }


class CountingStore:
    """The fake ledger store, counting the calls the registry makes and the records they return."""

    def __init__(self, store):
        self.store = store
        self.calls: list[str] = []
        self.records_read = 0

    def __getattr__(self, name):
        target = getattr(self.store, name)
        if not callable(target):
            return target

        def counted(*args, **kwargs):
            self.calls.append(name)
            out = target(*args, **kwargs)
            if name == "query_records":
                self.records_read += len(out[0])
            return out

        return counted


def test_a_project_read_costs_the_same_few_reads_whatever_its_number_of_records(registry):
    def cost(ledger: Ledger) -> tuple[list[str], int, dict]:
        counting = CountingStore(ledger.store)
        handler.app.dependency_overrides[handler.get_registry] = lambda: RegistryReader(counting, ledger.reader)
        r = project("P1")
        assert r.status == 200, r.body
        return counting.calls, counting.records_read, r.body

    small = registry
    small.issue(approved_run(farmers=3))
    small.anchor()
    large = Ledger()
    large.issue(approved_run(net="900.5", farmers=300))  # 300 farmers: ten append chunks, one batch
    block = next(iter(large.store.blocks.values()))
    retire(large, block.serial, 1)  # one record waits for anchoring
    small_calls, small_read, _ = cost(small)
    large_calls, large_read, body = cost(large)
    assert small_read == large_read == 0  # no record is read
    assert "query_records" not in large_calls and "records_by_seq" not in large_calls
    # + the batch of the record waiting (none: the list ends) and the bounded count of the records waiting
    assert len(large_calls) <= len(small_calls) + 2 and len(small_calls) <= 6
    assert body["records"] == len(large.store.records) and body["unanchored_records"] == 1


def test_a_project_pages_its_anchors_with_tokens_of_its_own_query(registry):
    for i in range(3):  # each issuance is anchored in a batch of its own
        registry.issue(approved_run(run_id=f"R{i}", farmers=2))
    registry.issue(approved_run(project_id="P2", run_id="R9", farmers=2))  # P2's batch lies between
    registry.issue(approved_run(run_id="R5", farmers=2))
    batches = [b for b in sorted(registry.store.batches.values(), key=lambda b: b.from_seq)]
    ours = [
        b.key_id
        for b in batches
        if any(r.project_id == "P1" for r in registry.store.records_by_seq(b.from_seq, b.to_seq))
    ]
    assert len(ours) == 4 and len(batches) == 5
    seen, token, pages = [], "", 0
    while True:
        body = project("P1", f"limit=1{token}").body
        pages += 1
        seen += [a["anchor_id"] for a in body["anchors"]]
        assert body["issued"] == 40 and body["records"] == 8  # the totals ride on every page
        if body["next_token"] is None:
            break
        token = f"&next_token={body['next_token']}"
    assert seen == ours and pages == 4
    assert project("P1").body["next_token"] is None  # one page of 20 holds them all
    two = project("P1", "limit=2").body
    assert [a["anchor_id"] for a in two["anchors"]] == ours[:2] and two["next_token"]
    # a token of another project's query, or edited, is a 400
    other = project("P2", f"next_token={two['next_token']}")
    assert other.status == 400 and other.body["error"]["code"] == "invalid_next_token"
    from agri_common.platform.pagination import page_token

    for position in ({"seq": "1"}, {"seq": 0}, {"seq": True}, {"from": 1}, {"seq": 10**12}):
        forged = page_token({"project_id": "P1"}, position)
        r = project("P1", f"next_token={forged}")
        assert r.status == 400 and r.body["error"]["code"] == "invalid_next_token", position
    assert project("P1", "limit=0").status == 422 and project("P1", "limit=101").status == 422


def test_the_count_of_records_waiting_for_anchoring_is_bounded(registry, monkeypatch):
    from functions.registry import logic

    registry.issue(approved_run(farmers=5))  # anchored with the issuance
    blocks = list(registry.store.blocks.values())
    for i, block in enumerate(blocks[:3]):
        cmd = lm.RetireCommand(
            serial=block.serial, quantity=1, beneficiary_ref="B", reason="voluntary", client_token=f"tok-retire-{i}"
        )
        registry.writer.handle(lm.WriterEvent(command="retire", retire=cmd, actor=ADMIN))
    assert project("P1").body["unanchored_records"] == 3
    monkeypatch.setattr(logic, "UNANCHORED_COUNT_BOUND", 2)
    body = project("P1").body
    assert (body["unanchored_records"], body["unanchored_more"]) == (2, True)
    registry.anchor()
    body = project("P1").body
    assert (body["unanchored_records"], body["unanchored_more"]) == (0, False)


def test_a_project_without_ledger_records_answers_404_like_an_unknown_one(registry):
    registry.issue()
    r = project("P2")
    assert r.status == 404
    assert r.body["error"] == {**r.body["error"], "code": "not_found", "message": "project not found"}


@pytest.mark.parametrize("project_id", ["P-1", "a" * 33, "P%201"])
def test_malformed_project_ids_are_422(registry, project_id):
    r = project(project_id)
    assert r.status == 422 and r.body["error"]["details"][0]["field"] == "path.project_id"


def test_a_cancelled_credit_shows_the_reason_and_the_project_counts_it(registry):
    block = registry.issue().credits[0]
    cmd = lm.CancelCommand(serial=block.serial, quantity=block.quantity, reason="reversal", client_token="tok-cancel-1")
    registry.writer.handle(lm.WriterEvent(command="cancel", cancel=cmd, actor=ADMIN))
    body = credit(block.serial).body
    assert body["status"] == "cancelled" and body["retirement"] is None
    assert body["cancellation"]["reason"] == "reversal"
    assert [p["kind"] for p in body["proof"]["records"]] == ["issuance", "cancellation"]
    totals = project("P1").body
    assert (totals["issued"], totals["cancelled"], totals["outstanding"]) == (10, block.quantity, 10 - block.quantity)
    assert_no_personal_data(body, registry)


def test_a_transferred_credit_hides_the_buyer_and_the_farmer(registry):
    block = registry.issue().credits[0]
    cmd = lm.TransferCommand(
        serial=block.serial, quantity=block.quantity, to_ref="BUYER-ACC-7", client_token="tok-move-1"
    )
    registry.writer.handle(lm.WriterEvent(command="transfer", transfer=cmd, actor=ADMIN))
    body = credit(block.serial).body
    assert body["status"] == "active"
    assert [p["kind"] for p in body["proof"]["records"]] == ["issuance", "transfer"]
    assert "BUYER-ACC-7" not in str(body)  # the holder is not published, a farmer or a buyer
    assert_no_personal_data(body, registry)
    assert project("P1").body["issued"] == 10  # a transfer changes no total

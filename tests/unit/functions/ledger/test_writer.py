"""The ledger writer: issuance arithmetic and serials, hash chain, idempotency, failures and anchoring."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from agri_common.ledger_crypto import GENESIS_HASH, batch_key, verify_chain
from agri_common.platform.errors import ConflictError, NotFoundError, UnprocessableError
from functions.ledger import models as m
from functions.ledger.issuance import split_credits
from tests.unit.functions.ledger.conftest import approved_run


@given(st.integers(0, 10_000), st.lists(st.decimals(0, 1000, places=3, allow_nan=False), min_size=1, max_size=40))
def test_split_sums_exactly_and_stays_within_one_of_the_quota(total, weights):
    counts = split_credits(total, weights)
    weight_sum = sum(weights, Decimal(0))
    if weight_sum == 0:
        assert counts == [0] * len(weights)
        return
    assert sum(counts) == total
    for count, weight in zip(counts, weights):
        assert abs(Decimal(count) - Decimal(total) * weight / weight_sum) < 1


def test_split_breaks_ties_by_input_order():
    assert split_credits(1, [Decimal(1), Decimal(1)]) == [1, 0]
    assert split_credits(2, [Decimal(1)] * 3) == [1, 1, 0]


def test_issuance_splits_whole_credits_into_serial_ranges_and_records_the_remainder(ledger):
    result = ledger.issue(approved_run(net="10.7"))  # weights 1, 2, 3 -> quotas 1.67, 3.33, 5
    assert [(c.start, c.end) for c in result.credits] == [(1, 2), (3, 5), (6, 10)]
    assert [c.serial for c in result.credits][0] == "AGM-P1-2025-R1-000000001-000000002"
    records = [ledger.store.records[i].body for i in result.record_ids]
    assert sum(r["quantity"] for r in records) == 10
    assert {r["run_fraction_carried_t"] for r in records} == {"0.7"}
    assert {r["run_issued"] for r in records} == {10}
    assert records[0]["deductions_t"] == {"buffer": "1.1", "uncertainty": "0.4"}
    assert records[0]["methodology_profile"] == "awd-rice-v1" and records[0]["gwp"] == "AR5"
    assert [r["share_exact"] for r in records] == ["1.666667", "3.333333", "5"]


def test_records_carry_only_salted_farmer_references(ledger):
    result = ledger.issue()
    for rid in result.record_ids:
        text = str(ledger.store.records[rid].body)
        assert "FARMER-" not in text and "user-" not in text
    refs = {ledger.store.records[r].body["farmer_ref"] for r in result.record_ids}
    assert len(refs) == 3 and all(len(r) == 64 for r in refs)


def test_records_form_one_hash_chain_from_the_genesis(ledger):
    ledger.issue()
    ledger.issue(approved_run(run_id="R2"))
    bodies = [r.body for r in ledger.store.records_by_seq(1, 10)]
    assert bodies[0]["prev_hash"] == GENESIS_HASH
    assert verify_chain(bodies) == ledger.store.head()[1]


def test_farmers_without_a_whole_credit_get_no_record(ledger):
    run = approved_run(net="1.2", farmers=3)  # quotas 0.17, 0.33, 0.5 -> the largest remainder wins
    result = ledger.issue(run)
    assert [(c.quantity) for c in result.credits] == [1]
    assert result.record_ids == ["AGM-P1-2025-R1:F00003"]


def test_rerunning_an_approved_run_issues_and_anchors_nothing_twice(ledger):
    first = ledger.issue()
    again = ledger.issue()
    assert again.created == 0 and again.record_ids == first.record_ids
    assert len(ledger.store.records) == 3 and ledger.chain.sent == 1 and len(ledger.store.batches) == 1


def test_the_same_run_with_other_content_is_refused(ledger):
    ledger.issue()
    with pytest.raises(ConflictError) as err:
        ledger.issue(approved_run(net="20"))
    assert err.value.code == "run_conflict"


def test_a_crash_between_storing_records_and_anchoring_loses_nothing(ledger):
    ledger.store.fail_append_after = 0  # the first append transaction fails: nothing is stored
    with pytest.raises(RuntimeError):
        ledger.issue(approved_run(farmers=40, net="1000"))  # 40 records: two append chunks
    assert ledger.store.records == {}
    ledger.store.fail_append_after = 1  # the second chunk fails after the first committed
    with pytest.raises(RuntimeError):
        ledger.issue(approved_run(farmers=40, net="1000"))
    assert 0 < len(ledger.store.records) < 40 and ledger.chain.sent == 0
    ledger.store.fail_append_after = None
    result = ledger.issue(approved_run(farmers=40, net="1000"))
    assert len(ledger.store.records) == 40 == len(result.record_ids)
    assert result.batches[-1].status == "anchored" and ledger.chain.sent == 1
    verify_chain([r.body for r in ledger.store.records_by_seq(1, 40)])


def test_a_concurrent_writer_moving_the_head_is_retried(ledger):
    ledger.store.move_head_once = True
    result = ledger.issue()
    assert result.created == 3
    verify_chain([r.body for r in ledger.store.records_by_seq(1, 3)])


def test_an_rpc_outage_leaves_the_batch_pending_and_a_retry_anchors_it_once(ledger):
    ledger.chain.down = 100
    result = ledger.issue()
    assert result.pending and result.batches[0].status == "pending" and result.batches[0].tx_hash is None
    assert ledger.sleeps and all(s <= 8 for s in ledger.sleeps)  # backed off, bounded
    assert ledger.artifacts.puts == 1
    ledger.chain.down = 0
    again = ledger.anchor()
    assert [b.status for b in again.batches] == ["anchored"] and ledger.chain.sent == 1
    assert ledger.artifacts.puts == 1  # the artifact is written once
    assert ledger.anchor().batches == []


def test_an_outage_after_sending_never_sends_twice(ledger):
    ledger.chain.auto_mine = False
    result = ledger.issue()
    batch = result.batches[0]
    assert batch.status == "pending" and batch.tx_hash  # sent, not mined: a stuck transaction
    ledger.chain.down = 3
    assert ledger.anchor().batches[0].status == "pending"
    ledger.chain.mine(batch.tx_hash)
    done = ledger.anchor().batches[0]
    assert done.status == "anchored" and done.tx_hash == batch.tx_hash and ledger.chain.sent == 1


def test_a_dropped_transaction_is_sent_again(ledger):
    ledger.chain.auto_mine = False
    first = ledger.issue().batches[0]
    ledger.chain.txs[first.tx_hash].dropped = True
    ledger.chain.auto_mine = True
    done = ledger.anchor().batches[0]
    assert done.status == "anchored" and done.tx_hash != first.tx_hash and ledger.chain.sent == 2


def test_a_duplicated_invocation_after_the_root_is_on_chain_settles_without_sending(ledger):
    ledger.chain.auto_mine = False
    first = ledger.issue().batches[0]
    ledger.chain.mine(first.tx_hash)
    ledger.store.update_batch(first, tx_hash=None)  # as if the writer died before saving the hash
    done = ledger.issue().batches[0]
    assert done.status == "anchored" and done.tx_hash == first.tx_hash and ledger.chain.sent == 1


def test_the_contract_refusing_a_second_root_is_never_a_second_anchor(ledger):
    ledger.issue()
    key = batch_key(ledger.store.batches[1].batch_id)
    assert ledger.chain.roots[key][0] == ledger.store.batches[1].root
    ledger.chain.send_anchor(key, "ab" * 32, 1)
    assert ledger.chain.roots[key][0] == ledger.store.batches[1].root


def test_batches_cover_contiguous_ranges_and_respect_the_maximum(ledger):
    ledger.writer.anchorer.max_batch = 4
    ledger.issue(approved_run(farmers=10, net="100"))
    ranges = [(b.from_seq, b.to_seq) for b in sorted(ledger.store.batches.values(), key=lambda b: b.from_seq)]
    assert ranges == [(1, 4), (5, 8), (9, 10)] and ledger.chain.sent == 3


def test_transfer_splits_the_block_and_is_idempotent(ledger):
    credit = ledger.issue().credits[2]  # user-2 owns 6..10
    actor = m.Actor(user_id="user-2", is_admin=False)
    cmd = m.TransferCommand(serial=credit.serial, quantity=2, to_ref="BUYER-ACME", client_token="token-0001")
    result = ledger.writer.mover.transfer(cmd, actor)
    moved, rest = result.credits
    assert (moved.start, moved.end, moved.holder_ref) == (6, 7, "BUYER-ACME")
    assert (rest.start, rest.end, rest.holder_ref) == (8, 10, credit.holder_ref)
    assert ledger.writer.mover.transfer(cmd, actor) == result  # a retry changes nothing and answers the same
    assert len(ledger.store.records) == 4
    record = ledger.store.records[result.record_ids[0]].body
    assert record["kind"] == "transfer" and record["from_ref"] == credit.holder_ref and record["quantity"] == 2
    assert ledger.chain.sent == 1  # transfers are not anchored one by one
    anchored = ledger.anchor().batches
    assert [(b.from_seq, b.to_seq) for b in anchored] == [(4, 4)]


def test_retirement_marks_the_credits_retired_and_they_cannot_move_again(ledger):
    credit = ledger.issue().credits[0]
    actor = m.Actor(user_id="user-0", is_admin=False)
    retire = m.RetireCommand(
        serial=credit.serial, quantity=2, beneficiary_ref="ACME", reason="voluntary", client_token="token-0002"
    )
    retired = ledger.writer.mover.retire(retire, actor).credits[0]
    assert retired.status == "retired" and retired.quantity == 2
    with pytest.raises(ConflictError):
        ledger.writer.mover.transfer(
            m.TransferCommand(serial=retired.serial, quantity=1, to_ref="B", client_token="token-0003"), actor
        )


def test_moving_more_than_the_block_or_someone_elses_credits_fails(ledger):
    credit = ledger.issue().credits[0]
    with pytest.raises(UnprocessableError):
        ledger.writer.mover.transfer(
            m.TransferCommand(serial=credit.serial, quantity=3, to_ref="B", client_token="token-0004"),
            m.Actor(user_id="user-0", is_admin=False),
        )
    with pytest.raises(NotFoundError):
        ledger.writer.mover.transfer(
            m.TransferCommand(serial=credit.serial, quantity=1, to_ref="B", client_token="token-0005"),
            m.Actor(user_id="user-1", is_admin=False),
        )


def test_writer_entry_point_answers_domain_errors_as_an_envelope(ledger):
    from functions.ledger.writer_handler import handle

    bad = handle({"command": "issue"}, ledger.writer)
    assert bad["ok"] is False and bad["error"]["status"] == 422
    assert handle({"command": "anchor"}, ledger.writer) == {
        "ok": True,
        "result": m.WriterResult(command="anchor").model_dump(mode="json"),
        "error": None,
        "next_farmer": None,
    }

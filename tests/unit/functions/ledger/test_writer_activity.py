"""The ledger writer's activity events: a page of the state machine's issuance and the anchoring
schedule each write one (the API's own calls are covered by their route's event)."""

from __future__ import annotations

import pytest

from functions.ledger import writer_handler
from infra.local.lambdas import LambdaContext

CTX = LambdaContext("writer", 128, "arn:aws:lambda:x:1:function:w", "r-1", timeout_s=10)
REF = {"key": "ledger/approved/prj_00000001/prj_00000001_2025_kharif/a1.json", "sha256": "0" * 64}


@pytest.fixture
def answers(monkeypatch):
    out = {"ok": True, "result": {}, "error": None, "next_farmer": None}
    monkeypatch.setattr(writer_handler, "get_writer", lambda: None)
    monkeypatch.setattr(writer_handler, "handle", lambda event, writer: out)
    return out


def test_an_issuance_page_is_one_pipeline_event_on_its_run(answers, activity_log):
    writer_handler.lambda_handler({"command": "issue", "run_ref": REF, "from_farmer": 0}, CTX)
    [event] = activity_log.all()
    assert event.action == "pipeline.issue_credits" and event.outcome == "ok"
    assert (event.target_kind, event.target_id, event.project_id) == ("run", "prj_00000001_2025_kharif", "prj_00000001")


def test_a_refused_command_and_a_crash_keep_their_outcome(answers, activity_log, monkeypatch):
    answers.update(ok=False, error={"code": "run_mismatch"})
    writer_handler.lambda_handler({"command": "anchor"}, CTX)

    def crash(event, writer):
        raise TimeoutError("chain RPC")

    monkeypatch.setattr(writer_handler, "handle", crash)
    with pytest.raises(TimeoutError):
        writer_handler.lambda_handler({"command": "anchor"}, CTX)
    assert [(e.action, e.outcome) for e in activity_log.all()] == [
        ("ledger.anchor", "run_mismatch"),
        ("ledger.anchor", "TimeoutError"),
    ]


def test_the_apis_own_commands_write_no_second_event(answers, activity_log):
    writer_handler.lambda_handler(
        {"command": "transfer", "transfer": {}, "actor": {"user_id": "u", "is_admin": True}}, CTX
    )
    assert activity_log.all() == [] and activity_log.intent_items == {}

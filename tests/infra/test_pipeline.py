"""The MRV state machine in the template: its shape, retries, failure routing, the auditor wait,
logging and tracing, and the least-privilege grants around it."""

from __future__ import annotations

import json

import pytest

from infra.pipeline import TASKS
from tests.infra.cfn import as_list, domain_functions, only, resources, role_of, role_statements


@pytest.fixture(scope="module")
def machine(template):
    return only(template, "AWS::StepFunctions::StateMachine")


@pytest.fixture(scope="module")
def definition(machine):
    """The definition with intrinsic references replaced by their logical ids."""
    parts = machine[1]["Properties"]["DefinitionString"]["Fn::Join"][1]
    text = "".join(p if isinstance(p, str) else f"<{(p.get('Fn::GetAtt') or [p.get('Ref')])[0]}>" for p in parts)
    return json.loads(text)


def test_states_and_order(definition):
    s = definition["States"]
    assert definition["StartAt"] == "Plan"
    assert [
        s["Plan"]["Next"],
        s["CalculateChunks"]["Next"],
        s["ChooseFactors"]["Next"],
        s["ConservativeChunks"]["Next"],
        s["Aggregate"]["Next"],
        s["Verify"]["Next"],
        s["Reports"]["Next"],
        s["AwaitAuditor"]["Next"],
        s["VerificationReport"]["Next"],
        s["Ledger"]["Next"],
        s["IssueCredits"]["Next"],
        s["MoreFarmers?"]["Default"],
    ] == [
        "CalculateChunks",
        "ChooseFactors",
        "ConservativeChunks",
        "Aggregate",
        "Verify",
        "Reports",
        "AwaitAuditor",
        "VerificationReport",
        "Ledger",
        "IssueCredits",
        "MoreFarmers?",
        "RecordApproved",
    ]
    assert s["VerificationReportDeclined"]["Next"] == "RecordDecision"
    assert s["VerificationReport"]["Parameters"]["Payload"]["phase"] == "decided"


@pytest.mark.parametrize(
    "state, items", [("CalculateChunks", "$.plan.chunks"), ("ConservativeChunks", "$.conservative.chunks")]
)
def test_map_over_chunk_indexes_with_bounded_concurrency(definition, state, items):
    m = definition["States"][state]
    assert m["Type"] == "Map" and m["ItemsPath"] == items and 1 <= m["MaxConcurrency"] <= 40
    assert m["ItemSelector"]["index.$"] == "$$.Map.Item.Value"
    assert m["ResultPath"] is None  # chunk results stay in S3, not in the state
    assert (["States.ALL"], "RecordFailure") in [
        (c["ErrorEquals"], definition["States"][c["Next"]]["Next"]) for c in m["Catch"]
    ]


def test_conservative_choice_runs_in_the_aggregate_function_and_pass_2_in_its_own(definition, template):
    functions = domain_functions(template)
    s = definition["States"]
    choose = s["ChooseFactors"]
    assert choose["Parameters"]["FunctionName"] == f"<{functions['pipeline-aggregate'][0]}>"
    assert (
        choose["Parameters"]["Payload"]["phase"] == "choose" and choose["Parameters"]["Payload"]["plan.$"] == "$.plan"
    )
    assert choose["ResultSelector"] == {"chunks.$": "$.Payload.chunks"}
    inner = s["ConservativeChunks"]["ItemProcessor"]["States"]["ConservativeChunk"]
    assert inner["Parameters"]["FunctionName"] == f"<{functions['pipeline-basis'][0]}>"


def test_every_task_retries_transient_errors_and_routes_failures(definition):
    for name, state in definition["States"].items():
        if state["Type"] != "Task":
            continue
        assert any(r.get("BackoffRate", 1) > 1 and "ClientError" in r["ErrorEquals"] for r in state["Retry"]), name
        if name not in ("RecordFailure", "RecordDecision"):
            catches = {definition["States"][c["Next"]].get("Next") for c in state.get("Catch", [])}
            assert "RecordFailure" in catches, name  # by way of "<state> failed", which names the step
    assert definition["States"]["RecordFailure"]["Next"] == "Failed"
    assert definition["States"]["Failed"]["Type"] == "Fail"


def test_every_failure_path_names_the_run_step_of_the_state_that_failed(definition):
    """A Catch -> a Pass that writes the step into the error (``$.error.step``) -> RecordFailure,
    so the run names the step even when its task failed before writing a step record."""
    from agri_common.pipeline_table import STEPS

    states = dict(definition["States"])
    for state in definition["States"].values():
        states.update((state.get("ItemProcessor") or {}).get("States", {}))
    named = {}
    for name, state in definition["States"].items():
        for catch in state.get("Catch", []):
            target = states[catch["Next"]]
            if target.get("Next") != "RecordFailure":
                continue
            assert catch["ErrorEquals"] == ["States.ALL"] and catch["ResultPath"] == "$.error", name
            assert target["Type"] == "Pass" and target["ResultPath"] == "$.error.step", name
            named[name] = target["Result"]
    assert set(named.values()) <= set(STEPS)
    assert named == {
        "Plan": "plan",
        "CalculateChunks": "calculate",
        "ChooseFactors": "conservative_choice",
        "ConservativeChunks": "conservative_basis",
        "Aggregate": "aggregate",
        "Verify": "verify",
        "Reports": "reports",
        "AwaitAuditor": "await_decision",
        "VerificationReport": "verification_report",
        "VerificationReportDeclined": "verification_report",
        "Ledger": "ledger",
        "IssueCredits": "ledger",
        "RecordApproved": "outcome",
    }


def test_auditor_wait_uses_a_task_token_with_heartbeat_and_timeout(definition):
    w = definition["States"]["AwaitAuditor"]
    assert w["Resource"] == "arn:<AWS::Partition>:states:::lambda:invoke.waitForTaskToken"
    assert w["Parameters"]["Payload"]["task_token.$"] == "$$.Task.Token"
    assert 0 < w["HeartbeatSeconds"] < w["TimeoutSeconds"]
    catches = [(c["ErrorEquals"], c["Next"]) for c in w["Catch"]] + [
        (c["ErrorEquals"], definition["States"][c["Next"]].get("Next")) for c in w["Catch"]
    ]  # via "<state> failed"
    assert (["Rejected", "CorrectionsRequested"], "VerificationReportDeclined") in catches
    assert (["States.ALL"], "RecordFailure") in catches


def test_the_approved_run_goes_to_the_writer_by_reference_in_pages(definition, template):
    functions = domain_functions(template)
    writer_lid, writer = functions["ledger-writer"]
    prepare_lid, prepare = functions["pipeline-approved_run"]
    s = definition["States"]
    assert s["Ledger"]["Parameters"]["FunctionName"] == f"<{prepare_lid}>"
    issue = s["IssueCredits"]
    assert issue["Parameters"]["FunctionName"] == f"<{writer_lid}>"  # the state machine invokes the writer itself
    assert issue["Parameters"]["Payload"] == {
        "command": "issue",
        "run_ref.$": "$.ledger.run_ref",
        "from_farmer.$": "$.ledger.from_farmer",
    }
    assert issue["ResultSelector"]["next_farmer.$"] == "$.Payload.next_farmer"
    assert (["States.ALL"], "RecordFailure") in [(c["ErrorEquals"], s[c["Next"]]["Next"]) for c in issue["Catch"]]
    retried = [e for r in issue["Retry"] for e in r["ErrorEquals"]]
    assert "ClientError" in retried and "DependencyError" in retried  # the writer raises a page's 5xx errors
    # the loop: a numeric next_farmer goes round again, anything else (done, refused) records the outcome
    more = s["MoreFarmers?"]
    assert more["Choices"] == [{"Variable": "$.issued.next_farmer", "IsNumeric": True, "Next": "NextPage"}]
    assert s["NextPage"]["Next"] == "IssueCredits"
    assert s["NextPage"]["Parameters"]["from_farmer.$"] == "$.issued.next_farmer"
    assert s["RecordApproved"]["Next"] == "LedgerWritten?"
    # the preparing task writes approved runs only, and invokes nothing
    statements = role_statements(template, role_of(prepare))
    assert not [st for st in statements if "lambda:InvokeFunction" in as_list(st["Action"])]
    puts = [json.dumps(st["Resource"]) for st in statements if as_list(st["Action"]) == ["s3:PutObject"]]
    assert puts and all("/ledger/approved/*" in p for p in puts)
    # the writer reads what the task wrote (ledger/ of the audit bucket) and has time for the last page's anchoring
    reads = [st for st in role_statements(template, role_of(writer)) if "s3:GetObject" in as_list(st["Action"])]
    assert any("/ledger/*" in json.dumps(st["Resource"]) for st in reads)
    assert writer["Properties"]["Timeout"] == 900


def test_logging_and_tracing(machine):
    props = machine[1]["Properties"]
    assert props["TracingConfiguration"] == {"Enabled": True}
    assert props["LoggingConfiguration"]["Level"] == "ALL"


def test_one_function_and_role_per_task(template):
    functions = domain_functions(template)
    roles = {role_of(functions[f"pipeline-{t}"][1]) for t in TASKS}
    assert len(roles) == len(TASKS)
    for task in TASKS:
        handler = functions[f"pipeline-{task}"][1]["Properties"]["Handler"]
        assert handler == f"functions.pipeline.{task}.lambda_handler"


def _actions(template, fn_name):
    functions = domain_functions(template)
    return {a for s in role_statements(template, role_of(functions[fn_name][1])) for a in as_list(s["Action"])}


def test_only_the_farm_reading_tasks_read_the_farm_table(template):
    farm = next(
        lid
        for lid, r in resources(template, "AWS::DynamoDB::Table").items()
        if r["Metadata"]["agri:resource"] == "farm"
    )
    functions = domain_functions(template)
    for task, spec in TASKS.items():
        statements = role_statements(template, role_of(functions[f"pipeline-{task}"][1]))
        touches = any(f"'{farm}'" in str(s["Resource"]) for s in statements)
        assert touches == bool(spec.get("farm")), task


def test_task_responses_and_starts_are_granted_to_their_domains_only(template):
    assert {"states:SendTaskSuccess", "states:SendTaskFailure", "states:SendTaskHeartbeat"} <= _actions(
        template, "verification"
    )
    assert "states:StartExecution" in _actions(template, "projects")
    assert "states:StartExecution" not in _actions(template, "verification")
    assert not any(a.startswith("states:SendTask") for a in _actions(template, "projects"))
    # only unassigning an auditor deletes a pipeline item
    assert "dynamodb:DeleteItem" in _actions(template, "projects")
    assert "dynamodb:DeleteItem" not in _actions(template, "verification")
    for task in TASKS:
        assert not any(a.startswith("states:") for a in _actions(template, f"pipeline-{task}"))


def _task_states(states: dict):
    """Every Task state, also those inside a Map's item processor or a Parallel's branches."""
    for name, state in states.items():
        if state["Type"] == "Task":
            yield name, state
        inner = state.get("ItemProcessor") or state.get("Iterator")
        for sub in ([inner] if inner else []) + state.get("Branches", []):
            yield from _task_states(sub["States"])


def _retrier(state: dict, error: str) -> dict | None:
    """The retrier Step Functions applies to ``error``: the first whose ErrorEquals names it (or States.ALL)."""
    return next(
        (r for r in state.get("Retry", []) if error in r["ErrorEquals"] or "States.ALL" in r["ErrorEquals"]), None
    )


def test_a_throttled_transaction_in_a_task_is_retried_by_every_task_state(definition):
    """A real task on the real store, whose DynamoDB transaction is cancelled because it was throttled:
    the error type the Lambda reports (the exception's class name) is one every task state retries
    with backoff; the ledger writer's page retries it longer (its own retrier comes first)."""
    from agri_common.platform.errors import DependencyError
    from functions.pipeline import core, outcome
    from tests.unit.fakes.mrv import MemoryObjects
    from tests.unit.layers.common.test_aws_unavailable import FakeTable, FakeTableStore, client_error

    throttled = client_error(
        "TransactionCanceledException", "TransactWriteItems", reasons=[{"Code": "None"}, {"Code": "ThrottlingError"}]
    )
    table = FakeTable(fail={"TransactWriteItems": throttled})
    ctx = core.Context(store=FakeTableStore(table), objects=MemoryObjects())
    approved = {"project_id": "P1", "run_id": "R1", "attempt": 1, "period": "2025-kharif"}
    with pytest.raises(DependencyError) as err:
        outcome.record_outcome({**approved, "issued": {"ok": True, "body": {"ok": True, "result": {}}}}, ctx)
    assert table.calls == ["TransactWriteItems"]
    error_type = type(err.value).__name__  # Lambda's errorType, what a Retry's ErrorEquals matches

    states = list(_task_states(definition["States"]))
    assert len(states) >= 10
    for name, state in states:
        retrier = _retrier(state, error_type)
        assert retrier is not None and retrier["MaxAttempts"] >= 2 and retrier["BackoffRate"] > 1, name
    assert _retrier(definition["States"]["IssueCredits"], error_type)["MaxAttempts"] == 6

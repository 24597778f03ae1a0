"""The twin creates state machines from the template and moto runs them against our handlers."""

from __future__ import annotations

import json
import os
import time

import boto3
import pytest

from infra.local.twin import LocalTwin

FN = {
    "Type": "AWS::Lambda::Function",
    "Metadata": {"agri:domain": "test"},
    "Properties": {"Runtime": "python3.14", "Role": {"Fn::GetAtt": ["Role", "Arn"]}, "Code": {"ZipFile": "x"}},
}
DEFINITION = {
    "StartAt": "Double",
    "States": {
        "Double": {
            "Type": "Task",
            "Resource": "arn:aws:states:::lambda:invoke",
            "Parameters": {"FunctionName": "${DoubleArn}", "Payload.$": "$"},
            "OutputPath": "$.Payload",
            "Next": "Check",
        },
        "Check": {
            "Type": "Choice",
            "Choices": [{"Variable": "$.value", "NumericGreaterThan": 10, "Next": "Explode"}],
            "Default": "Small",
        },
        "Small": {"Type": "Fail", "Error": "TooSmall", "Cause": "value <= 10"},
        "Explode": {
            "Type": "Task",
            "Resource": "arn:aws:states:::lambda:invoke",
            "Parameters": {"FunctionName": "${ExplodeArn}", "Payload.$": "$"},
            "Catch": [{"ErrorEquals": ["States.ALL"], "ResultPath": "$.error", "Next": "Caught"}],
            "End": True,
        },
        "Caught": {"Type": "Pass", "End": True},
    },
}
TEMPLATE = {
    "Resources": {
        "Role": {"Type": "AWS::IAM::Role", "Properties": {"AssumeRolePolicyDocument": {}}},
        "DoubleFn": {**FN, "Properties": {**FN["Properties"], "Handler": "tests.integration.sfn_handlers.double"}},
        "ExplodeFn": {**FN, "Properties": {**FN["Properties"], "Handler": "tests.integration.sfn_handlers.explode"}},
        "Machine": {
            "Type": "AWS::StepFunctions::StateMachine",
            "Properties": {
                "RoleArn": {"Fn::GetAtt": ["Role", "Arn"]},
                "DefinitionString": {"Fn::Join": ["", [json.dumps(DEFINITION)]]},
                "DefinitionSubstitutions": {
                    "DoubleArn": {"Fn::GetAtt": ["DoubleFn", "Arn"]},
                    "ExplodeArn": {"Fn::GetAtt": ["ExplodeFn", "Arn"]},
                },
            },
        },
    }
}


@pytest.fixture(scope="module")
def twin():
    saved = dict(os.environ)
    from agri_common.platform.aws import reset_clients

    twin = LocalTwin(template=TEMPLATE, seed_users=False, schedules=False).start()
    yield twin
    twin.stop()
    os.environ.clear()
    os.environ.update(saved)
    reset_clients()


def run(twin, value: int) -> dict:
    sfn = boto3.client("stepfunctions")
    arn = twin.resolver.ref("Machine")
    execution = sfn.start_execution(
        stateMachineArn=arn, name=f"t-{value}-{time.time_ns()}", input=json.dumps({"value": value})
    )["executionArn"]
    deadline = time.monotonic() + 30
    while True:
        desc = sfn.describe_execution(executionArn=execution)
        if desc["status"] != "RUNNING" or time.monotonic() > deadline:
            return desc
        time.sleep(0.1)


def test_success_path_runs_the_real_handler(twin):
    desc = run(twin, 3)  # 6: not > 10, so the machine fails on purpose at "Small"
    assert desc["status"] == "FAILED"
    assert desc.get("error") == "TooSmall"


def test_handler_errors_reach_catch_as_on_aws(twin):
    desc = run(twin, 8)  # 16 > 10 -> Explode raises -> Catch -> Caught
    assert desc["status"] == "SUCCEEDED", desc
    output = json.loads(desc["output"])
    assert output["value"] == 16 and output["request_id"]
    assert "cannot handle 16" in output["error"]["Cause"]

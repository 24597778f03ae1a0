"""moto's Step Functions interpreter, as the twin mends it (infra/local/moto_ext.py): StopExecution ends
an execution that waits for a task token (sent with an SQS message here; AwaitAuditor sends it to a
Lambda function) at once, ABORTED with its stop date, as AWS does."""

from __future__ import annotations

import json
import time

import boto3
from moto import mock_aws
from moto.core.config import default_user_config

from infra.local import moto_ext


def test_stopping_a_waiting_execution_aborts_it(monkeypatch):
    moto_ext.install()
    monkeypatch.setitem(default_user_config, "stepfunctions", {"execute_state_machine": True})
    with mock_aws():
        sfn = boto3.client("stepfunctions", region_name="ap-south-1")
        queue = boto3.client("sqs", region_name="ap-south-1").create_queue(QueueName="tokens")["QueueUrl"]
        wait = {
            "Type": "Task",
            "Resource": "arn:aws:states:::sqs:sendMessage.waitForTaskToken",
            "Parameters": {"QueueUrl": queue, "MessageBody": {"token.$": "$$.Task.Token"}},
            "End": True,
        }
        definition = {"StartAt": "Wait", "States": {"Wait": wait}}
        machine = sfn.create_state_machine(
            name="m", definition=json.dumps(definition), roleArn="arn:aws:iam::123456789012:role/r"
        )["stateMachineArn"]
        arn = sfn.start_execution(stateMachineArn=machine, name="e1")["executionArn"]
        # waiting for its token: the message is on the queue (RUNNING alone may still be before the send)
        sqs = boto3.client("sqs", region_name="ap-south-1")
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            attributes = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["ApproximateNumberOfMessages"])
            if int(attributes["Attributes"]["ApproximateNumberOfMessages"]) >= 1:
                break
            time.sleep(0.05)
        assert sfn.describe_execution(executionArn=arn)["status"] == "RUNNING"
        sfn.stop_execution(executionArn=arn, error="RunStuck", cause="swept")
        described = sfn.describe_execution(executionArn=arn)
        assert described["status"] == "ABORTED"
        assert "stopDate" in described

"""The MRV state machine seen from the API functions: start and describe executions, answer
task tokens (the auditor's decision), heartbeats. Errors become domain errors (never a 500)."""

from __future__ import annotations

import json
from typing import Any

from agri_common.platform.errors import AppError, ConflictError, DependencyError


def _map(exc: Exception) -> AppError:
    code = getattr(exc, "response", {}).get("Error", {}).get("Code", "")
    if code in ("ExecutionAlreadyExists",):
        return ConflictError("An execution with this name already exists", code="execution_exists")
    if code in ("TaskTimedOut", "TaskDoesNotExist", "InvalidToken"):
        return ConflictError("The run no longer waits for this decision (timed out or finished)", code="task_closed")
    return DependencyError(f"Step Functions failed: {code or type(exc).__name__}")


class StepFunctionsWorkflow:
    def __init__(self, state_machine_arn: str):
        self.arn = state_machine_arn

    @property
    def _sfn(self) -> Any:
        from agri_common.platform.aws import client

        return client("stepfunctions")

    def _call(self, op: str, **kwargs: Any) -> dict[str, Any]:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            answer: dict[str, Any] = getattr(self._sfn, op)(**kwargs)
            return answer
        except (ClientError, BotoCoreError) as exc:
            raise _map(exc) from exc

    def start(self, name: str, payload: dict[str, Any]) -> str:
        arn: str = self._call("start_execution", stateMachineArn=self.arn, name=name, input=json.dumps(payload))[
            "executionArn"
        ]
        return arn

    def describe(self, execution_arn: str) -> dict[str, Any]:
        return self._call("describe_execution", executionArn=execution_arn)

    def send_success(self, token: str, output: dict[str, Any]) -> None:
        self._call("send_task_success", taskToken=token, output=json.dumps(output))

    def send_failure(self, token: str, error: str, cause: str) -> None:
        self._call("send_task_failure", taskToken=token, error=error, cause=cause[:32000])

    def heartbeat(self, token: str) -> None:
        self._call("send_task_heartbeat", taskToken=token)

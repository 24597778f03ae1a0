"""The API's way to the ledger writer: a synchronous Lambda invoke (the API's role cannot write the
ledger; it may only invoke the writer), and the writer's answer turned back into a result or the
writer's domain error."""

from __future__ import annotations

import json
from typing import Any

from agri_common.platform.errors import AppError, DependencyError
from functions.ledger import models as m
from functions.ledger.dal import dependency_error


class LambdaWriterGateway:
    """The writer, invoked synchronously (RequestResponse)."""

    def __init__(self, function_name: str):
        self.function_name = function_name

    def submit(self, event: m.WriterEvent) -> m.WriterResult:
        from botocore.exceptions import BotoCoreError, ClientError

        from agri_common.platform.aws import client

        try:
            resp = client("lambda").invoke(
                FunctionName=self.function_name,
                InvocationType="RequestResponse",
                Payload=event.model_dump_json(exclude_none=True).encode(),
            )
        except (BotoCoreError, ClientError) as exc:
            raise dependency_error(exc, "ledger writer") from exc
        payload = json.loads(resp["Payload"].read() or b"{}")
        if resp.get("FunctionError"):
            raise DependencyError("The ledger writer failed")
        return writer_result(payload)


def writer_result(payload: dict[str, Any]) -> m.WriterResult:
    """Turn the writer's answer back into a result, or re-raise its domain error as is."""
    if payload.get("ok"):
        return m.WriterResult.model_validate(payload["result"])
    error = payload.get("error") or {}
    exc = AppError(error.get("message", "ledger writer error"), code=error.get("code"), details=error.get("details"))
    exc.status = int(error.get("status", 500))
    raise exc

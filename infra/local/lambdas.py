"""Run our Lambda handlers in-process, one event at a time per function, as Lambda does.

The handler string comes from the template (e.g. ``functions.auth.handler.lambda_handler``); the
module is imported on first use (a cold start) and reused afterwards.
"""

from __future__ import annotations

import importlib
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from infra.local.template import ACCOUNT_ID, FunctionSpec


@dataclass
class LambdaContext:
    function_name: str
    memory_limit_in_mb: int
    invoked_function_arn: str
    aws_request_id: str
    timeout_s: int
    function_version: str = "$LATEST"
    log_group_name: str = ""
    log_stream_name: str = "local"

    def __post_init__(self) -> None:
        self._deadline = time.monotonic() + self.timeout_s
        self.log_group_name = f"/aws/lambda/{self.function_name}"

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.monotonic()) * 1000))


class LocalFunction:
    def __init__(self, spec: FunctionSpec, name: str, region: str):
        self.spec = spec
        self.name = name
        self.arn = f"arn:aws:lambda:{region}:{ACCOUNT_ID}:function:{name}"
        self._lock = threading.Lock()  # a Lambda execution environment handles one event at a time
        self._handler: Callable[[dict, Any], Any] | None = None

    def _load(self) -> Callable[[dict, Any], Any]:
        if self._handler is None:
            module_name, attr = self.spec.handler.rsplit(".", 1)
            self._handler = getattr(importlib.import_module(module_name), attr)
        return self._handler

    def invoke(self, event: dict) -> Any:
        with self._lock:
            handler = self._load()
            context = LambdaContext(
                function_name=self.name,
                memory_limit_in_mb=self.spec.memory_mb,
                invoked_function_arn=self.arn,
                aws_request_id=str(uuid.uuid4()),
                timeout_s=self.spec.timeout_s,
            )
            return handler(event, context)


def merged_environment(functions: dict[str, dict[str, Any]]) -> dict[str, str]:
    """One process hosts every function, so their environments must agree on shared names."""
    merged: dict[str, str] = {}
    for fname, env in functions.items():
        for key, value in env.items():
            text = str(value)
            if key in merged and merged[key] != text:
                raise ValueError(
                    f"Functions disagree on {key} ({merged[key]!r} vs {text!r} in {fname}); "
                    "the local twin runs them in one process"
                )
            merged[key] = text
    return merged

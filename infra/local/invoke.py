"""Lambda's Invoke API in the twin: moto's Lambda backend, pointed at our in-process handlers.

moto's Lambda backends do not run our code (the Docker-free one echoes the payload). A function of
the template (registered here by the twin, or by a test) that is invoked through Lambda's API — by
another function with boto3 (e.g. the ledger API calling the ledger writer) or by a Step Functions
``lambda:invoke`` task — runs in-process instead, one event at a time, exactly as the HTTP front runs
API handlers. An exception becomes ``FunctionError: Unhandled`` with Lambda's error payload, so
Step Functions' Retry/Catch see what they would on AWS. Unknown names fall through to moto.
No business logic here.
"""

from __future__ import annotations

import json
import traceback
from collections.abc import Callable
from typing import Any

_targets: dict[str, Callable[[dict], Any]] = {}


def register(name: str, arn: str, invoke: Callable[[dict], Any]) -> None:
    _targets[name] = invoke
    _targets[arn] = invoke


def clear() -> None:
    _targets.clear()


def install() -> None:
    """Patch moto's Lambda backends (Docker and Docker-free) once; idempotent."""
    from moto.awslambda.models import LambdaBackend
    from moto.awslambda_simple.models import LambdaSimpleBackend

    for backend in (LambdaBackend, LambdaSimpleBackend):  # the simple one overrides invoke itself
        if not backend.__dict__.get("_agri_local_invoke", False):
            backend.invoke = _routed(backend.invoke)
            backend._agri_local_invoke = True


def _routed(original: Callable[..., Any]) -> Callable[..., Any]:
    def invoke(self, function_name, qualifier, body, headers, response_headers):
        target = _targets.get(function_name) or _targets.get(str(function_name).rsplit(":", 1)[-1])
        if target is None:
            return original(self, function_name, qualifier, body, headers, response_headers)
        event = json.loads(body or b"{}")
        try:
            result = target(event)
        except Exception as exc:  # what Lambda reports for an unhandled error
            response_headers["x-amz-function-error"] = "Unhandled"
            return json.dumps(
                {
                    "errorMessage": str(exc),
                    "errorType": type(exc).__name__,
                    "stackTrace": traceback.format_exc().splitlines(),
                }
            ).encode()
        return json.dumps(result).encode()

    return invoke

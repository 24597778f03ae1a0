"""The twin's JSON-RPC bridge only forwards, in JSON-RPC's wire encoding; lambda:Invoke emulation
dispatches to registered handlers and reports their failures as Lambda does."""

from __future__ import annotations

import json

from infra.local import invoke
from infra.local.chain import _encode, _forward


def test_results_use_the_json_rpc_encoding():
    raw = {
        "blockNumber": 2,
        "status": 1,
        "root": b"\x01\xff",
        "logs": [{"topics": ["0xab"], "removed": False}],
        "to": None,
    }
    assert _encode(raw) == {
        "blockNumber": "0x2",
        "status": "0x1",
        "root": "0x01ff",
        "logs": [{"topics": ["0xab"], "removed": False}],
        "to": None,
    }


def test_forward_keeps_the_request_id_and_turns_node_errors_into_rpc_errors():
    def rpc(method, params):
        if method == "boom":
            raise ValueError("execution reverted")
        return {"id": "internal", "jsonrpc": "2.0", "result": 5}

    assert _forward(rpc, {"id": 42, "method": "eth_blockNumber"}) == {"id": 42, "jsonrpc": "2.0", "result": "0x5"}
    assert _forward(rpc, {"id": 1, "method": "boom"})["error"] == {"code": -32000, "message": "execution reverted"}


def test_invoke_dispatches_registered_functions_and_reports_errors():
    from moto.awslambda.models import LambdaBackend

    invoke.install()
    invoke.register("writer", "arn:aws:lambda:ap-south-1:123456789012:function:writer", lambda e: {"echo": e})
    invoke.register("broken", "arn:aws:lambda:ap-south-1:123456789012:function:broken", lambda e: 1 / 0)
    try:
        headers: dict = {}
        out = LambdaBackend.invoke(
            None, "arn:aws:lambda:ap-south-1:123456789012:function:writer", None, b'{"a": 1}', {}, headers
        )
        assert json.loads(out) == {"echo": {"a": 1}} and not headers
        err = LambdaBackend.invoke(None, "broken", None, b"{}", {}, headers)
        assert headers["x-amz-function-error"] == "Unhandled" and json.loads(err)["errorType"] == "ZeroDivisionError"
    finally:
        invoke.clear()

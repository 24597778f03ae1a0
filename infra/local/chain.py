"""A JSON-RPC-over-HTTP bridge to the twin's in-process EVM, so that tools in other processes (the
command-line verifier, a wallet, curl) reach it exactly as they would reach Polygon.

It only forwards: each POSTed ``{"jsonrpc", "id", "method", "params"}`` (or a batch of them) goes
to the shared in-process chain (agri_chain.in_process_rpc: the same process-wide singleton the
ledger writer uses, with the contract it deployed); the answer goes back in JSON-RPC's encoding
(quantities and byte strings as 0x-hex), which eth-tester leaves to web3's Python side.
"""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


def _forward(rpc: Any, call: dict) -> dict:
    try:
        answer = dict(rpc(call.get("method"), call.get("params") or []))
    except Exception as exc:  # the node's error, as a JSON-RPC error object
        answer = {"error": {"code": -32000, "message": str(exc)}}
    if "result" in answer:
        answer["result"] = _encode(answer["result"])
    answer["jsonrpc"] = "2.0"
    answer["id"] = call.get("id")
    return answer


def _encode(value: Any) -> Any:
    """JSON-RPC's wire encoding: integers as 0x quantities, bytes as 0x data, mappings as objects."""
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return value
    if isinstance(value, int):
        return hex(value)
    if isinstance(value, (bytes, bytearray)):
        return "0x" + bytes(value).hex()
    if isinstance(value, dict) or hasattr(value, "items"):
        return {k: _encode(v) for k, v in dict(value).items()}
    if isinstance(value, (list, tuple)):
        return [_encode(v) for v in value]
    return str(value)


class _BridgeServer(ThreadingHTTPServer):
    request_queue_size = 1024  # socketserver's default backlog (5) drops connections under load
    daemon_threads = True


class ChainBridge:
    def __init__(self, port: int):
        self.port = port
        self._server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> ChainBridge:
        from agri_chain import in_process_rpc

        rpc = in_process_rpc()

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:
                raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                try:
                    request = json.loads(raw)
                    body = [_forward(rpc, c) for c in request] if isinstance(request, list) else _forward(rpc, request)
                    status = 200
                except ValueError:
                    body, status = (
                        {"jsonrpc": "2.0", "id": None, "error": {"code": -32700, "message": "parse error"}},
                        400,
                    )
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, fmt: str, *args: Any) -> None:
                pass

        self._server = _BridgeServer(("127.0.0.1", self.port), Handler)
        self.port = self._server.server_address[1]
        threading.Thread(target=self._server.serve_forever, name="chain-rpc", daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()

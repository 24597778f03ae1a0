"""The twin's HTTP front, over real sockets: concurrency, path decoding, unknown methods and framing
errors answer as API Gateway would."""

from __future__ import annotations

import http.client
import json
import socket
import threading

import pytest

from infra.local import front as front_module
from infra.local.front import ApiFront, TokenBucket, serve
from infra.local.template import gateway_responses, route_specs
from tests.unit.twin.test_template import TEMPLATE

ENVELOPE = '{"error":{"code":"%s","message":$context.error.messageString,"request_id":"$context.requestId"}}'
# The gateway responses infra/api.py deploys (an unknown route or method is MISSING_AUTHENTICATION_TOKEN).
RESPONSES = {
    f"R{n}": {
        "Type": "AWS::ApiGateway::GatewayResponse",
        "Properties": {
            "ResponseType": rtype,
            **({"StatusCode": status} if status else {}),
            "ResponseParameters": {"gatewayresponse.header.Access-Control-Allow-Origin": "'*'"},
            "ResponseTemplates": {"application/json": ENVELOPE % code},
        },
    }
    for n, (rtype, status, code) in enumerate(
        [
            ("MISSING_AUTHENTICATION_TOKEN", "404", "route_not_found"),
            ("REQUEST_TOO_LARGE", "413", "payload_too_large"),
            ("DEFAULT_4XX", None, "bad_request"),
            ("DEFAULT_5XX", None, "internal_error"),
        ]
    )
}
FULL = {"Resources": {**TEMPLATE["Resources"], **RESPONSES}}


class Recorder:
    """A function that records its events and burns a little CPU (holding the GIL, as handlers do)."""

    def __init__(self):
        self.events: list[dict] = []
        self._lock = threading.Lock()

    def invoke(self, event):
        sum(i * i for i in range(20_000))
        with self._lock:
            self.events.append(event)
        return {
            "statusCode": 200,
            "headers": {"Content-Type": "application/json"},
            "body": json.dumps({"path": event["path"], "params": event["pathParameters"], "body": event["body"]}),
        }


@pytest.fixture
def running():
    fn = Recorder()
    api = ApiFront(
        route_specs(FULL), {"AdminFn": fn, "MeFn": fn}, {}, gateway_responses(FULL), TokenBucket(None, None), "dev"
    )
    server, thread = serve(api, "127.0.0.1", 0)
    yield server.server_address[1], fn
    server.shutdown()
    server.server_close()


def request(port: int, method: str, path: str, body: bytes | None = None, headers: dict | None = None):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        conn.request(method, path, body=body, headers=headers or {})
        resp = conn.getresponse()
        return resp.status, dict(resp.getheaders()), resp.read()
    finally:
        conn.close()


def raw_exchange(port: int, data: bytes) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
        sock.sendall(data)
        chunks = []
        while True:
            chunk = sock.recv(65536)
            if not chunk:
                break
            chunks.append(chunk)
    return b"".join(chunks)


def test_the_listen_backlog_holds_dozens_of_simultaneous_connections():
    assert front_module.FrontServer.request_queue_size >= 128


def test_32_clients_connecting_at_once_are_all_answered(running):
    port, fn = running
    clients = 32
    start = threading.Barrier(clients)
    results: list = [None] * clients

    def client(i: int) -> None:
        start.wait()
        try:
            results[i] = request(port, "GET", f"/admin/users/me?i={i}")[0]
        except OSError as exc:  # a reset or refused connection
            results[i] = repr(exc)

    threads = [threading.Thread(target=client, args=(i,)) for i in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results == [200] * clients
    assert sorted(int(e["queryStringParameters"]["i"]) for e in fn.events) == list(range(clients))


def test_an_encoded_path_matches_its_resource_as_api_gateway_matches_it():
    api = ApiFront(route_specs(FULL), {}, {}, {}, TokenBucket(None, None), "dev")
    route, raw, _ = api.match("GET", "/admin/users/demo%2Dfarmer")
    assert route.resource_path == "/admin/users/{username}" and raw == {"username": "demo%2Dfarmer"}
    route, raw, _ = api.match("GET", "/admin/users/a%2Fb")  # an encoded slash stays inside its segment
    assert route.resource_path == "/admin/users/{username}" and raw == {"username": "a%2Fb"}


def test_the_event_carries_decoded_path_parameters():
    fn = Recorder()
    # Make the parameterised route public for this check: the event is what matters.
    public = {"Resources": {**FULL["Resources"]}}
    public["Resources"]["GetUser"] = json.loads(json.dumps(FULL["Resources"]["GetUser"]))
    public["Resources"]["GetUser"]["Properties"]["AuthorizationType"] = "NONE"
    api = ApiFront(route_specs(public), {"AdminFn": fn}, {}, gateway_responses(public), TokenBucket(None, None), "dev")
    server, _ = serve(api, "127.0.0.1", 0)
    try:
        status, _, body = request(server.server_address[1], "GET", "/admin/users/demo%2Dfarmer+a%2Fb%C3%A9")
    finally:
        server.shutdown()
        server.server_close()
    assert status == 200
    assert json.loads(body)["params"] == {"username": "demo-farmer+a/bé"}
    assert json.loads(body)["path"] == "/admin/users/demo%2Dfarmer+a%2Fb%C3%A9"


@pytest.mark.parametrize("method", ["TRACE", "CONNECT", "PROPFIND", "FOO"])
def test_unknown_methods_answer_the_gateway_envelope_not_a_501_page(running, method):
    port, fn = running
    status, headers, body = request(port, method, "/admin/users/me")
    assert status == 404 and headers["Content-Type"] == "application/json"
    assert json.loads(body)["error"]["code"] == "route_not_found"
    assert fn.events == []


def test_a_malformed_request_line_answers_the_json_envelope(running):
    port, _ = running
    reply = raw_exchange(port, b"GET /health HTTP/1.1 extra\r\nHost: x\r\n\r\n")
    head, _, body = reply.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 400")
    assert json.loads(body)["error"]["code"] == "bad_request"


def test_a_bad_content_length_is_400_and_an_oversized_one_413_without_reading_it(running):
    port, fn = running
    reply = raw_exchange(port, b"POST /admin/users/me HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n")
    head, _, body = reply.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 400") and json.loads(body)["error"]["code"] == "bad_request"
    big = front_module.MAX_PAYLOAD + 1
    reply = raw_exchange(port, b"POST /admin/users/me HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n{}" % big)
    head, _, body = reply.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 413") and json.loads(body)["error"]["code"] == "payload_too_large"
    assert fn.events == []


def test_a_chunked_body_reaches_the_function_whole(running):
    port, fn = running
    reply = raw_exchange(
        port,
        b"GET /admin/users/me HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n"
        b'Connection: close\r\n\r\n4\r\n{"a"\r\n3\r\n: 1\r\n1\r\n}\r\n0\r\n\r\n',
    )
    head, _, body = reply.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200")
    assert json.loads(json.loads(body)["body"]) == {"a": 1}

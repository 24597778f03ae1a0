"""`python -m infra.local --host`: the API front listens on loopback by default and on every interface
when asked (what the container image runs: `docker run -p 8000:8000` reaches it only that way)."""

from __future__ import annotations

import http.client
import os
import signal
import socket

import pytest

from infra.local import __main__ as twin_main
from infra.local.front import ApiFront, TokenBucket, serve
from infra.local.template import gateway_responses, route_specs
from infra.local.twin import LocalTwin
from tests.unit.twin.test_front_http import FULL  # with the gateway responses infra/api.py deploys


def front() -> ApiFront:
    return ApiFront(route_specs(FULL), {}, {}, gateway_responses(FULL), TokenBucket(None, None), "dev")


def outward_address() -> str | None:
    """This machine's non-loopback IPv4 address (a UDP connect sends nothing), or None without one."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        try:
            probe.connect(("10.255.255.255", 1))
        except OSError:
            return None
        address = probe.getsockname()[0]
    return None if address.startswith("127.") or address == "0.0.0.0" else address


def status_of(host: str, port: int) -> int:
    conn = http.client.HTTPConnection(host, port, timeout=10)
    try:
        conn.request("GET", "/no-such-route")
        return conn.getresponse().status
    finally:
        conn.close()


@pytest.mark.parametrize("host", ["127.0.0.1", "0.0.0.0"])
def test_the_front_listens_where_it_is_told_and_answers_on_loopback(host):
    server, _ = serve(front(), host, 0)
    try:
        assert server.server_address[0] == host
        assert status_of("127.0.0.1", server.server_address[1]) == 404  # the gateway's route_not_found
    finally:
        server.shutdown()
        server.server_close()


def test_only_the_wildcard_host_answers_on_another_interface():
    address = outward_address()
    if address is None:
        pytest.skip("this machine has no non-loopback IPv4 address to connect to")
    loopback, _ = serve(front(), "127.0.0.1", 0)
    wildcard, _ = serve(front(), "0.0.0.0", 0)
    try:
        with pytest.raises(ConnectionRefusedError):
            status_of(address, loopback.server_address[1])
        assert status_of(address, wildcard.server_address[1]) == 404
    finally:
        for server in (loopback, wildcard):
            server.shutdown()
            server.server_close()


def test_the_printed_api_url_is_reachable_from_this_machine_whatever_the_host():
    assert LocalTwin(api_port=8000).base_url == "http://127.0.0.1:8000"  # the default stays loopback
    assert LocalTwin(host="0.0.0.0", api_port=8000).base_url == "http://127.0.0.1:8000"
    assert LocalTwin(host="192.0.2.7", api_port=8001).base_url == "http://192.0.2.7:8001"


class FakeTwin:
    """Records how `python -m infra.local` builds the twin, then stops it as Ctrl-C would."""

    made: list[dict] = []

    def __init__(self, **kwargs):
        FakeTwin.made.append(kwargs)

    def start(self):
        os.kill(os.getpid(), signal.SIGINT)  # main's handler sets its stop event
        return self

    def describe(self) -> dict:
        return {"api": "http://127.0.0.1:8000", "docs": "", "moto": "", "users": [], "chain_rpc": None}

    def stop(self) -> None:
        pass


@pytest.mark.parametrize(("argv", "host"), [([], "127.0.0.1"), (["--host", "0.0.0.0"], "0.0.0.0")])
def test_the_command_passes_its_host_to_the_twin(monkeypatch, argv, host):
    import infra.local.twin as twin_module

    monkeypatch.setattr(twin_module, "LocalTwin", FakeTwin)
    FakeTwin.made.clear()
    handlers = signal.getsignal(signal.SIGINT), signal.getsignal(signal.SIGTERM)
    try:
        assert twin_main.main([*argv, "--port", "8123"]) == 0
    finally:
        signal.signal(signal.SIGINT, handlers[0])
        signal.signal(signal.SIGTERM, handlers[1])
    assert FakeTwin.made[0]["host"] == host and FakeTwin.made[0]["api_port"] == 8123

"""The twin's HTTP front against the real stack: concurrency, decoded path ids, unknown methods."""

from __future__ import annotations

import threading

import pytest
import requests

pytestmark = pytest.mark.e2e


def test_32_simultaneous_clients_are_all_answered(twin):
    clients = 32  # under the dev stage's burst of 40, so every one is a 200
    start = threading.Barrier(clients)
    results: list = [None] * clients

    def one(i: int) -> None:
        start.wait()
        try:
            results[i] = requests.get(twin["api"] + "/health", timeout=60).status_code
        except requests.RequestException as exc:
            results[i] = repr(exc)

    threads = [threading.Thread(target=one, args=(i,)) for i in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results == [200] * clients


def test_a_percent_encoded_path_id_is_decoded(client, users):
    admin = client.login(users["admin"]["username"], users["admin"]["password"])["id_token"]
    r = client.call("GET", "/admin/users/demo%2Dfarmer", token=admin)
    assert r.status_code == 200, r.text
    assert r.json()["username"] == "demo-farmer"


@pytest.mark.parametrize("method", ["TRACE", "PROPFIND"])
def test_unknown_methods_answer_the_gateway_envelope(client, method):
    r = client.call(method, "/health")
    assert r.status_code == 404 and r.headers["Content-Type"] == "application/json"
    assert r.json()["error"]["code"] == "route_not_found"

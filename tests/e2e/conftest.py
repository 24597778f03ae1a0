"""End-to-end: start the local twin as its own process (as `bash scripts/run.sh` does) and talk HTTP."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

ROOT = Path(__file__).resolve().parents[2]


class Client:
    def __init__(self, base: str, totp_secrets: dict[str, str] | None = None):
        self.base = base
        self.http = requests.Session()
        self.totp_secrets = dict(totp_secrets or {})  # username -> TOTP secret (admins, auditors)

    @classmethod
    def of(cls, twin: dict) -> Client:
        """A client of the twin that knows the demo admin's and auditor's TOTP secrets."""
        return cls(twin["api"], {u["username"]: u["totp_secret"] for u in twin["users"] if u.get("totp_secret")})

    def call(
        self, method: str, path: str, body=None, token: str | None = None, raw: str | bytes | None = None, headers=None
    ):
        h = {"Content-Type": "application/json", **(headers or {})}
        if token:
            h["Authorization"] = token
        data = raw if raw is not None else (json.dumps(body) if body is not None else None)
        return self.http.request(method, self.base + path, data=data, headers=h, timeout=30)

    def login(self, username: str, password: str) -> dict:
        """Tokens; an enrolled user's SOFTWARE_TOKEN_MFA challenge is answered with a real code."""
        from infra.local.twin import login_tokens

        def post(path: str, body: dict) -> dict:
            r = self.call("POST", path, body)
            assert r.status_code == 200, r.text
            return r.json()

        return login_tokens(post, username, password, self.totp_secrets.get(username))


def start_twin(template_path: Path, tmp: Path) -> tuple[subprocess.Popen, dict]:
    ready = tmp / "ready.json"
    log = open(tmp / "twin.log", "w")
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "infra.local",
            "--port",
            "0",
            "--moto-port",
            "0",
            "--template",
            str(template_path),
            "--ready-file",
            str(ready),
            "--no-schedules",  # deterministic: a test fires a job itself (python -m infra.local.jobs run)
        ],
        cwd=ROOT,
        stdout=log,
        stderr=subprocess.STDOUT,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    deadline = time.monotonic() + 120
    while not ready.exists():
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            raise RuntimeError("local twin did not start:\n" + (tmp / "twin.log").read_text())
        time.sleep(0.2)
    return proc, json.loads(ready.read_text())


@pytest.fixture(scope="session")
def twin(synthesized, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("twin")
    proc, info = start_twin(synthesized.template_path, tmp)
    info["process"] = proc
    info["log"] = tmp / "twin.log"
    yield info
    if proc.poll() is None:
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=30)


@pytest.fixture
def client(twin) -> Client:
    return Client.of(twin)


@pytest.fixture
def users(twin) -> dict[str, dict]:
    return {u["role"]: u for u in twin["users"]}

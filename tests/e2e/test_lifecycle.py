"""The twin stops cleanly on Ctrl-C and leaves nothing listening."""

from __future__ import annotations

import signal
import socket

from tests.e2e.conftest import start_twin


def _listening(url: str) -> bool:
    host, port = url.rsplit("//", 1)[1].split(":")
    with socket.socket() as s:
        s.settimeout(1)
        return s.connect_ex((host, int(port))) == 0


def test_ctrl_c_stops_everything(synthesized, tmp_path):
    proc, info = start_twin(synthesized.template_path, tmp_path)
    assert _listening(info["api"]) and _listening(info["moto"])
    assert {u["role"] for u in info["users"]} == {"farmer", "fpo_manager", "auditor", "admin"}
    proc.send_signal(signal.SIGINT)
    assert proc.wait(timeout=30) == 0
    assert not _listening(info["api"]) and not _listening(info["moto"])
    assert info["chain_rpc"] and not _listening(info["chain_rpc"])
    assert "stopped" in (tmp_path / "twin.log").read_text()

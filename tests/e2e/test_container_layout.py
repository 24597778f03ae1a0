"""The container image's runtime stage, without a Docker engine: lay out /app exactly as the Dockerfile's
COPY lines do (what the builder's bootstrap made, .venv and node_modules, taken from this checkout, made
by the same script), run the image's CMD there with the image's environment, and reach the twin as
`docker run -p` would: on a non-loopback address, through the HEALTHCHECK's own probe, with a login.
The twin must need nothing else from the checkout and write nothing outside .local."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import time
from pathlib import Path

import pytest
import requests

from tests.infra.dockerfile import ROOT, copies, simple_commands, stages
from tests.unit.twin.test_listen_host import outward_address

pytestmark = pytest.mark.e2e


def lay_out_runtime(app: Path) -> tuple[list[str], list[str], dict[str, str]]:
    """/app of the final stage under ``app``; returns its CMD, its HEALTHCHECK command and its ENV."""
    runtime = stages()[-1]
    workdir = runtime.workdir_at(runtime.instructions[-1])
    tracked = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True).stdout.split()
    for instruction in runtime.instructions:
        if instruction.keyword == "COPY":
            flags, _ = instruction.flags_and_rest()
            for src, target in copies(runtime, instruction):
                if not target.startswith(workdir + "/"):
                    assert src == "/usr/local/bin/node" and shutil.which("node"), src  # the node binary, on PATH here
                    continue
                dest = app / target[len(workdir) + 1 :]
                dest.parent.mkdir(parents=True, exist_ok=True)
                if flags.get("from") == "builder":  # the builder's /app, made by the bootstrap as this checkout's
                    dest.symlink_to(ROOT / src[len(workdir) + 1 :])
                else:
                    assert "from" not in flags, instruction
                    files = [src] if (ROOT / src).is_file() else [f for f in tracked if f.startswith(src + "/")]
                    for file in files:
                        out = dest if file == src else dest / file[len(src) + 1 :]
                        out.parent.mkdir(parents=True, exist_ok=True)
                        shutil.copy2(ROOT / file, out)
        elif instruction.keyword == "RUN":
            for words in simple_commands(instruction.args):
                if words[0] == "mkdir":
                    (app / words[-1]).mkdir()
    env = {}
    for instruction in runtime.all("ENV"):
        for pair in instruction.args.split():
            name, _, value = pair.partition("=")
            env[name] = value
    cmd = runtime.all("CMD")[-1].exec_form()
    assert cmd is not None
    return cmd, runtime.all("HEALTHCHECK")[-1].health_command(), env


def tree(app: Path) -> dict[str, float]:
    """Every file under ``app`` except .local, without following the builder's links."""
    return {
        str(path.relative_to(app)): path.lstat().st_mtime
        for path in app.rglob("*")
        if path.relative_to(app).parts[0] != ".local"
    }


def test_the_runtime_stage_runs_the_twin_on_every_interface(tmp_path):
    app, home = tmp_path / "app", tmp_path / "home"
    home.mkdir()
    cmd, health, image_env = lay_out_runtime(app)
    before = tree(app)
    ready = tmp_path / "ready.json"
    # The image's CMD, on free ports (others may run a twin on 8000 here): argparse keeps the last value.
    command = [*cmd, "--port", "0", "--moto-port", "0", "--ready-file", str(ready)]
    env = {**os.environ, **image_env, "HOME": str(home)}
    with open(tmp_path / "twin.log", "w") as log:
        proc = subprocess.Popen(command, cwd=app, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 300
        while not ready.exists():
            assert proc.poll() is None and time.monotonic() < deadline, (tmp_path / "twin.log").read_text()
            time.sleep(0.5)
        info = json.loads(ready.read_text())
        port = int(info["api"].rsplit(":", 1)[1])
        probe = [str(app / health[0]), *health[1:-1], health[-1].replace(":8000/", f":{port}/")]
        assert probe[-1] != health[-1]
        assert subprocess.run(probe, cwd=app, env=env, timeout=30).returncode == 0  # the HEALTHCHECK passes
        host = outward_address() or "127.0.0.1"  # as from outside the container, when this machine has one
        assert requests.get(f"http://{host}:{port}/health", timeout=10).json()["status"] == "ok"
        user = info["users"][0]
        login = requests.post(
            f"http://{host}:{port}/auth/login",
            json={"username": user["username"], "password": user["password"]},
            timeout=30,
        )
        assert login.status_code == 200 and login.json()["tokens"]["id_token"], login.text
    finally:
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=60)
    assert proc.returncode == 0, (tmp_path / "twin.log").read_text()
    assert tree(app) == before  # the code stays as copied: the twin wrote only under .local
    assert (app / ".local" / "cdk.out").is_dir()

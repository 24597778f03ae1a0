"""The fuzz run's twin: the synthesized template without stage throttling, started as its own process.

Throttling is the only change: the dev stage allows 20 requests/s (burst 40), and a sequential fuzz
run would spend most of its examples on 429s (documented, so they would pass, but test nothing).
"""

from __future__ import annotations

import copy
import json
import signal

import pytest

from tests.e2e.conftest import start_twin


def unthrottled(template: dict) -> dict:
    out = copy.deepcopy(template)
    for res in out.get("Resources", {}).values():
        if res.get("Type") != "AWS::ApiGateway::Stage":
            continue
        for setting in res["Properties"].get("MethodSettings", []) or []:
            setting.pop("ThrottlingRateLimit", None)
            setting.pop("ThrottlingBurstLimit", None)
    return out


@pytest.fixture(scope="session")
def fuzz_twin(synthesized, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("fuzz-twin")
    template = tmp / "template.json"
    template.write_text(json.dumps(unthrottled(json.loads(synthesized.template_path.read_text()))))
    proc, info = start_twin(template, tmp)
    info["log"] = tmp / "twin.log"
    yield info
    if proc.poll() is None:
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=30)


class Findings:
    """Every failing operation of the run, one JSON line each (role, operation, checks, status, the
    request as curl) in ``$AGRI_FUZZ_REPORT`` or the session's tmp dir: the list to triage."""

    def __init__(self, path):
        self.path = path
        self.path.write_text("")
        self.requests: dict[str, int] = {}

    def sent(self, role: str, case) -> None:
        key = f"{role} {case.operation.method.upper()} {case.operation.path}"
        self.requests[key] = self.requests.get(key, 0) + 1

    def record(self, role: str, case, group) -> None:
        failures = [
            {"check": type(f).__name__, "title": f.title, "message": f.message.splitlines()[0] if f.message else ""}
            for f in group.exceptions
        ]
        status = None
        try:
            status = group.exceptions[0].status_code  # not every failure kind carries one
        except AttributeError:
            pass
        line = {
            "role": role,
            "operation": f"{case.operation.method.upper()} {case.operation.path}",
            "failures": failures,
            "status": status,
            "curl": case.as_curl_command(),
        }
        with self.path.open("a", encoding="utf-8") as fh:
            fh.write(json.dumps(line) + "\n")


@pytest.fixture(scope="session")
def fuzz_findings(tmp_path_factory):
    import os
    from pathlib import Path

    target = (
        Path(os.environ["AGRI_FUZZ_REPORT"])
        if os.environ.get("AGRI_FUZZ_REPORT")
        else tmp_path_factory.mktemp("fuzz") / "findings.jsonl"
    )
    findings = Findings(target)
    yield findings
    total = sum(findings.requests.values())
    failing = len(target.read_text().splitlines())
    print(
        f"\nfuzz: {total} generated requests over {len(findings.requests)} operation x role pairs; "
        f"{failing} failing, listed in {target}"
    )
    if failing and os.environ.get("AGRI_FUZZ_KEEP_GOING") == "1":
        pytest.fail(f"{failing} failing requests (AGRI_FUZZ_KEEP_GOING=1), listed in {target}", pytrace=False)

"""The README's walkthrough, run as written against a running twin: each step's comment is what a
newcomer is told they will see, so each is checked here (the README cannot drift from the product).

Only the first line (where the twin listens, where its ready file is) is replaced; every other
command runs verbatim under bash, with curl and python3 as the README assumes, against a twin of
its own: the README starts from a fresh one (the other e2e tests already use the demo FPO).
"""

from __future__ import annotations

import json
import re
import shutil
import signal
import subprocess

import pytest

from infra.routes import ROOT
from tests.e2e.conftest import start_twin

FIRST_LINE = "API=http://127.0.0.1:8765; READY=/tmp/agri-twin.json"


def walkthrough() -> str:
    readme = (ROOT / "README.md").read_text()
    blocks = re.findall(r"```bash\n(.*?)```", readme, flags=re.S)
    found = [b for b in blocks if b.startswith(FIRST_LINE)]
    assert len(found) == 1, "the walkthrough block (starting with the API and READY line) is not in the README"
    return found[0]


@pytest.fixture(scope="module")
def fresh_twin(synthesized, tmp_path_factory):
    proc, info = start_twin(synthesized.template_path, tmp_path_factory.mktemp("readme-twin"))
    yield info
    if proc.poll() is None:
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=30)


def test_the_readme_walkthrough_prints_what_it_says(fresh_twin, tmp_path):
    assert shutil.which("curl") and shutil.which("bash"), "the walkthrough needs curl and bash (scripts/bootstrap.sh)"
    twin = fresh_twin
    ready = tmp_path / "ready.json"
    ready.write_text(json.dumps(twin))
    script = walkthrough().replace(FIRST_LINE, f"API={twin['api']}; READY={ready}", 1)
    script = script.replace("/tmp/verification-report.pdf", str(tmp_path / "verification-report.pdf"))
    done = subprocess.run(["bash", "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=900)
    out = done.stdout
    context = f"stdout:\n{out}\nstderr:\n{done.stderr[-3000:]}"
    assert done.returncode == 0, context
    lines = out.splitlines()

    # 1. the plot's geodesic area
    assert "4.2397" in lines, context
    # 2. the run waits for the auditor, with a summary of one plot and creditable tonnes
    assert "awaiting_auditor" in lines, context
    summary = next(line for line in lines if line.startswith("{'plots': 1"))
    assert "'creditable_net_t': 3.8" in summary and "'net_ci90': [" in summary, context
    # 3. the auditor's approval, then the run is approved
    assert '{"task_id":' in out and '"decision":"approve","status":"decided"' in out, context
    assert "approved" in lines, context
    # 4. and 11. the credit's block (3 credits) and the outsiders' verifier, before and after the erasure
    block = json.loads(next(line for line in lines if line.startswith("{") and '"quantity"' in line))
    assert block["quantity"] == 3 and block["status"] == "active", context
    assert any(line.strip().startswith('"verified": true') for line in lines), context  # step 4: the report
    assert lines[-1] == "True", context  # step 11: the same check after the erasure
    # 5. the signed-off report is a PDF
    assert "%PDF-1.4" in lines, context
    # 6. a TOTP login by hand gives tokens
    assert any(line.startswith('{"tokens":{"id_token":"') for line in lines), context
    # 7. activity events: "<action> <role> <target kind> <outcome>"
    events = [line.split() for line in lines if re.fullmatch(r"[a-z_]+\.[a-z_.]+ \S+ \S+ [a-z_]+", line)]
    assert len(events) == 4 and events[0][0] == "session.challenge", context  # step 6's login, newest first
    # 8. the manager's inbox and what the twin "sent"
    assert any(re.fullmatch(r"\d+ SMS, \d+ emails", line) for line in lines), context
    # 9. the registry: a public read, then 19 more 200s within the trial plan's 20 a day, then 429
    assert any(line.startswith('{"serial":') for line in lines), context
    assert any(line.split() == ["200"] * 19 + ["429"] for line in lines), context
    # 10. the scheduled jobs and the daily ledger export
    assert any(line.startswith("ledger-anchor") for line in lines), context
    export = next(line for line in lines if line.startswith("{'day': "))
    assert "'key': 'ledger/exports/daily/" in export and re.search(r"'status': '(written|unchanged)'", export), context
    # 11. the erasure completes and the farmer then reads as missing
    erased = json.loads(next(line for line in lines if line.startswith("{") and '"status":"complete"' in line))
    assert erased["status"] == "complete", context
    missing = [json.loads(line)["error"] for line in lines if line.startswith('{"error"')]
    assert [(e["code"], e["message"]) for e in missing] == [("not_found", "farmer not found")], context

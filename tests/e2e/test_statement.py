"""A farmer's credit statement end to end on the twin: a farmer joins a new FPO, records a rice season,
the project's run is computed, approved by the auditor and issued by the ledger writer; the farmer then
downloads their statement (PDF) holding their plot and serials; another farmer of the FPO gets the
missing farmer's 404."""

from __future__ import annotations

import time

import requests

from tests.e2e.conftest import Client
from tests.e2e.test_api import unique
from tests.e2e.test_farm import CONSENT, RICE, somewhere, square
from tests.e2e.test_membership import new_farmer, new_manager
from tests.unit import pdfread


def wait_status(client: Client, admin: str, pid: str, run_id: str, done: set[str]) -> dict:
    deadline = time.monotonic() + 300
    while True:
        run = client.call("GET", f"/projects/{pid}/runs/{run_id}", token=admin).json()
        if run["status"] in done or time.monotonic() > deadline:
            return run
        time.sleep(1)


def join(client: Client, manager: str, fpo_id: str, name: str, phone: str) -> tuple[str, str]:
    """A farmer account whose profile joins the FPO with an invitation code: (token, farmer id)."""
    code = client.call("POST", f"/fpos/{fpo_id}/invitations", {}, token=manager).json()["code"]
    token = new_farmer(client)
    body = {
        "name": name,
        "phone": phone,
        "village": "रामपुर",
        "district": "Patiala",
        "state": "Punjab",
        "fpo_id": fpo_id,
        "consent": CONSENT,
        "invitation_code": code,
        "preferred_language": "hi",
    }
    r = client.call("POST", "/farmers", body, token=token)
    assert r.status_code == 201 and r.json()["membership"] == "approved", r.text
    return token, r.json()["farmer_id"]


def test_the_farmer_downloads_the_statement_of_an_approved_run(twin):
    from functions.verification.logic import checklist

    client = Client.of(twin)
    tokens = {u["role"]: client.login(u["username"], u["password"])["id_token"] for u in twin["users"]}
    admin, auditor = tokens["admin"], tokens["auditor"]
    fpo_id = unique("FPO-S-")
    r = client.call("POST", "/fpos", {"fpo_id": fpo_id, "name": "Statement FPO", "state": "Punjab"}, token=admin)
    assert r.status_code == 201, r.text
    manager = new_manager(client, admin, fpo_id)
    farmer, farmer_id = join(client, manager, fpo_id, "रामेश्वर प्रसाद", "9812345611")
    other, _ = join(client, manager, fpo_id, "Sita Devi", "9812345612")
    plot = client.call("POST", f"/farmers/{farmer_id}/plots", square(*somewhere(), size=0.004), token=farmer)
    assert plot.status_code == 201, plot.text
    plot_id = plot.json()["plot_id"]
    season = client.call("POST", "/farmers/field-data", {"plot_id": plot_id, "season": RICE}, token=farmer)
    assert season.status_code == 201, season.text

    project = client.call(
        "POST",
        "/projects",
        {
            "name": "Statement AWD",
            "fpo_ids": [fpo_id],
            "methodology": "vm0051",
            "profile": "vm0051",
            "gwp": "AR5",
            "crediting_start": "2025-06-01",
            "crediting_end": "2030-05-31",
        },
        token=admin,
    )
    assert project.status_code == 201, project.text
    pid = project.json()["project_id"]
    assert (
        client.call("POST", f"/projects/{pid}/auditors", {"username": "demo-auditor"}, token=admin).status_code == 200
    )
    started = client.call("POST", f"/projects/{pid}/runs", {"period": "2025-kharif"}, token=admin)
    assert started.status_code == 202, started.text
    run_id = started.json()["run_id"]
    run = wait_status(client, admin, pid, run_id, {"awaiting_auditor", "failed"})
    assert run["status"] == "awaiting_auditor", run

    path = f"/farmers/{farmer_id}/statement?run_id={run_id}"
    pdf = {"Accept": "application/pdf"}
    early = client.call("GET", path, token=farmer, headers=pdf)  # not approved yet
    assert early.status_code == 404 and early.json()["error"]["code"] == "statement_run_not_found", early.text

    queue = client.call("GET", "/verification/tasks", token=auditor).json()["items"]
    task = next(t for t in queue if t["run_id"] == run_id)
    answers = {i["id"]: {"answer": "pass"} for i in checklist("vm0051")["items"]}
    decided = client.call(
        "POST",
        f"/verification/tasks/{task['task_id']}/decision",
        {"decision": "approve", "checklist": answers},
        token=auditor,
    )
    assert decided.status_code == 200, decided.text
    run = wait_status(client, admin, pid, run_id, {"approved", "failed"})
    assert run["status"] == "approved", run
    records = client.call("GET", f"/ledger/records?project_id={pid}&limit=100", token=admin).json()["items"]
    (issued,) = [r["record"] for r in records if r["record"]["kind"] == "issuance" and r["record"]["run_id"] == run_id]
    assert issued["quantity"] >= 1, issued

    r = client.call("GET", path, token=farmer, headers=pdf)
    assert r.status_code == 200, r.text
    assert r.headers["Content-Type"] == "application/pdf" and r.content.startswith(b"%PDF-")
    text = pdfread.text(r.content)
    compact = "".join(text.split())
    assert "कार्बन क्रेडिट विवरण" in text and "रामेश्वर प्रसाद" in text  # Hindi, the farmer's language
    assert plot_id in compact and run_id in compact
    assert issued["serial_start"] in compact  # the serials the ledger issued to them
    assert f"{issued['quantity']} क्रेडिट" in text

    # a browser's plain link and curl's */* get the PDF's bytes too (binaryMediaTypes */*: decision 0019)
    for accept in ("text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8", "*/*"):
        linked = requests.get(
            twin["api"] + "/dev" + path, headers={"Authorization": farmer, "Accept": accept}, timeout=60
        )
        assert linked.status_code == 200 and linked.content.startswith(b"%PDF-"), linked.content[:20]
        assert "रामेश्वर प्रसाद" in pdfread.text(linked.content)

    by_manager = client.call("GET", path, token=manager, headers=pdf)  # the FPO's manager: the same statement
    assert by_manager.status_code == 200 and issued["serial_start"] in "".join(pdfread.text(by_manager.content).split())

    missing = client.call("GET", f"/farmers/F-{unique('x')}/statement?run_id={run_id}", token=admin, headers=pdf)
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "not_found"
    for token in (other, auditor):  # another farmer of the FPO; the auditor who approved the run
        denied = client.call("GET", path, token=token, headers=pdf)
        assert denied.status_code == 404
        assert (denied.json()["error"]["code"], denied.json()["error"]["message"]) == (
            missing.json()["error"]["code"],
            missing.json()["error"]["message"],
        )

"""Benchmark of the MRV pipeline through the local twin (not a test; prints figures).

    .venv/bin/python bench/pipeline_bench.py [--plot-seasons 100000] [--draws 2000] [--chunk-farmers 238] [--source synthetic|farm]

1. Synthesizes the stack (layers not bundled) and starts the local twin in this process (moto
   server + the real state machine + our handlers, exactly as ``python -m infra.local``).
2. The plot-seasons come from ``--source``: ``synthetic`` (default) swaps the pipeline's
   ProjectSeasonSource for an in-memory one (farmers x 7 plots x 3 seasons of one year): it measures
   the orchestration and the engine without the farm-table reads; ``farm`` seeds the farm
   table (farmers x 2 plots x 3 seasons, batch writes) and reads it through the real
   FarmSeasonSource, one Query per farmer and per plot as on DynamoDB (the twin's moto answers
   Queries from the partition or an index map, ``infra/local/moto_ext``; stock moto scans the table).
3. Creates a project over the FPO, assigns the demo auditor, starts a run for the year (through
   the HTTP API), waits for the auditor task and prints each step's time from the run's own step
   records, the total, and the peak RSS of the process (moto, the handlers and the client all live
   in it, so it is an upper bound of one Lambda's memory); then approves and waits up to
   ``--ledger-timeout`` seconds for the ledger steps: the approved run stored by reference, the
   writer's pages (IssueCredits loop, timed from the execution history) and the anchoring.

No naive baseline ratio here: the engine's own bench compares the engine with a naive loop;
this one measures the orchestration (DynamoDB/S3 round trips to moto, the Map, the steps).
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import time
from datetime import datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION", "1")
os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")


def parse_time(text: str) -> float:
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%fZ").timestamp()


def synthetic_source(farmers: int, plots: int) -> None:
    """Swap the pipeline's season source for an in-memory one (same PlotSeason records, no storage)."""
    import random

    from functions.pipeline import calculate, plan
    from functions.pipeline.sources import PlotSeason
    from tests.integration.mrv_seed import REGIMES, season_activity

    class SyntheticSource:
        def __init__(self, store=None):
            pass

        def plan_units(self, fpo_ids):
            return [f"F{f:07d}" for f in range(farmers)]

        def load(self, units, period):
            out = []
            for fid in units:
                f = int(fid[1:])
                rng = random.Random(f)
                for p in range(plots):
                    area = round(rng.uniform(0.3, 2.0), 3)
                    for season in ("kharif", "rabi", "zaid"):
                        out.append(
                            PlotSeason(
                                plot_id=f"P{fid[1:]}{p}",
                                season_key=f"2025-{season}",
                                farmer_id=fid,
                                fpo_id="FPO-DEMO-1",
                                owner_user_id=f"user-{fid}",
                                village=f"village-{f % 40}",
                                area_ha=area,
                                declared_area_ha=area * (1.6 if f % 37 == 5 else 1.0),
                                centroid=[79.1, 10.8],
                                activity=season_activity(rng, 2025, season, REGIMES[(f + p) % 3]),
                            )
                        )
            return out

    plan.FarmSeasonSource = SyntheticSource
    calculate.FarmSeasonSource = SyntheticSource


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def report_steps(run: dict) -> None:
    print(f"{'step':<16}{'seconds':>10}  detail")
    for s in run["steps"]:
        took = parse_time(s["finished_at"]) - parse_time(s["started_at"]) if s.get("finished_at") else float("nan")
        extra = {k: s[k] for k in ("chunks_done", "chunks_reused") if s.get(k) is not None}
        print(f"{s['step']:<16}{took:>10.1f}  {extra or ''}")


METHODOLOGY = {"vm0051": "vm0051", "vm0042_qa3": "vm0042", "ccts_ag04_002": "ccts", "ipcc_tier1": "vm0042"}


def report_issuance(twin, run: dict) -> None:
    """The writer's pages, from the execution's history (moto records it like Step Functions)."""
    import boto3

    from functions.ledger.issuance import ISSUE_PAGE

    sfn = boto3.client("stepfunctions", endpoint_url=f"http://127.0.0.1:{twin.moto_port}", region_name=twin.region)
    events, token = [], None
    while True:
        page = sfn.get_execution_history(
            executionArn=run["execution_arn"], maxResults=1000, **({"nextToken": token} if token else {})
        )
        events += page["events"]
        if not (token := page.get("nextToken")):
            break
    spans, entered = [], None
    for e in events:
        name = (e.get("stateEnteredEventDetails") or e.get("stateExitedEventDetails") or {}).get("name")
        if name == "IssueCredits":
            if "stateEnteredEventDetails" in e:
                entered = e["timestamp"]
            elif entered is not None:
                spans.append((e["timestamp"] - entered).total_seconds())
    ledger = (run.get("outcome") or {}).get("ledger") or {}
    if spans:
        print(
            f"ledger writer: {ledger.get('farmers')} farmers in {len(spans)} page(s) of {ISSUE_PAGE}: "
            f"{sum(spans):.1f} s in IssueCredits (pages {min(spans):.1f}-{max(spans):.1f} s; the last one anchors "
            f"{len(ledger.get('batches') or [])} batch(es)); {ledger.get('farmers', 0) / max(sum(spans), 1e-9):.0f} farmers/s"
        )


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--plot-seasons", type=int, default=100_000)
    p.add_argument("--draws", type=int, default=2000)
    p.add_argument(
        "--chunk-farmers",
        type=int,
        default=238,
        help="farmers per chunk (synthetic: x 21 plot-seasons = ~5,000 per chunk)",
    )
    p.add_argument(
        "--plots-per-farmer",
        type=int,
        default=7,
        help="synthetic source: plots per farmer (x 3 seasons): 7 gives ~4,760 farmers for 100k "
        "plot-seasons (the writer issues them in pages of ISSUE_PAGE farmers)",
    )
    p.add_argument(
        "--source",
        choices=("farm", "synthetic"),
        default="synthetic",
        help="farm: seed the farm table and read it (the farm data's store); synthetic: an in-memory "
        "ProjectSeasonSource (no farm-table reads)",
    )
    p.add_argument(
        "--profile",
        choices=sorted(METHODOLOGY),
        default="vm0051",
        help="the project's engine profile (vm0042_qa3 adds the conservative choice and its second Map)",
    )
    p.add_argument(
        "--ledger-timeout",
        type=float,
        default=900,
        help="after approving, wait this long for the ledger step (0: stop at the auditor task)",
    )
    a = p.parse_args()

    from infra.routes import ensure_import_paths

    ensure_import_paths()
    import logging

    import requests

    logging.disable(logging.WARNING)
    os.environ["POWERTOOLS_LOG_LEVEL"] = "ERROR"
    from infra.local.twin import LocalTwin, login_tokens
    from infra.synth import synth

    t0 = time.perf_counter()
    template = synth("dev", bundle=False, outdir=ROOT / ".local" / "cdk.out").template
    twin = LocalTwin(template=template).start()
    os.environ["CHUNK_UNITS"] = str(a.chunk_farmers)
    os.environ["POWERTOOLS_LOG_LEVEL"] = "ERROR"
    from agri_common.platform.settings import clear_settings_cache

    clear_settings_cache()
    print(f"twin started in {time.perf_counter() - t0:.1f} s")
    try:
        from agri_common.single_table import DynamoTableStore
        from tests.integration.mrv_seed import farm_items, seed

        if a.source == "farm":
            farmers = a.plot_seasons // 6
            farm_lid = next(
                k for k, v in template["Resources"].items() if (v.get("Metadata") or {}).get("agri:resource") == "farm"
            )
            t = time.perf_counter()
            items = farm_items(
                "FPO-DEMO-1", farmers=farmers, plots_per_farmer=2, seasons=["2025-kharif", "2025-rabi", "2025-zaid"]
            )
            seed(DynamoTableStore(twin.resolver.ref(farm_lid)), items)
            n_seasons = sum(1 for i in items if i["kind"] == "season")
            del items
            print(
                f"seeded {farmers:,} farmers, {2 * farmers:,} plots, {n_seasons:,} plot-seasons "
                f"in {time.perf_counter() - t:.1f} s (farm table, read by FarmSeasonSource)"
            )
        else:
            farmers = a.plot_seasons // (3 * a.plots_per_farmer)
            synthetic_source(farmers, a.plots_per_farmer)
            print(
                f"season source: synthetic, {farmers:,} farmers x {a.plots_per_farmer} plots x 3 seasons = "
                f"{3 * a.plots_per_farmer * farmers:,} plot-seasons (in memory; farm-table reads not included)"
            )

        base = twin.base_url

        def post(path: str, body: dict) -> dict:
            answer: dict = requests.post(f"{base}{path}", json=body, timeout=30).json()
            return answer

        tokens = {
            u.role: login_tokens(post, u.username, u.password, u.totp_secret)["id_token"] for u in twin.demo_users
        }

        def api(method, path, role, body=None):
            r = requests.request(method, base + path, json=body, headers={"Authorization": tokens[role]}, timeout=120)
            r.raise_for_status()
            return r.json()

        pid = api(
            "POST",
            "/projects",
            "admin",
            {
                "name": "Bench",
                "fpo_ids": ["FPO-DEMO-1"],
                "methodology": METHODOLOGY[a.profile],
                "profile": a.profile,
                "crediting_start": "2024-06-01",
                "crediting_end": "2030-05-31",
                "draws": a.draws,
            },
        )["project_id"]
        api("POST", f"/projects/{pid}/auditors", "admin", {"username": "demo-auditor"})
        t_start = time.perf_counter()
        rid = api("POST", f"/projects/{pid}/runs", "admin", {"period": "2025"})["run_id"]
        last = None
        while (run := api("GET", f"/projects/{pid}/runs/{rid}", "admin"))["status"] == "running":
            progress = [(s["step"], s["status"], s.get("chunks_done")) for s in run["steps"]]
            if progress != last:
                print(f"  {time.perf_counter() - t_start:7.1f} s  {progress}", flush=True)
                last = progress
            time.sleep(1)
        t_wait = time.perf_counter()
        assert run["status"] == "awaiting_auditor", run
        print(
            f"\nrun {rid}: {run['summary']['plots']:,} plot-seasons, {a.draws} draws, {run['summary']['farmers']:,} farmers"
        )
        print(
            f"net {run['summary']['net_t']:,.1f} t CO2e, 90 % CI {run['summary']['net_ci90']}, "
            f"creditable {run['summary']['creditable_net_t']:,.1f} t"
        )
        report_steps(run)
        print(f"start -> auditor task: {t_wait - t_start:.1f} s")
        print(f"peak RSS so far (twin + moto + handlers, one process): {peak_mb():.0f} MB")
        if a.ledger_timeout <= 0:
            return
        from functions.verification.logic import checklist

        answers = {i["id"]: {"answer": "pass"} for i in checklist(METHODOLOGY[a.profile])["items"]}
        t_decide = time.perf_counter()
        api(
            "POST",
            f"/verification/tasks/{run['task_id']}/decision",
            "auditor",
            {"decision": "approve", "checklist": answers},
        )
        while (run := api("GET", f"/projects/{pid}/runs/{rid}", "admin"))["status"] == "awaiting_auditor":
            if time.perf_counter() - t_decide > a.ledger_timeout:
                print(
                    f"\nledger step not finished after {a.ledger_timeout} s (the ledger writer on moto; RSS {peak_mb():.0f} MB)"
                )
                return
            time.sleep(0.5)
        print(
            f"\ndecision -> {run['status']} (approved run stored, credits issued in pages, anchored): "
            f"{time.perf_counter() - t_decide:.1f} s"
        )
        report_steps(run)
        report_issuance(twin, run)
        print(f"peak RSS (twin + moto + handlers, one process): {peak_mb():.0f} MB")
    finally:
        twin.stop()


if __name__ == "__main__":
    main()

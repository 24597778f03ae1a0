"""python -m infra.local [--host 127.0.0.1] [--port 8000] [--moto-port 5001] [--template PATH] [--ready-file PATH]

Starts the local twin in the foreground; Ctrl-C (or SIGTERM) stops everything it started.
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
import threading
from pathlib import Path


def build_parser() -> argparse.ArgumentParser:
    """The command's options (the container image's CMD is checked against them: tests/infra/test_dockerfile.py)."""
    parser = argparse.ArgumentParser(prog="python -m infra.local", description="Run agri-mrv locally on moto")
    parser.add_argument(
        "--host",
        default="127.0.0.1",
        help="address the API front listens on (0.0.0.0 = every interface, as in the container image; "
        "moto and the chain stay on loopback)",
    )
    parser.add_argument("--port", type=int, default=8000, help="API port (0 = any free port)")
    parser.add_argument("--moto-port", type=int, default=5001, help="moto server port (0 = any free port)")
    parser.add_argument("--chain-port", type=int, default=0, help="in-process chain JSON-RPC port (0 = any free port)")
    parser.add_argument("--stage", default="dev")
    parser.add_argument(
        "--template",
        type=Path,
        help="run this instead of synthesizing: a cloud assembly directory (cdk.out: every stack of "
        "the app) or a template file (the merged app template infra.synth writes)",
    )
    parser.add_argument("--ready-file", type=Path, help="write the twin's description (JSON) here once ready")
    parser.add_argument(
        "--no-schedules",
        action="store_true",
        help="do not fire the template's scheduled rules on the clock (fire one with python -m infra.local.jobs run)",
    )
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)

    import warnings

    # Powertools warns on every invocation that published no metric; noise in a console session.
    warnings.filterwarnings("ignore", message="No application metrics to publish")
    from infra.local.template import load_app_template
    from infra.local.twin import LocalTwin

    template = load_app_template(args.template) if args.template else None
    twin = LocalTwin(
        template=template,
        stage=args.stage,
        host=args.host,
        api_port=args.port,
        moto_port=args.moto_port,
        chain_port=args.chain_port,
        schedules=not args.no_schedules,
    )
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    twin.start()
    info = twin.describe()
    print(f"agri-mrv local twin ready\n  API      {info['api']}\n  Docs     {info['docs']}\n  moto     {info['moto']}")
    if info.get("chain_rpc"):
        print(f"  Chain    {info['chain_rpc']}  (in-process EVM, JSON-RPC: python -m ledger_verify ... --rpc this URL)")
    jobs = info.get("jobs")
    if jobs:
        print(
            f"  Jobs     {', '.join(r['name'] for r in jobs['rules']) or 'none'}"
            f"  ({'on their schedules' if jobs['scheduled'] else 'not scheduled: --no-schedules'};"
            f" fire one now: python -m infra.local.jobs --api {info['api']} run <name>)"
        )
    print("  Demo users (password changes at every start):")
    for user in info["users"]:
        print(
            f"    {user['role']:<12} {user['username']:<18} {user['password']}"
            + (f"  fpo={user['fpo_id']}" if user["fpo_id"] else "")
            + (f"  totp-secret={user['totp_secret']}" if user.get("totp_secret") else "")
        )
    print(
        "  Admins and auditors answer a SOFTWARE_TOKEN_MFA challenge after login (POST /auth/challenge with the code\n"
        "  an authenticator app shows for the totp-secret, or: python -m infra.local.totp <secret>)"
    )
    print(
        "  Try: curl -s -X POST {}/auth/login -H 'content-type: application/json' "
        '-d \'{{"username":"{}","password":"{}"}}\''.format(
            info["api"], info["users"][0]["username"], info["users"][0]["password"]
        )
        if info["users"]
        else ""
    )
    print("Press Ctrl-C to stop.", flush=True)
    if args.ready_file:
        args.ready_file.write_text(json.dumps(info))
    # Wait in short slices: the kernel may deliver SIGINT to any thread, and only the main thread
    # runs Python signal handlers, so an unbounded wait could miss Ctrl-C.
    while not stop.wait(0.25):
        pass
    twin.stop()
    print("stopped", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())

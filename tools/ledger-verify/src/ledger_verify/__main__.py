"""Command line of :mod:`ledger_verify` (``agri-ledger-verify``, or ``python -m ledger_verify``). Exit status, the same for every command: 0 verified;
1 FAILED (the evidence contradicts itself or the chain it names); 2 cannot verify (unreadable or
malformed input, wrong usage, an RPC node that fails, serves another chain, or has no contract code
at the registry address). See the package docstring and docs/ledger-verifier.md."""

from __future__ import annotations

import argparse
import json
import os
import sys
from typing import Any

from ledger_verify import CannotVerify, LedgerIntegrityError, load_json, verify_credit, verify_export, verify_proof

EXIT_VERIFIED, EXIT_FAILED, EXIT_CANNOT_VERIFY = 0, 1, 2
EPILOG = """exit status (every command):
  0  verified
  1  FAILED: the evidence contradicts itself or the chain it names (a record, link, Merkle path,
     root, batch file or manifest does not match; a root absent or different on chain; a
     transaction that is not the anchor; a batch missing from an export; a conflict the chain
     does not show)
  2  cannot verify, nothing proven either way: unreadable or malformed input, wrong usage, an RPC
     node that fails or is unreachable, a node serving another chain than the evidence names
     (eth_chainId), no contract code at the registry address"""


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="agri-ledger-verify",
        description="Verify agri-mrv ledger records",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser(
        "proof",
        help="one record's proof, against the chain",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--proof", required=True, help="proof JSON file, or the URL of GET /ledger/proofs/{record_id}")
    p.add_argument("--token", help="ID token, when --proof is an API URL")
    p.add_argument("--rpc", help="JSON-RPC URL of the chain (omit to check only hashes and the Merkle path)")
    p.add_argument("--artifact", help="the batch file from the audit bucket, to check it too")
    c = sub.add_parser(
        "chain",
        help="the whole hash chain from an export of batch files",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    c.add_argument("--export", nargs="+", required=True, help="batch files (and MANIFEST.json) or folders of them")
    c.add_argument("--rpc")
    c.add_argument("--contract", help="registry contract address (default: the manifest's)")
    c.add_argument(
        "--allow-no-manifest",
        action="store_true",
        help="check an export without MANIFEST.json (then a lost newest batch cannot be noticed)",
    )
    k = sub.add_parser(
        "credit",
        help="every record of a credit, from its serial, through the API",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    k.add_argument("--api", required=True)
    k.add_argument("--serial", required=True)
    k.add_argument("--token", required=True)
    k.add_argument("--rpc", required=True)
    args = parser.parse_args(argv)  # wrong usage: argparse exits with 2 as well
    report: dict[str, Any] | list[dict[str, Any]]
    try:
        if args.command == "proof":
            artifact = open(args.artifact, "rb").read() if args.artifact else None
            report = verify_proof(load_json(args.proof, args.token), args.rpc, artifact)
        elif args.command == "chain":
            report = verify_export(args.export, args.rpc, args.contract, allow_no_manifest=args.allow_no_manifest)
        else:
            report = verify_credit(args.api, args.serial, args.token, args.rpc)
    except LedgerIntegrityError as exc:
        print(f"FAILED: {exc}", file=sys.stderr)
        return EXIT_FAILED
    except (CannotVerify, OSError, ValueError, KeyError, TypeError, IndexError) as exc:
        print(f"ERROR: cannot verify: {exc}", file=sys.stderr)
        return EXIT_CANNOT_VERIFY
    try:
        print(json.dumps({"verified": True, "report": report}, indent=2), flush=True)
    except BrokenPipeError:
        # the reader stopped early (``| head``): the verdict is the exit status, not a traceback;
        # stdout goes to devnull so the interpreter's final flush cannot raise again
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    return EXIT_VERIFIED


if __name__ == "__main__":
    sys.exit(main())

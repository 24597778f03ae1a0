"""Command line of :mod:`ledger_verify`; exit status 0 = verified, 1 = tampered (the evidence contradicts itself or the chain), 2 = cannot verify (RPC, file or input errors)."""

from __future__ import annotations

import argparse
import json
import sys

from agri_common.ledger_crypto import LedgerIntegrityError
from ledger_verify import RpcError, load_json, verify_credit, verify_export, verify_proof


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m ledger_verify", description="Verify agri-mrv ledger records")
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("proof", help="one record's proof, against the chain")
    p.add_argument("--proof", required=True, help="proof JSON file, or the URL of GET /ledger/proofs/{record_id}")
    p.add_argument("--token", help="ID token, when --proof is an API URL")
    p.add_argument("--rpc", help="JSON-RPC URL of the chain (omit to check only hashes and the Merkle path)")
    p.add_argument("--artifact", help="the batch file from the audit bucket, to check it too")
    c = sub.add_parser("chain", help="the whole hash chain from an export of batch files")
    c.add_argument("--export", nargs="+", required=True, help="batch files or folders of them")
    c.add_argument("--rpc")
    c.add_argument("--contract", help="registry contract address (with --rpc)")
    k = sub.add_parser("credit", help="every record of a credit, from its serial, through the API")
    k.add_argument("--api", required=True)
    k.add_argument("--serial", required=True)
    k.add_argument("--token", required=True)
    k.add_argument("--rpc", required=True)
    args = parser.parse_args(argv)
    try:
        if args.command == "proof":
            artifact = open(args.artifact, "rb").read() if args.artifact else None
            report = verify_proof(load_json(args.proof, args.token), args.rpc, artifact)
        elif args.command == "chain":
            report = verify_export(args.export, args.rpc, args.contract)
        else:
            report = verify_credit(args.api, args.serial, args.token, args.rpc)
    except LedgerIntegrityError as exc:
        print(f"FAILED: {exc}", file=sys.stderr)
        return 1
    except (RpcError, OSError, ValueError, KeyError) as exc:
        print(f"ERROR: cannot verify: {exc}", file=sys.stderr)
        return 2
    print(json.dumps({"verified": True, "report": report}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())

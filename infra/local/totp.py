"""Print the current TOTP code of a base32 secret (the demo admin's and auditor's, printed at start):
``python -m infra.local.totp <secret>``. What an authenticator app would show (RFC 6238)."""

from __future__ import annotations

import sys
import time

from infra.local.moto_ext import totp_code


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print("usage: python -m infra.local.totp <base32 secret>", file=sys.stderr)
        return 2
    print(totp_code(argv[0], time.time()))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

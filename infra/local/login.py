"""``python -m infra.local.login <username> --ready-file PATH``: print a demo user's ID token.

The README's walkthrough logs in with it: password first, then, for the demo admin and auditor (TOTP
enrolled at seeding, docs/decisions/0015), the ``SOFTWARE_TOKEN_MFA`` challenge answered with the
current code of the secret in the ready file (what an authenticator app would show). It calls the
twin's public routes only (``POST /auth/login``, ``POST /auth/challenge``), as a client would.
"""

from __future__ import annotations

import argparse
import json
import sys
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

from infra.local.twin import login_tokens


def http_post(api: str) -> Callable[[str, dict[str, Any]], dict[str, Any]]:
    """``post(path, body)`` against the twin: the JSON answer, an error's envelope included."""

    def post(path: str, body: dict[str, Any]) -> dict[str, Any]:
        request = urllib.request.Request(
            api.rstrip("/") + path, data=json.dumps(body).encode(), headers={"content-type": "application/json"}
        )
        try:
            with urllib.request.urlopen(request, timeout=30) as answer:
                return dict(json.load(answer))
        except urllib.error.HTTPError as error:
            return dict(json.load(error))

    return post


def id_token(info: dict[str, Any], username: str, post: Callable[[str, dict[str, Any]], dict[str, Any]]) -> str:
    """The ID token of demo user ``username`` of a twin described by ``info`` (its ready file)."""
    user = next((u for u in info.get("users", []) if u["username"] == username), None)
    if user is None:
        names = ", ".join(u["username"] for u in info.get("users", []))
        raise SystemExit(f"no demo user {username!r} in the ready file (there are: {names})")
    return str(login_tokens(post, user["username"], user["password"], user.get("totp_secret"))["id_token"])


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m infra.local.login", description=__doc__.split("\n\n")[0])
    parser.add_argument("username")
    parser.add_argument("--ready-file", type=Path, required=True, help="the twin's --ready-file")
    args = parser.parse_args(argv)
    info = json.loads(args.ready_file.read_text())
    print(id_token(info, args.username, http_post(info["api"])))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

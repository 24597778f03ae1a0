#!/usr/bin/env python3
"""CDK entry point: ``npx cdk synth -c stage=prod`` or ``.venv/bin/python app.py -c stage=prod``.

The stage (default dev) and everything it configures come from cdk.json's context; see
infra/config.py. The app itself is built by ``infra.synth.build_app``, shared with the tests.
"""

from __future__ import annotations

import argparse
import sys

from infra.synth import build_app


def _parse_context(argv: list[str]) -> dict[str, str]:
    """``-c key=value`` pairs, as the CDK CLI accepts them (for running ``python app.py`` directly)."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("-c", "--context", action="append", default=[], metavar="KEY=VALUE")
    args = parser.parse_args(argv)
    pairs = {}
    for item in args.context:
        key, sep, value = item.partition("=")
        if not sep:
            parser.error(f"context must be KEY=VALUE, got {item!r}")
        pairs[key] = value
    return pairs


def main(argv: list[str] | None = None) -> None:
    build_app(_parse_context(sys.argv[1:] if argv is None else argv)).synth()


if __name__ == "__main__":
    main()

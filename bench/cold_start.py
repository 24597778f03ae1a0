"""Cold-start figures per API function: handler import time and deployment asset sizes.

    .venv/bin/python bench/cold_start.py [--reps 7] [--no-assets]

Import time: a fresh interpreter per repetition imports ``functions.<domain>.handler`` with the
repo and ``layers/*/python`` on ``sys.path`` (as ``/opt/python`` is on Lambda) and an environment
like Lambda's, so Powertools' Tracer is active and loads the X-Ray SDK as it does there. Only the
import is timed (not the interpreter's own start-up); the median is reported, and the slowest
top-level packages (self time summed) of one ``-X importtime`` run say where the time goes. The venv's Python and
packages stand in for the runtime's, so figures are indicative for this machine, not Lambda's.

Sizes: a bundled synth into a temporary folder; each function asset (unzipped, and zipped as the
CDK CLI would upload it) and each layer asset. Flags: import over 250 ms, function asset over 1 MB,
function + layers over Lambda's 250 MB unzipped limit. Prints figures; asserts nothing.
"""

from __future__ import annotations

import argparse
import io
import os
import statistics
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from infra.domains import API_DOMAINS, Domain  # noqa: E402
from infra.routes import LAYER_PATHS  # noqa: E402

IMPORT_BUDGET_MS = 250.0
FUNCTION_ASSET_BUDGET = 1024 * 1024
LAMBDA_UNZIPPED_LIMIT = 250 * 1024 * 1024

_TIMED_IMPORT = (
    "import importlib, time\n"
    "t = time.perf_counter()\n"
    "importlib.import_module({module!r})\n"
    "print((time.perf_counter() - t) * 1000)\n"
)


def lambda_like_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("POWERTOOLS_", "AWS_"))}
    env.update(
        {
            "PYTHONPATH": os.pathsep.join(str(p) for p in (ROOT, *LAYER_PATHS)),
            "PYTHONDONTWRITEBYTECODE": "0",
            "AWS_LAMBDA_FUNCTION_NAME": "cold-start-bench",  # Powertools Tracer: behave as on Lambda
            # X-Ray SDK: on Lambda (LAMBDA_TASK_ROOT set) it samples locally; elsewhere it builds a
            # botocore X-Ray client at import, ~130 ms that Lambda never pays.
            "LAMBDA_TASK_ROOT": str(ROOT),
            "AWS_EXECUTION_ENV": "AWS_Lambda_python3.14",
            "AWS_REGION": "us-east-1",
            "AWS_DEFAULT_REGION": "us-east-1",
            "POWERTOOLS_SERVICE_NAME": "agri-mrv",
            "POWERTOOLS_METRICS_NAMESPACE": "AgriMrv",
            "POWERTOOLS_LOG_LEVEL": "INFO",
            "STAGE": "bench",
            "CORS_ORIGINS": "http://localhost:3000",
            "PYDANTIC_DISABLE_PLUGINS": "__all__",  # as infra/domain_constructs/base.py sets on every function
        }
    )
    return env


def import_times_ms(domain: Domain, reps: int, env: dict[str, str]) -> list[float]:
    code = _TIMED_IMPORT.format(module=domain.module)
    times = []
    for _ in range(reps + 1):  # the first run warms the file cache and writes .pyc; discarded
        out = subprocess.run(
            [sys.executable, "-c", code], env=env, cwd=ROOT, capture_output=True, text=True, check=True
        )
        times.append(float(out.stdout.strip().splitlines()[-1]))
    return times[1:]


def slowest_imports(domain: Domain, env: dict[str, str], top: int = 3) -> list[tuple[str, float]]:
    """Top-level packages by total self import time (ms), from one ``-X importtime`` run."""
    out = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", f"import {domain.module}"],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    totals: dict[str, float] = {}
    for line in out.stderr.splitlines():
        # "import time: <self us> | <cumulative us> | <indent><module>"
        parts = line.split("|")
        if not line.startswith("import time:") or len(parts) != 3 or not parts[1].strip().isdigit():
            continue
        package = parts[2].strip().split(".")[0]
        totals[package] = totals.get(package, 0.0) + int(parts[0].split(":")[1]) / 1000
    return sorted(totals.items(), key=lambda item: -item[1])[:top]


def tree_size(root: Path) -> tuple[int, int]:
    """(unzipped bytes, zipped bytes) of a folder."""
    files = sorted(p for p in root.rglob("*") if p.is_file())
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in files:
            archive.write(path, path.relative_to(root))
    return sum(p.stat().st_size for p in files), buffer.tell()


def fmt_bytes(n: int) -> str:
    return f"{n / 1024:,.1f} KiB" if n < 1024 * 1024 else f"{n / 1024 / 1024:,.2f} MiB"


def asset_sizes() -> tuple[dict[str, tuple[int, int]], dict[str, tuple[int, int]], dict[str, list[str]]]:
    """Sizes of function assets by domain, layer assets by name, and each domain's layers."""
    from infra.synth import synth

    with tempfile.TemporaryDirectory(prefix="cold-start-") as outdir:
        result = synth("dev", bundle=True, outdir=outdir)
        functions, layers, uses = {}, {}, {}
        for lid, res in result.resources("AWS::Lambda::LayerVersion").items():
            layers[res["Metadata"]["agri:layer"]] = tree_size(result.asset_path(lid))
        for lid, res in result.resources("AWS::Lambda::Function").items():
            domain = res.get("Metadata", {}).get("agri:domain")
            if domain:
                functions[domain] = tree_size(result.asset_path(lid))
                uses[domain] = [
                    result.template["Resources"][ref["Ref"]]["Metadata"]["agri:layer"]
                    for ref in res["Properties"].get("Layers", [])
                ]
    return functions, layers, uses


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--reps", type=int, default=7)
    parser.add_argument("--no-assets", action="store_true", help="skip the synth (import times only)")
    args = parser.parse_args()

    env = lambda_like_env()
    functions, layers, uses = ({}, {}, {}) if args.no_assets else asset_sizes()
    flags: list[str] = []

    print(
        f"Handler import time (median of {args.reps} fresh interpreters, Python {sys.version.split()[0]}) "
        "and function asset size"
    )
    print(
        f"{'function':<10} {'median':>9} {'min':>9} {'max':>9} {'unzipped':>12} {'zipped':>12}  heaviest packages (ms)"
    )
    for domain in API_DOMAINS:
        times = import_times_ms(domain, args.reps, env)
        median = statistics.median(times)
        slow = ", ".join(f"{name} {ms:.0f}" for name, ms in slowest_imports(domain, env))
        unzipped, zipped = functions.get(domain.name, (0, 0))
        sizes = f"{fmt_bytes(unzipped):>12} {fmt_bytes(zipped):>12}" if functions else f"{'-':>12} {'-':>12}"
        print(f"{domain.name:<10} {median:>7.0f}ms {min(times):>7.0f}ms {max(times):>7.0f}ms {sizes}  {slow}")
        if median > IMPORT_BUDGET_MS:
            flags.append(f"{domain.name}: import {median:.0f} ms > {IMPORT_BUDGET_MS:.0f} ms")
        if zipped > FUNCTION_ASSET_BUDGET or unzipped > FUNCTION_ASSET_BUDGET:
            flags.append(f"{domain.name}: asset {fmt_bytes(max(zipped, unzipped))} > 1 MiB")
        total = unzipped + sum(layers[name][0] for name in uses.get(domain.name, []))
        if total > LAMBDA_UNZIPPED_LIMIT:
            flags.append(f"{domain.name}: function + layers {fmt_bytes(total)} > Lambda's 250 MB")

    if layers:
        print("\nLayer assets")
        print(f"{'layer':<14} {'unzipped':>12} {'zipped':>12}  used by")
        for name, (unzipped, zipped) in sorted(layers.items()):
            users = ", ".join(d for d, names in uses.items() if name in names) or "-"
            print(f"{name:<14} {fmt_bytes(unzipped):>12} {fmt_bytes(zipped):>12}  {users}")

    print(
        "\n"
        + (
            "FLAGS:\n  " + "\n  ".join(flags)
            if flags
            else "No flags: every import under 250 ms, every function asset under 1 MiB."
        )
    )


if __name__ == "__main__":
    main()

"""Docker-free bundling of the Lambda function code and layers.

CDK bundles an asset in a container unless a *local* bundler succeeds first. This machine (and CI)
has no Docker engine, so every asset here carries :class:`LocalBundler`, which always succeeds:
it copies the source files and, for layers, runs ``pip install`` for the Lambda platform
(manylinux x86_64 wheels of the runtime's CPython version, never the host's). The container image
is still named, because CDK requires one, but it is never pulled.

Assets:

- a function: ``functions/__init__.py`` + ``functions/<domain>/`` (nothing else), so the handler
  string ``functions.<domain>.handler.lambda_handler`` resolves and the asset stays small; the docs
  function also gets Swagger UI's files from ``node_modules/swagger-ui-dist`` (gzipped, under
  ``functions/docs/swagger-ui/``: see :func:`function_extras`);
- a layer: ``pip install -r layers/<name>/requirements.txt --target python/`` + a copy of
  ``layers/<name>/python/``, i.e. what Lambda mounts at ``/opt/python``.

Skipping the pip step: context ``bundle_layers=false`` (``synth(bundle=False)``) still copies our
own source but installs no third-party wheels. The template is the same except for the layers'
asset hashes; the local twin uses it because it runs handlers from source with the venv's packages.
(CDK's own ``aws:cdk:bundling-stacks=[]`` would also work, but it skips the function copies too,
leaving assets that point at the source folders.)
"""

from __future__ import annotations

import gzip
import shutil
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import jsii
from aws_cdk import AssetHashType, BundlingOptions, ILocalBundling
from aws_cdk import aws_lambda as lambda_

ROOT = Path(__file__).resolve().parent.parent
FUNCTIONS_DIR = ROOT / "functions"
LAYERS_DIR = ROOT / "layers"

# Both tags: manylinux2014 alone makes pip settle on older releases of some packages (NumPy).
PIP_PLATFORMS = ("manylinux2014_x86_64", "manylinux_2_28_x86_64")
_IGNORED = shutil.ignore_patterns("__pycache__", "*.pyc", ".pytest_cache", ".mypy_cache", ".DS_Store")


def python_version(runtime: lambda_.Runtime) -> str:
    """``python3.14`` -> ``3.14``: the ABI the layer's wheels must be built for."""
    name = runtime.name
    if not name.startswith("python"):
        raise ValueError(f"{name} is not a Python runtime")
    return name.removeprefix("python")


def pip_install_command(requirements: Path, target: Path, version: str) -> list[str]:
    """The pip command that fetches Lambda-compatible wheels (binary only: no compiler needed)."""
    platforms = [arg for platform in PIP_PLATFORMS for arg in ("--platform", platform)]
    return [
        sys.executable,
        "-m",
        "pip",
        "install",
        "--quiet",
        "--disable-pip-version-check",
        "--no-input",
        *platforms,
        "--only-binary=:all:",
        "--implementation",
        "cp",
        "--python-version",
        version,
        "--no-compile",  # .pyc for the host's Python would be dead weight for the runtime's
        "--target",
        str(target),
        "-r",
        str(requirements),
    ]


@jsii.implements(ILocalBundling)
class LocalBundler:
    """Copies ``(source, destination-relative-to-output)`` pairs and optionally pip-installs.

    ``try_bundle`` always returns True (or raises): falling back to Docker would only fail later
    with a less helpful message.
    """

    def __init__(
        self,
        copies: Sequence[tuple[Path, str]],
        *,
        requirements: Path | None = None,
        pip_target: str = "python",
        version: str | None = None,
        drop: Sequence[str] = (),
    ):
        if requirements is not None and version is None:
            raise ValueError("a Python version is required to install requirements")
        self._copies = tuple(copies)
        self._requirements = requirements
        self._pip_target = pip_target
        self._version = version
        self._drop = tuple(drop)  # relative paths removed after the copies (replaced by a gzipped copy)

    def try_bundle(self, output_dir: str, *_args: Any, **_kwargs: Any) -> bool:
        out = Path(output_dir)
        if self._requirements is not None:
            self._pip_install(out / self._pip_target)
        for source, destination in self._copies:
            target = out / destination
            if destination.endswith(".gz") and not source.name.endswith(".gz"):
                # mtime=0: the same bytes on every synth, so the output hash only moves with the content
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_bytes(gzip.compress(source.read_bytes(), compresslevel=9, mtime=0))
            elif source.is_dir():
                shutil.copytree(source, target, ignore=_IGNORED, dirs_exist_ok=True)
            else:
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(source, target)
        for relative in self._drop:
            (out / relative).unlink(missing_ok=True)
        return True

    def _pip_install(self, target: Path) -> None:
        cmd = pip_install_command(self._requirements, target, self._version)  # type: ignore[arg-type]
        result = subprocess.run(cmd, capture_output=True, text=True, check=False)
        if result.returncode != 0:
            raise RuntimeError(f"pip install for {self._requirements} failed:\n{result.stdout}\n{result.stderr}")
        shutil.rmtree(target / "bin", ignore_errors=True)  # console scripts: unusable in a layer


def _code(source: Path, bundler: LocalBundler, runtime: lambda_.Runtime) -> lambda_.Code:
    """An asset bundled by ``bundler``.

    Hashed by OUTPUT, not by source: CDK reuses an existing ``asset.<hash>`` folder of the outdir
    without bundling again, and a source hash is the same with and without the pip step, so a
    cdk.out shared by a ``bundle_layers=false`` synth and a full one would ship stale layers.
    """
    return lambda_.Code.from_asset(
        str(source),
        asset_hash_type=AssetHashType.OUTPUT,
        bundling=BundlingOptions(image=runtime.bundling_image, local=bundler),
    )


def function_code(domain_name: str, runtime: lambda_.Runtime, entry: str = "handler") -> lambda_.Code:
    """The asset of ``functions/<domain>``: the package marker plus that one domain's folder.

    ``entry``: the module holding ``lambda_handler`` (``handler`` for API domains; a pipeline task
    function names its task module, e.g. ``plan``)."""
    source = FUNCTIONS_DIR / domain_name
    if not (source / f"{entry}.py").is_file():
        raise FileNotFoundError(f"{source}/{entry}.py does not exist")
    bundler = LocalBundler(
        [
            (FUNCTIONS_DIR / "__init__.py", "functions/__init__.py"),
            (source, f"functions/{domain_name}"),
            *function_extras(domain_name),
        ],
        drop=["functions/docs/openapi.json"] if domain_name == "docs" else [],  # shipped gzipped instead
    )
    return _code(source, bundler, runtime)


# Domains whose code reads another domain's data through that domain's own read paths: the other
# domain's folder travels in the asset too (the public registry view reads the ledger with
# functions/ledger's store and reader; copying them would let the two drift; a farmer's erasure deletes
# their notifications through functions/notifications' store and asks the ledger writer to unlink their
# account with functions/ledger's command model and writer client).
SHARED_CODE: dict[str, tuple[str, ...]] = {"registry": ("ledger",), "farmers": ("notifications", "ledger")}


def function_extras(domain_name: str) -> list[tuple[Path, str]]:
    """Files from outside ``functions/<domain>`` that a function's asset carries: the folders of
    :data:`SHARED_CODE`; for ``docs``, the Swagger UI files its handler serves
    (``functions/docs/assets.py`` names them) and the OpenAPI document, gzipped."""
    shared = [(FUNCTIONS_DIR / name, f"functions/{name}") for name in SHARED_CODE.get(domain_name, ())]
    if domain_name != "docs":
        return shared
    from functions.docs.assets import FILES, SOURCE_DIR

    missing = [name for name in FILES if not (SOURCE_DIR / name).is_file()]
    if missing:
        raise FileNotFoundError(f"{SOURCE_DIR} lacks {missing}: run `npm ci` (swagger-ui-dist is in package.json)")
    return [
        *((SOURCE_DIR / name, f"functions/docs/swagger-ui/{name}.gz") for name in FILES),
        (FUNCTIONS_DIR / "docs" / "openapi.json", "functions/docs/openapi.json.gz"),
    ]


def layer_exists(layer_name: str) -> bool:
    return (LAYERS_DIR / layer_name / "python").is_dir()


def layer_assets(layer_name: str) -> list[tuple[Path, str]]:
    """Files a layer takes from ``node_modules`` (pinned npm packages: the export layer's Noto fonts),
    listed in ``layers/<name>/assets.json`` as ``{"<destination folder>": ["<path under node_modules>"]}``."""
    import json

    manifest = LAYERS_DIR / layer_name / "assets.json"
    if not manifest.is_file():
        return []
    out = [
        (ROOT / "node_modules" / path, f"{folder}/{path}")
        for folder, paths in json.loads(manifest.read_text()).items()
        for path in paths
    ]
    missing = [str(src) for src, _ in out if not src.is_file()]
    if missing:
        raise FileNotFoundError(f"layer {layer_name}: {', '.join(missing)} missing: run scripts/bootstrap.sh (npm ci)")
    return out


def layer_code(layer_name: str, runtime: lambda_.Runtime, *, install_requirements: bool = True) -> lambda_.Code:
    """The asset of ``layers/<name>``: its pinned requirements and its own package(s) under python/."""
    source = LAYERS_DIR / layer_name
    requirements = source / "requirements.txt"
    use_pip = install_requirements and requirements.is_file()
    bundler = LocalBundler(
        [(source / "python", "python"), *(layer_assets(layer_name) if use_pip else [])],
        requirements=requirements if use_pip else None,
        version=python_version(runtime) if use_pip else None,
    )
    return _code(source, bundler, runtime)

"""The Lambda runtime and the layers' wheels agree (docs/decisions/0011-lambda-python-runtime.md).

Lambda runs Python 3.14 while the tests run on the venv's 3.11, so a compiled wheel built for the
tests' Python (or for any other CPython) would import here and fail on Lambda. These checks read the
bundled layers of the session's dev synth: every compiled extension module carries the runtime's
CPython tag (or the stable ABI), and every installed wheel's tags accept the runtime's version.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from infra.bundling import pip_install_command, python_version
from infra.function import RUNTIME
from tests.infra.cfn import resources

ABI = python_version(RUNTIME).replace(".", "")  # "314"
# A CPython extension module: name.cpython-314-x86_64-linux-gnu.so, or name.abi3.so (the stable ABI).
EXTENSION = re.compile(r"\.(cpython-(?P<abi>\d+)[^.]*|abi3)\.so$")


def _layer_dirs(synthesized, template) -> dict[str, Path]:
    return {
        r["Metadata"]["agri:layer"]: synthesized.asset_path(lid) / "python"
        for lid, r in resources(template, "AWS::Lambda::LayerVersion").items()
    }


def _wheel_tags(python: Path) -> dict[str, list[str]]:
    """``{"numpy-2.4.4.dist-info": ["cp314-cp314-manylinux_2_27_x86_64", ...]}`` from each WHEEL file."""
    out = {}
    for wheel in python.glob("*.dist-info/WHEEL"):
        tags = [line.split(":", 1)[1].strip() for line in wheel.read_text().splitlines() if line.startswith("Tag:")]
        out[wheel.parent.name] = tags
    return out


def _accepts_runtime(tag: str) -> bool:
    """Whether one wheel tag (``python-abi-platform``) installs on CPython 3.<ABI[1:]> x86_64 Linux."""
    py, abi, platform = tag.split("-", 2)
    if platform != "any" and not (platform.endswith("x86_64") and "linux" in platform):
        return False
    if abi == "none":  # pure Python (py3-none-any) or a version-specific pure build
        return any(p in {"py3", f"py{ABI}", f"cp{ABI}"} or p == "py2.py3" for p in py.split("."))
    if abi == "abi3":  # the stable ABI: built for cp3x, loads on every later CPython 3
        return py.startswith("cp3") and int(py[2:]) <= int(ABI)
    return abi == f"cp{ABI}"


def test_the_runtime_is_the_bundling_target():
    assert RUNTIME.name == f"python{python_version(RUNTIME)}"
    command = pip_install_command(Path("requirements.txt"), Path("out"), python_version(RUNTIME))
    assert command[command.index("--python-version") + 1] == python_version(RUNTIME)
    assert "--only-binary=:all:" in command  # never a build with the host's compiler and headers


@pytest.mark.parametrize(
    "tag,ok",
    [
        (f"cp{ABI}-cp{ABI}-manylinux_2_17_x86_64", True),
        ("py3-none-any", True),
        ("cp39-abi3-manylinux2014_x86_64", True),
        ("cp311-cp311-manylinux_2_17_x86_64", False),
        (f"cp{ABI}-cp{ABI}-macosx_11_0_arm64", False),
        (f"cp{ABI}-cp{ABI}-manylinux_2_17_aarch64", False),
        ("cp399-abi3-manylinux2014_x86_64", False),
    ],
)
def test_tag_reading(tag, ok):
    assert _accepts_runtime(tag) is ok


def test_every_compiled_module_of_every_layer_is_built_for_the_runtime(synthesized, template):
    layers = _layer_dirs(synthesized, template)
    assert {"common", "chain", "geo", "export"} <= layers.keys()
    seen, wrong = 0, []
    for name, python in layers.items():
        for so in python.rglob("*.so"):
            match = EXTENSION.search(so.name)
            if match is None:
                continue  # a bundled shared library (libgeos, libproj...), not a Python module
            seen += 1
            if match.group("abi") is not None and match.group("abi") != ABI:
                wrong.append(f"{name}: {so.relative_to(python)}")
    assert seen > 0, "no compiled extension found: the layers were not bundled"
    assert not wrong, wrong


def test_every_wheel_in_the_layers_installs_on_the_runtime(synthesized, template):
    wrong, checked = [], set()
    for name, python in _layer_dirs(synthesized, template).items():
        for dist, tags in _wheel_tags(python).items():
            checked.add(dist.split("-")[0].lower())
            if not tags or not any(_accepts_runtime(tag) for tag in tags):
                wrong.append(f"{name}: {dist} {tags}")
    assert {"numpy", "pydantic_core", "shapely", "pyproj", "pillow", "web3"} <= checked, sorted(checked)
    assert not wrong, wrong

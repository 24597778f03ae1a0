"""The verifier as its own package (tools/ledger-verify): installed console script and ``python -m``
on an exported ledger with every exit status, in a process that cannot import our code; standard
library only; its own copy of the hashing scheme agrees with the writer's (agri_common.ledger_crypto)
on every definition."""

from __future__ import annotations

import ast
import json
import os
import socket
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from agri_common import ledger_crypto as writer_scheme
from ledger_verify import scheme as verifier_scheme
from tests.unit.tools.ledger_verify.test_verifier import _export_files, _records, anchored  # noqa: F401

ROOT = Path(__file__).resolve().parents[4]
PACKAGE = ROOT / "tools" / "ledger-verify"
SCRIPT = Path(sys.executable).parent / "agri-ledger-verify"


def _outsider_env() -> dict[str, str]:
    """The environment of an outsider's shell: no PYTHONPATH (our layers are not importable)."""
    return {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME")}


def _run(*argv: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(x) for x in argv], capture_output=True, text=True, env=_outsider_env(), cwd="/", timeout=60
    )


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_the_outsider_process_cannot_import_our_code():
    probe = _run(sys.executable, "-c", "import agri_common")
    assert probe.returncode != 0 and "No module named 'agri_common'" in probe.stderr


def test_console_script_on_an_exported_ledger_and_its_exit_statuses(anchored):
    assert SCRIPT.is_file(), "agri-ledger-verify is not installed in the venv: run scripts/bootstrap.sh"
    export = str(anchored.export)

    ok = _run(SCRIPT, "chain", "--export", export)
    assert ok.returncode == 0, ok.stderr
    report = json.loads(ok.stdout)
    assert report["verified"] is True and report["report"]["records"] == len(_records(anchored))
    assert report["report"]["manifest_head"] == report["report"]["newest_batch"]

    same = _run(sys.executable, "-m", "ledger_verify", "chain", "--export", export)  # the module, same answer
    assert (same.returncode, json.loads(same.stdout)) == (0, report)

    unreachable = _run(SCRIPT, "chain", "--export", export, "--rpc", f"http://127.0.0.1:{_closed_port()}")
    assert unreachable.returncode == 2 and "cannot verify" in unreachable.stderr

    assert _run(SCRIPT, "chain", "--export", "/no/such/export").returncode == 2
    usage = _run(SCRIPT, "chain")  # --export missing: argparse's usage error
    assert usage.returncode == 2 and "--export" in usage.stderr
    helped = _run(SCRIPT, "--help")
    assert helped.returncode == 0 and "agri-ledger-verify" in helped.stdout and "exit status" in helped.stdout

    newest = _export_files(anchored)[-1]
    doc = json.loads(newest.read_bytes())
    doc["records"][-1]["quantity"] += 1  # a tampered record
    newest.write_text(json.dumps(doc))
    failed = _run(SCRIPT, "chain", "--export", export)
    assert failed.returncode == 1 and failed.stderr.startswith("FAILED:")


def _imports(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names.update(a.name.split(".")[0] for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module.split(".")[0])
    return names


def test_the_package_uses_only_the_standard_library_and_declares_its_script():
    sources = sorted((PACKAGE / "src" / "ledger_verify").glob("*.py"))
    assert {p.name for p in sources} >= {"__init__.py", "__main__.py", "scheme.py"}
    imported = set().union(*(_imports(p) for p in sources))
    assert imported - {"ledger_verify", "__future__"} <= set(sys.stdlib_module_names), imported
    project = tomllib.loads((PACKAGE / "pyproject.toml").read_text())["project"]
    assert project["dependencies"] == []
    assert project["scripts"] == {"agri-ledger-verify": "ledger_verify.__main__:main"}


def test_the_common_layer_no_longer_ships_the_verifier():
    assert not (ROOT / "layers" / "common" / "python" / "ledger_verify").exists()


# ---- the verifier's hashing scheme == the writer's ------------------------------------------------
def test_same_constants():
    for name in (
        "HASH_SCHEME",
        "GENESIS_HASH",
        "HASH_FIELD",
        "LEAF_PREFIX",
        "NODE_PREFIX",
        "MANIFEST_NAME",
        "MANIFEST_KIND",
    ):
        assert getattr(verifier_scheme, name) == getattr(writer_scheme, name), name


RECORDS = [
    {"record_id": "A", "seq": 1, "quantity": 3, "note": "ग्राम पंचायत", "nested": {"z": [1, "2"], "a": None}},
    {"record_id": "B", "seq": 2, "share_exact": "0.333333", "flag": True, "empty": {}},
    {},
]


@pytest.mark.parametrize("record", RECORDS)
def test_same_canonical_json_and_record_hash(record):
    assert verifier_scheme.canonical_json(record) == writer_scheme.canonical_json(record)
    sealed = writer_scheme.seal(record)
    assert verifier_scheme.record_hash(sealed) == writer_scheme.record_hash(sealed) == sealed["record_hash"]
    assert verifier_scheme.verify_record(sealed) == sealed["record_hash"]


def test_both_refuse_floats():
    for scheme in (verifier_scheme, writer_scheme):
        with pytest.raises(TypeError, match="float"):
            scheme.canonical_json({"quantity": 1.5})


@pytest.mark.parametrize("leaves", [1, 2, 3, 4, 5, 7, 8, 9, 16, 17])
def test_same_merkle_roots_and_proofs(leaves):
    hashes = [writer_scheme.sha256_hex(f"record {i}".encode()) for i in range(leaves)]
    root = writer_scheme.merkle_root(hashes)
    assert verifier_scheme.merkle_root(hashes) == root
    for index, leaf in enumerate(hashes):
        assert verifier_scheme.root_from_proof(leaf, writer_scheme.merkle_proof(hashes, index)) == root


@pytest.mark.parametrize("anchor_id", ["000000000001-000000000003", "000000000001-000000000003.r2", "x"])
def test_same_batch_keys(anchor_id):
    assert verifier_scheme.batch_key(anchor_id) == writer_scheme.batch_key(anchor_id)


@pytest.mark.parametrize("anchor_id", ["B", "B.r1", "B.r12", "B.r0", "B.r01", "B.r", "B.rx", "C", "B.r١", "BB.r1"])
def test_same_anchor_ids(anchor_id):
    assert verifier_scheme.is_anchor_id("B", anchor_id) is writer_scheme.is_anchor_id("B", anchor_id)


def _chain(n: int) -> list[dict]:
    records, prev = [], writer_scheme.GENESIS_HASH
    for seq in range(1, n + 1):
        record = writer_scheme.seal({"record_id": f"R{seq}", "seq": seq, "prev_hash": prev})
        records.append(record)
        prev = record["record_hash"]
    return records


@pytest.mark.parametrize("damage", ["none", "edited", "deleted", "reordered", "relinked"])
def test_same_chain_verdicts(damage):
    records = _chain(4)
    if damage == "edited":
        records[1] = {**records[1], "record_id": "X"}
    elif damage == "deleted":
        del records[2]
    elif damage == "reordered":
        records[1], records[2] = records[2], records[1]
    elif damage == "relinked":  # re-sealed with a foreign link: its own hash is right, the link is not
        records[2] = writer_scheme.seal({**records[2], "prev_hash": "ab" * 32})
    if damage == "none":
        assert (
            verifier_scheme.verify_chain(records) == writer_scheme.verify_chain(records) == records[-1]["record_hash"]
        )
        return
    with pytest.raises(writer_scheme.LedgerIntegrityError) as by_writer:
        writer_scheme.verify_chain(records)
    with pytest.raises(verifier_scheme.LedgerIntegrityError) as by_verifier:
        verifier_scheme.verify_chain(records)
    assert str(by_verifier.value) == str(by_writer.value)

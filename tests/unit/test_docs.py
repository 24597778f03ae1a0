"""The README stays a short first read, and the markdown links of the README and docs/ resolve.

Every relative link in README.md and docs/**/*.md (decision records included) must name a file or
folder of the repository, and a ``#fragment`` a heading of the target document, so moving or renaming
a doc fails here rather than on a reader; every picture they show must exist. Every command they give as
``python -m <module>`` must name a module that runs that way, and every ``.venv/bin/<tool>`` a tool the
venv has, so a renamed module or console script fails here rather than in a reader's terminal. Issue
numbers are not documentation: neither the docs nor code comments cite them.
"""

from __future__ import annotations

import importlib.util
import os
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"
MAX_README_LINES = 250
SKIPPED_DIRS = {".venv", ".venv-crosscheck", "node_modules", "cdk.out", ".git", ".local", ".mypy_cache", ".ruff_cache"}

LINK = re.compile(r"(?<!!)\[[^\]\n]*\]\(([^)\s]+)\)")
IMAGE = re.compile(r"!\[[^\]\n]*\]\(([^)\s]+)\)|<img\b[^>]*\bsrc=\"([^\"]+)\"", re.I)
RUN_MODULE = re.compile(r"\bpython3? -m ([A-Za-z_][\w.]*)")
VENV_TOOL = re.compile(r"\.venv/bin/([A-Za-z][\w.-]*)")
FENCE = re.compile(r"^\s*(```|~~~)")
ISSUE_REFERENCE = re.compile(r"issue ?#?[0-9]+|the (hardening|crediting|structure|operations|reports) issue", re.I)


def _markdown_files() -> list[Path]:
    return [README, *sorted((ROOT / "docs").rglob("*.md"))]


def _prose(path: Path) -> str:
    """The file without its fenced code blocks (a shell snippet's brackets are not links)."""
    out, fenced = [], False
    for line in path.read_text(encoding="utf-8").splitlines():
        if FENCE.match(line):
            fenced = not fenced
            continue
        if not fenced:
            out.append(re.sub(r"`[^`]*`", "", line))
    return "\n".join(out)


def _slug(heading: str) -> str:
    """GitHub's anchor of a heading: lower case, punctuation dropped, spaces to hyphens."""
    text = re.sub(r"[`*_]", "", heading.strip().lower())
    text = re.sub(r"[^\w\- ]", "", text)
    return text.replace(" ", "-")


def _anchors(path: Path) -> set[str]:
    return {_slug(line.lstrip("#")) for line in _prose(path).splitlines() if line.startswith("#")}


def _relative_links(path: Path) -> list[str]:
    return [t for t in LINK.findall(_prose(path)) if not re.match(r"^[a-z][a-z0-9+.-]*:", t)]


def _broken(path: Path) -> list[str]:
    broken = []
    for target in _relative_links(path):
        file_part, _, fragment = target.partition("#")
        resolved = (path.parent / file_part).resolve() if file_part else path
        if not resolved.exists():
            broken.append(f"{target}: no such file")
        elif fragment and resolved.suffix == ".md" and fragment not in _anchors(resolved):
            broken.append(f"{target}: no heading #{fragment}")
    return broken


def _images(path: Path) -> list[str]:
    """The pictures a markdown file shows (markdown or HTML ``<img>``), fenced code left out."""
    found = [a or b for a, b in IMAGE.findall(_prose(path))]
    return [t for t in found if not re.match(r"^[a-z][a-z0-9+.-]*:", t)]


def _missing_images(path: Path) -> list[str]:
    return [t for t in _images(path) if not (path.parent / t).resolve().is_file()]


def _commands(path: Path) -> str:
    """Everything a reader may copy into a terminal: fenced blocks and inline code, as written."""
    return path.read_text(encoding="utf-8")


def _unrunnable_modules(text: str) -> list[str]:
    """``python -m X`` names whose module does not exist or has no ``__main__`` (package) / main block."""
    bad = []
    for name in sorted(set(RUN_MODULE.findall(text))):
        spec = importlib.util.find_spec(name)
        if spec is None:
            bad.append(f"{name}: no such module")
        elif spec.submodule_search_locations is not None:
            if importlib.util.find_spec(f"{name}.__main__") is None:
                bad.append(f"{name}: a package without __main__")
        elif spec.origin and spec.origin.endswith(".py"):
            if not re.search(r"""^if __name__ == ["']__main__["']""", Path(spec.origin).read_text(), re.M):
                bad.append(f"{name}: no main block")
    return bad


def test_readme_stays_short():
    lines = README.read_text(encoding="utf-8").splitlines()
    assert len(lines) <= MAX_README_LINES, f"README.md has {len(lines)} lines; move detail to docs/"


def test_readme_links_every_doc():
    """A doc nobody links is a doc nobody finds: every docs/*.md is reachable from the README, directly
    or through one doc it links."""
    linked = {(README.parent / t.partition("#")[0]).resolve() for t in _relative_links(README)}
    reachable = set(linked)
    for doc in linked:
        if doc.suffix == ".md" and doc.is_file():
            reachable |= {(doc.parent / t.partition("#")[0]).resolve() for t in _relative_links(doc)}
    orphans = [p.name for p in sorted((ROOT / "docs").glob("*.md")) if p.resolve() not in reachable]
    assert not orphans, orphans


@pytest.mark.parametrize("path", _markdown_files(), ids=lambda p: str(p.relative_to(ROOT)))
def test_relative_links_resolve(path):
    assert not _broken(path), _broken(path)


@pytest.mark.parametrize("path", _markdown_files(), ids=lambda p: str(p.relative_to(ROOT)))
def test_pictures_exist(path):
    assert not _missing_images(path), _missing_images(path)


def test_readme_shows_a_rendered_report_page():
    assert any(t.startswith("docs/images/report-") for t in _images(README)), _images(README)


@pytest.mark.parametrize("path", _markdown_files(), ids=lambda p: str(p.relative_to(ROOT)))
def test_commands_name_modules_that_run(path):
    text = _commands(path)
    assert not _unrunnable_modules(text), _unrunnable_modules(text)
    tools = sorted({t for t in VENV_TOOL.findall(text) if not (ROOT / ".venv" / "bin" / t).exists()})
    assert not tools, f"{path.name} names .venv/bin tools the venv does not have: {tools}"


def test_the_command_checker_finds_modules_that_do_not_run(tmp_path):
    text = (
        "```bash\n.venv/bin/python -m infra.local --port 8766\npython -m ledger_verify credit\n```\n"
        "`python -m infra.openapi --write`, `python -m infra.no_such_module`, "
        "`.venv/bin/python -m infra.config` (a module without a main block), `python -m functions` (a package)\n"
    )
    assert _unrunnable_modules(text) == [
        "functions: a package without __main__",
        "infra.config: no main block",
        "infra.no_such_module: no such module",
    ]
    doc = tmp_path / "doc.md"
    doc.write_text('![a](a.png) <img src="b.png" width="10"> ![web](https://example.org/c.png)\n', encoding="utf-8")
    (tmp_path / "a.png").write_bytes(b"png")
    assert _missing_images(doc) == ["b.png"]


def test_the_link_checker_finds_broken_links(tmp_path):
    doc = tmp_path / "doc.md"
    (tmp_path / "other.md").write_text("# Other\n\n## Routes and roles\n", encoding="utf-8")
    doc.write_text(
        "# Doc\n\n[ok](other.md) [anchor](other.md#routes-and-roles) [self](#doc) "
        "[web](https://example.org/x) [gone](missing.md) [bad anchor](other.md#nope)\n\n"
        "```bash\necho [not a link](nowhere.md)\n```\n",
        encoding="utf-8",
    )
    assert _broken(doc) == ["missing.md: no such file", "other.md#nope: no heading #nope"]


def _sources() -> list[Path]:
    """Every .py and .md file of the repository, without venvs, node_modules and build output."""
    found = []
    for folder, dirs, files in os.walk(ROOT):
        dirs[:] = [d for d in dirs if d not in SKIPPED_DIRS]
        found += [Path(folder) / f for f in files if f.endswith((".py", ".md"))]
    return found


def test_no_issue_numbers_in_docs_or_code():
    found = []
    for path in _sources():
        if path == Path(__file__).resolve():
            continue
        for number, line in enumerate(path.read_text(encoding="utf-8", errors="replace").splitlines(), 1):
            if ISSUE_REFERENCE.search(line):
                found.append(f"{path.relative_to(ROOT)}:{number}: {line.strip()[:100]}")
    assert not found, found

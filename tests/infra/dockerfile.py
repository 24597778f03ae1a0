"""A small reader of the repository's Dockerfile, .dockerignore and shell scripts, for the tests that check the
image against scripts/bootstrap.sh and scripts/run.sh without a Docker engine (tests/infra/test_dockerfile.py,
tests/e2e/test_container_layout.py)."""

from __future__ import annotations

import fnmatch
import json
import posixpath
import re
import shlex
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DOCKERFILE = ROOT / "Dockerfile"
DOCKERIGNORE = ROOT / ".dockerignore"
SEPARATORS = {"&&", "||", ";", "|", "&", "(", ")"}


@dataclass(frozen=True)
class Instruction:
    keyword: str  # upper case: RUN, COPY, ...
    args: str  # the rest of the instruction, continuation lines joined
    line: int  # where it starts (1-based)

    def exec_form(self) -> list[str] | None:
        """The JSON array of an exec-form CMD/ENTRYPOINT/RUN, or None for the shell form."""
        text = self.args.strip()
        return json.loads(text) if text.startswith("[") else None

    def health_command(self) -> list[str]:
        """A HEALTHCHECK's command (exec form), after its flags and CMD."""
        found = re.fullmatch(r"((?:--\S+\s+)*)CMD\s+(\[.*\])", self.args.strip(), flags=re.DOTALL)
        assert found, f"line {self.line}: HEALTHCHECK [--flags] CMD [exec form]"
        return list(json.loads(found.group(2)))

    def flags_and_rest(self) -> tuple[dict[str, str], list[str]]:
        """Leading ``--name=value`` flags (COPY --from, HEALTHCHECK --interval...) and the remaining words."""
        words = shlex.split(self.args)
        flags: dict[str, str] = {}
        while words and words[0].startswith("--"):
            name, _, value = words.pop(0)[2:].partition("=")
            flags[name] = value
        return flags, words


@dataclass
class Stage:
    image: str
    name: str | None
    instructions: list[Instruction] = field(default_factory=list)

    def all(self, keyword: str) -> list[Instruction]:
        return [i for i in self.instructions if i.keyword == keyword]

    def workdir_at(self, instruction: Instruction) -> str:
        """The WORKDIR in force at ``instruction`` (the image's default: /)."""
        workdir = "/"
        for i in self.instructions:
            if i is instruction:
                break
            if i.keyword == "WORKDIR":
                workdir = posixpath.join(workdir, i.args.strip())
        return workdir


def instructions(text: str) -> list[Instruction]:
    """The Dockerfile's instructions: comments dropped, backslash continuations joined."""
    out: list[Instruction] = []
    pending: list[str] = []
    start = 0
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not pending and (not line or line.startswith("#")):
            continue
        if pending and line.startswith("#"):
            continue  # a comment inside a continued instruction
        if not pending:
            start = number
        continued = line.endswith("\\")
        pending.append(line[:-1].strip() if continued else line)
        if not continued:
            whole = " ".join(p for p in pending if p)
            keyword, _, args = whole.partition(" ")
            out.append(Instruction(keyword.upper(), args.strip(), start))
            pending = []
    assert not pending, "the Dockerfile ends inside a continued instruction"
    return out


def stages(text: str | None = None) -> list[Stage]:
    text = DOCKERFILE.read_text() if text is None else text
    result: list[Stage] = []
    for instruction in instructions(text):
        if instruction.keyword == "FROM":
            words = instruction.args.split()
            name = words[2] if len(words) == 3 and words[1].upper() == "AS" else None
            assert len(words) in (1, 3), f"line {instruction.line}: FROM image [AS name]"
            result.append(Stage(words[0], name))
        else:
            assert result, f"line {instruction.line}: {instruction.keyword} before any FROM"
            result[-1].instructions.append(instruction)
    return result


def simple_commands(shell: str) -> list[list[str]]:
    """The simple commands of a shell command line (split at &&, ||, ;, | and &), each without the
    ``NAME=value`` assignments before its program."""
    lexer = shlex.shlex(shell, posix=True, punctuation_chars=True)
    lexer.whitespace_split = True
    commands: list[list[str]] = [[]]
    for token in lexer:
        if token in SEPARATORS:
            commands.append([])
        else:
            commands[-1].append(token)
    cleaned = []
    for words in commands:
        while words and re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*=.*", words[0]):
            words = words[1:]
        if words:
            cleaned.append(words)
    return cleaned


def copies(stage: Stage, instruction: Instruction) -> list[tuple[str, str]]:
    """(source, absolute destination of that source) for one COPY, as Docker resolves them: a destination
    ending in / (or several sources) is a folder the sources go into, by their base name."""
    _, words = instruction.flags_and_rest()
    *sources, dest = words
    if not dest.startswith("/"):
        dest = posixpath.join(stage.workdir_at(instruction), dest)
    into_folder = instruction.args.rstrip().endswith("/") or len(sources) > 1
    return [
        (src, posixpath.normpath(posixpath.join(dest, posixpath.basename(src.rstrip("/"))) if into_folder else dest))
        for src in sources
    ]


def ignore_patterns() -> list[str]:
    lines = (line.strip() for line in DOCKERIGNORE.read_text().splitlines())
    return [line for line in lines if line and not line.startswith("#")]


def ignored(path: str, patterns: list[str]) -> bool:
    """Whether .dockerignore keeps ``path`` (relative to the context) or one of its folders out of the context."""
    parts = path.split("/")
    prefixes = ["/".join(parts[: n + 1]) for n in range(len(parts))]
    for pattern in patterns:
        for candidate in prefixes:
            if fnmatch.fnmatchcase(candidate, pattern):
                return True
            if pattern.startswith("**/") and fnmatch.fnmatchcase(candidate.split("/")[-1], pattern[3:]):
                return True
    return False


def exported_variables(script: str) -> dict[str, str]:
    """``export NAME=value`` lines of a shell script."""
    return dict(re.findall(r"^export ([A-Za-z_][A-Za-z0-9_]*)=(\S+)$", script, flags=re.MULTILINE))

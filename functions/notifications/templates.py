"""Templates are data: ``templates/<language>.json``, one file per language with the same keys and
the same placeholders as ``en.json`` (tests hold that); a language without a file, or a kind its
file lacks, falls back to English. Adding a language is adding a file.

Every value put into a template is plain text: control and bidirectional formatting characters
become spaces and each value is cut to :data:`MAX_VALUE_CHARS`; a placeholder the event does not
carry renders as ``-``. SMS text is bounded (:func:`bound_sms`): two concatenated segments.
"""

from __future__ import annotations

import json
import string
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from agri_common.platform.inputs import forbidden_character

TEMPLATES = Path(__file__).with_name("templates")
DEFAULT_LANGUAGE = "en"
PARTS = ("title", "body", "sms")
MAX_VALUE_CHARS = 120
# Two concatenated SMS segments: 153 GSM-7 characters each, or 67 UCS-2 (any non-ASCII script).
MAX_SMS_GSM = 306
MAX_SMS_UNICODE = 134
ELLIPSIS = "…"


@dataclass(frozen=True)
class Rendered:
    language: str
    title: str
    body: str
    sms: str


def languages() -> tuple[str, ...]:
    return tuple(sorted(p.stem for p in TEMPLATES.glob("*.json")))


@cache
def load(language: str) -> dict[str, dict[str, str]]:
    path = TEMPLATES / f"{language}.json"
    if not path.is_file() or language not in languages():
        return {}
    data: dict[str, dict[str, str]] = json.loads(path.read_text(encoding="utf-8"))
    return data


def placeholders(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


def plain(value: Any) -> str:
    """A value as one line of plain text: no control or bidi characters, bounded."""
    text = "".join(" " if forbidden_character(ch, single_line=True) else ch for ch in str(value))
    text = " ".join(text.split())
    return text if len(text) <= MAX_VALUE_CHARS else text[: MAX_VALUE_CHARS - 1] + ELLIPSIS


class _Values(dict[str, str]):
    def __missing__(self, key: str) -> str:
        return "-"


def bound_sms(text: str) -> str:
    limit = MAX_SMS_GSM if text.isascii() else MAX_SMS_UNICODE
    return text if len(text) <= limit else text[: limit - 1] + ELLIPSIS


def render(kind: str, language: str, values: dict[str, Any]) -> Rendered:
    """The ``kind`` message in ``language`` (English when that language has no such template)."""
    template = load(language).get(kind)
    if template is None:
        language, template = DEFAULT_LANGUAGE, load(DEFAULT_LANGUAGE)[kind]
    safe = _Values({k: plain(v) for k, v in values.items()})
    title, body, sms = (string.Formatter().vformat(template[part], (), safe) for part in PARTS)
    return Rendered(language=language, title=title, body=body, sms=bound_sms(sms))


def sms_template_names() -> tuple[str, ...]:
    """Every SMS text this function may send, by its DLT template name (``<kind>.<language>``): each
    language's file holds its own texts, and DLT registers each exact text (agri_common.sms)."""
    from agri_common.sms import template_name

    return tuple(
        sorted(
            template_name(kind, lang) for lang in languages() for kind, parts in load(lang).items() if parts.get("sms")
        )
    )

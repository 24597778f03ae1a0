"""Values as drawn text: cleaned of what no font draws, numbers and times as people read them, and
axis ticks that stay distinct."""

from __future__ import annotations

import math
from datetime import UTC, datetime
from typing import Any

from agri_common.pdf.fonts import covered

REPLACEMENT = "\ufffd"

_INVISIBLE_OK = {0x200C, 0x200D}  # ZWNJ / ZWJ: they steer Indic shaping


def clean(value: Any) -> str:
    """A value as drawable text: ``None`` -> an em dash; control, bidi-control and characters no
    font has -> U+FFFD; a tab -> a space. Newlines are kept (a paragraph may hold several lines)."""
    if value is None:
        return "\u2014"
    text = str(value).replace("\t", " ").replace("\r\n", "\n").replace("\r", "\n")
    have = covered()
    out = []
    for ch in text:
        cp = ord(ch)
        if ch == "\n" or cp in _INVISIBLE_OK:
            out.append(ch)
        elif cp < 0x20 or 0x7F <= cp < 0xA0 or 0x202A <= cp <= 0x202E or 0x2066 <= cp <= 0x2069 or cp not in have:
            out.append(REPLACEMENT)
        else:
            out.append(ch)
    return "".join(out)


def one_line(value: Any) -> str:
    return clean(value).replace("\n", " ")


# ----------------------------------------------------------------------------- numbers


def number(value: float | int | None, digits: int = 3) -> str:
    """``1234.5678`` -> ``1,234.568``; never ``-0.000`` (a rounded negative zero prints as ``0.000``)."""
    if value is None:
        return "\u2014"
    if isinstance(value, bool):
        return yes_no(value)
    if isinstance(value, int):
        return f"{value:,}"
    if not math.isfinite(value):
        return str(value)
    text = f"{value:,.{digits}f}"
    return text[1:] if text.startswith("-") and not any(c in "123456789" for c in text) else text


def yes_no(value: bool | None) -> str:
    return "\u2014" if value is None else ("Yes" if value else "No")


def when(value: str | None) -> str:
    """An ISO timestamp as ``2026-11-27 14:05 UTC`` (as stored when it cannot be read)."""
    if not value:
        return "\u2014"
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return one_line(value)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


def nice_step(span: float, target: int) -> float:
    """A 1/2/5 x 10^k step giving about ``target`` intervals over ``span`` (> 0)."""
    raw = span / max(1, target)
    mag = 10.0 ** math.floor(math.log10(raw))
    for m in (1, 2, 5, 10):
        if raw <= m * mag:
            return m * mag
    return 10 * mag  # pragma: no cover (the loop always returns)


def ticks(lo: float, hi: float, target: int = 5, integer: bool = False) -> tuple[list[float], int]:
    """Axis ticks covering [lo, hi] and always 0 when the range touches it, with the decimals that
    make every label distinct: returns (tick values, decimals)."""
    lo, hi = min(lo, 0.0), max(hi, 0.0)  # bars start at 0
    if hi - lo <= 0:
        hi = lo + 1.0
    step = nice_step(hi - lo, target)
    if integer:
        step = max(1.0, round(step))
    start, end = math.floor(lo / step) * step, math.ceil(hi / step) * step
    n = int(round((end - start) / step))
    values = [start + i * step for i in range(n + 1)]
    decimals = 0 if integer else max(0, -math.floor(math.log10(step) + 1e-9))
    return [0.0 if abs(v) < step * 1e-9 else round(v, decimals + 2) for v in values], decimals


def label_points(lo: float, hi: float, target: int = 6) -> tuple[list[float], int]:
    """Labelled positions inside [lo, hi] (a histogram's value axis; 0 is not forced): nice values,
    unique labels, no ``-0``."""
    if hi - lo <= 0:
        return [lo], 3
    step = nice_step(hi - lo, target)
    first = math.ceil(lo / step) * step
    values = []
    v = first
    while v <= hi + step * 1e-9:
        values.append(0.0 if abs(v) < step * 1e-9 else v)
        v += step
    decimals = max(0, -math.floor(math.log10(step) + 1e-9))
    return values, decimals

"""The Noto Sans families a PDF draws with: which files, where they are (the export layer, or
``node_modules`` from source), and which code points each covers."""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from functools import cache, lru_cache
from pathlib import Path


@dataclass(frozen=True)
class Family:
    name: str  # the fpdf2 family name
    script: str
    package: str  # npm package
    stem: str  # file stem: <stem>_400Regular.ttf


FAMILIES: tuple[Family, ...] = (
    Family("NotoSans", "Latin, Devanagari", "@expo-google-fonts/noto-sans", "NotoSans"),
    Family("NotoSansDevanagari", "Devanagari", "@expo-google-fonts/noto-sans-devanagari", "NotoSansDevanagari"),
    Family("NotoSansGurmukhi", "Gurmukhi", "@expo-google-fonts/noto-sans-gurmukhi", "NotoSansGurmukhi"),
    Family("NotoSansTamil", "Tamil", "@expo-google-fonts/noto-sans-tamil", "NotoSansTamil"),
    Family("NotoSansTelugu", "Telugu", "@expo-google-fonts/noto-sans-telugu", "NotoSansTelugu"),
    Family("NotoSansBengali", "Bengali", "@expo-google-fonts/noto-sans-bengali", "NotoSansBengali"),
    Family("NotoSansKannada", "Kannada", "@expo-google-fonts/noto-sans-kannada", "NotoSansKannada"),
    Family("NotoSansGujarati", "Gujarati", "@expo-google-fonts/noto-sans-gujarati", "NotoSansGujarati"),
    Family("NotoSansOriya", "Odia", "@expo-google-fonts/noto-sans-oriya", "NotoSansOriya"),
    Family("NotoSansMalayalam", "Malayalam", "@expo-google-fonts/noto-sans-malayalam", "NotoSansMalayalam"),
)
BODY = FAMILIES[0].name
STYLES = {"": "400Regular", "B": "700Bold"}
FONT_DIR_NAME = "agri_fonts"
FONT_DIR_ENV = "AGRI_FONTS_DIR"


class FontsMissing(RuntimeError):
    """The Noto font files are not where the layer or the source tree keeps them."""


def font_file(family: Family, style: str) -> str:
    """The font's path relative to a fonts root (the npm layout: ``<package>/<weight>/<stem>_<weight>.ttf``)."""
    weight = STYLES[style]
    return f"{family.package}/{weight}/{family.stem}_{weight}.ttf"


def font_files() -> list[str]:
    """Every file the export layer must carry: each family's regular and bold TTF and its licence."""
    out: list[str] = []
    for family in FAMILIES:
        out += [font_file(family, style) for style in STYLES] + [f"{family.package}/LICENSE_FONT"]
    return out


def font_roots() -> list[Path]:
    """Where the fonts may be, in order: ``$AGRI_FONTS_DIR``; ``agri_fonts/`` on ``sys.path`` (the
    export layer, mounted at /opt/python); the repository's ``node_modules`` (``npm ci``)."""
    roots = [Path(os.environ[FONT_DIR_ENV])] if os.environ.get(FONT_DIR_ENV) else []
    roots += [Path(p) / FONT_DIR_NAME for p in sys.path if p]
    roots.append(Path(__file__).resolve().parents[5] / "node_modules")
    return roots


@lru_cache(maxsize=1)
def font_root() -> Path:
    probe = font_file(FAMILIES[0], "")
    for root in font_roots():
        if (root / probe).is_file():
            return root
    raise FontsMissing(
        f"{probe} not found under {', '.join(str(r) for r in font_roots())}: "
        "run scripts/bootstrap.sh (npm ci) or bundle the export layer"
    )


@cache
def cmap(family: str) -> frozenset[int]:
    """The code points a family has glyphs for (its regular weight; the bold covers the same)."""
    from fontTools.ttLib import TTFont  # type: ignore[import-untyped]  # fontTools ships no py.typed

    entry = next(f for f in FAMILIES if f.name == family)
    return frozenset(TTFont(font_root() / font_file(entry, ""), lazy=True).getBestCmap())


@lru_cache(maxsize=1)
def covered() -> frozenset[int]:
    """Code points some family has a glyph for."""
    return frozenset().union(*(cmap(f.name) for f in FAMILIES))

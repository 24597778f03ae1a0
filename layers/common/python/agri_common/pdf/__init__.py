"""PDF building blocks for every report: embedded Noto fonts for Latin and the Indian scripts, with
HarfBuzz shaping (conjuncts and matras join), tables, honest charts and a vector map of plots.

The library is fpdf2 with uharfbuzz (the export layer's requirements). Fonts are Noto Sans families
(SIL Open Font License 1.1) from pinned npm packages (``@expo-google-fonts/noto-sans*``, see
package.json): the export layer carries them under ``python/agri_fonts/`` (``layers/export/assets.json``,
copied by ``infra/bundling.py``); from source they are read in ``node_modules``. fpdf2 embeds only
the glyphs a document uses (subset TrueType, ``FontFile2``).

One run of text may mix scripts ("Rampur रामपुर ਰਾਮਪੁਰ இராம்பூர்"): the body font is Noto Sans
(Latin, Devanagari), each other script falls back to its own family, glyph by glyph, and each run
is shaped with its font. A character no font has is drawn as U+FFFD, never as nothing; control and
bidi-control characters (records stored before input hygiene) are replaced the same way.

Nothing here imports fpdf2 at module import (the layer is attached only to the functions that
render); :class:`Document` does, when it is built.
"""

from agri_common.pdf.canvas import GOLD, GREEN, GREY, LIGHT, ORANGE
from agri_common.pdf.document import Document
from agri_common.pdf.fonts import (
    BODY,
    FAMILIES,
    FONT_DIR_ENV,
    FONT_DIR_NAME,
    STYLES,
    Family,
    FontsMissing,
    cmap,
    covered,
    font_file,
    font_files,
    font_root,
    font_roots,
)
from agri_common.pdf.text import REPLACEMENT, clean, label_points, nice_step, number, one_line, ticks, when, yes_no

__all__ = [
    "BODY",
    "FAMILIES",
    "FONT_DIR_ENV",
    "FONT_DIR_NAME",
    "GOLD",
    "GREEN",
    "GREY",
    "LIGHT",
    "ORANGE",
    "REPLACEMENT",
    "STYLES",
    "Document",
    "Family",
    "FontsMissing",
    "clean",
    "cmap",
    "covered",
    "font_file",
    "font_files",
    "font_root",
    "font_roots",
    "label_points",
    "nice_step",
    "number",
    "one_line",
    "ticks",
    "when",
    "yes_no",
]

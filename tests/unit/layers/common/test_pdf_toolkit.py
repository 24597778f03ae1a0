"""agri_common.pdf: every Indian script shaped and embedded, mixed on one line; text is data;
numbers read as people read them; charts with honest axes and distinct labels; the plot map; the
export layer carries exactly the fonts the toolkit loads."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from pathlib import Path

import pytest

from agri_common import pdf
from tests.unit import pdfread

ROOT = Path(__file__).resolve().parents[4]
MIXED = {
    "Latin": "Rampur",
    "Devanagari": "रामपुर",
    "Gurmukhi": "ਰਾਮਪੁਰ",
    "Tamil": "இராம்பூர்",
    "Telugu": "రాంపూర్",
    "Bengali": "রামপুর",
    "Kannada": "ರಾಮಪುರ",
    "Gujarati": "રામપુર",
    "Odia": "ରାମପୁର",
    "Malayalam": "രാംപൂർ",
}
CONJUNCTS = ["क्षेत्र", "श्री", "ਪ੍ਰਧਾਨ", "க்ஷ", "ಕ್ಷೇತ್ರ", "ক্ষমা"]
# Clusters HarfBuzz draws as several glyphs (a reordered or split vowel sign): fpdf2 2.8.9 maps only
# the first; the toolkit maps the others to U+200B, so a reader extracts the word and nothing else.
STRAY = ["ख्याति", "శ్రీ", "ক্ষেত্র", "किसान", "कार्बन", "क्रेडिट", "विवरण"]
MOMENT = datetime(2026, 11, 27, 14, 5, tzinfo=UTC)


def document() -> pdf.Document:
    return pdf.Document(title="t", created_at=MOMENT, footer="Report X")


def test_every_script_mixed_on_one_line_comes_back_out_of_the_pdf():
    doc = document()
    line = " ".join(MIXED.values())
    doc.title(line)
    doc.grid(["Script", "Text"], [[k, v] for k, v in MIXED.items()] + [["conjuncts", " ".join(CONJUNCTS)]])
    data = doc.output()
    text = pdfread.text(data)
    assert line in text  # the title, on one line, in seven scripts
    for word in [*MIXED.values(), *CONJUNCTS]:
        assert word in text, word
    # a second reader agrees on the scripts it extracts without reordering artefacts
    assert all(w in pdfread.pypdf_text(data) for w in ("रामपुर", "ਰਾਮਪੁਰ", "இராம்பூர்", "ರಾಮಪುರ"))


def test_words_whose_cluster_splits_into_two_glyphs_extract_exactly():
    doc = document()
    doc.paragraph(" ".join([*MIXED.values(), *CONJUNCTS, *STRAY]))
    data = doc.output()
    text = pdfread.text(data)  # zero width spaces dropped, as a search does
    assert all(word in text for word in STRAY), text
    import pymupdf

    with pymupdf.open(stream=data, filetype="pdf") as pdf_doc:
        raw = pdf_doc[0].get_text()
    assert not [c for c in raw if ord(c) < 0x20 and c not in "\n\t"]  # no stray control character
    assert "कि\u200bसान" in raw  # the tail glyph of कि maps to a zero width space


def test_each_script_uses_its_noto_family_and_every_font_is_embedded():
    doc = document()
    doc.paragraph(" ".join(MIXED.values()))
    found = pdfread.fonts(doc.output())
    assert found and all(found.values()), found  # FontFile2 in every descriptor: nothing left to the viewer
    names = {re.sub(r"^[A-Z]{6}\+", "", n.lstrip("/")) for n in found}  # subset tag stripped
    assert {
        "NotoSans",
        "NotoSansGurmukhi",
        "NotoSansTamil",
        "NotoSansTelugu",
        "NotoSansBengali",
        "NotoSansKannada",
        "NotoSansGujarati",
        "NotoSansOriya",
        "NotoSansMalayalam",
    } <= names
    assert all(re.match(r"/[A-Z]{6}\+", n) for n in found)  # subsets: only the glyphs used


def _first_text_bytes(data: bytes) -> bytes:
    import pymupdf

    with pymupdf.open(stream=data, filetype="pdf") as doc:
        content = doc[0].read_contents()
    return re.search(rb"Td \((.*?)\) Tj", content, re.S).group(1)


def test_a_conjunct_is_one_shaped_glyph_not_three_code_points():
    shaped = document()
    shaped.paragraph("क्ष")
    plain = document()
    plain.pdf.set_text_shaping(False)
    plain.paragraph("क्ष")
    assert len(_first_text_bytes(shaped.output())) == 2  # one glyph id (Identity-H, 2 bytes): क + ् + ष joined
    assert len(_first_text_bytes(plain.output())) == 6  # without HarfBuzz: three separate glyphs
    assert "क्ष" in pdfread.text(shaped.output())  # and it still extracts as the text that went in


def test_creation_date_and_metadata_are_the_documents():
    meta = pdfread.metadata(document().output())
    assert meta["/CreationDate"].startswith("D:20261127140500")
    assert meta["/Title"] == "t"


@pytest.mark.parametrize(
    "raw, drawn",
    [
        ("a\x01b", "a\ufffdb"),
        ("x\u202ey", "x\ufffdy"),
        ("tab\there", "tab here"),
        (None, "\u2014"),
        ("中", "\ufffd"),
        ("क्\u200dष", "क्\u200dष"),
        (3.5, "3.5"),
        ("<b>&amp;", "<b>&amp;"),
    ],
)
def test_clean_draws_text_as_data_and_never_nothing(raw, drawn):
    assert pdf.clean(raw) == drawn


def test_markup_and_replaced_characters_are_drawn_as_typed():
    doc = document()
    doc.grid(["a"], [['<b>bold</b> & </para> "=1+1"'], ["bad\x01village"]])
    text = pdfread.text(doc.output())
    assert '<b>bold</b> & </para> "=1+1"' in text


@pytest.mark.parametrize(
    "value, digits, shown",
    [
        (-0.0001, 3, "0.000"),
        (-0.0, 1, "0.0"),
        (1234.5678, 3, "1,234.568"),
        (-2.5, 1, "-2.5"),
        (12, 3, "12"),
        (None, 3, "\u2014"),
        (True, 3, "Yes"),
        (0.777, 3, "0.777"),
    ],
)
def test_numbers_read_as_people_read_them(value, digits, shown):
    assert pdf.number(value, digits) == shown


def test_when_prints_utc_minutes():
    assert pdf.when("2025-03-01T00:00:00Z") == "2025-03-01 00:00 UTC"
    assert pdf.when("2025-03-01T05:30:00+05:30") == "2025-03-01 00:00 UTC"
    assert pdf.when(None) == "\u2014"


@pytest.mark.parametrize("lo, hi", [(0.777, 0.777), (0.0, 0.0), (-3.2, 41.0), (12.0, 13.5), (1e-4, 3e-4), (-5, -1)])
def test_ticks_start_at_zero_and_have_distinct_labels(lo, hi):
    values, decimals = pdf.ticks(lo, hi)
    labels = [pdf.number(v, decimals) for v in values]
    assert values[0] <= min(lo, 0.0) and values[-1] >= max(hi, 0.0)
    assert 0.0 in values and "-0" not in " ".join(labels).replace("-0.", "-x")
    assert len(set(labels)) == len(labels), labels


@pytest.mark.parametrize("lo, hi", [(-0.4, 7.3), (4.99, 5.01), (-1e-3, 2e-3), (100, 4000)])
def test_value_axis_labels_are_distinct_and_never_minus_zero(lo, hi):
    values, decimals = pdf.label_points(lo, hi)
    labels = [pdf.number(v, decimals) for v in values]
    assert len(set(labels)) == len(labels) >= 2, labels
    assert not any(re.fullmatch(r"-0(\.0*)?", label) for label in labels)
    assert all(lo <= v <= hi + 1e-12 for v in values)


def _words(data: bytes) -> list[tuple[float, float, float, float, str]]:
    import pymupdf

    with pymupdf.open(stream=data, filetype="pdf") as doc:
        return [tuple(w[:5]) for w in doc[0].get_text("words")]


def _filled_rects(data: bytes, colour: tuple[int, int, int]) -> list:
    import pymupdf

    with pymupdf.open(stream=data, filetype="pdf") as doc:
        return [
            d["rect"]
            for d in doc[0].get_drawings()
            if d.get("fill")
            and all(abs(a - b / 255) < 2e-3 for a, b in zip(d["fill"], colour))
            and d["rect"].width < 200
        ]


def test_equal_bars_are_drawn_from_zero_not_from_their_own_value():
    """The reported defect: two 0.777 t bars on an axis starting at 0.777 were invisible."""
    doc = document()
    doc.bar_chart(["CH4"], [("baseline", [0.777], pdf.GREEN), ("project", [0.777], pdf.GOLD)], caption="c", unit="t")
    data = doc.output()
    green, gold = _filled_rects(data, pdf.GREEN), _filled_rects(data, pdf.GOLD)
    bars = [r for r in green + gold if r.height > 20]  # the legend swatches are 3 mm (8.5 pt)
    assert len(bars) == 2 and abs(bars[0].height - bars[1].height) < 1e-6
    zero = [w for w in _words(data) if w[4] == "0.0"]
    assert zero, "the axis has a 0 label"
    zero_y = (zero[0][1] + zero[0][3]) / 2
    assert all(abs(b.y1 - zero_y) < 2.0 for b in bars)  # every bar stands on the 0 line
    assert all(b.height > 50 for b in bars)  # and is tall (points): visible
    assert [w[4] for w in _words(data)].count("0.777") == 2  # each bar's value is printed


def test_histogram_labels_are_distinct():
    import numpy as np

    draws = np.random.default_rng(7).normal(0.0, 2.0, 2000)
    counts, edges = np.histogram(draws, bins=25)
    doc = document()
    doc.histogram(counts.tolist(), edges.tolist(), caption="hist", unit="u")
    words = [w for w in _words(doc.output()) if re.fullmatch(r"-?[\d,]+(\.\d+)?", w[4])]
    counts_axis = [w[4] for w in words if w[2] < 90]  # right edge left of the plot area (31 mm = 88 pt)
    value_axis = [w[4] for w in words if w[2] >= 90]
    assert "0" in counts_axis  # the count axis starts at 0
    for labels in (counts_axis, value_axis):
        assert len(labels) >= 3 and len(set(labels)) == len(labels), labels  # no repeated label ("4 4", "7 7")
        assert not any(re.fullmatch(r"-0(\.0*)?", label) for label in labels)


def test_the_map_draws_stored_boundaries_and_marks_the_sample():
    def square(x: float, y: float) -> dict:
        return {
            "type": "Polygon",
            "coordinates": [[[x, y], [x + 0.001, y], [x + 0.001, y + 0.001], [x, y + 0.001], [x, y]]],
        }

    shapes = {f"P{i}": square(79 + i * 0.002, 10.0) for i in range(5)}
    shapes["M"] = {"type": "MultiPolygon", "coordinates": [square(79.0, 10.01)["coordinates"]]}
    doc = document()
    drawn = doc.plot_map(shapes, {"D": [79.004, 10.005], "P1": [0, 0]}, {"P1", "D"}, caption="map")
    assert drawn == {"polygons": 6, "points": 1, "marked": 2}  # P1's stored boundary wins over its point
    assert len(_filled_rects(doc.output(), pdf.ORANGE)) >= 2  # the sampled plot and dot, plus the legend swatch


def test_the_map_says_when_there_is_nothing_to_draw():
    doc = document()
    assert doc.plot_map({}, {}, set(), caption="map") == {"polygons": 0, "points": 0, "marked": 0}
    assert "nothing to draw" in pdfread.text(doc.output())


def test_the_export_layer_carries_exactly_the_fonts_the_toolkit_loads():
    from infra.bundling import layer_assets

    manifest = json.loads((ROOT / "layers" / "export" / "assets.json").read_text())
    assert manifest == {"python/agri_fonts": pdf.font_files()}
    assets = layer_assets("export")
    assert [dest for _, dest in assets] == [f"python/agri_fonts/{f}" for f in pdf.font_files()]
    assert all(src.is_file() for src, _ in assets)
    licences = [src for src, _ in assets if src.name == "LICENSE_FONT"]
    assert len(licences) == len(pdf.FAMILIES)
    assert all("SIL Open Font License" in src.read_text() for src in licences)


def test_fonts_are_found_in_a_layer_folder(tmp_path, monkeypatch):
    """What Lambda sees: /opt/python/agri_fonts/<npm layout> (here: $AGRI_FONTS_DIR pointing at a copy)."""
    import shutil

    for rel in pdf.font_files():
        target = tmp_path / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(pdf.font_root() / rel, target)
    monkeypatch.setenv(pdf.FONT_DIR_ENV, str(tmp_path))
    pdf.font_root.cache_clear()
    try:
        assert pdf.font_root() == tmp_path
    finally:
        pdf.font_root.cache_clear()


def test_missing_fonts_fail_with_what_to_do(tmp_path, monkeypatch):
    monkeypatch.setattr(pdf.fonts, "font_roots", lambda: [tmp_path])
    pdf.font_root.cache_clear()
    try:
        with pytest.raises(pdf.FontsMissing, match="npm ci"):
            pdf.font_root()
    finally:
        pdf.font_root.cache_clear()

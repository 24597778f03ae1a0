"""Render sample pages of the monitoring and verification PDFs and the farmer statement to PNG for the docs.

    .venv/bin/python scripts/render_report_pages.py        # writes docs/images/report-*.png, statement-*.png

The reports are those of tests/unit/functions/pipeline/test_mrv_reports.py (a run on in-memory stores with a
project and villages named in Devanagari, Tamil, Gurmukhi and Kannada); pages are rasterised with
PyMuPDF (a test dependency). Prints every page's number and first words, so the pages picked below
can be checked.
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
for p in (ROOT, ROOT / "layers" / "common" / "python", ROOT / "layers" / "carbon_engine" / "python"):
    sys.path.insert(0, str(p))

# The pages shown: monitoring, its first (identity and results); verification, its decision and its map.
PAGES = {"mon": ["1. Report"], "ver": ["7. Auditor's decision", "Map of the plots"]}


def main() -> None:
    import pymupdf

    from tests.unit.functions.pipeline.test_mrv_reports import build

    _, _, pdfs = build(farmers=40)  # 80 plots: the sample is a part of them
    out = ROOT / "docs" / "images"
    out.mkdir(parents=True, exist_ok=True)
    for kind, data in pdfs.items():
        if "--pdf" in sys.argv:  # the PDFs themselves, to open in a viewer (not committed)
            (out / f"report-{kind}.pdf").write_bytes(data)
        with pymupdf.open(stream=data, filetype="pdf") as doc:
            for number, page in enumerate(doc):
                print(kind, number, " ".join(page.get_text().split()[:8]))
            for heading in PAGES[kind]:
                number = next(i for i, page in enumerate(doc) if heading in page.get_text())
                target = out / f"report-{'monitoring' if kind == 'mon' else 'verification'}-p{number + 1}.png"
                doc[number].get_pixmap(dpi=80).save(str(target))
                print("wrote", target.relative_to(ROOT))


def statements() -> None:
    """The farmer's statement in Hindi and English (tests/unit/functions/farmers/test_farmer_statement.py)."""
    import pymupdf

    from functions.farmers.statement import render
    from tests.unit.functions.farmers.test_farmer_statement import make

    for language in ("hi", "en"):
        with pymupdf.open(stream=render(make(language)), filetype="pdf") as doc:
            target = ROOT / "docs" / "images" / f"statement-{language}.png"
            doc[0].get_pixmap(dpi=80).save(str(target))
            print("wrote", target.relative_to(ROOT))


if __name__ == "__main__":
    main()
    statements()

"""Reading a PDF back as a reader does: text (PyMuPDF's extraction, and pypdf's), the fonts of every
page with whether each is embedded, and pages rendered to PNG."""

from __future__ import annotations

import io
import unicodedata
from typing import Any

ZWSP = "\u200b"  # what the extra glyphs of a shaped cluster map to (agri_common.pdf): no text


def text(data: bytes) -> str:
    """Every page's text as PyMuPDF extracts it, NFC-normalised, whitespace runs collapsed, zero
    width spaces dropped (a search ignores them; see agri_common.pdf.Document._map_cluster_tails)."""
    import pymupdf

    with pymupdf.open(stream=data, filetype="pdf") as doc:
        raw = "\n".join(page.get_text() for page in doc)
    return " ".join(unicodedata.normalize("NFC", raw).replace(ZWSP, "").split())


def pypdf_text(data: bytes) -> str:
    from pypdf import PdfReader

    raw = "\n".join(page.extract_text() or "" for page in PdfReader(io.BytesIO(data)).pages)
    return " ".join(unicodedata.normalize("NFC", raw).replace(ZWSP, "").split())


def fonts(data: bytes) -> dict[str, bool]:
    """Base font name -> embedded (its descendant font's descriptor carries FontFile2/FontFile3/FontFile),
    over every page's /Font resources, read with pypdf from the PDF's own dictionaries."""
    from pypdf import PdfReader

    out: dict[str, bool] = {}
    for page in PdfReader(io.BytesIO(data)).pages:
        resources: Any = page.get("/Resources") or {}
        for ref in (resources.get_object().get("/Font") or {}).values():
            font = ref.get_object()
            descendants = font.get("/DescendantFonts")
            target = descendants[0].get_object() if descendants else font
            descriptor = target.get("/FontDescriptor")
            descriptor = descriptor.get_object() if descriptor is not None else {}
            embedded = any(k in descriptor for k in ("/FontFile", "/FontFile2", "/FontFile3"))
            out[str(font["/BaseFont"])] = embedded
    return out


def render(data: bytes, page: int = 0, dpi: int = 60) -> bytes:
    """One page as PNG bytes."""
    import pymupdf

    with pymupdf.open(stream=data, filetype="pdf") as doc:
        return bytes(doc[page].get_pixmap(dpi=dpi).tobytes("png"))


def page_count(data: bytes) -> int:
    import pymupdf

    with pymupdf.open(stream=data, filetype="pdf") as doc:
        return int(doc.page_count)


def metadata(data: bytes) -> dict[str, Any]:
    from pypdf import PdfReader

    return dict(PdfReader(io.BytesIO(data)).metadata or {})

"""PDFs as text, page by page: the text layer through pypdf; a page without one (a scan) rendered
with pypdfium2 (PDFium, shipped in its wheel) at RENDER_DPI and read by Tesseract (ocr.py).

Pages are a blank line apart, and each page's start offset is kept, so a citation names its page."""

from __future__ import annotations

import io
import logging
from pathlib import Path

from rag.errors import LoadError
from rag.ingest.formats.ocr import (
    MAX_PIXELS,
    TESSERACT_HELP,
    OcrUnavailable,
    ocr,
    tesseract_available,
)
from rag.ingest.formats.pages import join_pages
from rag.ingest.formats.untrusted import failing_as

RENDER_DPI = 300  # what Tesseract is trained for; lower loses small print, higher only costs time


def pdf_text(
    raw: bytes, path: Path
) -> tuple[str, str | None, tuple[str, ...], tuple[int, ...], tuple[tuple[int, int], ...]]:
    """Text of every page, the title, notes on pages left unread, each page's start offset, and the
    (start, end) of each page read by OCR."""
    from pypdf import PdfReader

    # pypdf logs what it repairs ("EOF marker not found") as bare lines naming no file; a file it
    # cannot read fails below with one line that names it.
    logging.getLogger("pypdf").setLevel(logging.ERROR)
    with failing_as(path, "unreadable PDF"):
        reader = PdfReader(io.BytesIO(raw))
        if reader.is_encrypted:
            raise LoadError(f"{path}: encrypted PDF")
        pages = [(page.extract_text() or "").strip() for page in reader.pages]
        title = reader.metadata.title if reader.metadata else None
    scanned = [i for i, page in enumerate(pages) if not page]
    notes: tuple[str, ...] = ()
    read: list[int] = []
    if scanned and tesseract_available():
        for i, text in zip(scanned, _ocr_pages(raw, scanned, path), strict=True):
            pages[i] = text
        read = scanned
    elif scanned and len(scanned) < len(pages):
        notes = (f"{path}: {_pages(scanned)} without a text layer not read: {TESSERACT_HELP}",)
    elif scanned:
        raise OcrUnavailable(f"{path}: a scanned PDF (no text layer), not read: {TESSERACT_HELP}")
    text, starts = join_pages(pages)
    if not text.strip():
        raise LoadError(f"{path}: PDF has no extractable text (no text layer, and OCR found none)")
    return text, title or None, notes, starts, tuple((starts[i], starts[i] + len(pages[i])) for i in read)


def _ocr_pages(raw: bytes, indexes: list[int], path: Path) -> list[str]:
    """OCR text of the given pages (0-based), each rendered in grey at RENDER_DPI, or smaller where
    that would pass MAX_PIXELS (a poster-sized page)."""
    import pypdfium2 as pdfium

    with failing_as(path, "unreadable PDF for OCR"):  # pypdf read it, PDFium may not
        document = pdfium.PdfDocument(raw)
    try:
        with failing_as(path, "a page could not be rendered"):
            texts = []
            for i in indexes:
                page = document[i]
                width, height = page.get_size()  # points, 1/72 inch
                scale = min(RENDER_DPI / 72, (MAX_PIXELS / max(1.0, width * height)) ** 0.5)
                image = page.render(scale=scale, grayscale=True).to_pil()
                texts.append(ocr(image, path, i + 1))
                page.close()
            return texts
    finally:
        document.close()


def _pages(indexes: list[int]) -> str:
    numbers = ", ".join(str(i + 1) for i in indexes[:10]) + (", …" if len(indexes) > 10 else "")
    return f"page{'s' if len(indexes) > 1 else ''} {numbers}"

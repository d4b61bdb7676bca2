"""Documents other than plain text and HTML, each read by a well-kept library into text with
paragraph breaks: office files (`office`: .docx, .pptx, .odt), spreadsheets (`sheets`: .xlsx, .csv),
e-mail (`mail`: .eml), e-books (`epub`), .rtf, PDFs (`pdf`: the text layer, scanned pages OCRed) and
images (`ocr`: .png, .jpg, .tiff, OCRed with Tesseract). Zip-based files pass `zipguard` first (zip
bombs, corrupt archives, password-protected Office files). `read_format` dispatches by kind.

The text of office, sheet, mail, e-book and RTF files is authored, not scraped: STRUCTURED_KINDS
keep every paragraph (no row, slide or header line is dropped as web boilerplate). So is a scan's:
the OCR text of images and scanned PDF pages is kept whole (`Extracted.scanned`), its letterhead,
date and signature included, while a PDF's text layer (a web page may be printed to PDF) is cleaned."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import NamedTuple

from rag.errors import LoadError
from rag.ingest.formats.epub import epub_text
from rag.ingest.formats.mail import eml_text
from rag.ingest.formats.ocr import image_text
from rag.ingest.formats.office import docx_text, odt_text, pptx_text
from rag.ingest.formats.pages import labelled
from rag.ingest.formats.pdf import pdf_text
from rag.ingest.formats.sheets import csv_text, xlsx_text
from rag.ingest.formats.untrusted import failing_as

FORMAT_KINDS = {
    ".docx": "docx",
    ".pptx": "pptx",
    ".odt": "odt",
    ".xlsx": "xlsx",
    ".csv": "csv",
    ".eml": "eml",
    ".epub": "epub",
    ".rtf": "rtf",
}
STRUCTURED_KINDS = frozenset(FORMAT_KINDS.values())
IMAGE_KINDS = {".png": "png", ".jpg": "jpg", ".jpeg": "jpg", ".tif": "tiff", ".tiff": "tiff"}
FORMAT_KINDS |= {".pdf": "pdf", **IMAGE_KINDS}


class Extracted(NamedTuple):
    text: str
    title: str | None = None
    notes: tuple[str, ...] = ()
    page_starts: tuple[int, ...] = ()  # where each page begins (PDF, multi-page TIFF, slides)
    locators: tuple[tuple[int, str], ...] = ()  # labelled places: slides, sheet rows, chapters, sections
    scanned: tuple[tuple[int, int], ...] = ()  # (start, end) of OCR text, which the cleaner keeps whole


def read_format(
    kind: str,
    raw: bytes,
    path: Path,
    max_bytes: int | None,
    decode: Callable[[bytes, Path], str],
    html_to_text: Callable[[str], str],
) -> Extracted:
    """The text of a file of one of FORMAT_KINDS; `decode` and `html_to_text` are the text and HTML
    paths of rag.ingest.load. Raises LoadError with one line when the file cannot be used."""
    if kind == "pdf":
        pdf, title, said, pages, scanned = pdf_text(raw, path)
        return Extracted(pdf, title, said, pages, (), scanned)
    if kind in IMAGE_KINDS.values():
        image, frames = image_text(raw, path)
        return Extracted(image, None, (), frames, labelled(frames, "page"), ((0, len(image)),))
    if kind in ("docx", "odt"):
        text, title, sections = (docx_text if kind == "docx" else odt_text)(raw, path, max_bytes)
        return Extracted(text, title, (), (), sections)
    if kind == "pptx":
        deck, title, slides = pptx_text(raw, path, max_bytes)
        return Extracted(deck, title, (), slides, labelled(slides, "slide"))
    if kind == "xlsx":
        text, title, notes, rows = xlsx_text(raw, path, max_bytes)
        return Extracted(text, title or path.stem, tuple(notes), (), rows)
    if kind == "epub":
        book, title, chapters = epub_text(raw, path, max_bytes, html_to_text)
        return Extracted(book, title, (), (), labelled(chapters, "chapter"))
    if kind == "eml":
        message, subject, said, sent = eml_text(raw, path, html_to_text)
        return Extracted(message, subject, said, (), sent)
    if kind == "csv":
        table, notes, lines = csv_text(decode(raw, path), path)
        return Extracted(table, path.stem, tuple(notes), (), lines)
    if kind == "rtf":
        return Extracted(_rtf_text(decode(raw, path), path))
    raise LoadError(f"{path}: unsupported file type {path.suffix or '(none)'}")


def _rtf_text(text: str, path: Path) -> str:
    """RTF through striprtf (a small pure-Python reader), paragraphs a blank line apart."""
    from striprtf.striprtf import rtf_to_text

    if not text.lstrip().startswith("{\\rtf"):
        raise LoadError(f"{path}: not an RTF file (no {{\\rtf header)")
    with failing_as(path, "unreadable RTF"):
        plain = rtf_to_text(text, errors="replace")
    return "\n\n".join(line.strip() for line in plain.splitlines() if line.strip())

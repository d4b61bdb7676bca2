"""A PDF page as an image with a quoted sentence highlighted on it, for the browser chat's page view.

The page is rendered with pypdfium2. Where the quote lies comes from the page itself: a text layer's
character boxes (pypdfium2's text page), or, on a scanned page, the word boxes Tesseract reads
(pytesseract's image_to_data on the page rendered as for indexing). The stored text came from pypdf
or the same OCR, so the quote is found by its letters and digits alone: spacing, line breaks,
hyphens and ligatures may differ between the two readings of one page.
"""

from __future__ import annotations

import io
import re
import unicodedata
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rag.errors import LoadError
from rag.ingest.formats.ocr import LANGUAGE, PAGE_SECONDS, tesseract_available
from rag.ingest.formats.pdf import RENDER_DPI

VIEW_DPI = 110  # the shown page: readable beside the chat, about 900 × 1300 pixels for A4
HIGHLIGHT = (255, 214, 51, 120)  # the chat's <mark> yellow, see-through
Box = tuple[float, float, float, float]  # left, top, right, bottom in pixels of the shown image


@dataclass(frozen=True)
class PageView:
    png: bytes
    page: int  # 1-based
    found: bool  # whether the quote was located (else the page is shown unmarked)


def _key(text: str) -> tuple[str, list[int]]:
    """The letters and digits of `text`, lower-cased and NFKC-normalised, with each one's index."""
    keys, where = [], []
    for i, char in enumerate(text):
        for c in unicodedata.normalize("NFKC", char).lower():
            if c.isalnum():
                keys.append(c)
                where.append(i)
    return "".join(keys), where


def _find(haystack: str, quote: str) -> tuple[int, int] | None:
    """(first, last) index in `haystack` of the quote's letters and digits, or None."""
    keys, where = _key(haystack)
    wanted, _ = _key(quote)
    at = keys.find(wanted) if wanted else -1
    return None if at < 0 else (where[at], where[at + len(wanted) - 1])


def page_view(path: Path, page: int, quote: str) -> PageView:
    """Page `page` (1-based) of the PDF at `path` as PNG, `quote` highlighted where it is found."""
    import pypdfium2 as pdfium
    from PIL import Image, ImageDraw

    try:
        document = pdfium.PdfDocument(str(path))
    except Exception as exc:  # moved, replaced or damaged since it was indexed
        raise LoadError(f"{path}: cannot open the PDF ({exc.__class__.__name__}: {exc})") from None
    try:
        if not 1 <= page <= len(document):
            raise LoadError(f"{path}: no page {page}")
        pdf_page = document[page - 1]
        scale = VIEW_DPI / 72
        boxes = _text_layer_boxes(pdf_page, quote, scale)
        if boxes is None and tesseract_available():
            boxes = _ocr_boxes(pdf_page, quote, scale)
        image = pdf_page.render(scale=scale).to_pil().convert("RGBA")
    finally:
        document.close()
    overlay = Image.new("RGBA", image.size, (0, 0, 0, 0))
    draw = ImageDraw.Draw(overlay)
    for left, top, right, bottom in boxes or []:
        draw.rectangle((left - 2, top - 2, right + 2, bottom + 2), fill=HIGHLIGHT)
    out = io.BytesIO()
    Image.alpha_composite(image, overlay).convert("RGB").save(out, "PNG", optimize=True)
    return PageView(out.getvalue(), page, bool(boxes))


def _text_layer_boxes(pdf_page: Any, quote: str, scale: float) -> list[Box] | None:
    """The quote's boxes from the page's text layer (one per line it spans), or None."""
    textpage = pdf_page.get_textpage()
    try:
        count = textpage.count_chars()
        span = _find(textpage.get_text_range(0, count), quote) if count > 0 else None
        if span is None:
            return None
        first, last = span
        height = pdf_page.get_height()
        boxes = []
        for i in range(textpage.count_rects(first, last - first + 1)):
            left, bottom, right, top = textpage.get_rect(i)
            boxes.append((left * scale, (height - top) * scale, right * scale, (height - bottom) * scale))
        return boxes
    finally:
        textpage.close()


_SPACE = re.compile(r"\s+")


def _ocr_boxes(pdf_page: Any, quote: str, scale: float) -> list[Box] | None:
    """The quote's word boxes as Tesseract reads the page rendered as for indexing, merged per line."""
    import pytesseract

    image = pdf_page.render(scale=RENDER_DPI / 72, grayscale=True).to_pil()
    try:
        data = pytesseract.image_to_data(
            image, lang=LANGUAGE, timeout=PAGE_SECONDS, output_type=pytesseract.Output.DICT
        )
    except (RuntimeError, pytesseract.TesseractError):
        return None
    words = [(i, _SPACE.sub("", w)) for i, w in enumerate(data["text"]) if w.strip()]
    joined, owner = "", []
    for i, word in words:
        joined += word + " "
        owner += [i] * (len(word) + 1)
    span = _find(joined, quote)
    if span is None:
        return None
    ratio = scale / (RENDER_DPI / 72)
    lines: dict[tuple[int, int, int], Box] = {}
    for i in sorted(set(owner[span[0] : span[1] + 1])):
        line = (data["block_num"][i], data["par_num"][i], data["line_num"][i])
        left, top = data["left"][i] * ratio, data["top"][i] * ratio
        right, bottom = left + data["width"][i] * ratio, top + data["height"][i] * ratio
        if line in lines:
            a, b, c, d = lines[line]
            left, top, right, bottom = min(a, left), min(b, top), max(c, right), max(d, bottom)
        lines[line] = (left, top, right, bottom)
    return list(lines.values())

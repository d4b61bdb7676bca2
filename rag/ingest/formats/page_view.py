"""A PDF page or a scanned image as a picture with a quoted sentence highlighted on it, for the
browser chat's page view.

A PDF page is rendered with pypdfium2; an image (.png, .jpg, a .tiff's frame) is shown as it is,
scaled to a PDF page's width. Where the quote lies comes from the page itself: a text layer's
character boxes (pypdfium2's text page), or, on a scanned page or an image, the word boxes Tesseract
reads (pytesseract's image_to_data on the page as it was OCRed for indexing). The stored text came
from pypdf or the same OCR, so the quote is found by its letters and digits alone: spacing, line
breaks, hyphens and ligatures may differ between the two readings of one page.
"""

from __future__ import annotations

import io
import re
import unicodedata
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rag.errors import LoadError
from rag.ingest.formats import IMAGE_KINDS
from rag.ingest.formats.ocr import LANGUAGE, PAGE_SECONDS, check_size, tesseract_available
from rag.ingest.formats.pdf import RENDER_DPI
from rag.ingest.formats.untrusted import failing_as

VIEW_DPI = 110  # the shown page: readable beside the chat, about 900 × 1300 pixels for A4
VIEW_WIDTH = round(VIEW_DPI * 8.27)  # an image is shown at most as wide as an A4 page (8.27 in)
VIEW_KINDS = frozenset({"pdf", *IMAGE_KINDS.values()})  # the kinds a page view is shown for
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
    """Page `page` (1-based) of the PDF or image at `path` as PNG, `quote` highlighted where it is
    found (a single image is page 1)."""
    if path.suffix.lower() in IMAGE_KINDS:
        image, boxes = _image_page(path, page, quote)
    else:
        image, boxes = _pdf_page(path, page, quote)
    return PageView(_marked(image, boxes or []), page, bool(boxes))


def _pdf_page(path: Path, page: int, quote: str) -> tuple[Any, list[Box] | None]:
    import pypdfium2 as pdfium

    with failing_as(path, "cannot open the PDF"):  # moved, replaced or damaged since it was indexed
        document = pdfium.PdfDocument(str(path))
    try:
        if not 1 <= page <= len(document):
            raise LoadError(f"{path}: no page {page}")
        pdf_page = document[page - 1]
        scale = VIEW_DPI / 72
        boxes = _text_layer_boxes(pdf_page, quote, scale)
        if boxes is None and tesseract_available():
            ocr_scale = RENDER_DPI / 72
            boxes = _ocr_boxes(
                pdf_page.render(scale=ocr_scale, grayscale=True).to_pil(), quote, scale / ocr_scale
            )
        return pdf_page.render(scale=scale).to_pil(), boxes
    finally:
        document.close()


def _image_page(path: Path, page: int, quote: str) -> tuple[Any, list[Box] | None]:
    """Frame `page` of an image (as OCRed for indexing: grey, full size) and the quote's boxes on it
    scaled to the shown image."""
    from PIL import Image

    with failing_as(path, "cannot open the image"), Image.open(path) as image:  # moved, replaced, damaged
        check_size(image.size, path)
        if not 1 <= page <= getattr(image, "n_frames", 1):
            raise LoadError(f"{path}: no page {page}")
        image.seek(page - 1)
        frame = image.convert("RGB")
    ratio = min(1.0, VIEW_WIDTH / frame.width)
    boxes = _ocr_boxes(frame.convert("L"), quote, ratio) if tesseract_available() else None
    shown = frame.resize((round(frame.width * ratio), round(frame.height * ratio))) if ratio < 1 else frame
    return shown, boxes


def _marked(image: Any, boxes: list[Box]) -> bytes:
    """`image` as PNG with `boxes` painted over in the highlight colour."""
    from PIL import Image, ImageDraw

    base = image.convert("RGBA")
    overlay = Image.new("RGBA", base.size, (0, 0, 0, 0))
    draw = ImageDraw.Draw(overlay)
    for left, top, right, bottom in boxes:
        draw.rectangle((left - 2, top - 2, right + 2, bottom + 2), fill=HIGHLIGHT)
    out = io.BytesIO()
    Image.alpha_composite(base, overlay).convert("RGB").save(out, "PNG", optimize=True)
    return out.getvalue()


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


def _ocr_boxes(image: Any, quote: str, ratio: float) -> list[Box] | None:
    """The quote's word boxes as Tesseract reads `image` (the page as OCRed for indexing), merged per
    line and scaled by `ratio` (shown pixels per pixel of `image`)."""
    import pytesseract

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

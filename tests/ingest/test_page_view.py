"""The page view: a PDF page rendered with pypdfium2, or a scanned image, and the quote highlighted
where it is, found from the text layer's character boxes or, on a scan, from Tesseract's word boxes.
Checked by reading the highlighted region of the image back with the real Tesseract: it must hold
the quote, and only on the right page."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from fpdf import FPDF

from rag.errors import LoadError
from rag.ingest import page_view
from rag.ingest.formats.page_view import HIGHLIGHT
from tests.ingest.format_files import page_image, write_png, write_scan_pdf

FIRST = "The first page explains why the harbour wall was rebuilt in stone after the storm."
QUOTE = "The new lighthouse lamp was paid for by the Skerrow trust in 1902."
SCAN_QUOTE = (
    "The review panel met on 3 March and agreed that the Harrowgate family will be visited by social "
    "worker Tomasz Wren every Tuesday until the end of the school year."
)


def write_report(path: Path) -> Path:
    """A two-page PDF with a text layer; the quote is on page 2, between other sentences."""
    pdf = FPDF()
    pdf.set_font("helvetica", size=12)
    pdf.set_title("Harbour report")
    for text in [FIRST, f"Costs are listed below. {QUOTE} The keeper's cottage was repainted."]:
        pdf.add_page()
        pdf.multi_cell(0, 10, text)
    pdf.output(str(path))
    return path


def _blend(channel: int) -> float:
    alpha = HIGHLIGHT[3] / 255
    return 255 * (1 - alpha) + channel * alpha


def highlighted_text(png: bytes) -> str:
    """What Tesseract reads inside the bounding box of the highlight's colour ('' when none)."""
    import numpy as np
    import pytesseract
    from PIL import Image

    image = Image.open(io.BytesIO(png)).convert("RGB")
    pixels = np.asarray(image).astype(int)
    want = [_blend(c) for c in HIGHLIGHT[:3]]
    near = np.all(np.abs(pixels - want) <= 12, axis=2)
    rows, cols = np.nonzero(near)
    if not len(rows):
        return ""
    crop = image.crop((cols.min(), rows.min(), cols.max() + 1, rows.max() + 1))
    crop = crop.resize((crop.width * 3, crop.height * 3))
    return " ".join(str(pytesseract.image_to_string(crop.convert("L"))).split())


def test_a_text_layer_quote_is_highlighted_on_its_page(tmp_path: Path) -> None:
    path = write_report(tmp_path / "report.pdf")
    view = page_view(path, 2, QUOTE)
    assert view.found and view.page == 2
    read = highlighted_text(view.png)
    assert "lighthouse lamp" in read and "Skerrow trust" in read, read
    assert "Costs are listed" not in read and "cottage" not in read, read
    assert not page_view(path, 1, QUOTE).found  # not on page 1: shown unmarked
    assert highlighted_text(page_view(path, 1, QUOTE).png) == ""


def test_a_scanned_quote_is_highlighted_from_ocr_word_boxes(tmp_path: Path) -> None:
    view = page_view(write_scan_pdf(tmp_path / "scan.pdf"), 2, SCAN_QUOTE)
    assert view.found
    read = highlighted_text(view.png)
    assert "Harrowgate family" in read and "Tomasz Wren" in read, read


NOTICE = "The Elmbrook community hall will host the winter food bank every Saturday from nine until noon"


def test_a_quote_in_an_image_is_highlighted_on_it_and_on_the_right_tiff_page(tmp_path: Path) -> None:
    view = page_view(write_png(tmp_path / "notice.png"), 1, NOTICE)
    assert view.found and view.page == 1
    read = highlighted_text(view.png)
    assert "Elmbrook community hall" in read and "Notice to residents" not in read, read
    tiff = tmp_path / "two.tiff"
    first, second = (page_image(["Notice to residents"], (2000, 400)), page_image([NOTICE], (2600, 400)))
    first.save(tiff, "TIFF", save_all=True, append_images=[second])
    assert page_view(tiff, 2, NOTICE).found and not page_view(tiff, 1, NOTICE).found
    with pytest.raises(LoadError, match="no page 3"):
        page_view(tiff, 3, NOTICE)


def test_a_missing_page_or_file_is_one_line(tmp_path: Path) -> None:
    path = write_report(tmp_path / "report.pdf")
    with pytest.raises(LoadError, match="no page 3"):
        page_view(path, 3, QUOTE)
    with pytest.raises(LoadError, match="cannot open the PDF"):
        page_view(tmp_path / "gone.pdf", 1, QUOTE)

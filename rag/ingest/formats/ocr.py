"""OCR of scanned pages and images with Tesseract, through pytesseract (a thin, well-kept wrapper
that runs the real `tesseract` binary on a Pillow image, with a timeout that kills it). Images
(.png, .jpg, .tiff: every frame of a multi-page TIFF is a page) are read with Pillow; PDF pages are
rendered by pdf.py with pypdfium2 and come here as images.

The OCR text is what is stored, so citations into it keep exact offsets, as for a PDF's text layer.
Hostile files are bounded: an image whose header claims more than MAX_PIXELS is refused before it
is decoded, and Tesseract gets PAGE_SECONDS per page."""

from __future__ import annotations

import io
import warnings
from functools import lru_cache
from pathlib import Path
from typing import Any

from rag.errors import LoadError
from rag.ingest.formats.pages import join_pages
from rag.ingest.formats.untrusted import failing_as

TESSERACT_HELP = (
    "Tesseract OCR is not installed; install it with `make setup` or "
    "`sudo apt-get install tesseract-ocr tesseract-ocr-eng`"
)
LANGUAGE = "eng"
MAX_PIXELS = 60_000_000  # an A0 scan at 200 dpi; beyond, decoding alone takes gigabytes
MAX_FRAMES = 2_000  # pages of one TIFF
PAGE_SECONDS = 120  # Tesseract's time per page (a dense 300 dpi page takes 2 to 10 s here)


class OcrUnavailable(LoadError):
    """A file that needs OCR while Tesseract is missing (the indexer reports all such in one line)."""


@lru_cache(maxsize=1)
def tesseract_available() -> bool:
    """Whether the `tesseract` binary runs (looked up once per process)."""
    import pytesseract

    try:
        pytesseract.get_tesseract_version()
    except (pytesseract.TesseractNotFoundError, OSError):
        return False
    return True


def ocr(image: Any, path: Path, page: int | None = None) -> str:
    """The text Tesseract reads on one page image, paragraphs a blank line apart."""
    import pytesseract

    where = f" (page {page})" if page is not None else ""
    try:
        text = str(pytesseract.image_to_string(image, lang=LANGUAGE, timeout=PAGE_SECONDS))
    except RuntimeError:  # pytesseract's timeout, after it killed the process
        raise LoadError(f"{path}: OCR took longer than {PAGE_SECONDS} s{where}; not read") from None
    except pytesseract.TesseractError as exc:
        raise LoadError(f"{path}: OCR failed{where} ({' '.join(str(exc.message).split())})") from None
    return text.strip()


def image_text(raw: bytes, path: Path) -> tuple[str, tuple[int, ...]]:
    """An image's OCR text and, for a multi-page TIFF, where each page begins."""
    if not tesseract_available():
        raise OcrUnavailable(f"{path}: an image, not read: {TESSERACT_HELP}")
    from PIL import Image, ImageSequence

    with failing_as(path, "unreadable image"):
        try:
            with warnings.catch_warnings():  # Pillow warns of what it repairs ("Corrupt EXIF data")
                warnings.simplefilter("ignore")
                image = Image.open(io.BytesIO(raw))
                check_size(image.size, path)
                frames = getattr(image, "n_frames", 1)
                if frames > MAX_FRAMES:
                    raise LoadError(f"{path}: {frames:,} pages in one image (limit {MAX_FRAMES:,}); not read")
                pages = [
                    ocr(frame.convert("L"), path, i if frames > 1 else None)
                    for i, frame in enumerate(ImageSequence.Iterator(image), start=1)
                ]
        except Image.UnidentifiedImageError:  # its message names an in-memory buffer, not the file
            raise LoadError(
                f"{path}: unreadable image (not a PNG, JPEG or TIFF that Pillow can read)"
            ) from None
        except Image.DecompressionBombError as exc:  # Pillow's own check, on a header past 2 × its limit
            raise LoadError(f"{path}: image too large to OCR ({exc})") from None
    return join_pages(pages) if frames > 1 else (pages[0], ())


def check_size(size: tuple[int, int], path: Path) -> None:
    """Refuse an image too large to decode safely (its header says how large; nothing is decoded)."""
    width, height = size
    if width * height > MAX_PIXELS:
        raise LoadError(
            f"{path}: image too large to OCR ({width:,} × {height:,} pixels, "
            f"limit {MAX_PIXELS / 1e6:.0f} megapixels)"
        )

"""Ingest: files to clean, chunked text. `discover` and `load` read the supported KINDS into a
Document (PDFs, images, office, spreadsheet, e-mail and e-book files through `rag.ingest.formats`;
a file that needs OCR while Tesseract is missing raises `OcrUnavailable`; `page_view` shows a PDF
page or a scanned image (VIEW_KINDS) with a quote highlighted), `classify`
keeps the prose and drops page furniture (by `repeated_keys`, `furniture_keys`; documents of
STRUCTURED_KINDS keep every paragraph), `chunk_document` cuts what is left into overlapping
passages with their sentence spans."""

from rag.ingest.chunk import CHUNKER_VERSION, chunk_document, collapse, split_sentences
from rag.ingest.clean import CLEANER_VERSION, classify, furniture_keys, repeated_keys, trimmed
from rag.ingest.formats import STRUCTURED_KINDS
from rag.ingest.formats.ocr import OcrUnavailable
from rag.ingest.formats.page_view import VIEW_KINDS, PageView, page_view
from rag.ingest.load import KINDS, RawFile, discover, load, parse, read_file

__all__ = [
    "CHUNKER_VERSION",
    "CLEANER_VERSION",
    "KINDS",
    "STRUCTURED_KINDS",
    "VIEW_KINDS",
    "OcrUnavailable",
    "PageView",
    "RawFile",
    "chunk_document",
    "classify",
    "collapse",
    "discover",
    "furniture_keys",
    "load",
    "page_view",
    "parse",
    "read_file",
    "repeated_keys",
    "split_sentences",
    "trimmed",
]

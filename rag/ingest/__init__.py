"""Ingest: files to clean, chunked text. `discover` and `load` read the supported KINDS into a
Document, `classify` keeps the prose and drops page furniture (by `repeated_keys`, `furniture_keys`),
`chunk_document` cuts what is left into overlapping passages with their sentence spans."""

from rag.ingest.chunk import chunk_document, collapse, split_sentences
from rag.ingest.clean import CLEANER_VERSION, classify, furniture_keys, repeated_keys
from rag.ingest.load import KINDS, discover, load

__all__ = [
    "CLEANER_VERSION",
    "KINDS",
    "chunk_document",
    "classify",
    "collapse",
    "discover",
    "furniture_keys",
    "load",
    "repeated_keys",
    "split_sentences",
]

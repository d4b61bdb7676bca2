"""The per-document work of a build, in the functions both runners call: `LocalRunner` here, in this
process, and rag.distributed's on a Ray cluster. A runner loads files (`load_one`), then cleans, chunks
(`prepare_document`) and embeds them (`embed_documents`); the indexer does the rest (which files,
which paragraphs repeat across documents, the writing), so both builds write the same index."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import NamedTuple, Protocol, TypeVar

import numpy as np

from rag.config import Config
from rag.errors import LoadError
from rag.ingest import STRUCTURED_KINDS, RawFile, chunk_document, classify, collapse, parse, read_file
from rag.store.embed import Embedder
from rag.types import Chunk, Document, Paragraph

Loaded = Document | LoadError  # a file's document, or why it could not be used (OcrUnavailable too)


class Prepared(NamedTuple):
    """A loaded document cleaned and chunked, ready to embed."""

    document: Document
    paragraphs: list[Paragraph]
    block_keys: list[str]  # its furniture keys, to spot paragraphs repeated across documents
    chunks: list[Chunk]


class Embedded(NamedTuple):
    """A prepared document with its vectors: one per chunk, and one per sentence of each chunk."""

    prepared: Prepared
    chunk_vectors: np.ndarray
    sentence_vectors: list[np.ndarray]


class Runner(Protocol):
    """Where a build's per-document work runs."""

    def load(self, files: list[tuple[str, Path]]) -> Iterator[tuple[str, Loaded]]:
        """Each (doc id, path) loaded, in order: (doc id, what it gave)."""
        ...

    def prepare(
        self, documents: list[Document], keys: dict[str, list[str]], repeated: frozenset[str]
    ) -> list[Embedded]:
        """Each document cleaned (`repeated`: furniture keys found across documents), chunked and
        embedded, in order."""
        ...


def load_one(doc: str, path: Path, max_bytes: int) -> Loaded:
    """A file's Document, or the LoadError saying why it cannot be used."""
    try:
        file = read_file(path, max_bytes)
    except LoadError as exc:
        return exc
    return parse_one(doc, path, file, max_bytes)


def parse_one(doc: str, path: Path, file: RawFile, max_bytes: int) -> Loaded:
    """The Document in a file's bytes (read here or on another machine), or the LoadError saying why
    it cannot be used."""
    try:
        return parse(doc, path, file, max_bytes)
    except LoadError as exc:
        return exc


def derive_title(document: Document, paragraphs: list[Paragraph]) -> str:
    """The file's own title if it has one, else its first kept paragraph when that is heading-sized,
    else its file name."""
    if document.title:
        return document.title
    first = next((p for p in paragraphs if p.kept), None)
    return first.text if first is not None and len(first.text) <= 150 else Path(document.doc).name


def prepare_document(
    document: Document, keys: list[str], repeated: frozenset[str], embedder: Embedder, config: Config
) -> Prepared:
    """One document's paragraphs judged (`repeated`: keys of paragraphs repeated across documents)
    and what is kept cut into chunks within the model's window."""
    paragraphs = classify(
        document.text, repeated, keep_all=document.kind in STRUCTURED_KINDS, scanned=document.scanned
    )
    chunks = chunk_document(
        document,
        paragraphs,
        embedder.count_tokens,
        max_tokens=config.chunk_tokens,
        overlap=config.chunk_overlap,
        window=embedder.window,
        title=derive_title(document, paragraphs),
    )
    return Prepared(document, paragraphs, keys, chunks)


def embed_documents(prepared: list[Prepared], embedder: Embedder, progress: bool = False) -> list[Embedded]:
    """Vectors for the chunks and their sentences, in one encode call: one progress bar, full batches."""
    texts, spans = embedding_texts(prepared)
    return with_vectors(prepared, spans, embedder.encode(texts, progress=progress))


def embedding_texts(prepared: list[Prepared]) -> tuple[list[str], list[list[tuple[int, int]]]]:
    """The texts a build embeds, in order: every chunk, then each document's (de-duplicated) sentence
    spans; and those spans per document."""
    texts = [c.text for p in prepared for c in p.chunks]
    spans = [sorted({s for c in p.chunks for s in c.sentences}) for p in prepared]
    for p, doc_spans in zip(prepared, spans, strict=True):
        texts += [collapse(p.document.text[a:b]) for a, b in doc_spans]
    return texts, spans


def with_vectors(
    prepared: list[Prepared], spans: list[list[tuple[int, int]]], vectors: np.ndarray
) -> list[Embedded]:
    """The prepared documents with their rows of `vectors` (one per `embedding_texts` text)."""
    embedded = []
    offset = sum(len(p.chunks) for p in prepared)
    chunk_offset = 0
    for p, doc_spans in zip(prepared, spans, strict=True):
        row = {span: vectors[offset + i] for i, span in enumerate(doc_spans)}
        sentence_vectors = [np.stack([row[s] for s in c.sentences]) for c in p.chunks]
        chunk_vectors = vectors[chunk_offset : chunk_offset + len(p.chunks)]
        embedded.append(Embedded(p, chunk_vectors, sentence_vectors))
        offset += len(doc_spans)
        chunk_offset += len(p.chunks)
    return embedded


class LocalRunner:
    """The per-document work in this process, with terminal progress bars."""

    def __init__(self, config: Config, embedder: Embedder, progress: bool = False) -> None:
        self.config = config
        self.embedder = embedder
        self.progress = progress

    def load(self, files: list[tuple[str, Path]]) -> Iterator[tuple[str, Loaded]]:
        max_bytes = int(self.config.max_file_mb * 1e6)
        for doc, path in progress_bar(files, self.progress, "reading"):
            yield doc, load_one(doc, path, max_bytes)

    def prepare(
        self, documents: list[Document], keys: dict[str, list[str]], repeated: frozenset[str]
    ) -> list[Embedded]:
        prepared = [
            prepare_document(d, keys[d.doc], repeated, self.embedder, self.config)
            for d in progress_bar(documents, self.progress, "chunking")
        ]
        return embed_documents(prepared, self.embedder, self.progress)


T = TypeVar("T")


def progress_bar(items: list[T], enabled: bool, label: str) -> Iterable[T]:
    """A terminal progress bar (tqdm hides itself when stderr is not a terminal)."""
    if not enabled:
        return items
    from tqdm import tqdm

    return tqdm(items, desc=label, unit="file", leave=False, disable=None)

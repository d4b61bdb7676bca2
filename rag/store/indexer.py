"""The indexing pipeline: discover → load → clean → chunk → embed → store, incrementally.

Only new or changed files are read past their size and modification time, and the model is loaded
only when something needs embedding, so an unchanged re-run costs milliseconds.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import NamedTuple, TypeVar

import numpy as np

from rag.config import Config
from rag.errors import LoadError, UserError
from rag.ingest import (
    KINDS,
    STRUCTURED_KINDS,
    OcrUnavailable,
    chunk_document,
    classify,
    collapse,
    discover,
    furniture_keys,
    load,
    repeated_keys,
)
from rag.store.backend import Writer, open_reader, open_writer, stored_manifest, where
from rag.store.embed import Embedder
from rag.store.writer import DocRecord
from rag.types import Chunk, Document, IndexReport, Paragraph

Warn = Callable[[str], None]


def _is_under(path: str, roots: list[Path]) -> bool:
    p = Path(path)
    return any(p == root or root in p.parents for root in roots)


def derive_title(document: Document, paragraphs: list[Paragraph]) -> str:
    """The file's own title if it has one, else its first kept paragraph when that is heading-sized,
    else its file name."""
    if document.title:
        return document.title
    first = next((p for p in paragraphs if p.kept), None)
    return first.text if first is not None and len(first.text) <= 150 else Path(document.doc).name


def build_index(
    paths: Iterable[str | Path],
    config: Config,
    *,
    rebuild: bool = False,
    progress: bool = False,
    warn: Warn = lambda message: None,
) -> IndexReport:
    """Bring the index (`config.index_dir`, or the database `config.store`) up to date with the files
    under `paths`.

    A file that cannot be used is reported through `warn` and in the report's `errors`, and the rest
    is indexed; so is a document that loads but keeps no text after cleaning (it is recorded, with
    no chunks, and not re-read until it changes). When not one file under `paths` can be read (all
    refused or unreadable, or none there) the build stops with a UserError saying so, and the index
    is left as it was.
    """
    started = time.perf_counter()
    paths = list(paths)
    files, warnings = discover(paths)
    errors: list[str] = []
    notes: list[str] = []
    empty: list[str] = []  # read, but nothing left after cleaning
    for w in warnings:
        warn(w)
    roots = [Path(p).resolve() for p in paths]
    embedder = Embedder(config)
    with open_writer(config, rebuild=rebuild) as writer:
        existing = writer.documents()
        wanted = {doc for doc, _ in files}
        removed = sorted(d for d, rec in existing.items() if d not in wanted and _is_under(rec.path, roots))
        loaded: list[Document] = []
        unchanged = 0  # files already indexed as they are
        need_ocr: list[OcrUnavailable] = []  # one warning for all of them, saying how to get Tesseract
        for doc, path in _progress(files, progress, "reading"):
            rec = existing.get(doc)
            if rec is not None and rec.path != str(path):
                message = f"skipped {path}: the index already has {doc} from {rec.path}"
                warn(message)
                errors.append(message)
                continue
            if rec is not None and _same_stat(rec.size, rec.mtime_ns, path):
                unchanged += 1
                continue
            try:
                document = load(doc, path, max_bytes=int(config.max_file_mb * 1e6))
            except OcrUnavailable as exc:
                need_ocr.append(exc)
                continue
            except LoadError as exc:
                warn(str(exc) + ("; keeping the indexed version" if rec else ""))
                errors.append(str(exc))
                continue
            for note in document.notes:
                warn(note)
                notes.append(note)
            if rec is None or rec.sha256 != document.sha256:
                loaded.append(document)
            else:
                unchanged += 1
        if need_ocr:
            message = _ocr_missing(need_ocr)
            warn(message)
            errors.append(message)

        if not (loaded or unchanged) and (errors or warnings or stored_manifest(config) is None):
            raise UserError(_nothing_indexed(paths, len(errors) + len(warnings), config))
        prepared = _prepare(loaded, removed, existing, embedder, config, progress)
        for p in prepared:
            if not p.chunks:
                empty.append(p.document.doc)
                message = f"{p.document.path}: no text left after cleaning; nothing indexed"
                warn(message)
                errors.append(message)
        if loaded or removed:
            _write(writer, prepared, removed, embedder, progress, config.hnsw_m)
        added = sorted(d.doc for d in loaded if d.doc not in existing)
        updated = sorted(d.doc for d in loaded if d.doc in existing)

    reader = open_reader(config)
    try:
        docs = reader.documents()
    finally:
        reader.close()
    return IndexReport(
        index_dir=where(config),
        documents=len(docs),
        chunks=sum(d["chunks"] for d in docs),
        dropped_paragraphs=sum(d["dropped"] for d in docs),
        added=added,
        updated=updated,
        removed=removed,
        errors=errors,
        notes=notes,
        empty=sorted(empty),
        seconds=round(time.perf_counter() - started, 3),
    )


def _same_stat(size: int, mtime_ns: int, path: Path) -> bool:
    try:
        stat = path.stat()
    except OSError:
        return False
    return stat.st_size == size and stat.st_mtime_ns == mtime_ns


def _ocr_missing(files: list[OcrUnavailable]) -> str:
    """One line for every file that needs OCR, however many: the first file's own message (which says
    how to install Tesseract) and how many more there are."""
    more = len(files) - 1
    return str(files[0]) + (
        f"; and {more} more {'files that need' if more > 1 else 'file that needs'} OCR" if more else ""
    )


def _nothing_indexed(paths: list[str | Path], problems: int, config: Config) -> str:
    """The message of a build in which not one file could be read."""
    given = ", ".join(str(p) for p in paths)
    if problems:
        why = f"every file was refused ({problems} warning{'s' if problems != 1 else ''} above)"
    else:
        why = f"no {', '.join(sorted(KINDS))} files there"
    kept = stored_manifest(config) is not None
    outcome = f"the index in {where(config)} was not changed" if kept else "no index was built"
    return f"no document could be indexed from {given}: {why}; {outcome}"


class Prepared(NamedTuple):
    """A loaded document cleaned and chunked, ready to embed."""

    document: Document
    paragraphs: list[Paragraph]
    block_keys: list[str]  # its furniture keys, to spot paragraphs repeated across documents
    chunks: list[Chunk]


def _prepare(
    loaded: list[Document],
    removed: list[str],
    existing: dict[str, DocRecord],
    embedder: Embedder,
    config: Config,
    progress: bool,
) -> list[Prepared]:
    """Clean and chunk the loaded documents (paragraphs repeated across documents are furniture)."""
    if not loaded:
        return []
    keys = {d.doc: furniture_keys(d.text) for d in loaded}
    others = [rec.block_keys for doc, rec in existing.items() if doc not in keys and doc not in removed]
    repeated = repeated_keys([*keys.values(), *others])
    prepared = []
    for document in _progress(loaded, progress, "chunking"):
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
        prepared.append(Prepared(document, paragraphs, keys[document.doc], chunks))
    return prepared


def _write(
    writer: Writer,
    prepared: list[Prepared],
    removed: list[str],
    embedder: Embedder,
    progress: bool,
    hnsw_m: int,
) -> None:
    """Embed the prepared documents, then commit them with the removals."""
    # One encode call for passages and their (de-duplicated) sentences: one progress bar, full batches.
    texts = [c.text for p in prepared for c in p.chunks]
    spans = [sorted({s for c in p.chunks for s in c.sentences}) for p in prepared]
    for p, doc_spans in zip(prepared, spans, strict=True):
        texts += [collapse(p.document.text[a:b]) for a, b in doc_spans]
    vectors = embedder.encode(texts, progress=progress)
    for doc in removed:
        writer.remove(doc)
    offset = sum(len(p.chunks) for p in prepared)
    chunk_offset = 0
    for (document, paragraphs, keys, chunks), doc_spans in zip(prepared, spans, strict=True):
        row = {span: vectors[offset + i] for i, span in enumerate(doc_spans)}
        sentence_vectors = [np.stack([row[s] for s in c.sentences]) for c in chunks]
        chunk_vectors = vectors[chunk_offset : chunk_offset + len(chunks)]
        writer.add(document, paragraphs, keys, chunks, chunk_vectors, sentence_vectors)
        offset += len(doc_spans)
        chunk_offset += len(chunks)
    # A removal-only update never loads the model: the live index knows its dimension.
    dimension = embedder.dimension if prepared else writer.dimension()
    writer.commit(dimension, hnsw_m=hnsw_m)


T = TypeVar("T")


def _progress(items: list[T], enabled: bool, label: str) -> Iterable[T]:
    """A terminal progress bar (tqdm hides itself when stderr is not a terminal)."""
    if not enabled:
        return items
    from tqdm import tqdm

    return tqdm(items, desc=label, unit="file", leave=False, disable=None)

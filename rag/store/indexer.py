"""The indexing pipeline: discover → load → clean → chunk → embed → store, incrementally.

Only new or changed files are read past their size and modification time, and the model is loaded
only when something needs embedding, so an unchanged re-run costs milliseconds.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from pathlib import Path

from rag.config import Config
from rag.errors import UserError
from rag.ingest import KINDS, OcrUnavailable, discover, furniture_keys, repeated_keys
from rag.store.backend import Writer, open_reader, open_writer, stored_manifest, where
from rag.store.embed import Embedder
from rag.store.steps import Embedded, LocalRunner, Runner
from rag.store.writer import DocRecord
from rag.types import Document, IndexReport

Warn = Callable[[str], None]


def _is_under(path: str, roots: list[Path]) -> bool:
    p = Path(path)
    return any(p == root or root in p.parents for root in roots)


def build_index(
    paths: Iterable[str | Path],
    config: Config,
    *,
    rebuild: bool = False,
    progress: bool = False,
    warn: Warn = lambda message: None,
    runner: Runner | None = None,
) -> IndexReport:
    """Bring the index (`config.index_dir`, or the database `config.store`) up to date with the files
    under `paths`.

    A file that cannot be used is reported through `warn` and in the report's `errors`, and the rest
    is indexed; so is a document that loads but keeps no text after cleaning (it is recorded, with
    no chunks, and not re-read until it changes). When not one file under `paths` can be read (all
    refused or unreadable, or none there) the build stops with a UserError saying so, and the index
    is left as it was.

    `runner` does the per-document work (load, clean, chunk, embed): by default in this process; a
    rag.distributed runner sends it to a Ray cluster. Only new or changed files reach it, and only
    this process writes.
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
    with open_writer(config, rebuild=rebuild) as writer:
        existing = writer.documents()
        wanted = {doc for doc, _ in files}
        removed = sorted(d for d, rec in existing.items() if d not in wanted and _is_under(rec.path, roots))
        loaded: list[Document] = []
        unchanged = 0  # files already indexed as they are
        need_ocr: list[OcrUnavailable] = []  # one warning for all of them, saying how to get Tesseract
        to_load: list[tuple[str, Path]] = []
        for doc, path in files:
            rec = existing.get(doc)
            if rec is not None and rec.path != str(path):
                message = f"skipped {path}: the index already has {doc} from {rec.path}"
                warn(message)
                errors.append(message)
            elif rec is not None and _same_stat(rec.size, rec.mtime_ns, path):
                unchanged += 1
            else:
                to_load.append((doc, path))
        runner = runner or LocalRunner(config, Embedder(config), progress)
        for doc, document in runner.load(to_load) if to_load else ():
            rec = existing.get(doc)
            if isinstance(document, OcrUnavailable):
                need_ocr.append(document)
                continue
            if not isinstance(document, Document):
                warn(str(document) + ("; keeping the indexed version" if rec else ""))
                errors.append(str(document))
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
        embedded = _prepare(loaded, removed, existing, runner)
        for p, _, _ in embedded:
            if not p.chunks:
                empty.append(p.document.doc)
                message = f"{p.document.path}: no text left after cleaning; nothing indexed"
                warn(message)
                errors.append(message)
        if loaded or removed:
            _write(writer, embedded, removed, config.hnsw_m)
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


def _prepare(
    loaded: list[Document], removed: list[str], existing: dict[str, DocRecord], runner: Runner
) -> list[Embedded]:
    """Clean, chunk and embed the loaded documents (paragraphs repeated across documents are furniture)."""
    if not loaded:
        return []
    keys = {d.doc: furniture_keys(d.text) for d in loaded}
    others = [rec.block_keys for doc, rec in existing.items() if doc not in keys and doc not in removed]
    return runner.prepare(loaded, keys, repeated_keys([*keys.values(), *others]))


def _write(writer: Writer, embedded: list[Embedded], removed: list[str], hnsw_m: int) -> None:
    """Commit the embedded documents with the removals."""
    for doc in removed:
        writer.remove(doc)
    for (document, paragraphs, keys, chunks), chunk_vectors, sentence_vectors in embedded:
        writer.add(document, paragraphs, keys, chunks, chunk_vectors, sentence_vectors)
    # A removal-only update never loads the model: the live index knows its dimension.
    dimension = embedded[0].chunk_vectors.shape[1] if embedded else writer.dimension()
    writer.commit(dimension, hnsw_m=hnsw_m)

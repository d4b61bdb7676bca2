"""Writing the next generation of an index folder: SQLite (documents, chunks, vectors), then FAISS,
BM25 and the manifest, then CURRENT swapped atomically (the layout: rag.store.manifest).

SQLite is the source of truth (vectors included); FAISS maps chunk row ids to vectors, so a changed
or deleted document's vectors can be removed, and an HNSW or IVF index can be rebuilt from SQLite.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import sqlite3
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from rag.errors import UserError
from rag.store.faiss_kind import choose_kind, new_faiss, train, write_faiss
from rag.store.generations import delete_if_unheld
from rag.store.lexical import LexicalIndex
from rag.store.manifest import (
    BM25,
    CURRENT,
    DB,
    FORMAT,
    LOCK,
    MANIFEST,
    VECTORS,
    check_settings,
    checksums,
    current_generation,
    data_files,
    read_manifest,
    verify,
)
from rag.types import Chunk, Document, Paragraph

SCHEMA = """
CREATE TABLE IF NOT EXISTS documents (
    doc TEXT PRIMARY KEY, path TEXT NOT NULL, kind TEXT NOT NULL, sha256 TEXT NOT NULL,
    size INTEGER NOT NULL, mtime_ns INTEGER NOT NULL, title TEXT, text TEXT NOT NULL,
    page_starts TEXT NOT NULL, locators TEXT NOT NULL, paragraphs TEXT NOT NULL,
    block_keys TEXT NOT NULL, n_chunks INTEGER NOT NULL, n_dropped INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS chunks (
    id INTEGER PRIMARY KEY AUTOINCREMENT, doc TEXT NOT NULL, chunk_id TEXT NOT NULL UNIQUE,
    ord INTEGER NOT NULL, start INTEGER NOT NULL, "end" INTEGER NOT NULL, text TEXT NOT NULL,
    page INTEGER, title TEXT, locator TEXT, sentences TEXT NOT NULL, vector BLOB NOT NULL,
    sentence_vectors BLOB NOT NULL
);
CREATE INDEX IF NOT EXISTS chunks_doc ON chunks(doc);
"""


def document_values(
    document: Document,
    paragraphs: list[Paragraph],
    block_keys: list[str],
    n_chunks: int,
    encode: Callable[[Any], Any] = json.dumps,
) -> tuple[Any, ...]:
    """A document's row in the order of the `documents` table (both stores'); `encode` writes the
    list-valued columns (JSON text here, JSONB in PostgreSQL)."""
    return (
        document.doc,
        document.path,
        document.kind,
        document.sha256,
        document.size,
        document.mtime_ns,
        document.title,
        document.text,
        encode(document.page_starts),
        encode(document.locators),
        encode([[p.start, p.end, p.kept, p.reason] for p in paragraphs]),
        encode(block_keys),
        n_chunks,
        sum(not p.kept for p in paragraphs),
    )


def chunk_values(chunk: Chunk, ord_: int, encode: Callable[[Any], Any] = json.dumps) -> tuple[Any, ...]:
    """A chunk's columns doc, chunk_id, ord, start, end, text, page, title, locator, sentences (both
    stores')."""
    return (
        chunk.doc,
        chunk.chunk_id,
        ord_,
        chunk.start,
        chunk.end,
        chunk.text,
        chunk.page,
        chunk.title,
        chunk.locator,
        encode(chunk.sentences),
    )


@dataclass(frozen=True)
class DocRecord:
    doc: str
    path: str
    sha256: str
    size: int
    mtime_ns: int
    block_keys: tuple[str, ...]


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


SQLITE_WRITE_ERRORS = (sqlite3.SQLITE_FULL, sqlite3.SQLITE_IOERR)  # disk full, failed write (EFBIG)


@contextlib.contextmanager
def _writing(index_dir: Path) -> Iterator[None]:
    """A failed write (disk full, file too large, folder not writable) becomes one clear line; the
    writer's `close` then drops the unfinished generation, so the old index stays live and intact."""
    try:
        yield
    except OSError as exc:
        reason = exc.strerror or str(exc)
    except sqlite3.OperationalError as exc:  # SQLite names a failed write in its own words
        if exc.sqlite_errorcode & 0xFF not in SQLITE_WRITE_ERRORS:
            raise
        reason = f"{exc} (is the disk full?)"
    else:
        return
    raise UserError(f"cannot write the index in {index_dir}: {reason}; the old index is intact") from None


class IndexWriter:
    """Writes the next generation of an index folder; use as a context manager, then `commit()`.

    Holds a file lock for its lifetime: a second writer on the same folder is refused at once.
    """

    def __init__(self, index_dir: Path, settings: dict[str, Any], rebuild: bool = False) -> None:
        from filelock import FileLock, Timeout

        self.index_dir = Path(index_dir)
        self.settings = settings
        try:
            self.index_dir.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise UserError(f"cannot create index folder {self.index_dir}: {exc.strerror}") from None
        self._lock = FileLock(str(self.index_dir / LOCK))
        try:
            self._lock.acquire(timeout=0)
        except Timeout:
            raise UserError(
                f"another `rag index` is writing to {self.index_dir}; try again when it ends"
            ) from None
        except OSError as exc:
            raise UserError(f"cannot write to index folder {self.index_dir}: {exc.strerror}") from None
        self.old = None if rebuild else current_generation(self.index_dir)
        if self.old is not None:
            manifest = read_manifest(self.old)
            check_settings(manifest, settings, self.index_dir)
            verify(self.old, manifest)
        self._remove_stale()
        self._removed: list[int] = []
        self._added: list[tuple[np.ndarray, np.ndarray]] = []
        self.gen: Path | None = None
        self._db: sqlite3.Connection | None = None

    # -- life cycle --------------------------------------------------------------------------

    def __enter__(self) -> IndexWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Drop an uncommitted generation and release the lock."""
        if self._db is not None:
            self._db.close()
            self._db = None
        if self.gen is not None and self.gen != current_generation(self.index_dir):
            shutil.rmtree(self.gen, ignore_errors=True)
        self.gen = None
        if self._lock.is_locked:
            self._lock.release()

    def documents(self) -> dict[str, DocRecord]:
        """What the live generation holds (read without starting a new generation)."""
        if self.old is None:
            return {}
        with contextlib.closing(sqlite3.connect(f"file:{self.old / DB}?mode=ro", uri=True)) as db:
            rows = db.execute("SELECT doc, path, sha256, size, mtime_ns, block_keys FROM documents")
            return {r[0]: DocRecord(r[0], r[1], r[2], r[3], r[4], tuple(json.loads(r[5]))) for r in rows}

    def dimension(self) -> int:
        """The live generation's vector dimension."""
        if self.old is None:
            raise UserError(f"no index in {self.index_dir}")
        return int(read_manifest(self.old)["dimension"])

    @property
    def db(self) -> sqlite3.Connection:
        """The new generation's database, started (as a copy of the live one) on first use."""
        if self._db is None:
            self.gen = self.index_dir / f"gen-{time.time_ns()}-{os.getpid()}"
            with _writing(self.index_dir):
                self.gen.mkdir()
                if self.old is not None:
                    shutil.copyfile(self.old / DB, self.gen / DB)
                self._db = sqlite3.connect(self.gen / DB)
                self._db.executescript(SCHEMA)
        return self._db

    def _remove_stale(self) -> None:
        """Generations left by killed builds (we hold the lock, so no build is running), and replaced
        ones no reader holds any longer: removed on every run, even one with nothing to change."""
        live = current_generation(self.index_dir)
        for gen in self.index_dir.glob("gen-*"):
            if gen != live:
                delete_if_unheld(gen)

    # -- changes -----------------------------------------------------------------------------

    def remove(self, doc: str) -> None:
        with _writing(self.index_dir):
            ids = [r[0] for r in self.db.execute("SELECT id FROM chunks WHERE doc = ?", (doc,))]
            self._removed += ids
            self.db.execute("DELETE FROM chunks WHERE doc = ?", (doc,))
            self.db.execute("DELETE FROM documents WHERE doc = ?", (doc,))

    def add(
        self,
        document: Document,
        paragraphs: list[Paragraph],
        block_keys: list[str],
        chunks: list[Chunk],
        vectors: np.ndarray,
        sentence_vectors: list[np.ndarray],
    ) -> None:
        """Store one document (replacing any earlier version) with its chunks, their vectors and the
        vectors of their sentences (one row per sentence, for the sentence-level reranker)."""
        with _writing(self.index_dir):
            self.remove(document.doc)
            self.db.execute(
                "INSERT INTO documents VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                document_values(document, paragraphs, block_keys, len(chunks)),
            )
            ids = []
            for i, (chunk, vector, sentences) in enumerate(
                zip(chunks, vectors, sentence_vectors, strict=True)
            ):
                cur = self.db.execute(
                    'INSERT INTO chunks (doc, chunk_id, ord, start, "end", text, page, title, locator,'
                    " sentences, vector, sentence_vectors) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
                    (
                        *chunk_values(chunk, i),
                        vector.astype(np.float32).tobytes(),
                        sentences.astype(np.float32).tobytes(),
                    ),
                )
                ids.append(cur.lastrowid)
            if ids:
                self._added.append((np.asarray(ids, dtype=np.int64), np.asarray(vectors, dtype=np.float32)))

    # -- commit ------------------------------------------------------------------------------

    def commit(self, dimension: int, hnsw_m: int = 32) -> Path:
        """Write FAISS and the manifest, make the new generation live, delete the old one."""
        db, gen = self.db, self.gen
        assert gen is not None
        with _writing(self.index_dir):
            db.commit()
            index = self._faiss(dimension, hnsw_m)
            rows = db.execute("SELECT id, text FROM chunks ORDER BY id").fetchall()
            ids = np.asarray([r[0] for r in rows], dtype=np.int64)
            lexical = LexicalIndex.build([r[1] for r in rows], ids)
            write_faiss(index, gen / VECTORS)
            lexical.save(gen / BM25)
            counts = db.execute("SELECT (SELECT count(*) FROM documents), (SELECT count(*) FROM chunks)")
            n_docs, n_chunks = counts.fetchone()
            db.close()
            self._db = None
            manifest = {
                "format": FORMAT,
                "settings": self.settings,
                "dimension": dimension,
                "documents": n_docs,
                "chunks": n_chunks,
                "built_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
                "checksums": checksums(gen),
            }
            (gen / MANIFEST).write_text(json.dumps(manifest, indent=2), encoding="utf-8")
            for name in [*data_files(gen), MANIFEST]:
                _fsync(gen / name)
            _fsync(gen / BM25)
            _fsync(gen)
            tmp = self.index_dir / f"{CURRENT}.tmp"
            tmp.write_text(gen.name, encoding="utf-8")
            _fsync(tmp)
            os.replace(tmp, self.index_dir / CURRENT)
            _fsync(self.index_dir)
        if self.old is not None and self.old != gen:
            delete_if_unheld(self.old)  # else kept for the readers still on it
        return gen

    def _faiss(self, dimension: int, hnsw_m: int) -> Any:
        """Flat: the old index minus removed ids plus new vectors. HNSW/IVF: rebuilt from SQLite."""
        import faiss

        n_chunks = self.db.execute("SELECT count(*) FROM chunks").fetchone()[0]
        kind = choose_kind(self.settings.get("faiss_index", "flat"), n_chunks)
        if kind == "flat" and self.old is not None and (self.old / VECTORS).exists():
            index: Any = faiss.read_index(str(self.old / VECTORS))
            if isinstance(faiss.downcast_index(index.index), faiss.IndexFlat):  # not when "auto" shrank
                if self._removed:
                    index.remove_ids(faiss.IDSelectorBatch(np.asarray(self._removed, dtype=np.int64)))
                for ids, vectors in self._added:
                    index.add_with_ids(vectors, ids)
                return index
        ids, vectors = stored_vectors(self.db, dimension)
        index = new_faiss(kind, dimension, len(ids), hnsw_m)
        if len(ids):
            train(index, vectors)
            index.add_with_ids(vectors, ids)
        return index


def stored_vectors(db: sqlite3.Connection, dimension: int) -> tuple[np.ndarray, np.ndarray]:
    rows = db.execute("SELECT id, vector FROM chunks ORDER BY id").fetchall()
    ids = np.asarray([r[0] for r in rows], dtype=np.int64)
    vectors = np.frombuffer(b"".join(r[1] for r in rows), dtype=np.float32).reshape(len(rows), dimension)
    return ids, vectors

"""The index folder: SQLite (documents, chunks, vectors) plus a FAISS index, in generations.

Layout: `DIR/CURRENT` names the live generation folder `DIR/gen-*` holding `rag.sqlite`,
`vectors.faiss` and `manifest.json`. A build writes a new generation beside the old one and then
replaces CURRENT atomically, so a build killed at any moment leaves the previous index intact.
SQLite is the source of truth (vectors included); FAISS maps chunk row ids to vectors, so a changed
or deleted document's vectors can be removed, and an HNSW or IVF index can be rebuilt from SQLite.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import json
import os
import re
import shutil
import sqlite3
import time
import weakref
from collections.abc import Iterator
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import IO, Any

import numpy as np

from rag.errors import UserError
from rag.generations import MANIFEST, delete_if_unheld, hold
from rag.lexical import LexicalIndex
from rag.types import Chunk, Document, Paragraph

FORMAT = 2  # 2: BM25 stored with each generation
HOLD_ATTEMPTS = 20  # looks at CURRENT while opening: each miss means a build committed meanwhile
BM25 = "bm25"
DB, VECTORS, CURRENT, LOCK = "rag.sqlite", "vectors.faiss", "CURRENT", ".lock"  # MANIFEST: rag.generations

SCHEMA = """
CREATE TABLE IF NOT EXISTS documents (
    doc TEXT PRIMARY KEY, path TEXT NOT NULL, kind TEXT NOT NULL, sha256 TEXT NOT NULL,
    size INTEGER NOT NULL, mtime_ns INTEGER NOT NULL, title TEXT, text TEXT NOT NULL,
    page_starts TEXT NOT NULL, paragraphs TEXT NOT NULL, block_keys TEXT NOT NULL,
    n_chunks INTEGER NOT NULL, n_dropped INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS chunks (
    id INTEGER PRIMARY KEY AUTOINCREMENT, doc TEXT NOT NULL, chunk_id TEXT NOT NULL UNIQUE,
    ord INTEGER NOT NULL, start INTEGER NOT NULL, "end" INTEGER NOT NULL, text TEXT NOT NULL,
    page INTEGER, title TEXT, sentences TEXT NOT NULL, vector BLOB NOT NULL,
    sentence_vectors BLOB NOT NULL
);
CREATE INDEX IF NOT EXISTS chunks_doc ON chunks(doc);
"""


@dataclass(frozen=True)
class DocRecord:
    doc: str
    path: str
    sha256: str
    size: int
    mtime_ns: int
    block_keys: tuple[str, ...]


def _sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


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


def _write_faiss(index: Any, path: Path) -> None:
    """FAISS reports a failed write as RuntimeError, the system's reason last in parentheses."""
    import faiss

    try:
        faiss.write_index(index, str(path))
    except RuntimeError as exc:
        reason = re.search(r"\(([^()]+)\)\s*$", str(exc))
        raise OSError(errno.EIO, reason.group(1) if reason else "write error") from None


def current_generation(index_dir: Path) -> Path | None:
    """The live generation folder, or None when no index was ever completed here."""
    try:
        name = (index_dir / CURRENT).read_text(encoding="utf-8").strip()
    except (FileNotFoundError, NotADirectoryError):
        return None
    gen = index_dir / name
    return gen if name.startswith("gen-") and gen.is_dir() else None


def read_manifest(gen: Path) -> dict[str, Any]:
    try:
        data: dict[str, Any] = json.loads((gen / MANIFEST).read_text(encoding="utf-8"))
        return data
    except (OSError, ValueError):
        raise UserError(
            f"index at {gen.parent} is damaged (manifest unreadable); rebuild it with `rag index --rebuild`"
        ) from None


def verify(gen: Path, manifest: dict[str, Any]) -> None:
    """Every data file present with the checksum the manifest recorded: a truncated or overwritten
    file is caught here with a clear message, not as a crash deep inside FAISS or SQLite."""
    for name, expected in manifest.get("checksums", {}).items():
        try:
            intact = _sha256_file(gen / name) == expected
        except OSError:
            intact = False
        if not intact:
            raise UserError(
                f"index at {gen.parent} is damaged ({name} is missing or changed since it was built); "
                "rebuild it with `rag index --rebuild`"
            )


def check_settings(manifest: dict[str, Any], wanted: dict[str, Any], index_dir: Path) -> None:
    """Refuse to mix settings: a different model or chunker means a rebuild."""
    built = manifest.get("settings", {})
    diffs = [f"{k}: {built.get(k)!r} → {v!r}" for k, v in wanted.items() if built.get(k) != v]
    if manifest.get("format") != FORMAT:
        diffs.insert(0, f"format: {manifest.get('format')!r} → {FORMAT!r}")
    if diffs:
        raise UserError(
            f"index at {index_dir} was built with other settings ({'; '.join(diffs)}); "
            "rebuild it with `rag index --rebuild`"
        )


AUTO_IVF_FROM = 100_000  # chunks; see new_faiss


def new_faiss(kind: str, dim: int, n_vectors: int, hnsw_m: int = 32) -> Any:
    """An empty inner-product index of `kind`, sized for `n_vectors`, searching by chunk row id.

    "auto" is exact search below AUTO_IVF_FROM vectors and IVF above (benchmarks/scale.py: exact
    search of 1M chunks takes 163 ms p50 on one thread here, IVF 10 ms with recall@10 1.0; below
    100k chunks exact search stays under 17 ms p95 and IVF's lists get too few to keep recall).
    Search-time settings are stored with the index (HNSW efSearch, IVF nprobe).
    """
    import faiss

    if kind == "auto":
        kind = "ivf" if n_vectors >= AUTO_IVF_FROM else "flat"
    base: Any
    if kind == "hnsw":
        base = faiss.IndexHNSWFlat(dim, hnsw_m, faiss.METRIC_INNER_PRODUCT)
        base.hnsw.efConstruction = 80
        base.hnsw.efSearch = 64
    elif kind == "ivf":
        nlist = max(1, min(int(4 * n_vectors**0.5), n_vectors // 39 or 1))
        base = faiss.IndexIVFFlat(faiss.IndexFlatIP(dim), dim, nlist, faiss.METRIC_INNER_PRODUCT)
        base.nprobe = max(1, nlist // 16)
    else:
        base = faiss.IndexFlatIP(dim)
    return faiss.IndexIDMap2(base)


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
                "INSERT INTO documents VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)",
                (
                    document.doc,
                    document.path,
                    document.kind,
                    document.sha256,
                    document.size,
                    document.mtime_ns,
                    document.title,
                    document.text,
                    json.dumps(document.page_starts),
                    json.dumps([[p.start, p.end, p.kept, p.reason] for p in paragraphs]),
                    json.dumps(block_keys),
                    len(chunks),
                    sum(not p.kept for p in paragraphs),
                ),
            )
            ids = []
            for i, (chunk, vector, sentences) in enumerate(
                zip(chunks, vectors, sentence_vectors, strict=True)
            ):
                cur = self.db.execute(
                    'INSERT INTO chunks (doc, chunk_id, ord, start, "end", text, page, title, sentences,'
                    " vector, sentence_vectors) VALUES (?,?,?,?,?,?,?,?,?,?,?)",
                    (
                        chunk.doc,
                        chunk.chunk_id,
                        i,
                        chunk.start,
                        chunk.end,
                        chunk.text,
                        chunk.page,
                        chunk.title,
                        json.dumps(chunk.sentences),
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
            _write_faiss(index, gen / VECTORS)
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
                "checksums": {name: _sha256_file(gen / name) for name in _data_files(gen)},
            }
            (gen / MANIFEST).write_text(json.dumps(manifest, indent=2), encoding="utf-8")
            for name in [*_data_files(gen), MANIFEST]:
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

        kind = self.settings.get("faiss_index", "flat")
        if kind == "auto":
            n_chunks = self.db.execute("SELECT count(*) FROM chunks").fetchone()[0]
            kind = "ivf" if n_chunks >= AUTO_IVF_FROM else "flat"
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


def train(index: Any, vectors: np.ndarray) -> None:
    """Train an IVF index's lists on a sample: k-means wants ~40 points per list, more only slows it."""
    import faiss

    if index.is_trained:
        return
    nlist = faiss.extract_index_ivf(index).nlist
    sample = np.random.default_rng(0).permutation(len(vectors))[: 40 * nlist]
    index.train(vectors[np.sort(sample)])


def _data_files(gen: Path) -> list[str]:
    """Every file of a generation but its manifest, relative to the generation folder."""
    return [DB, VECTORS, *sorted(f"{BM25}/{p.name}" for p in (gen / BM25).iterdir())]


def stored_vectors(db: sqlite3.Connection, dimension: int) -> tuple[np.ndarray, np.ndarray]:
    rows = db.execute("SELECT id, vector FROM chunks ORDER BY id").fetchall()
    ids = np.asarray([r[0] for r in rows], dtype=np.int64)
    vectors = np.frombuffer(b"".join(r[1] for r in rows), dtype=np.float32).reshape(len(rows), dimension)
    return ids, vectors


def _let_go(held: IO[bytes], gen: Path, index_dir: Path) -> None:
    """Release a reader's hold on `gen` and, if a build has replaced it and no other reader holds it,
    delete it. Without the writer's lock: a replaced generation is never current again and no build
    reads it any more, and a reader letting go must never make a build that starts at that moment
    fail as "another `rag index` is writing" (the upload/remove churn benchmark saw it, 2 in 37)."""
    held.close()
    if gen == current_generation(index_dir):
        return
    with contextlib.suppress(OSError):  # a read-only folder: the next build that can write removes it
        delete_if_unheld(gen)


class IndexReader:
    """Read access to the live generation: manifest, documents, chunks and the FAISS index."""

    def __init__(self, index_dir: Path) -> None:
        self.index_dir = Path(index_dir)
        gen, held = self._hold_current()
        self.gen = gen
        self._let_go = weakref.finalize(self, _let_go, held, gen, self.index_dir)
        self.manifest = read_manifest(gen)
        verify(gen, self.manifest)
        try:
            self.db = sqlite3.connect(f"file:{gen / DB}?mode=ro", uri=True, check_same_thread=False)
            self.db.execute("SELECT count(*) FROM chunks").fetchone()
        except sqlite3.DatabaseError:
            raise UserError(
                f"index at {self.index_dir} is damaged; rebuild it with `rag index --rebuild`"
            ) from None
        self._faiss: Any = None
        self._lexical: LexicalIndex | None = None
        self._document_text = lru_cache(maxsize=64)(self._load_document_text)

    @property
    def dimension(self) -> int:
        return int(self.manifest["dimension"])

    @property
    def lexical(self) -> LexicalIndex:
        if self._lexical is None:
            self._lexical = LexicalIndex.load(self.gen / BM25)
        return self._lexical

    def _hold_current(self) -> tuple[Path, IO[bytes]]:
        """The live generation, held so that no build deletes it while we read (a build that
        replaces it between our look at CURRENT and our hold sends us to the new one)."""
        for _ in range(HOLD_ATTEMPTS):
            gen = current_generation(self.index_dir)
            if gen is None:
                raise UserError(f"no index in {self.index_dir}; build one with `rag index`")
            held = hold(gen)
            if held is not None:
                return gen, held
        raise UserError(f"index at {self.index_dir} changed {HOLD_ATTEMPTS} times while opening; try again")

    def close(self) -> None:
        """Let go of the generation (see `_let_go`); a reader dropped without close does it when it is
        collected, so a replaced generation never lingers behind a forgotten reader."""
        self.db.close()
        self._let_go()

    @property
    def faiss(self) -> Any:
        if self._faiss is None:
            import faiss

            self._faiss = faiss.read_index(str(self.gen / VECTORS))
            # Questions come one at a time: a second OpenMP thread only adds wake-up latency to a
            # single-query search (measured with benchmarks/scale.py), and concurrent questions
            # already run on threads of their own.
            faiss.omp_set_num_threads(1)
        return self._faiss

    def chunks(self) -> Iterator[Chunk]:
        rows = self.db.execute(
            'SELECT doc, chunk_id, start, "end", text, sentences, page, title FROM chunks ORDER BY doc, ord'
        )
        for doc, chunk_id, start, end, text, sentences, page, title in rows:
            spans = tuple((int(a), int(b)) for a, b in json.loads(sentences))
            yield Chunk(doc, chunk_id, start, end, text, spans, page, title)

    def documents(self) -> list[dict[str, Any]]:
        rows = self.db.execute(
            "SELECT doc, path, kind, sha256, size, title, n_chunks, n_dropped FROM documents ORDER BY doc"
        )
        keys = ("doc", "path", "kind", "sha256", "size", "title", "chunks", "dropped")
        return [dict(zip(keys, r, strict=True)) for r in rows]

    def document_text(self, doc: str) -> str:
        """A document's full text, cached per reader (answers quote its sentences)."""
        return self._document_text(doc)

    def _load_document_text(self, doc: str) -> str:
        row = self.db.execute("SELECT text FROM documents WHERE doc = ?", (doc,)).fetchone()
        if row is None:
            raise UserError(f"no document {doc!r} in the index")
        return str(row[0])

    def dropped(self) -> dict[str, list[dict[str, Any]]]:
        """Every dropped paragraph per document, with the cleaner's reason, for auditing."""
        out: dict[str, list[dict[str, Any]]] = {}
        for doc, text, paragraphs in self.db.execute(
            "SELECT doc, text, paragraphs FROM documents ORDER BY doc"
        ):
            out[doc] = [
                {"start": s, "end": e, "reason": reason, "text": " ".join(text[s:e].split())}
                for s, e, kept, reason in json.loads(paragraphs)
                if not kept
            ]
        return out

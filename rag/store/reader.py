"""Read access to the live generation: held so that no build deletes it while it is read, checked
against its manifest, its FAISS and BM25 indexes loaded on first use."""

from __future__ import annotations

import contextlib
import json
import sqlite3
import weakref
from collections.abc import Iterator
from functools import lru_cache
from pathlib import Path
from typing import IO, Any

import numpy as np

from rag.errors import UserError
from rag.store.faiss_kind import dense_search
from rag.store.generations import delete_if_unheld, hold
from rag.store.lexical import LexicalIndex
from rag.store.manifest import BM25, DB, VECTORS, current_generation, read_manifest, verify
from rag.types import Chunk, Places

ROW_COLUMNS = ["id", "doc", "chunk_id", "start", "end", "text", "sentences", "page", "title", "locator"]
HOLD_ATTEMPTS = 20  # looks at CURRENT while opening: each miss means a build committed meanwhile


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
        self._places = lru_cache(maxsize=256)(self._load_places)

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

    def warm(self) -> None:
        """Load FAISS and BM25 now rather than on the first question."""
        _ = self.faiss, self.lexical

    def dense(self, vector: np.ndarray, n: int) -> list[tuple[int, float]]:
        """Top-n chunk row ids by inner product (cosine: vectors are unit length)."""
        return dense_search(self.faiss, vector, n)

    def rows(self, ids: list[int], vectors: bool = False) -> dict[int, dict[str, Any]]:
        """The chunks of these row ids, with their vectors (as arrays) if asked."""
        columns = ROW_COLUMNS + (["vector", "sentence_vectors"] if vectors else [])
        sql = (
            f"SELECT {', '.join(chr(34) + c + chr(34) for c in columns)} FROM chunks "
            f"WHERE id IN ({','.join('?' * len(ids))})"
        )
        out = {}
        for values in self.db.execute(sql, ids):
            row = dict(zip(columns, values, strict=True))
            row["sentences"] = [(int(a), int(b)) for a, b in json.loads(row["sentences"])]
            if vectors:
                row["vector"] = np.frombuffer(row["vector"], dtype=np.float32)
                row["sentence_vectors"] = np.frombuffer(row["sentence_vectors"], dtype=np.float32).reshape(
                    -1, self.dimension
                )
            out[row["id"]] = row
        return out

    def chunks(self) -> Iterator[Chunk]:
        rows = self.db.execute(
            'SELECT doc, chunk_id, start, "end", text, sentences, page, title, locator FROM chunks'
            " ORDER BY doc, ord"
        )
        for doc, chunk_id, start, end, text, sentences, page, title, locator in rows:
            spans = tuple((int(a), int(b)) for a, b in json.loads(sentences))
            yield Chunk(doc, chunk_id, start, end, text, spans, page, title, locator)

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
        return str(self._document(doc, "text")[0])

    def source(self, doc: str) -> tuple[str, str]:
        """A document's source file and kind (a PDF's page is shown from its file)."""
        path, kind = self._document(doc, "path, kind")
        return str(path), str(kind)

    def places(self, doc: str) -> Places:
        """Where a document's pages and sections begin, cached per reader (citations name them)."""
        return self._places(doc)

    def _load_places(self, doc: str) -> Places:
        page_starts, locators = self._document(doc, "page_starts, locators")
        labelled = tuple((int(start), str(label)) for start, label in json.loads(locators))
        return Places(tuple(json.loads(page_starts)), labelled)

    def _document(self, doc: str, columns: str) -> tuple[Any, ...]:
        """These columns of one document's row; an unknown document is one clear error."""
        row = self.db.execute(f"SELECT {columns} FROM documents WHERE doc = ?", (doc,)).fetchone()
        if row is None:
            raise UserError(f"no document {doc!r} in the index")
        return tuple(row)

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

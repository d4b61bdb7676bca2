"""Read access to an index in PostgreSQL: the folder reader's interface (rag.store.reader), every
question answered from the database's current state, so that documents indexed or removed through
another process are seen at once, without reopening.

Queries go through a small connection pool (`rag serve` answers on several threads); a connection
the server dropped fails only the question that was using it, and the next takes a fresh one.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from typing import Any

import numpy as np

from rag.errors import UserError
from rag.store.postgres import bm25, schema
from rag.store.postgres.connect import connect, database_errors, display_url, open_pool
from rag.store.postgres.writer import check_version
from rag.types import Chunk, Places

S = schema.SCHEMA
ROW_COLUMNS = ["id", "doc", "chunk_id", "start", "end", "text", "sentences", "page", "title", "locator"]
TEXT_CACHE = 64  # documents' texts kept per reader, by content hash (answers quote their sentences)


def read_index_meta(url: str) -> dict[str, Any] | None:
    """The live index's metadata, or None when none was built (no tables, or no document yet)."""
    conn = connect(url)
    try:
        with database_errors(url):
            meta = schema.read_meta(conn)
    finally:
        conn.close()
    return meta if meta is not None and "dimension" in meta else None


class PostgresLexical:
    """BM25 over the database's term statistics, with the folder's `LexicalIndex` methods."""

    def __init__(self, reader: PostgresReader) -> None:
        self.reader = reader

    def search(self, query: str, k: int) -> list[tuple[int, float]]:
        with self.reader.connection() as conn:
            return bm25.search(conn, S, query, k)

    def idf(self, tokens: list[str]) -> np.ndarray:
        with self.reader.connection() as conn:
            return bm25.idf(conn, S, tokens)


class PostgresReader:
    """Read access to the live index in a database: manifest, documents, chunks, searches."""

    def __init__(self, url: str) -> None:
        self.url, self.where = url, display_url(url)
        self.pool = open_pool(url)
        try:
            with self.connection() as conn:
                meta = schema.read_meta(conn)
            if meta is None or "dimension" not in meta:
                raise UserError(f"no index in {self.where}; build one with `rag index --store URL`")
            check_version(meta, self.where)
        except BaseException:
            self.pool.close()
            raise
        self.manifest = meta
        self.lexical = PostgresLexical(self)
        self._texts: dict[tuple[str, str], str] = {}
        self._texts_lock = threading.Lock()

    @contextlib.contextmanager
    def connection(self) -> Iterator[Any]:
        """A pooled connection for one statement or a few, database errors as one line (the pool
        discards a connection that broke)."""
        with database_errors(self.url), self.pool.connection() as conn:
            yield conn

    @property
    def dimension(self) -> int:
        return int(self.manifest["dimension"])

    def close(self) -> None:
        self.pool.close()

    def warm(self) -> None:
        """Nothing to load: the database holds the indexes."""

    def dense(self, vector: np.ndarray, n: int) -> list[tuple[int, float]]:
        """Top-n chunk row ids by inner product over the HNSW index (`<#>` is its negative)."""
        if n <= 0:
            return []
        with self.connection() as conn, conn.transaction():
            conn.execute(f"SET LOCAL hnsw.ef_search = {max(64, int(n))}")
            rows = conn.execute(
                f"SELECT id, -(embedding <#> %s) FROM {S}.chunks ORDER BY embedding <#> %s LIMIT %s",
                (vector, vector, n),
            ).fetchall()
        return [(int(i), float(s)) for i, s in rows]

    def rows(self, ids: list[int], vectors: bool = False) -> dict[int, dict[str, Any]]:
        """The chunks of these row ids (those still there), with their vectors if asked."""
        columns = ROW_COLUMNS + (["embedding", "sentence_vectors"] if vectors else [])
        quoted = ", ".join(f'"{c}"' for c in columns)
        with self.connection() as conn:
            found = conn.execute(f"SELECT {quoted} FROM {S}.chunks WHERE id = ANY(%s)", (ids,)).fetchall()
        out = {}
        for values in found:
            row = dict(zip(columns, values, strict=True))
            row["sentences"] = [(int(a), int(b)) for a, b in row["sentences"]]
            if vectors:
                row["vector"] = row.pop("embedding").to_numpy().astype(np.float32)
                row["sentence_vectors"] = np.frombuffer(row["sentence_vectors"], dtype=np.float32).reshape(
                    -1, self.dimension
                )
            out[row["id"]] = row
        return out

    def chunks(self) -> Iterator[Chunk]:
        with self.connection() as conn:
            rows = conn.execute(
                f'SELECT doc, chunk_id, start, "end", text, sentences, page, title, locator FROM {S}.chunks '
                "ORDER BY doc, ord"
            ).fetchall()
        for doc, chunk_id, start, end, text, sentences, page, title, locator in rows:
            spans = tuple((int(a), int(b)) for a, b in sentences)
            yield Chunk(doc, chunk_id, start, end, text, spans, page, title, locator)

    def documents(self) -> list[dict[str, Any]]:
        with self.connection() as conn:
            rows = conn.execute(
                f"SELECT doc, path, kind, sha256, size, title, n_chunks, n_dropped FROM {S}.documents "
                "ORDER BY doc"
            ).fetchall()
        keys = ("doc", "path", "kind", "sha256", "size", "title", "chunks", "dropped")
        return [dict(zip(keys, r, strict=True)) for r in rows]

    def document_text(self, doc: str) -> str:
        """A document's full text; cached by content hash, so a re-indexed document is read anew."""
        with self.connection() as conn:
            found = conn.execute(f"SELECT sha256 FROM {S}.documents WHERE doc = %s", (doc,)).fetchone()
            if found is None:
                raise UserError(f"no document {doc!r} in the index")
            key = (doc, found[0])
            with self._texts_lock:
                text = self._texts.get(key)
            if text is None:
                text = conn.execute(f"SELECT text FROM {S}.documents WHERE doc = %s", (doc,)).fetchone()[0]
        with self._texts_lock:
            if len(self._texts) >= TEXT_CACHE:
                self._texts.pop(next(iter(self._texts)))
            self._texts[key] = str(text)
        return str(text)

    def source(self, doc: str) -> tuple[str, str]:
        """A document's source file and kind (a PDF's page is shown from its file)."""
        path, kind = self._document(doc, "path, kind")
        return str(path), str(kind)

    def places(self, doc: str) -> Places:
        """Where a document's pages and sections begin (citations name them); read live, as a
        re-indexed document may have moved them."""
        page_starts, locators = self._document(doc, "page_starts, locators")
        return Places(tuple(page_starts), tuple((int(a), str(b)) for a, b in locators))

    def _document(self, doc: str, columns: str) -> tuple[Any, ...]:
        """These columns of one document's row; an unknown document is one clear error."""
        with self.connection() as conn:
            row = conn.execute(f"SELECT {columns} FROM {S}.documents WHERE doc = %s", (doc,)).fetchone()
        if row is None:
            raise UserError(f"no document {doc!r} in the index")
        return tuple(row)

    def dropped(self) -> dict[str, list[dict[str, Any]]]:
        """Every dropped paragraph per document, with the cleaner's reason, for auditing."""
        with self.connection() as conn:
            rows = conn.execute(f"SELECT doc, text, paragraphs FROM {S}.documents ORDER BY doc").fetchall()
        return {
            doc: [
                {"start": s, "end": e, "reason": reason, "text": " ".join(text[s:e].split())}
                for s, e, kept, reason in paragraphs
                if not kept
            ]
            for doc, text, paragraphs in rows
        }

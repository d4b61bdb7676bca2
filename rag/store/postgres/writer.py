"""Writing an index into PostgreSQL: the folder writer's interface (rag.store.writer.IndexWriter),
one transaction per document, and an advisory lock that makes a second `rag index` wait its turn.

An incremental run commits each document (its old chunks out, the new ones in, the BM25 totals
moved) in one transaction, so a kill at any moment leaves every document either as it was or as it
is now, all searchable. A rebuild fills a schema of its own and swaps it in at `commit`.
"""

from __future__ import annotations

import contextlib
import sys
import time
from typing import Any

import numpy as np

from rag.errors import UserError
from rag.store.manifest import FORMAT, check_settings
from rag.store.postgres import bm25, schema
from rag.store.postgres.connect import connect, database_errors, display_url
from rag.store.writer import DocRecord, chunk_values, document_values
from rag.types import Chunk, Document, Paragraph

LOCK_KEY = 0x6369746572616701  # "citerag" + 1: pg_advisory_lock's key for writers of an index


def check_version(meta: dict[str, Any], where: str) -> None:
    if meta.get("version") != schema.VERSION:
        raise UserError(
            f"index at {where} has table version {meta.get('version')!r}, this program uses "
            f"{schema.VERSION}; rebuild it with `rag index --rebuild`"
        )


class PostgresWriter:
    """Changes an index in PostgreSQL; use as a context manager, then `commit()`."""

    def __init__(self, url: str, settings: dict[str, Any], rebuild: bool = False, hnsw_m: int = 32) -> None:
        self.url, self.where = url, display_url(url)
        self.settings = settings
        self.hnsw_m = hnsw_m
        self.rebuild = rebuild
        self.schema = schema.NEXT if rebuild else schema.SCHEMA
        self.meta: dict[str, Any] = {}
        self.conn = connect(url)
        try:
            self._open(settings)
        except BaseException:
            self.conn.close()  # and with it the lock
            raise

    def _open(self, settings: dict[str, Any]) -> None:
        """Take the writers' lock (waiting for a running writer), check or create the tables."""
        with database_errors(self.url):
            if not self.conn.execute("SELECT pg_try_advisory_lock(%s)", (LOCK_KEY,)).fetchone()[0]:
                print(f"rag: waiting for another `rag index` on {self.where} to end", file=sys.stderr)
                self.conn.execute("SELECT pg_advisory_lock(%s)", (LOCK_KEY,))
            self.conn.execute(f"DROP SCHEMA IF EXISTS {schema.NEXT} CASCADE")  # a killed rebuild's
            meta = schema.read_meta(self.conn, self.schema)
            if meta is not None:
                check_version(meta, self.where)
                check_settings(meta, settings, self.where)
            with self.conn.transaction():
                schema.create(self.conn, self.schema)
                if meta is None:
                    schema.write_meta(self.conn, self.schema, format=FORMAT, settings=settings)
            self.meta = schema.read_meta(self.conn, self.schema) or {}

    def __enter__(self) -> PostgresWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Drop an uncommitted rebuild, release the lock (closing the connection does both)."""
        with contextlib.suppress(Exception):
            if self.rebuild and not self.conn.closed:
                self.conn.execute(f"DROP SCHEMA IF EXISTS {schema.NEXT} CASCADE")
        self.conn.close()

    def documents(self) -> dict[str, DocRecord]:
        with database_errors(self.url):
            rows = self.conn.execute(
                f"SELECT doc, path, sha256, size, mtime_ns, block_keys FROM {self.schema}.documents"
            )
            return {r[0]: DocRecord(r[0], r[1], r[2], r[3], r[4], tuple(r[5])) for r in rows}

    def dimension(self) -> int:
        if "dimension" not in self.meta:
            raise UserError(f"no index in {self.where}")
        return int(self.meta["dimension"])

    def remove(self, doc: str) -> None:
        with database_errors(self.url), self.conn.transaction():
            self._remove(doc)

    def _remove(self, doc: str) -> None:
        """The document's chunks (postings cascade) and its share of the BM25 totals."""
        s = self.schema
        self.conn.execute(
            f"UPDATE {s}.corpus SET chunks = corpus.chunks - d.n, tokens = corpus.tokens - d.t "
            f"FROM (SELECT count(*) AS n, coalesce(sum(length), 0) AS t FROM {s}.chunks WHERE doc = %s) d",
            (doc,),
        )
        self.conn.execute(f"DELETE FROM {s}.documents WHERE doc = %s", (doc,))

    def add(
        self,
        document: Document,
        paragraphs: list[Paragraph],
        block_keys: list[str],
        chunks: list[Chunk],
        vectors: np.ndarray,
        sentence_vectors: list[np.ndarray],
    ) -> None:
        """Store one document (replacing any earlier version) in one transaction."""
        from psycopg.types.json import Jsonb

        s = self.schema
        counts = bm25.term_counts([c.text for c in chunks])
        with database_errors(self.url), self.conn.transaction():
            if chunks and "dimension" not in self.meta:
                schema.set_dimension(self.conn, s, vectors.shape[1], self.hnsw_m)
                self.meta["dimension"] = vectors.shape[1]
            self._remove(document.doc)
            self.conn.execute(
                f"INSERT INTO {s}.documents VALUES (%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s)",
                document_values(document, paragraphs, block_keys, len(chunks), Jsonb),
            )
            with self.conn.cursor() as cur:
                for i, (chunk, vector, sentences, (tf, length)) in enumerate(
                    zip(chunks, vectors, sentence_vectors, counts, strict=True)
                ):
                    cur.execute(
                        f'INSERT INTO {s}.chunks (doc, chunk_id, ord, start, "end", text, page, title, '
                        "locator, sentences, embedding, sentence_vectors, length) "
                        "VALUES (%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s) RETURNING id",
                        (
                            *chunk_values(chunk, i, Jsonb),
                            np.asarray(vector, dtype=np.float32),
                            sentences.astype(np.float32).tobytes(),
                            length,
                        ),
                    )
                    row = cur.fetchone()[0]
                    cur.executemany(
                        f"INSERT INTO {s}.postings VALUES (%s, %s, %s)",
                        [(term, row, n) for term, n in tf.items()],
                    )
            self.conn.execute(
                f"UPDATE {s}.corpus SET chunks = chunks + %s, tokens = tokens + %s",
                (len(chunks), sum(length for _, length in counts)),
            )

    def commit(self, dimension: int, hnsw_m: int = 32) -> str:
        """Record the totals; a rebuild's schema becomes the live one."""
        with database_errors(self.url), self.conn.transaction():
            s = self.schema
            n_docs, n_chunks = self.conn.execute(
                f"SELECT (SELECT count(*) FROM {s}.documents), (SELECT count(*) FROM {s}.chunks)"
            ).fetchone()
            if "dimension" not in self.meta:
                schema.set_dimension(self.conn, s, dimension, hnsw_m)
            built = time.strftime("%Y-%m-%dT%H:%M:%S%z")
            schema.write_meta(self.conn, s, documents=n_docs, chunks=n_chunks, built_at=built)
            if self.rebuild:
                schema.swap_in(self.conn)
                self.schema, self.rebuild = schema.SCHEMA, False
        return self.where

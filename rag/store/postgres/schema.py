"""The tables of an index in PostgreSQL, in a schema of their own (`citerag`), and its metadata.

The same records as the folder's SQLite (rag.store.writer), plus what the folder keeps in files:
chunk vectors in a pgvector column with an HNSW index (inner product on unit vectors: FAISS's
scores), and BM25's term statistics (postings, chunk lengths, corpus totals) so that BM25 is scored
in SQL exactly as bm25s scores it. Optional per-chunk and per-document metadata goes in the `meta`
JSONB columns, so a new field needs no schema change.

A rebuild fills `citerag_next` and swaps it in by renaming, in one short transaction: readers keep
the old index until then, and a rebuild killed midway leaves only `citerag_next` behind.
"""

from __future__ import annotations

from typing import Any

SCHEMA, NEXT = "citerag", "citerag_next"
VERSION = 2  # of the tables below; another version asks for `rag index --rebuild`

TABLES = """
CREATE SCHEMA IF NOT EXISTS {s};
CREATE TABLE IF NOT EXISTS {s}.meta (key TEXT PRIMARY KEY, value JSONB NOT NULL);
CREATE TABLE IF NOT EXISTS {s}.documents (
    doc TEXT PRIMARY KEY, path TEXT NOT NULL, kind TEXT NOT NULL, sha256 TEXT NOT NULL,
    size BIGINT NOT NULL, mtime_ns BIGINT NOT NULL, title TEXT, text TEXT NOT NULL,
    page_starts JSONB NOT NULL, locators JSONB NOT NULL, paragraphs JSONB NOT NULL, block_keys JSONB NOT NULL,
    n_chunks INTEGER NOT NULL, n_dropped INTEGER NOT NULL, meta JSONB NOT NULL DEFAULT '{{}}'
);
CREATE TABLE IF NOT EXISTS {s}.chunks (
    id BIGSERIAL PRIMARY KEY, doc TEXT NOT NULL REFERENCES {s}.documents ON DELETE CASCADE,
    chunk_id TEXT NOT NULL UNIQUE, ord INTEGER NOT NULL, start INTEGER NOT NULL, "end" INTEGER NOT NULL,
    text TEXT NOT NULL, page INTEGER, title TEXT, locator TEXT, sentences JSONB NOT NULL,
    embedding vector NOT NULL, sentence_vectors BYTEA NOT NULL, length INTEGER NOT NULL,
    meta JSONB NOT NULL DEFAULT '{{}}'
);
CREATE INDEX IF NOT EXISTS chunks_doc ON {s}.chunks (doc);
CREATE TABLE IF NOT EXISTS {s}.postings (
    term TEXT NOT NULL, chunk BIGINT NOT NULL REFERENCES {s}.chunks ON DELETE CASCADE,
    tf INTEGER NOT NULL, PRIMARY KEY (term, chunk)
);
CREATE INDEX IF NOT EXISTS postings_chunk ON {s}.postings (chunk);
CREATE TABLE IF NOT EXISTS {s}.corpus (
    one BOOLEAN PRIMARY KEY DEFAULT TRUE CHECK (one), chunks BIGINT NOT NULL, tokens BIGINT NOT NULL
);
INSERT INTO {s}.corpus VALUES (TRUE, 0, 0) ON CONFLICT DO NOTHING;
"""


def create(conn: Any, schema: str) -> None:
    """The tables, if missing (the chunk vectors get their dimension with the first document)."""
    from psycopg.types.json import Jsonb

    conn.execute(TABLES.format(s=schema))
    conn.execute(
        f"INSERT INTO {schema}.meta VALUES ('version', %s) ON CONFLICT DO NOTHING", (Jsonb(VERSION),)
    )


def set_dimension(conn: Any, schema: str, dimension: int, hnsw_m: int) -> None:
    """Fix the vector column's dimension and build its HNSW index (efConstruction as FAISS's)."""
    conn.execute(f"ALTER TABLE {schema}.chunks ALTER COLUMN embedding TYPE vector({int(dimension)})")
    conn.execute(
        f"CREATE INDEX IF NOT EXISTS chunks_hnsw ON {schema}.chunks USING hnsw (embedding vector_ip_ops) "
        f"WITH (m = {int(hnsw_m)}, ef_construction = 80)"
    )
    write_meta(conn, schema, dimension=dimension)


def read_meta(conn: Any, schema: str = SCHEMA) -> dict[str, Any] | None:
    """Everything in `meta` (version, settings, dimension, format, built_at), or None if no index."""
    exists = conn.execute("SELECT to_regclass(%s)", (f"{schema}.meta",)).fetchone()[0]
    if exists is None:
        return None
    return {key: value for key, value in conn.execute(f"SELECT key, value FROM {schema}.meta")}


def write_meta(conn: Any, schema: str, **values: Any) -> None:
    from psycopg.types.json import Jsonb

    for key, value in values.items():
        conn.execute(
            f"INSERT INTO {schema}.meta VALUES (%s, %s) "
            "ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value",
            (key, Jsonb(value)),
        )


def swap_in(conn: Any) -> None:
    """Make the rebuilt schema the live one (in the caller's transaction)."""
    conn.execute(f"DROP SCHEMA IF EXISTS {SCHEMA} CASCADE")
    conn.execute(f"ALTER SCHEMA {NEXT} RENAME TO {SCHEMA}")

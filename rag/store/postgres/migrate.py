"""Moving up: an embedded index folder copied into a database as it is, vectors included, so nothing
is embedded again (`rag index --from DIR --store URL`). Documents the database already holds in the
same version are left alone, so a copy killed midway is finished by running it again."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from rag.store.postgres.writer import PostgresWriter
from rag.store.reader import IndexReader
from rag.types import Chunk, Document, Paragraph

DOCUMENT_COLUMNS = (
    "doc, path, text, kind, sha256, size, mtime_ns, title, page_starts, locators, paragraphs, block_keys"
)


def copy_folder(index_dir: Path, url: str, rebuild: bool = False, hnsw_m: int = 32) -> tuple[int, int]:
    """Copy the folder's live generation into the database; (documents, chunks) copied."""
    reader = IndexReader(index_dir)
    copied = [0, 0]
    try:
        dimension = reader.dimension
        with PostgresWriter(url, reader.manifest["settings"], rebuild, hnsw_m) as writer:
            have = {doc: rec.sha256 for doc, rec in writer.documents().items()}
            rows = reader.db.execute(f"SELECT {DOCUMENT_COLUMNS} FROM documents ORDER BY doc").fetchall()
            for doc, path, text, kind, sha, size, mtime, title, pages, places, paragraphs, keys in rows:
                if have.get(doc) == sha:
                    continue
                located = tuple((int(a), str(b)) for a, b in json.loads(places))
                document = Document(
                    doc, path, text, kind, sha, size, mtime, title, tuple(json.loads(pages)), locators=located
                )
                cleaned = [
                    Paragraph(s, e, " ".join(text[s:e].split()), kept, reason)
                    for s, e, kept, reason in json.loads(paragraphs)
                ]
                chunks, vectors, sentence_vectors = _chunks(reader, doc, dimension)
                writer.add(document, cleaned, json.loads(keys), chunks, vectors, sentence_vectors)
                copied[0] += 1
                copied[1] += len(chunks)
            writer.commit(dimension, hnsw_m=hnsw_m)
    finally:
        reader.close()
    return copied[0], copied[1]


def _chunks(
    reader: IndexReader, doc: str, dimension: int
) -> tuple[list[Chunk], np.ndarray, list[np.ndarray]]:
    rows = reader.db.execute(
        'SELECT doc, chunk_id, start, "end", text, sentences, page, title, locator, vector, sentence_vectors '
        "FROM chunks WHERE doc = ? ORDER BY ord",
        (doc,),
    ).fetchall()
    chunks = [
        Chunk(d, c, s, e, t, tuple((int(a), int(b)) for a, b in json.loads(spans)), page, title, locator)
        for d, c, s, e, t, spans, page, title, locator, _, _ in rows
    ]
    vectors = np.frombuffer(b"".join(r[9] for r in rows), dtype=np.float32).reshape(len(rows), dimension)
    sentences = [np.frombuffer(r[10], dtype=np.float32).reshape(-1, dimension) for r in rows]
    return chunks, vectors, sentences

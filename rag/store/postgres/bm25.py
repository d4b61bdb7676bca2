"""BM25 in SQL over term statistics kept in tables, scored exactly as bm25s scores the folder's
passages (rag.store.lexical): the same tokens (bm25s's tokenizer, English stop words, Snowball
stems), Lucene's IDF and bm25s's defaults k1 = 1.5, b = 0.75.

PostgreSQL's own `ts_rank` knows no IDF (a word in every passage counts as much as a rare one), so
it would rank differently; the postings table costs one row per distinct term of each chunk.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

import numpy as np

from rag.store.lexical import tokenize

K1, B = 1.5, 0.75

SEARCH = """
WITH q AS (SELECT term, count(*) AS n FROM unnest(%(terms)s::text[]) AS term GROUP BY term),
corpus AS (SELECT chunks::float8 AS n, tokens::float8 / greatest(chunks, 1) AS avgdl FROM {s}.corpus),
df AS (SELECT p.term, count(*)::float8 AS df FROM {s}.postings p JOIN q USING (term) GROUP BY p.term)
SELECT p.chunk, sum(q.n * ln(1 + (corpus.n - df.df + 0.5) / (df.df + 0.5))
                    * p.tf / (p.tf + %(k1)s * (1 - %(b)s + %(b)s * c.length / corpus.avgdl))) AS score
FROM {s}.postings p JOIN q USING (term) JOIN df USING (term) JOIN {s}.chunks c ON c.id = p.chunk, corpus
GROUP BY p.chunk ORDER BY score DESC, p.chunk LIMIT %(k)s
"""


def term_counts(texts: list[str]) -> list[tuple[Counter[str], int]]:
    """Each text's term frequencies and its length in tokens (what bm25s counts as its length)."""
    return [(Counter(tokens), len(tokens)) for tokens in tokenize(texts)] if texts else []


def search(conn: Any, schema: str, query: str, k: int) -> list[tuple[int, float]]:
    """Top-k (chunk row id, BM25 score) pairs with a positive score, best first (ties by row id, as
    the folder's search breaks them)."""
    terms = tokenize([query])[0]
    if not terms:  # only punctuation or stop words: no lexical evidence either way
        return []
    rows = conn.execute(SEARCH.format(s=schema), {"terms": terms, "k": k, "k1": K1, "b": B})
    return [(int(chunk), float(score)) for chunk, score in rows if score > 0]


def idf(conn: Any, schema: str, tokens: list[str]) -> np.ndarray:
    """Lucene IDF of each token over the passages; a token no passage holds gets the highest."""
    n = conn.execute(f"SELECT chunks FROM {schema}.corpus").fetchone()[0]
    if not n:
        return np.ones(len(tokens))
    counts = dict(
        conn.execute(
            f"SELECT term, count(*) FROM {schema}.postings WHERE term = ANY(%s) GROUP BY term", (tokens,)
        ).fetchall()
    )
    df = np.array([counts.get(t, 0) for t in tokens], dtype=np.float64)
    return np.log(1 + (n - df + 0.5) / (df + 0.5))

"""BM25 over passages with bm25s (sparse-matrix BM25, tested against rank-bm25) and Snowball stemming.

Small core: `build`, `save`, `load`, `search`. Rebuilt with every index generation, which for
bm25s takes well under a second per ten thousand chunks, so it is always in step with FAISS.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

IDS_FILE = "ids.npy"
# Words that make a sentence a question or point back to an earlier turn, and say nothing of the
# topic. BM25's short English stop list keeps them, and prose rarely uses them, so they would look rare.
QUESTION_WORDS = frozenset(
    [
        "what",
        "who",
        "whom",
        "whose",
        "which",
        "when",
        "where",
        "why",
        "how",
        "did",
        "does",
        "do",
        "done",
        "is",
        "are",
        "was",
        "were",
        "be",
        "been",
        "say",
        "said",
        "says",
        "tell",
        "told",
        "about",
        "the",
        "a",
        "an",
        "of",
        "in",
        "on",
        "to",
        "and",
        "but",
        "also",
        "so",
        "he",
        "she",
        "they",
        "it",
        "his",
        "her",
        "their",
        "its",
        "him",
        "them",
        "this",
        "that",
        "these",
        "those",
        "there",
        "then",
        "think",
        "thought",
        "else",
        "more",
        "most",
        "many",
        "much",
    ]
)


@lru_cache(maxsize=1)
def _stemmer() -> Any:
    import Stemmer

    return Stemmer.Stemmer("english")


def tokenize(texts: list[str]) -> list[list[str]]:
    """Lower-cased, English stop words removed, Snowball-stemmed tokens."""
    import bm25s

    tokens: list[list[str]] = bm25s.tokenize(
        texts, stopwords="en", stemmer=_stemmer(), return_ids=False, show_progress=False
    )
    return tokens


class LexicalIndex:
    """BM25 scores for passages identified by the same row ids as their FAISS vectors."""

    def __init__(self, retriever: Any, ids: np.ndarray) -> None:
        self.retriever = retriever
        self.ids = ids

    @classmethod
    def build(cls, texts: list[str], ids: np.ndarray) -> LexicalIndex:
        import bm25s

        retriever = bm25s.BM25()
        if texts:
            retriever.index(tokenize(texts), show_progress=False)
        return cls(retriever, np.asarray(ids, dtype=np.int64))

    def save(self, folder: Path) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        if len(self.ids):
            self.retriever.save(str(folder), show_progress=False)
        np.save(folder / IDS_FILE, self.ids)

    @classmethod
    def load(cls, folder: Path) -> LexicalIndex:
        import bm25s

        ids = np.load(folder / IDS_FILE)
        retriever = bm25s.BM25.load(str(folder), show_progress=False) if len(ids) else bm25s.BM25()
        return cls(retriever, ids)

    def idf(self, tokens: list[str]) -> np.ndarray:
        """Lucene IDF of each token over the passages; a token no passage holds gets the highest."""
        n = len(self.ids)
        if not n:
            return np.ones(len(tokens))
        indptr = self.retriever.scores["indptr"]  # CSC: one column per vocabulary token
        vocab = self.retriever.vocab_dict
        df = np.array([indptr[vocab[t] + 1] - indptr[vocab[t]] if t in vocab else 0 for t in tokens])
        return np.log(1 + (n - df + 0.5) / (df + 0.5))

    def scores(self, query: str) -> np.ndarray:
        """BM25 score of every passage, in `ids` order (zero where no query term occurs)."""
        if not len(self.ids):
            return np.zeros(0, dtype=np.float32)
        tokens = tokenize([query])[0]
        if not tokens:  # only punctuation or stop words: no lexical evidence either way
            return np.zeros(len(self.ids), dtype=np.float32)
        return np.asarray(self.retriever.get_scores(tokens), dtype=np.float32)

    def search(self, query: str, k: int) -> list[tuple[int, float]]:
        """Top-k (row id, score) pairs with a positive score, best first."""
        scores = self.scores(query)
        if not len(scores):
            return []
        k = min(k, len(scores))
        top = np.argpartition(-scores, k - 1)[:k]
        top = top[np.argsort(-scores[top], kind="stable")]
        return [(int(self.ids[i]), float(scores[i])) for i in top if scores[i] > 0]

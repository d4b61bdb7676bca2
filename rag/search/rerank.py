"""Second stage: rescore the fused candidates and reorder them.

No cross-encoder ships its weights on PyPI, so the offline default scores each candidate by its
best-matching sentence (question vs. sentence embeddings, computed at index time) together with the
passage's own similarity, BM25 over its sentences and the first-stage signals. The weights were
chosen on eval/seed_questions.jsonl (see eval/retrieval_stages.py). A sentence-transformers
CrossEncoder, named by local folder or hub name, plugs into the same place.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np

from rag.store import LexicalIndex


@dataclass(frozen=True)
class Candidate:
    """A first-stage candidate with what the rerankers need to score it."""

    row: int
    text: str
    sentences: list[str]
    sentence_vectors: np.ndarray  # one unit vector per sentence
    vector: np.ndarray  # the passage's unit vector
    fused: float  # first-stage score
    bm25: float  # 0 when BM25 did not return it


@dataclass(frozen=True)
class Weights:
    """Chosen with `eval/retrieval_stages.py --tune`: among the best cross-validated settings, the one
    that keeps meaning (sentence, passage) ahead of shared words, for questions worded differently."""

    best_sentence: float = 1.0
    passage: float = 0.5
    sentence_bm25: float = 0.5
    bm25: float = 0.25
    fused: float = 0.25


class Reranker(Protocol):
    def scores(
        self, question: str, question_vector: np.ndarray, candidates: list[Candidate]
    ) -> np.ndarray: ...


def _normalised(values: np.ndarray) -> np.ndarray:
    """Scale to [0, 1] by the largest value (all zeros stay zeros)."""
    top = float(values.max()) if len(values) else 0.0
    return values / top if top > 0 else np.zeros_like(values)


class SentenceReranker:
    """Offline reranker from the embedding model's sentence vectors plus lexical evidence."""

    def __init__(self, weights: Weights | None = None) -> None:
        self.weights = weights or Weights()

    def features(
        self, question: str, question_vector: np.ndarray, candidates: list[Candidate]
    ) -> dict[str, np.ndarray]:
        """Each signal for each candidate, on comparable scales."""
        best = np.array([float((c.sentence_vectors @ question_vector).max()) for c in candidates])
        passage = np.array([float(c.vector @ question_vector) for c in candidates])
        sentences = [s for c in candidates for s in c.sentences]
        owners = np.repeat(np.arange(len(candidates)), [len(c.sentences) for c in candidates])
        per_sentence = LexicalIndex.build(sentences, np.arange(len(sentences))).scores(question)
        sentence_bm25 = np.zeros(len(candidates))
        if len(per_sentence):
            np.maximum.at(sentence_bm25, owners, per_sentence)
        return {
            "best_sentence": best,
            "passage": passage,
            "sentence_bm25": _normalised(sentence_bm25),
            "bm25": _normalised(np.array([c.bm25 for c in candidates])),
            "fused": _normalised(np.array([c.fused for c in candidates])),
        }

    def scores(self, question: str, question_vector: np.ndarray, candidates: list[Candidate]) -> np.ndarray:
        if not candidates:
            return np.zeros(0)
        features = self.features(question, question_vector, candidates)
        w = self.weights
        return (
            w.best_sentence * features["best_sentence"]
            + w.passage * features["passage"]
            + w.sentence_bm25 * features["sentence_bm25"]
            + w.bm25 * features["bm25"]
            + w.fused * features["fused"]
        )


class CrossEncoderReranker:
    """Any sentence-transformers CrossEncoder (local folder or hub name), loaded once, lazily."""

    def __init__(self, name: str, device: str = "cpu") -> None:
        self.name = name
        self.device = device
        self._model: Any = None

    def scores(self, question: str, question_vector: np.ndarray, candidates: list[Candidate]) -> np.ndarray:
        if not candidates:
            return np.zeros(0)
        if self._model is None:
            from rag.store import cross_encoder

            self._model = cross_encoder(self.name, self.device)
        pairs = [(question, c.text) for c in candidates]
        return np.asarray(self._model.predict(pairs, show_progress_bar=False), dtype=np.float64).reshape(-1)


def make_reranker(setting: str, device: str = "cpu") -> Reranker | None:
    """`none`, `sentence` (the offline default) or `cross-encoder:NAME_OR_FOLDER`."""
    if setting == "none":
        return None
    if setting == "sentence":
        return SentenceReranker()
    return CrossEncoderReranker(setting.removeprefix("cross-encoder:"), device)

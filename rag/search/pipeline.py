"""The retrieval pipeline: a query to ranked passages, every stage's score attached.

Both first stages (dense FAISS and BM25), their fusion, the reranker over the fused candidates, then
the chunks looked up. The engine owns one and calls it once per question, and once more per part of a
multi-part question (`joined`); deeper for a follow-up, whose earlier answer's documents are then
preferred (`prefer`).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, replace

import numpy as np

from rag.config import Config
from rag.search.rerank import Candidate, Reranker
from rag.search.retrieve import Ranked, rrf, weighted
from rag.store import Embedder, Reader
from rag.types import Passage


@dataclass(frozen=True)
class Found:
    """One retrieval run, with what answering needs beyond the passages."""

    passages: list[Passage]
    vector: np.ndarray | None  # None when no stage needed it
    lists: dict[str, Ranked]
    candidates: list[Candidate]
    truncated: bool
    timings_ms: dict[str, float]


def prefer(found: Found, sources: set[str], k: int) -> Found:
    """The top k passages from `sources` alone, in their reranked order; the top k of all when none
    comes from `sources` (the follow-up has moved on to another topic)."""
    preferred = [p for p in found.passages if p.doc in sources] or found.passages
    passages = [replace(p, rank=rank) for rank, p in enumerate(preferred[:k], start=1)]
    return replace(found, passages=passages)


def joined(found: Found, more: list[Found], each: int) -> Found:
    """`found` with up to `each` passages of every other run in `more` that it lacks, after its own:
    the passages a multi-part question's parts find on their own ("When did it open, and who paid for
    it?" may find the payer only when asked alone)."""
    passages, candidates = list(found.passages), list(found.candidates)
    have = {p.row for p in passages}
    timings = dict(found.timings_ms)
    for other in more:
        new = [p for p in other.passages if p.row not in have][:each]
        rows = {p.row for p in new}
        have |= rows
        passages += [replace(p, rank=rank) for rank, p in enumerate(new, start=len(passages) + 1)]
        candidates += [c for c in other.candidates if c.row in rows]
        for stage, ms in other.timings_ms.items():
            timings[stage] = round(timings.get(stage, 0.0) + ms, 2)
    return replace(found, passages=passages, candidates=candidates, timings_ms=timings)


class SearchPipeline:
    """First stages, fusion and reranking over one open index, with the engine's models."""

    def __init__(self, config: Config, reader: Reader, embedder: Embedder, reranker: Reranker | None) -> None:
        self.config = config
        self.reader = reader
        self.embedder = embedder
        self.reranker = reranker

    def retrieve(self, query: str, k: int) -> Found:
        """Both first stages, fusion and reranking for `query` (the question, or its resolved form).
        The query is embedded only when a stage uses its vector."""
        started = time.perf_counter()
        truncated = self.embedder.count_tokens([query])[0] > self.embedder.window
        needs_vector = self.config.use_dense or self.reranker is not None
        vector = self.embedder.encode([query])[0] if needs_vector else None
        lists = self.first_stage(query, vector)
        fused = self.fuse(lists)
        ranked = fused
        retrieved = time.perf_counter()
        rerank_scores: dict[int, float] = {}
        candidates: list[Candidate] = []
        if self.reranker is not None and vector is not None:
            candidates = self.candidates(ranked[: max(self.config.rerank_candidates, k)], lists)
            scores = self.reranker.scores(query, vector, candidates)
            rerank_scores = {c.row: float(s) for c, s in zip(candidates, scores, strict=True)}
            ranked = sorted(rerank_scores.items(), key=lambda item: (-item[1], item[0]))
        reranked = time.perf_counter()
        passages = self.passages(ranked[:k], lists, dict(fused) if len(lists) > 1 else {}, rerank_scores)
        done = time.perf_counter()
        timings = {  # looking the passages up is part of retrieval
            "retrieve": round((retrieved - started + done - reranked) * 1000, 2),
            "rerank": round((reranked - retrieved) * 1000, 2),
        }
        return Found(passages, vector, lists, candidates, truncated, timings)

    def candidates_for(self, found: Found) -> dict[str, Candidate]:
        """Sentence vectors of the returned passages (already loaded when reranking was on)."""
        by_row = {c.row: c for c in found.candidates}
        missing = [(p.row, p.score) for p in found.passages if p.row not in by_row]
        for c in self.candidates(missing, found.lists) if missing else []:
            by_row[c.row] = c
        return {p.chunk_id: by_row[p.row] for p in found.passages}

    def candidates(self, ranked: Ranked, lists: dict[str, Ranked]) -> list[Candidate]:
        """What the reranker reads: sentences, their vectors and the first-stage scores."""
        bm25 = dict(lists.get("bm25", []))
        rows = self.reader.rows([row for row, _ in ranked], vectors=True)
        out = []
        for row, fused in ranked:
            if row not in rows:  # removed from a shared database since it was found
                continue
            r = rows[row]
            text = self.reader.document_text(r["doc"])
            out.append(
                Candidate(
                    row=row,
                    text=r["text"],
                    sentences=[" ".join(text[a:b].split()) for a, b in r["sentences"]],
                    sentence_vectors=r["sentence_vectors"],
                    vector=r["vector"],
                    fused=fused,
                    bm25=bm25.get(row, 0.0),
                )
            )
        return out

    def first_stage(self, question: str, vector: np.ndarray | None) -> dict[str, Ranked]:
        """Candidate lists of the enabled first stages (dense, BM25)."""
        lists: dict[str, Ranked] = {}
        if self.config.use_dense and vector is not None:
            lists["dense"] = self.reader.dense(vector, self.config.dense_candidates)
        if self.config.use_bm25:
            lists["bm25"] = self.reader.lexical.search(question, self.config.bm25_candidates)
        return lists

    def fuse(self, lists: dict[str, Ranked]) -> Ranked:
        if len(lists) == 1:
            return next(iter(lists.values()))
        if self.config.fusion == "weighted":
            weights = {"dense": self.config.dense_weight, "bm25": self.config.bm25_weight}
            return weighted(lists, weights)
        return rrf(lists, self.config.rrf_k)

    def passages(
        self, ranked: Ranked, lists: dict[str, Ranked], fused: dict[int, float], reranked: dict[int, float]
    ) -> list[Passage]:
        """Look the chunks up and attach every stage's score, so a ranking can be explained."""
        stage_scores = {name: dict(items) for name, items in lists.items()}
        rows = self.reader.rows([row for row, _ in ranked])
        passages = []
        for rank, (row, score) in enumerate([(row, s) for row, s in ranked if row in rows], start=1):
            r = rows[row]
            scores = {name: s[row] for name, s in stage_scores.items() if row in s}
            if row in fused:
                scores["fused"] = fused[row]
            if row in reranked:
                scores["rerank"] = reranked[row]
            passages.append(
                Passage(
                    rank,
                    score,
                    r["doc"],
                    r["chunk_id"],
                    r["start"],
                    r["end"],
                    r["text"],
                    scores,
                    tuple(r["sentences"]),
                    r["page"],
                    r["title"],
                    r["locator"],
                    row,
                )
            )
        return passages

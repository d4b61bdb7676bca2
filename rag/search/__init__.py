"""Search: a question to ranked passages. `SearchPipeline.retrieve` runs the first stages (dense FAISS
search, BM25), fuses their lists (`rrf` or `weighted`) and reranks the fused candidates (the reranker
`make_reranker` makes), giving `Found`: the passages with every stage's score."""

from rag.search.pipeline import Found, SearchPipeline, joined, prefer
from rag.search.rerank import (
    Candidate,
    CrossEncoderReranker,
    Reranker,
    SentenceReranker,
    Weights,
    make_reranker,
)
from rag.search.retrieve import Ranked, dense_search, rrf, weighted

__all__ = [
    "Candidate",
    "CrossEncoderReranker",
    "Found",
    "Ranked",
    "Reranker",
    "SearchPipeline",
    "SentenceReranker",
    "Weights",
    "dense_search",
    "joined",
    "make_reranker",
    "prefer",
    "rrf",
    "weighted",
]

"""The extractive answer as the generator receives it: made by the engine, read by rag.generation, so
it lives below both."""

from __future__ import annotations

from dataclasses import dataclass

from rag.search import Candidate
from rag.types import Answer


@dataclass(frozen=True)
class Draft:
    """An extractive answer and what a generator's answer needs besides: the passages' sentences and
    their vectors, and when the question arrived."""

    answer: Answer
    candidates: dict[str, Candidate]
    started: float  # time.perf_counter() when the question arrived

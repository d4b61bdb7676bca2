"""First-stage retrieval: dense (FAISS, `dense_search`, kept with the store) and lexical (BM25) candidate
lists, and their fusion.

Each function is small and pure over ranked (row id, score) lists, so variants are easy to compare.
"""

from __future__ import annotations

import numpy as np

from rag.store import dense_search

Ranked = list[tuple[int, float]]
__all__ = ["Ranked", "dense_search", "rrf", "weighted"]


def rrf(lists: dict[str, Ranked], k: int = 60) -> Ranked:
    """Reciprocal-rank fusion (Cormack et al. 2009): robust to the lists' score scales."""
    fused: dict[int, float] = {}
    for ranked in lists.values():
        for rank, (row, _) in enumerate(ranked):
            fused[row] = fused.get(row, 0.0) + 1.0 / (k + rank + 1)
    return sorted(fused.items(), key=lambda item: (-item[1], item[0]))


def weighted(lists: dict[str, Ranked], weights: dict[str, float]) -> Ranked:
    """Weighted sum of min-max normalised scores; a list that misses a row contributes 0."""
    fused: dict[int, float] = {}
    for name, ranked in lists.items():
        if not ranked:
            continue
        values = np.array([s for _, s in ranked], dtype=np.float64)
        low, span = float(values.min()), float(values.max() - values.min()) or 1.0
        for row, score in ranked:
            fused[row] = fused.get(row, 0.0) + weights.get(name, 1.0) * (score - low) / span
    return sorted(fused.items(), key=lambda item: (-item[1], item[0]))

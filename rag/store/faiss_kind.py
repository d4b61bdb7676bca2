"""Which FAISS index a generation gets, built empty, trained and written: the one place that knows
FAISS's kinds and their search-time settings (HNSW efSearch, IVF nprobe, stored with the index)."""

from __future__ import annotations

import errno
import re
from pathlib import Path
from typing import Any

import numpy as np

AUTO_IVF_FROM = 100_000  # chunks; see new_faiss


def choose_kind(kind: str, n_vectors: int) -> str:
    """The configured kind, with "auto" decided by the collection's size (see new_faiss)."""
    if kind == "auto":
        return "ivf" if n_vectors >= AUTO_IVF_FROM else "flat"
    return kind


def new_faiss(kind: str, dim: int, n_vectors: int, hnsw_m: int = 32) -> Any:
    """An empty inner-product index of `kind`, sized for `n_vectors`, searching by chunk row id.

    "auto" is exact search below AUTO_IVF_FROM vectors and IVF above (benchmarks/scale.py: exact
    search of 1M chunks takes 163 ms p50 on one thread here, IVF 10 ms with recall@10 1.0; below
    100k chunks exact search stays under 17 ms p95 and IVF's lists get too few to keep recall).
    Search-time settings are stored with the index (HNSW efSearch, IVF nprobe).
    """
    import faiss

    kind = choose_kind(kind, n_vectors)
    base: Any
    if kind == "hnsw":
        base = faiss.IndexHNSWFlat(dim, hnsw_m, faiss.METRIC_INNER_PRODUCT)
        base.hnsw.efConstruction = 80
        base.hnsw.efSearch = 64
    elif kind == "ivf":
        nlist = max(1, min(int(4 * n_vectors**0.5), n_vectors // 39 or 1))
        base = faiss.IndexIVFFlat(faiss.IndexFlatIP(dim), dim, nlist, faiss.METRIC_INNER_PRODUCT)
        base.nprobe = max(1, nlist // 16)
    else:
        base = faiss.IndexFlatIP(dim)
    return faiss.IndexIDMap2(base)


def train(index: Any, vectors: np.ndarray) -> None:
    """Train an IVF index's lists on a sample: k-means wants ~40 points per list, more only slows it."""
    import faiss

    if index.is_trained:
        return
    nlist = faiss.extract_index_ivf(index).nlist
    sample = np.random.default_rng(0).permutation(len(vectors))[: 40 * nlist]
    index.train(vectors[np.sort(sample)])


def write_faiss(index: Any, path: Path) -> None:
    """FAISS reports a failed write as RuntimeError, the system's reason last in parentheses."""
    import faiss

    try:
        faiss.write_index(index, str(path))
    except RuntimeError as exc:
        reason = re.search(r"\(([^()]+)\)\s*$", str(exc))
        raise OSError(errno.EIO, reason.group(1) if reason else "write error") from None


def dense_search(faiss_index: Any, query_vector: np.ndarray, n: int) -> list[tuple[int, float]]:
    """Top-n chunk row ids by inner product (cosine: vectors are unit length)."""
    if faiss_index.ntotal == 0 or n <= 0:
        return []
    scores, ids = faiss_index.search(query_vector.reshape(1, -1), min(n, faiss_index.ntotal))
    return [(int(i), float(s)) for i, s in zip(ids[0], scores[0], strict=True) if i >= 0]

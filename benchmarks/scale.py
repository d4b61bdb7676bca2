"""How the FAISS index kinds scale: build time, size on disk, memory, search latency and recall.

Synthetic corpora of N chunk vectors of the model's dimension (384) stand in for real chunks, so
1M chunks take minutes rather than the days embedding them would here. Real embeddings are not
uniform on the sphere: they cluster by topic. The vectors are drawn around 2,000 random topic
centres (each vector = centre + noise, normalised), and queries are fresh draws around the centres
of random corpus vectors, which is the hard case for approximate search (many near neighbours).

Each index kind is built with the same constructor the store uses (`rag.store.new_faiss`): flat
(exact), HNSW and IVF (flat lists); IVF-PQ is built here only (its recall was too low to offer).
Measured per kind and size: build seconds (train + add), bytes on disk (`faiss.write_index`),
resident memory growth while building, single-query search p50/p95 over `--queries` queries (one
query at a time on one thread, as the engine searches), and recall@10 of the approximate kinds
against the exact top 10 of flat.

Run: `.venv/bin/python benchmarks/scale.py [--sizes 10000 100000 1000000] [--queries 300]`.
Figures are printed as a table and written as JSON to benchmarks/results/scale.json.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from measure import cpu_seconds, other_cores_busy, summary

from rag.store import new_faiss, train

DIM = 384
TOPICS = 2000
KINDS = ("flat", "hnsw", "ivf", "ivfpq")  # ivfpq: measured here, not offered by the store


def rss_mb() -> float:
    """Current resident memory (not the peak: each build is measured as growth from its start)."""
    with open("/proc/self/statm", encoding="ascii") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 1e6


def clustered(n: int, centres: np.ndarray, rng: np.random.Generator, spread: float = 0.6) -> np.ndarray:
    """Unit vectors scattered around randomly chosen topic centres, in float32 like the index."""
    picks = rng.integers(0, len(centres), n)
    out = np.empty((n, DIM), dtype=np.float32)
    for start in range(0, n, 100_000):  # in blocks: a 1M x 384 float64 temporary would be 3 GB
        block = picks[start : start + 100_000]
        noise = rng.standard_normal((len(block), DIM)).astype(np.float32) * (spread / np.sqrt(DIM))
        vectors = centres[block] + noise
        out[start : start + len(block)] = vectors / np.linalg.norm(vectors, axis=1, keepdims=True)
    return out


def ivfpq(n: int) -> Any:
    """IVF with product-quantised vectors (48 bytes each), the lists sized as the store's IVF."""
    import faiss

    nlist = max(1, min(int(4 * n**0.5), n // 39 or 1))
    base = faiss.IndexIVFPQ(faiss.IndexFlatIP(DIM), DIM, nlist, DIM // 8, 8, faiss.METRIC_INNER_PRODUCT)
    base.nprobe = max(1, nlist // 16)
    return faiss.IndexIDMap2(base)


def measure_kind(kind: str, vectors: np.ndarray, queries: np.ndarray, exact: np.ndarray | None) -> dict:
    import faiss

    before = rss_mb()
    started = time.perf_counter()
    index = ivfpq(len(vectors)) if kind == "ivfpq" else new_faiss(kind, DIM, len(vectors))
    ids = np.arange(len(vectors), dtype=np.int64)
    train(index, vectors)
    index.add_with_ids(vectors, ids)
    build_s = time.perf_counter() - started
    grown = rss_mb() - before
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "v.faiss"
        faiss.write_index(index, str(path))
        size = path.stat().st_size
    latencies, found = [], []
    threads = faiss.omp_get_max_threads()
    faiss.omp_set_num_threads(1)  # as the engine searches: one question at a time, one thread
    for q in queries:
        t = time.perf_counter()
        _, top = index.search(q[None, :], 10)
        latencies.append((time.perf_counter() - t) * 1000)
        found.append(top[0])
    faiss.omp_set_num_threads(threads)
    result = {
        "kind": kind,
        "n": len(vectors),
        "build_s": round(build_s, 2),
        "disk_mb": round(size / 1e6, 1),
        "bytes_per_chunk": round(size / len(vectors), 1),
        "memory_growth_mb": round(grown, 1),
        "search_ms": summary(latencies),
        "top10": np.asarray(found),
    }
    if exact is not None:
        hits = [len(set(a) & set(b)) / 10 for a, b in zip(result["top10"], exact, strict=True)]
        result["recall@10"] = round(float(np.mean(hits)), 4)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000, 1_000_000])
    parser.add_argument("--queries", type=int, default=300)
    parser.add_argument("--kinds", nargs="+", default=list(KINDS), choices=KINDS)
    parser.add_argument(
        "--out", type=Path, default=Path(__file__).resolve().parent / "results" / "scale.json"
    )
    args = parser.parse_args()

    rng = np.random.default_rng(0)
    centres = rng.standard_normal((TOPICS, DIM)).astype(np.float32)
    centres /= np.linalg.norm(centres, axis=1, keepdims=True)
    rows = []
    start_cpu, started = cpu_seconds(), time.perf_counter()
    for n in args.sizes:
        vectors = clustered(n, centres, rng)
        queries = clustered(args.queries, centres, rng)
        exact = None
        for kind in ["flat", *[k for k in args.kinds if k != "flat"]]:
            r = measure_kind(kind, vectors, queries, exact)
            if kind == "flat":
                exact = r["top10"]
            r.pop("top10")
            if kind in args.kinds:
                rows.append(r)
                s = r["search_ms"]
                print(
                    f"{n:>9,} {kind:<6} build {r['build_s']:>8.1f} s  disk {r['disk_mb']:>8.1f} MB "
                    f"({r['bytes_per_chunk']:.0f} B/chunk)  mem +{r['memory_growth_mb']:.0f} MB  "
                    f"search p50 {s['p50']:.2f} p95 {s['p95']:.2f} ms  recall@10 {r.get('recall@10', 1.0)}",
                    flush=True,
                )
        del vectors
    busy = other_cores_busy(start_cpu, time.perf_counter() - started)
    out = args.out
    out.parent.mkdir(parents=True, exist_ok=True)
    machine = {"cpu_count": os.cpu_count(), "python": platform.python_version(), "other_cores_busy": busy}
    out.write_text(json.dumps({"machine": machine, "rows": rows}, indent=2), encoding="utf-8")
    print(f"other processes kept {busy} cores busy on average; figures in {out}")


if __name__ == "__main__":
    main()

"""The database store's vector search beside FAISS: pgvector's HNSW index (m 32, ef_construction 80,
ef_search 64: the store's settings) over N synthetic chunk vectors (benchmarks/scale.py's clustered
unit vectors), against FAISS exact search (the folder's default below 100k chunks) and FAISS HNSW.

Measured per kind: build seconds (load + index), search p50/p95 over one query at a time, recall@10
against the exact top 10 (one batched exact search, so a run of one kind still has its recall).
FAISS builds on every core and searches on one, as the engine does; pgvector builds with one
parallel worker and `maintenance_work_mem` 4 GB, so a 1M-chunk graph (about 2 GB) is built in
memory. The same seed gives the same vectors in every run, so `--kinds` can split a long run in
two. Needs a running server (`make postgres`); uses a database of its own, dropped after.

Run: `.venv/bin/python benchmarks/bench_postgres.py [--sizes 100000 1000000] [--queries 300]
[--kinds flat faiss-hnsw pgvector] [--url URL] [--json-out PATH]`. Figures are printed and written
as JSON (default benchmarks/results/bench_postgres.json) after each kind, so a run cut short keeps
what it measured.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from measure import cpu_seconds, other_cores_busy, result_path, summary, write_json
from scale import DIM, TOPICS, clustered

from rag.store import dense_search, new_faiss

DB = "citerag_bench"
K = 10
KINDS = {"flat": "FAISS flat (exact)", "faiss-hnsw": "FAISS HNSW (M 32)", "pgvector": "pgvector HNSW (m 32)"}


def recall(found: list[list[int]], exact: np.ndarray) -> float:
    return float(np.mean([len(set(f) & set(e[:K].tolist())) / K for f, e in zip(found, exact, strict=True)]))


def exact_top(vectors: np.ndarray, queries: np.ndarray) -> np.ndarray:
    """The true top K of every query, in one batched exact search on every core."""
    import faiss

    faiss.omp_set_num_threads(os.cpu_count() or 1)
    index = faiss.IndexFlatIP(DIM)
    index.add(vectors)
    return index.search(queries, K)[1]


def faiss_figures(
    kind: str, vectors: np.ndarray, queries: np.ndarray
) -> tuple[dict[str, Any], list[list[int]]]:
    import faiss

    faiss.omp_set_num_threads(os.cpu_count() or 1)
    started = time.perf_counter()
    index = new_faiss(kind, DIM, len(vectors))
    index.add_with_ids(vectors, np.arange(len(vectors), dtype=np.int64))
    build = time.perf_counter() - started
    faiss.omp_set_num_threads(1)  # one query at a time on one thread, as the engine searches
    latencies, found = [], []
    for q in queries:
        t = time.perf_counter()
        found.append([row for row, _ in dense_search(index, q, K)])
        latencies.append((time.perf_counter() - t) * 1000)
    return {"build_s": round(build, 1), "search_ms": summary(latencies)}, found


def pgvector_figures(
    url: str, vectors: np.ndarray, queries: np.ndarray
) -> tuple[dict[str, Any], list[list[int]]]:
    import psycopg
    from pgvector.psycopg import register_vector

    admin_url = url.rsplit("/", 1)[0] + "/postgres"
    with psycopg.connect(admin_url, autocommit=True) as admin:
        admin.execute(f"DROP DATABASE IF EXISTS {DB} WITH (FORCE)")
        admin.execute(f"CREATE DATABASE {DB}")
    try:
        with psycopg.connect(url.rsplit("/", 1)[0] + f"/{DB}", autocommit=True) as conn:
            conn.execute("CREATE EXTENSION vector")
            register_vector(conn)
            conn.execute(f"CREATE TABLE chunks (id BIGINT PRIMARY KEY, embedding vector({DIM}))")
            started = time.perf_counter()
            with conn.cursor() as cur, cur.copy("COPY chunks FROM STDIN WITH (FORMAT BINARY)") as copy:
                copy.set_types(["int8", "vector"])
                for i, v in enumerate(vectors):
                    copy.write_row((i, v))
            loaded = time.perf_counter() - started
            # The graph in memory (a build that spills to disk is many times slower); one worker
            # beside the leader, on a machine of 2 cores.
            conn.execute("SET maintenance_work_mem = '4GB'")
            conn.execute("SET max_parallel_maintenance_workers = 1")
            conn.execute(
                "CREATE INDEX ON chunks USING hnsw (embedding vector_ip_ops) "
                "WITH (m = 32, ef_construction = 80)"
            )
            build = time.perf_counter() - started
            conn.execute("SET hnsw.ef_search = 64")
            latencies, found = [], []
            for q in queries:
                t = time.perf_counter()
                rows = conn.execute(
                    "SELECT id FROM chunks ORDER BY embedding <#> %s LIMIT %s", (q, K)
                ).fetchall()
                latencies.append((time.perf_counter() - t) * 1000)
                found.append([r[0] for r in rows])
            size = conn.execute("SELECT pg_total_relation_size('chunks')").fetchone()[0]
    finally:
        with psycopg.connect(admin_url, autocommit=True) as admin:
            admin.execute(f"DROP DATABASE IF EXISTS {DB} WITH (FORCE)")
    figures = {
        "load_s": round(loaded, 1),
        "build_s": round(build, 1),
        "on_disk_mb": round(size / 1e6, 1),
        "search_ms": summary(latencies),
    }
    return figures, found


def measure(kind: str, url: str, vectors: np.ndarray, queries: np.ndarray, exact: np.ndarray) -> dict:
    """One kind's figures with its recall and what the rest of the machine was doing meanwhile
    (the load average, and the cores busy outside this process: for pgvector that includes its
    server, which does the work)."""
    start, wall = cpu_seconds(), time.perf_counter()
    if kind == "pgvector":
        figures, found = pgvector_figures(url, vectors, queries)
    else:
        figures, found = faiss_figures("flat" if kind == "flat" else "hnsw", vectors, queries)
    return {
        **figures,
        "recall@10": round(recall(found, exact), 4),
        "cores_busy_outside_this_process": other_cores_busy(start, time.perf_counter() - wall),
        "load_average_1_5_15_at_end": [round(x, 2) for x in os.getloadavg()],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[100_000], help="chunks per run")
    parser.add_argument("--queries", type=int, default=300)
    parser.add_argument("--kinds", nargs="+", choices=list(KINDS), default=list(KINDS))
    parser.add_argument("--url", default="postgresql://postgres@127.0.0.1:55432/citerag")
    parser.add_argument("--json-out", type=Path, default=result_path("bench_postgres"))
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    centres = rng.standard_normal((TOPICS, DIM)).astype(np.float32)
    centres /= np.linalg.norm(centres, axis=1, keepdims=True)
    results: list[dict[str, Any]] = []
    for n in args.sizes:
        vectors, queries = clustered(n, centres, rng), clustered(args.queries, centres, rng)
        exact = exact_top(vectors, queries)
        rows: dict[str, Any] = {}
        results.append({"chunks": n, "queries": args.queries, "kinds": rows})
        for kind in args.kinds:
            f = rows[KINDS[kind]] = measure(kind, args.url, vectors, queries, exact)
            write_json(args.json_out, results)
            ms = f["search_ms"]
            print(
                f"{n:>9,}  {KINDS[kind]:<22} build {f['build_s']:>6.1f} s  search p50 {ms['p50']:.2f} / p95 "
                f"{ms['p95']:.2f} ms  recall@10 {f['recall@10']:.4f}  (load average "
                f"{f['load_average_1_5_15_at_end'][1]:.1f} over the last 5 min)",
                flush=True,
            )


if __name__ == "__main__":
    main()

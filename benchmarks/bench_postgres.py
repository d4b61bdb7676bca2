"""The database store's vector search beside FAISS: pgvector's HNSW index (m 32, ef_construction 80,
ef_search 64: the store's settings) over N synthetic chunk vectors (benchmarks/scale.py's clustered
unit vectors), against FAISS exact search (the folder's default below 100k chunks) and FAISS HNSW.

Measured: build seconds (load + index), search p50/p95 over one query at a time, recall@10 against
exact search. Needs a running server (`make postgres`); uses a database of its own, dropped after.

Run: `.venv/bin/python benchmarks/bench_postgres.py [--sizes 100000] [--queries 300] [--url URL]`.
Figures are printed and written as JSON to benchmarks/results/bench_postgres.json.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from measure import cpu_seconds, other_cores_busy, summary
from scale import DIM, TOPICS, clustered

from rag.store import dense_search, new_faiss

DB = "citerag_bench"
K = 10


def recall(found: list[list[int]], exact: np.ndarray) -> float:
    return float(np.mean([len(set(f) & set(e[:K].tolist())) / K for f, e in zip(found, exact, strict=True)]))


def faiss_figures(
    kind: str, vectors: np.ndarray, queries: np.ndarray
) -> tuple[dict[str, Any], list[list[int]]]:
    started = time.perf_counter()
    index = new_faiss(kind, DIM, len(vectors))
    index.add_with_ids(vectors, np.arange(len(vectors), dtype=np.int64))
    build = time.perf_counter() - started
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
            conn.execute("SET maintenance_work_mem = '2GB'")
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[100_000])
    parser.add_argument("--queries", type=int, default=300)
    parser.add_argument("--url", default="postgresql://postgres@127.0.0.1:55432/citerag")
    args = parser.parse_args()
    import faiss

    faiss.omp_set_num_threads(1)  # one query at a time on one thread, as the engine searches
    rng = np.random.default_rng(0)
    centres = rng.standard_normal((TOPICS, DIM)).astype(np.float32)
    centres /= np.linalg.norm(centres, axis=1, keepdims=True)
    results = []
    for n in args.sizes:
        vectors, queries = clustered(n, centres, rng), clustered(args.queries, centres, rng)
        start, wall = cpu_seconds(), time.perf_counter()
        exact_figures, exact = faiss_figures("flat", vectors, queries)
        rows: dict[str, Any] = {"FAISS flat (exact)": {**exact_figures, "recall@10": 1.0}}
        hnsw_figures, hnsw = faiss_figures("hnsw", vectors, queries)
        rows["FAISS HNSW (M 32)"] = {**hnsw_figures, "recall@10": round(recall(hnsw, np.array(exact)), 4)}
        pg_figures, pg = pgvector_figures(args.url, vectors, queries)
        rows["pgvector HNSW (m 32)"] = {**pg_figures, "recall@10": round(recall(pg, np.array(exact)), 4)}
        busy = other_cores_busy(start, time.perf_counter() - wall)
        results.append({"chunks": n, "kinds": rows, "other_cores_busy": busy})
        for kind, f in rows.items():
            ms = f["search_ms"]
            print(
                f"{n:>9,}  {kind:<22} build {f['build_s']:>6.1f} s  search p50 {ms['p50']:.2f} / p95 "
                f"{ms['p95']:.2f} ms  recall@10 {f['recall@10']:.4f}"
            )
        print(f"(other processes kept {busy or 0:.1f} cores busy)")
    out = Path(__file__).resolve().parent / "results" / "bench_postgres.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(results, indent=2), encoding="utf-8")


if __name__ == "__main__":
    main()

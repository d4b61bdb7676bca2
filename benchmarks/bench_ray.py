"""Index build speed on Ray against a local build, and what it says about a million chunks.

* local: `build_index` of the seeds plus `--copies` variants (bench_index.py's corpus), the model
  loaded and warmed first, so the figure is the steady state: chunks per second.
* ray: the same corpus on a two-node cluster started here on 127.0.0.1 (tests/ray_cluster.py: one
  CPU per node, one actor per CPU, each with its own model), the driver being this process. Startup
  (joining, starting the actors, loading a model in each) is timed apart from the build, which is
  the steady state. On one 2-core machine the two nodes share the cores a local build has, so no
  speed-up is expected: the figure is the per-actor throughput (build chunks/s over actors).
* estimate: hours for 1,000,000 chunks on N machines of C cores, one actor per core:
  1e6 / (N x C x per-actor chunks/s), plus the startup; the driver's writing is included in the
  build time measured here, and grows with the index (FAISS flat adds, SQLite inserts).

Run: `nice .venv/bin/python benchmarks/bench_ray.py [--copies N]`. Figures are printed and written as
JSON to benchmarks/results/bench_ray.json, with the machine's load average before and after.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench_index import make_corpus, warmup_texts
from measure import cpu_seconds, machine, other_cores_busy, result_path, write_json

from rag.config import Config
from rag.distributed import RayRunner
from rag.store import Embedder, build_index
from tests.ray_cluster import RayCluster

MILLION = 1_000_000


def local_build(corpus: Path, index_dir: Path) -> dict[str, Any]:
    config = Config(index_dir=index_dir)
    Embedder(config).encode(warmup_texts(64))
    start, t = cpu_seconds(), time.perf_counter()
    report = build_index([corpus], config)
    seconds = time.perf_counter() - t
    return {
        "chunks": report.chunks,
        "seconds": round(seconds, 2),
        "chunks_per_s": round(report.chunks / seconds, 2),
        "other_cores_busy": other_cores_busy(start, seconds),
    }


def ray_build(corpus: Path, index_dir: Path, cluster: RayCluster) -> dict[str, Any]:
    config = Config(index_dir=index_dir)
    runner = RayRunner(cluster.address, config)
    try:
        t = time.perf_counter()
        actors = len(runner.start())  # join and start the actors now, to time them apart
        startup = time.perf_counter() - t
        t = time.perf_counter()
        report = build_index([corpus], config, runner=runner)
        seconds = time.perf_counter() - t
    finally:
        runner.close()
    rate = report.chunks / seconds
    return {
        "nodes": 2,
        "actors": actors,
        "chunks": report.chunks,
        "startup_s": round(startup, 2),
        "seconds": round(seconds, 2),
        "chunks_per_s": round(rate, 2),
        "per_actor_chunks_per_s": round(rate / actors, 2),
    }


def million(per_actor: float, startup_s: float) -> dict[str, float]:
    """Hours for a million chunks on N machines of 8 cores (one actor per core)."""
    return {
        f"{n} x 8 cores": round((MILLION / (n * 8 * per_actor) + startup_s) / 3600, 2) for n in (1, 4, 16, 64)
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--copies", type=int, default=6, help="shuffled copies of each seed (default 6)")
    parser.add_argument("--out", type=Path, default=result_path("bench_ray"))
    args = parser.parse_args(argv)
    load_before = os.getloadavg()
    with tempfile.TemporaryDirectory() as tmp:
        corpus = Path(tmp) / "corpus"
        files = make_corpus(corpus, args.copies)
        local = local_build(corpus, Path(tmp) / "local")
        cluster = RayCluster().start(nodes=2)
        try:
            ray = ray_build(corpus, Path(tmp) / "ray", cluster)
        finally:
            cluster.stop()
    figures = {
        "files": files,
        "local": local,
        "ray": ray,
        "ray_vs_local": round(ray["chunks_per_s"] / local["chunks_per_s"], 2),
        "million_chunks_hours": million(ray["per_actor_chunks_per_s"], ray["startup_s"]),
        "load_average_before": [round(x, 2) for x in load_before],
        "load_average_after": [round(x, 2) for x in os.getloadavg()],
        "machine": machine(),
    }
    for key, value in figures.items():
        print(f"{key}: {value}")
    write_json(args.out, figures)
    return 0


if __name__ == "__main__":
    sys.exit(main())

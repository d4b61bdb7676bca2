"""`rag eval` throughput on the seed index (target: 1,000 questions in under 2 minutes after load).

Cycles the questions of eval/seed_questions.jsonl up to `--questions` and runs them through the same
calls as `rag eval` (answers, ranking metrics, results.jsonl, summary.json, report.html) with the
model loaded, for each `--workers` value given.
Run: `.venv/bin/python benchmarks/bench_eval.py [--questions 1000] [--workers 1 2]`.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

from measure import QUESTIONS, SEEDS, cpu_seconds, other_cores_busy, peak_rss_mb, result_path, write_json

from rag.config import Config
from rag.engine import Engine
from rag.evaluation import execute, read_questions, run_settings, start_run
from rag.store import build_index

TARGET_S = 120.0
DEFAULT_JSON = result_path("bench_eval")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--questions", type=int, default=1000, help="questions to run (default 1000)")
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2], help="pool sizes (default 1 2)")
    parser.add_argument("--json-out", type=Path, default=DEFAULT_JSON)
    args = parser.parse_args(argv)
    seed = read_questions(QUESTIONS, warn=print)
    questions = [
        replace(q, id=f"{q.id}/{i // len(seed)}")
        for i, q in enumerate(seed * (args.questions // len(seed) + 1))
    ][: args.questions]
    runs = []
    with tempfile.TemporaryDirectory(prefix="bench_eval_") as tmp:
        config = Config(index_dir=Path(tmp) / "index")
        build_index([SEEDS], config)
        engine = Engine(config)
        engine.warm()
        engine.ask(seed[0].question)  # the first call fills caches; not counted
        for workers in args.workers:
            run = start_run(
                Path(tmp) / f"run-{workers}", questions, run_settings(config, "extractive"), False, print
            )
            started, wall = cpu_seconds(), time.perf_counter()
            summary = execute(run, engine, workers)
            seconds = time.perf_counter() - wall
            runs.append(
                {
                    "workers": workers,
                    "seconds": round(seconds, 2),
                    "questions_per_s": round(len(questions) / seconds, 2),
                    "ask_ms": summary["latency_ms"],
                    "target_met": seconds < TARGET_S,
                    "other_processes_cores_busy": other_cores_busy(started, seconds),
                }
            )
        engine.close()
    out = {"questions": len(questions), "runs": runs, "peak_rss_mb": round(peak_rss_mb(), 1)}
    print(f"citerag eval benchmark: {len(questions)} questions (seed set cycled), seed index, model loaded")
    for r in runs:
        verdict = "met" if r["target_met"] else "NOT met"
        print(
            f"  workers {r['workers']}: {r['seconds']:.1f} s, {r['questions_per_s']:.1f} questions/s "
            f"(ask p50 {r['ask_ms']['p50']:.1f} ms); target < {TARGET_S:.0f} s: {verdict}"
        )
        busy = r["other_processes_cores_busy"]
        if busy is not None and busy > 0.1:
            print(f"    warning: other processes kept {busy:.2f} cores busy; figures are noisy")
    print(f"  peak RSS {out['peak_rss_mb']:.0f} MB")
    write_json(args.json_out, out)
    return 0


if __name__ == "__main__":
    sys.exit(main())

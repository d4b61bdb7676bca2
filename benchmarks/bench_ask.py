"""`Engine.ask` latency on the seed index, per stage (target with the reader on: p50 under 150 ms after load).

Asks every question of eval/seed_questions.jsonl `--rounds` times in one process after warm-up
and reports p50/p95/max of the total and of retrieve, rerank and compose, and the share of refusals.
With the reader (`--reader shipped`, the default here) compose is the reading; `--reader none`
measures the sentence composer.
Run: `.venv/bin/python benchmarks/bench_ask.py [--rounds 3] [--reader shipped|none|FOLDER] [--reader-first N]`
(`make bench` runs it too).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

from measure import (
    QUESTIONS,
    SEEDS,
    cpu_seconds,
    other_cores_busy,
    peak_rss_mb,
    result_path,
    summary,
    write_json,
)

from rag.config import Config
from rag.engine import Engine
from rag.evaluation import load_questions
from rag.store import build_index

ASK_P50_MS = 150.0
DEFAULT_JSON = result_path("bench_ask")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--rounds", type=int, default=3, help="passes over all questions (default 3)")
    parser.add_argument("--reader", default="shipped", help="shipped (models/reader-pair), none, or a folder")
    parser.add_argument(
        "--reader-first",
        type=int,
        default=None,
        help="settings' reader_first",
    )
    parser.add_argument("--json-out", type=Path, default=DEFAULT_JSON)
    args = parser.parse_args(argv)
    questions = [row["question"] for row in load_questions(QUESTIONS)]
    with tempfile.TemporaryDirectory(prefix="bench_ask_") as tmp:
        config = Config(index_dir=Path(tmp) / "index", reader=args.reader)
        if args.reader_first is not None:
            config = config.with_(reader_first=args.reader_first)
        build_index([SEEDS], config)
        engine = Engine(config)
        engine.warm()
        engine.ask(questions[0])  # the first call fills caches; not counted
        stages: dict[str, list[float]] = {"total": [], "retrieve": [], "rerank": [], "compose": []}
        refused = 0
        started, wall = cpu_seconds(), time.perf_counter()
        for _ in range(args.rounds):
            for question in questions:
                answer = engine.ask(question)
                refused += answer.abstained
                for name in stages:
                    stages[name].append(answer.timings_ms[name])
        busy = other_cores_busy(started, time.perf_counter() - wall)
        engine.close()
    figures = {name: summary(values) for name, values in stages.items()}
    out = {
        "questions": len(questions),
        "rounds": args.rounds,
        "reader": args.reader,
        "reader_first": config.reader_first,
        "ms": figures,
        "refused_share": round(refused / (len(questions) * args.rounds), 3),
        "target_p50_under_150ms": figures["total"]["p50"] < ASK_P50_MS,
        "other_processes_cores_busy": busy,
        "peak_rss_mb": round(peak_rss_mb(), 1),
    }
    print(
        f"citerag ask benchmark: {len(questions)} questions x {args.rounds} rounds (seed index), "
        f"reader {args.reader}, reader_first {config.reader_first}"
    )
    if busy is not None and busy > 0.1:
        print(f"  warning: other processes kept {busy:.2f} cores busy; figures are noisy")
    print(f"    {'':<10} {'p50':>8} {'p95':>8} {'max':>8}  ms")
    for name, s in figures.items():
        print(f"    {name:<10} {s['p50']:8.2f} {s['p95']:8.2f} {s['max']:8.2f}")
    verdict = "met" if out["target_p50_under_150ms"] else "NOT met"
    print(f"  target: total p50 {figures['total']['p50']:.1f} ms < {ASK_P50_MS:.0f} ms: {verdict}")
    print(f"  refused {out['refused_share']:.1%} of asks; peak RSS {out['peak_rss_mb']:.0f} MB")
    write_json(args.json_out, out)
    return 0


if __name__ == "__main__":
    sys.exit(main())

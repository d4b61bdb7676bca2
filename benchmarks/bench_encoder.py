"""The int8 ONNX encoder (the default) against torch: index build speed and retrieval quality.

* speed: `build_index` of the same corpus (the seed articles plus `--copies` variants, as
  bench_index.py makes them) with `encoder = "torch"` then `encoder = "onnx"`, back to back, `--repeat`
  times; both models loaded and warmed up first. Target: the ONNX build at least 1.8x faster (fastest
  run of each; every round's own ratio is printed too, since the machine may be shared).
* quality: evidence recall@1/@5 (top 10 of the engine's full retrieval: dense + BM25, fused, reranked)
  with an index built by each encoder, on eval/seed_questions.jsonl over the seeds and, if the SQuAD
  held-out bed exists (`python eval/squad_corpus.py --out build/squad-heldout`) or `--squad DIR` is
  given, on its test half over its documents. Target: within 0.01 of torch.

Run: `make bench`, i.e. `.venv/bin/python benchmarks/bench_encoder.py [--copies N] [--repeat R]`.
Figures are printed and written as JSON to benchmarks/results/bench_encoder.json.
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
from measure import QUESTIONS, ROOT, SEEDS, cpu_seconds, machine, other_cores_busy, result_path, write_json

from rag.config import Config
from rag.engine import Engine
from rag.evaluation import evidence_recall, load_questions
from rag.store import Embedder, build_index

SPEEDUP_GOAL = 1.8
RECALL_TOLERANCE = 0.01
ENCODERS = ("torch", "onnx")


def speed(corpus: Path, tmp: Path, repeat: int, batch_size: int) -> dict[str, Any]:
    """Seconds of each build, torch then onnx in every round."""
    runs: dict[str, list[float]] = {e: [] for e in ENCODERS}
    chunks = 0
    for r in range(repeat):
        for encoder in ENCODERS:
            config = Config(index_dir=tmp / f"speed-{encoder}-{r}", encoder=encoder, batch_size=batch_size)
            t = time.perf_counter()
            report = build_index([corpus], config)
            runs[encoder].append(time.perf_counter() - t)
            chunks = report.chunks
    best = {e: min(v) for e, v in runs.items()}
    return {
        "chunks": chunks,
        "runs_s": {e: [round(x, 2) for x in v] for e, v in runs.items()},
        "round_speedups": [round(t / o, 2) for t, o in zip(runs["torch"], runs["onnx"], strict=True)],
        "chunks_per_s": {e: round(chunks / s, 1) for e, s in best.items()},
        "speedup": round(best["torch"] / best["onnx"], 2),
    }


def recall(docs: Path, questions_file: Path, tmp: Path, name: str) -> dict[str, Any]:
    """Evidence recall@1/@5 of each encoder's index on the answerable questions with evidence."""
    questions = [q for q in load_questions(questions_file) if q.get("answerable", True) and q.get("evidence")]
    out: dict[str, Any] = {"questions": len(questions)}
    for encoder in ENCODERS:
        config = Config(index_dir=tmp / f"{name}-{encoder}", encoder=encoder)
        build_index([docs], config)
        engine = Engine(config)
        r1 = r5 = 0.0
        for q in questions:
            texts = [p.text for p in engine.search(q["question"], 10).passages]
            r1 += evidence_recall(texts, q["evidence"], 1)
            r5 += evidence_recall(texts, q["evidence"], 5)
        out[encoder] = {"recall@1": round(r1 / len(questions), 4), "recall@5": round(r5 / len(questions), 4)}
    deltas = {k: round(out["onnx"][k] - out["torch"][k], 4) for k in ("recall@1", "recall@5")}
    out["delta"] = deltas
    out["within_tolerance"] = all(abs(d) <= RECALL_TOLERANCE for d in deltas.values())
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--copies", type=int, default=6, help="variants of each seed file (default 6)")
    parser.add_argument("--repeat", type=int, default=2, help="torch-then-onnx rounds (default 2)")
    parser.add_argument("--batch-size", type=int, default=Config().batch_size)
    parser.add_argument("--squad", type=Path, default=ROOT / "build" / "squad-heldout", help="SQuAD bed")
    parser.add_argument("--json-out", type=Path, default=result_path("bench_encoder"))
    args = parser.parse_args(argv)
    if args.copies < 0 or args.repeat < 1 or args.batch_size < 1:
        parser.error("--copies must be >= 0, --repeat and --batch-size >= 1")

    load_before = os.getloadavg()
    for encoder in ENCODERS:  # load (the ONNX one exported on first use) and warm up, not timed
        embedder = Embedder(Config(encoder=encoder, batch_size=args.batch_size))
        embedder.encode(warmup_texts(args.batch_size))
    with tempfile.TemporaryDirectory(prefix="bench_encoder_") as tmp_name:
        tmp = Path(tmp_name)
        corpus = tmp / "corpus"
        files = make_corpus(corpus, args.copies)
        cpu_start, wall_start = cpu_seconds(), time.perf_counter()
        fast = speed(corpus, tmp, args.repeat, args.batch_size)
        other_cores = other_cores_busy(cpu_start, time.perf_counter() - wall_start)
        load_after_speed = os.getloadavg()
        quality = {"seed_questions": recall(SEEDS, QUESTIONS, tmp, "seeds")}
        squad_test = args.squad / "test.jsonl"
        if squad_test.is_file():
            quality["squad_heldout_test"] = recall(args.squad / "docs", squad_test, tmp, "squad")

    results: dict[str, Any] = {
        "machine": {
            **machine(),
            "load_average_before": [round(x, 2) for x in load_before],
            "load_average_after_speed_runs": [round(x, 2) for x in load_after_speed],
            "other_processes_cores_busy_during_speed_runs": other_cores,
        },
        "corpus": {"files": files, "copies": args.copies},
        "batch_size": args.batch_size,
        "speed": fast,
        "speedup_goal": SPEEDUP_GOAL,
        "meets_speedup_goal": fast["speedup"] >= SPEEDUP_GOAL,
        "quality": quality,
        "recall_tolerance": RECALL_TOLERANCE,
    }
    print("citerag encoder benchmark: int8 ONNX against torch")
    print(f"  load average {load_before[0]:.2f} before, other processes' CPU {other_cores} cores")
    print(f"  corpus: {files} files, {fast['chunks']} chunks; rounds torch then onnx, x{args.repeat}")
    for encoder in ENCODERS:
        runs = ", ".join(f"{x:.1f}" for x in fast["runs_s"][encoder])
        print(f"  {encoder:5s} builds {runs} s; fastest {fast['chunks_per_s'][encoder]} chunks/s")
    verdict = "meets" if results["meets_speedup_goal"] else "MISSES"
    print(
        f"  speed-up {fast['speedup']}x ({verdict} goal {SPEEDUP_GOAL}x); per round {fast['round_speedups']}"
    )
    for name, q in quality.items():
        t, o, d = q["torch"], q["onnx"], q["delta"]
        print(
            f"  {name} ({q['questions']} q): R@1 torch {t['recall@1']:.3f} onnx {o['recall@1']:.3f} "
            f"({d['recall@1']:+.3f}); R@5 torch {t['recall@5']:.3f} onnx {o['recall@5']:.3f} "
            f"({d['recall@5']:+.3f}) {'within' if q['within_tolerance'] else 'OUTSIDE'} {RECALL_TOLERANCE}"
        )
    write_json(args.json_out, results)
    print(f"  written to {args.json_out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

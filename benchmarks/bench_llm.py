"""Generative mode on the seed questions: quality and latency of the default local model.

Answers every question of eval/seed_questions.jsonl with `Engine.ask(mode="llm")` (SmolLM2-135M-
Instruct in its supervised child process with `--threads` threads, unless `--config` names another
generator) and reports key-fact recall (all key
facts in the answer, as `rag eval` scores it), the share of generated sentences their cited passages
support (and how many the checker cited for a model that gave no marker), refusal behaviour (before
generating, on weak evidence, and by the model), fallbacks, latency: first token (from the
question's arrival) and total, p50/p95, and the local model server's peak memory.
Run: `.venv/bin/python benchmarks/bench_llm.py [--limit N] [--threads N] [--config FILE]`.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

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
from rag.evaluation import containment, read_questions, refusal_scores
from rag.generation import WEAK_EVIDENCE, LocalGenerator
from rag.store import build_index

DEFAULT_JSON = result_path("bench_llm")


def _share(part: int, whole: int) -> float | None:
    return round(part / whole, 3) if whole else None


def run(engine: Engine, limit: int | None) -> dict[str, Any]:
    def fail(message: str) -> None:
        raise SystemExit(message)

    questions = read_questions(QUESTIONS, warn=fail)[:limit]
    rows = []
    for i, q in enumerate(questions, start=1):
        answer = engine.ask(q.question, mode="llm")
        facts = containment(answer.answer, q.answers) if q.answerable and not answer.abstained else 0.0
        rows.append(
            {
                "id": q.id,
                "answerable": q.answerable,
                "abstained": answer.abstained,
                "mode": answer.mode,
                "weak_evidence": answer.note == WEAK_EVIDENCE,
                "all_facts": None if not q.answerable or not q.answers else float(facts == 1.0),
                "supported": [s.supported for s in answer.sentences] if answer.mode == "llm" else [],
                "cited": [bool(s.citations) for s in answer.sentences] if answer.mode == "llm" else [],
                "attributed": [s.attributed for s in answer.sentences] if answer.mode == "llm" else [],
                "first_token": answer.timings_ms.get("first_token"),
                "total": answer.timings_ms["total"],
                "note": answer.note,
                "answer": answer.answer,
            }
        )
        print(
            f"  {i}/{len(questions)} {q.id}: {answer.mode}{' refused' if answer.abstained else ''}",
            file=sys.stderr,
        )
    return figures(rows)


def figures(rows: list[dict[str, Any]]) -> dict[str, Any]:
    generated = [r for r in rows if r["mode"] == "llm" and not r["weak_evidence"]]
    graded = [r["all_facts"] for r in rows if r["all_facts"] is not None]
    sentences = [s for r in generated for s in r["supported"]]
    answered = [r for r in generated if r["supported"]]
    refusal = refusal_scores([r["abstained"] for r in rows], [r["answerable"] for r in rows])
    return {
        "questions": len(rows),
        "key_fact_recall": _share(int(sum(graded)), len(graded)),  # answerable: every key fact present
        "answerable_graded": len(graded),
        "supported_sentences": _share(sum(sentences), len(sentences)),
        "sentences": len(sentences),
        "answers_fully_supported": _share(sum(all(r["supported"]) for r in answered), len(answered)),
        "answers_with_a_marker_of_the_model": sum(
            any(not a and c for a, c in zip(r["attributed"], r["cited"], strict=True)) for r in answered
        ),
        "sentences_cited_by_the_checker": _share(
            sum(s for r in generated for s in r["attributed"]), len(sentences)
        ),
        "answers_with_a_sentence": len(answered),
        "refusal": {k: round(v, 3) if isinstance(v, float) else v for k, v in refusal.items()},
        "refused_on_weak_evidence": sum(r["weak_evidence"] for r in rows),
        "refused_by_the_model": sum(r["abstained"] for r in generated),
        "fallbacks": sum(r["mode"] == "extractive" for r in rows),
        "first_token_ms": summary([r["first_token"] for r in generated if r["first_token"] is not None])
        if generated
        else None,
        "total_ms_generated": summary([r["total"] for r in generated]) if generated else None,
        "rows": rows,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--limit", type=int, help="only the first N questions")
    parser.add_argument("--config", type=Path, help="TOML settings (default: the local SmolLM2)")
    parser.add_argument("--threads", type=int, help="the local model's threads (default: llm_threads)")
    parser.add_argument("--json-out", type=Path, default=DEFAULT_JSON)
    args = parser.parse_args(argv)
    base = Config.from_file(args.config) if args.config else Config()
    if args.threads:
        base = base.with_(llm_threads=args.threads)
    with tempfile.TemporaryDirectory(prefix="bench_llm_") as tmp:
        config = base.with_(index_dir=Path(tmp) / "index")
        build_index([SEEDS], config)
        engine = Engine(config)
        engine.warm()
        generator = engine.generator()
        # Starts the local model's server (not counted); its CPU time is ours, not other processes'.
        engine.ask("Who chaired the inquiry into the Cleveland child abuse cases?", mode="llm")
        server = generator.server.pid if isinstance(generator, LocalGenerator) else None
        helpers = (server,) if server else ()
        started, wall = cpu_seconds(helpers), time.perf_counter()
        out = run(engine, args.limit)
        out["generator"] = generator.name
        out["other_processes_cores_busy"] = other_cores_busy(started, time.perf_counter() - wall, helpers)
        out["peak_rss_mb"] = round(peak_rss_mb(), 1)
        if isinstance(generator, LocalGenerator) and generator.server.pid:
            out["threads"] = generator.server.threads
            out["server_peak_rss_mb"] = round(peak_rss_mb(generator.server.pid), 1)
        engine.close()
    print(f"citerag generative benchmark: {out['questions']} questions, generator {out['generator']}")
    for key in (
        "key_fact_recall",
        "supported_sentences",
        "answers_fully_supported",
        "answers_with_a_marker_of_the_model",
        "sentences_cited_by_the_checker",
        "fallbacks",
    ):
        print(f"  {key}: {out[key]}")
    r = out["refusal"]
    print(
        f"  refusal: recall {r['recall']} precision {r['precision']} "
        f"false refusal rate {r['false_refusal_rate']} (on weak evidence "
        f"{out['refused_on_weak_evidence']}, by the model {out['refused_by_the_model']})"
    )
    for key in ("first_token_ms", "total_ms_generated"):
        s = out[key]
        if s:
            print(f"  {key}: p50 {s['p50']:.0f}  p95 {s['p95']:.0f}  max {s['max']:.0f}")
    print(
        f"  other processes kept {out['other_processes_cores_busy']} cores busy; "
        f"peak RSS {out['peak_rss_mb']} MB, the model's server {out.get('server_peak_rss_mb')} MB "
        f"at {out.get('threads')} threads"
    )
    write_json(args.json_out, out)
    return 0


if __name__ == "__main__":
    sys.exit(main())

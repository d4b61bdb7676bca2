"""What each retrieval stage buys, on eval/seed_questions.jsonl; and how the reranker was tuned.

Prints evidence recall@1/@5 and MRR@10 for dense only, BM25 only, fused (RRF) and fused + rerank.
`--tune` grid-searches the sentence reranker's weights with 2-fold cross-validation (tuned on one
half of the questions, scored on the other), so the figure it reports is not fitted to itself.
Run: `.venv/bin/python eval/retrieval_stages.py [--index-dir DIR] [--tune]` (builds DIR if absent).
"""

from __future__ import annotations

import argparse
import itertools
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from rag.config import Config  # noqa: E402
from rag.engine import Engine  # noqa: E402
from rag.evaluation import evidence_recall, first_hit_rank, load_questions  # noqa: E402
from rag.search import SentenceReranker, Weights  # noqa: E402
from rag.store import build_index  # noqa: E402

VARIANTS = {
    "dense only": {"use_bm25": False, "rerank": "none"},
    "BM25 only": {"use_dense": False, "rerank": "none"},
    "fused (RRF)": {"rerank": "none"},
    "fused + rerank": {},
}


def measure(engine: Engine, questions: list[dict]) -> dict[str, float]:
    r1 = r5 = rr = 0.0
    started = time.perf_counter()
    for q in questions:
        texts = [p.text for p in engine.search(q["question"], 10).passages]
        r1 += evidence_recall(texts, q["evidence"], 1)
        r5 += evidence_recall(texts, q["evidence"], 5)
        rank = first_hit_rank(texts, q["evidence"])
        rr += 1 / rank if rank else 0.0
    n = len(questions)
    ms = (time.perf_counter() - started) * 1000 / n
    return {"recall@1": r1 / n, "recall@5": r5 / n, "mrr@10": rr / n, "ms/question": ms}


def tune(config: Config, questions: list[dict]) -> None:
    """2-fold cross-validated grid search over the reranker's weights."""
    engine = Engine(config.with_(rerank="none"))
    reranker = SentenceReranker()
    cached = []
    for q in questions:
        question = " ".join(q["question"].split())
        vector = engine.embedder.encode([question])[0]
        lists = engine.pipeline.first_stage(question, vector)
        candidates = engine.pipeline.candidates(
            engine.pipeline.fuse(lists)[: config.rerank_candidates], lists
        )
        feats = reranker.features(question, vector, candidates)
        cached.append((q, [c.text for c in candidates], feats))
    grid = [0.0, 0.25, 0.5, 1.0]
    names = ["passage", "sentence_bm25", "bm25", "fused"]
    combos = [dict(zip(names, values, strict=True)) for values in itertools.product(grid, repeat=4)]

    def score(weights: dict[str, float], rows: list) -> float:
        total = 0.0
        for q, texts, feats in rows:
            s = feats["best_sentence"] + sum(w * feats[n] for n, w in weights.items())
            order = [texts[i] for i in np.argsort(-s, kind="stable")]
            total += evidence_recall(order, q["evidence"], 1) + evidence_recall(order, q["evidence"], 5)
        return total / len(rows)

    folds = [cached[0::2], cached[1::2]]
    held_out = []
    for i in (0, 1):
        best = max(combos, key=lambda w: score(w, folds[i]))
        held_out.append(score(best, folds[1 - i]))
        print(f"fold {i}: best on tuning half {best}; held-out (R@1+R@5) {held_out[-1]:.3f}")
    default = {n: getattr(Weights(), n) for n in names}
    print(f"current default {default}: whole set (R@1+R@5) {score(default, cached):.3f}")
    print(f"cross-validated (R@1+R@5) {np.mean(held_out):.3f}")
    best_all = max(combos, key=lambda w: score(w, cached))
    print(f"best on all questions {best_all}: (R@1+R@5) {score(best_all, cached):.3f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--index-dir", type=Path, default=ROOT / "index")
    parser.add_argument("--questions", type=Path, default=ROOT / "eval" / "seed_questions.jsonl")
    parser.add_argument("--tune", action="store_true", help="grid-search the reranker weights")
    args = parser.parse_args()
    config = Config(index_dir=args.index_dir)
    build_index([ROOT / "seeds"], config)
    questions = [q for q in load_questions(args.questions) if q.get("answerable", True)]
    if args.tune:
        tune(config, questions)
        return
    print(f"{len(questions)} answerable questions; evidence recall = gold quote inside a passage\n")
    print(f"{'stage':16s} {'R@1':>6s} {'R@5':>6s} {'MRR@10':>7s} {'ms/q':>6s}")
    for name, changes in VARIANTS.items():
        engine = Engine(config.with_(**changes))
        engine.warm()
        m = measure(engine, questions)
        print(
            f"{name:16s} {m['recall@1']:6.3f} {m['recall@5']:6.3f} {m['mrr@10']:7.3f} {m['ms/question']:6.1f}"
        )


if __name__ == "__main__":
    main()

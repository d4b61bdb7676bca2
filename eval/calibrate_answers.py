"""Calibrate the extractive composer on eval/seed_questions.jsonl.

Two choices are made here, each 2-fold cross-validated (chosen on one half, scored on the other):
the refusal threshold on evidence strength (answerable vs `answerable: false` questions), and the
weights that score answer sentences (key-fact containment on answerable questions).
Run: `.venv/bin/python eval/calibrate_answers.py [--index-dir DIR]` (builds DIR if absent).
"""

from __future__ import annotations

import argparse
import itertools
import sys
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from rag.answer import Composer  # noqa: E402
from rag.config import Config  # noqa: E402
from rag.engine import Engine  # noqa: E402
from rag.evaluation import load_questions  # noqa: E402
from rag.ingest import collapse  # noqa: E402
from rag.store import build_index  # noqa: E402


def contains_facts(answer: str, facts: list[str]) -> float:
    text = collapse(answer).casefold()
    return sum(collapse(f).casefold() in text for f in facts) / len(facts) if facts else 0.0


def prepare(
    engine: Engine, questions: list[dict[str, Any]]
) -> list[tuple[dict[str, Any], Any, Any, Any, Any]]:
    """Retrieval once per question: what the composer needs, whatever its settings."""
    out = []
    for q in questions:
        question = " ".join(q["question"].split())
        found = engine.pipeline.retrieve(question, engine.config.k)
        weights = engine.composer.term_weights(question, engine.reader.lexical)
        out.append((q, found.vector, weights, found.passages, engine.pipeline.candidates_for(found)))
    return out


def refusal_table(cached: list, threshold: float) -> dict[str, float]:
    composer = Composer(threshold=threshold)
    refused = [composer.compose(v, w, p, c, q["question"]).abstained for q, v, w, p, c in cached]
    gold = [not q["answerable"] for q, *_ in cached]
    true_refusals = sum(r and g for r, g in zip(refused, gold, strict=True))
    return {
        "refusal_recall": true_refusals / max(sum(gold), 1),
        "refusal_precision": true_refusals / max(sum(refused), 1),
        "false_refusal_rate": sum(r and not g for r, g in zip(refused, gold, strict=True))
        / max(len(gold) - sum(gold), 1),
    }


def pick_threshold(cached: list) -> float:
    """Highest refusal recall with at most 10% false refusals; ties go to the lower threshold."""
    grid = np.round(np.arange(0.30, 0.70, 0.01), 2)
    ok = [t for t in grid if refusal_table(cached, t)["false_refusal_rate"] <= 0.10]
    return float(max(ok or [0.30], key=lambda t: (refusal_table(cached, t)["refusal_recall"], -t)))


def containment(cached: list, **weights: float) -> float:
    composer = Composer(threshold=0.0, **weights)
    scores = [
        contains_facts(composer.compose(v, w, p, c).answer, q["answers"]) == 1.0
        for q, v, w, p, c in cached
        if q["answerable"] and p
    ]
    return float(np.mean(scores))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--index-dir", type=Path, default=ROOT / "index")
    args = parser.parse_args()
    config = Config(index_dir=args.index_dir)
    build_index([ROOT / "seeds"], config)
    engine = Engine(config)
    engine.warm()
    cached = prepare(engine, load_questions(ROOT / "eval" / "seed_questions.jsonl"))
    folds = [cached[0::2], cached[1::2]]

    print("refusal threshold (max refusal recall with <= 10% false refusals)")
    for i in (0, 1):
        t = pick_threshold(folds[i])
        print(f"  fold {i}: chosen {t:.2f}; on the other half {refusal_table(folds[1 - i], t)}")
    t = pick_threshold(cached)
    print(f"  all questions: {t:.2f} -> {refusal_table(cached, t)}")
    current = config.refusal_threshold
    print(f"  current default {current:.2f} -> {refusal_table(cached, current)}")

    print("\nsentence weights (share of answerable questions whose answer holds every key fact)")
    grid = {"coverage_weight": [0.25, 0.5, 1.0], "passage_weight": [0.0, 0.3, 0.6], "max_sentences": [2, 3]}
    combos = [dict(zip(grid, values, strict=True)) for values in itertools.product(*grid.values())]
    for i in (0, 1):
        best = max(combos, key=lambda c: containment(folds[i], **c))
        print(f"  fold {i}: chosen {best}; on the other half {containment(folds[1 - i], **best):.3f}")
    best = max(combos, key=lambda c: containment(cached, **c))
    print(f"  all questions: {best} -> {containment(cached, **best):.3f}")
    print(f"  current defaults -> {containment(cached):.3f}")


if __name__ == "__main__":
    main()

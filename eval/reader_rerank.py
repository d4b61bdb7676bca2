"""Does the reader's span score help order the passages? Measured, not assumed.

For each answerable question the engine retrieves 10 passages in its reranked order and the reader
reads all of them. Compared: the passage ranked first holds a gold answer (hit@1) under the reranker's
order, the reader's order (best span score) and their reciprocal-rank fusion; and the short answer's
F1 when the reader picks its span from the top 5 (what `ask` does) or the top 10 (twice the reading).

    python eval/reader_rerank.py build/squad-heldout/test.jsonl --index-dir build/squad-index
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
from tqdm import tqdm

from rag.answer.training.squad import holds
from rag.config import Config
from rag.engine import Engine
from rag.evaluation import load_questions, token_f1

DEPTH = 10


def rrf(*orders: list[int], k: int = 60) -> list[int]:
    scores: dict[int, float] = {}
    for order in orders:
        for rank, i in enumerate(order):
            scores[i] = scores.get(i, 0.0) + 1 / (k + rank + 1)
    return sorted(scores, key=lambda i: -scores[i])


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("questions", type=Path)
    p.add_argument("--index-dir", type=Path, default=Path("index"))
    args = p.parse_args()
    engine = Engine(Config(index_dir=args.index_dir, reader="shipped"))
    hits: dict[str, list[float]] = {"rerank": [], "reader": [], "fused": []}
    f1: dict[str, list[float]] = {"top5": [], "top10": []}
    for q in tqdm([q for q in load_questions(args.questions) if q["answerable"]], unit="q"):
        question, answers = str(q["question"]), tuple(q["answers"])  # type: ignore[arg-type]
        passages = engine.search(question, DEPTH).passages
        contexts, readings = engine.read(question, passages)
        by_reader = sorted(range(len(passages)), key=lambda i: -readings[i].score)
        orders = {"rerank": list(range(len(passages))), "reader": by_reader}
        orders["fused"] = rrf(orders["rerank"], by_reader)
        for name, order in orders.items():
            hits[name].append(float(bool(order) and holds(passages[order[0]].text, answers)))
        for name, depth in (("top5", 5), ("top10", DEPTH)):
            best = max(range(min(depth, len(passages))), key=lambda i: readings[i].score, default=None)
            r = readings[best] if best is not None else None
            said = contexts[best][r.start : r.end] if r is not None and r.start is not None else ""
            f1[name].append(token_f1(said, answers) or 0.0)
    report = {
        "questions": len(hits["rerank"]),
        **{f"hit@1_{k}": round(float(np.mean(v)), 4) for k, v in hits.items()},
        **{f"short_f1_{k}": round(float(np.mean(v)), 4) for k, v in f1.items()},
    }
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()

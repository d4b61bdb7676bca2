"""Calibrate the reader's refusal: a logistic fit of P(answerable) on its margin, and the threshold.

For each question the engine retrieves as `rag ask` does and the reader reads the passages; the
feature is the best passage's margin of its span over "no answer". The threshold on the calibrated
probability is the one with the highest refusal recall at no more than 5% false refusals, and its
figures are cross-validated by
article, 5 folds: each fold is judged with a fit and threshold made without it. Run it on the
calibration half of eval/squad_corpus.py, never on a set you report. Several files are fitted as one
set, folded by article: the calibration half and its reworded copy (eval/reword_questions.py) put a
question and its rewording in the same fold.

    python eval/calibrate_reader.py build/squad-heldout/calibration.jsonl --index-dir build/squad-index \
        --reader models/reader --write models/reader/reader.json
"""

from __future__ import annotations

import argparse
import json
import math
from pathlib import Path

import numpy as np
from tqdm import tqdm

from rag.answer import missing_numbers
from rag.answer.training.dev_figures import auc
from rag.config import Config
from rag.engine import Engine
from rag.evaluation import load_questions

FOLDS = 5


def margins(engine: Engine, questions: list[dict[str, object]]) -> tuple[np.ndarray, np.ndarray]:
    """Each question's best margin, and whether the composer's numbers check would refuse it."""
    out, numbers = [], []
    for q in tqdm(questions, desc="reading", unit="q"):
        passages = engine.search(str(q["question"])).passages
        _, readings = engine.read(str(q["question"]), passages)
        out.append(max((r.margin for r in readings if r.start is not None), default=-50.0))
        numbers.append(bool(missing_numbers(str(q["question"]), passages)))
    return np.asarray(out), np.asarray(numbers)


def fit(x: np.ndarray, y: np.ndarray, steps: int = 3000) -> tuple[float, float]:
    """Logistic regression of y on x by Newton's method (one feature and a bias)."""
    a, b = 0.0, 0.0
    for _ in range(steps):
        p = 1 / (1 + np.exp(-(a * x + b)))
        g = np.array([np.sum((p - y) * x), np.sum(p - y)])
        w = p * (1 - p) + 1e-9
        h = np.array([[np.sum(w * x * x), np.sum(w * x)], [np.sum(w * x), np.sum(w)]]) + 1e-6 * np.eye(2)
        step = np.linalg.solve(h, g)
        a, b = a - step[0], b - step[1]
        if np.abs(step).max() < 1e-10:
            break
    return float(a), float(b)


def rates(prob: np.ndarray, y: np.ndarray, threshold: float) -> tuple[float, float]:
    """(refusal recall, false-refusal rate) at `threshold`."""
    refused = prob < threshold
    return float(refused[y == 0].mean()), float(refused[y == 1].mean())


MAX_FALSE_REFUSALS = 0.05  # a user would rather check a weak answer than lose a right one


def choose(prob: np.ndarray, y: np.ndarray) -> float:
    """The threshold with the highest refusal recall whose false-refusal rate stays within
    MAX_FALSE_REFUSALS (balanced accuracy chose 0.79 here, at 32% false refusals)."""
    grid = np.round(np.arange(0.05, 0.96, 0.01), 2)
    allowed = [t for t in grid if rates(prob, y, t)[1] <= MAX_FALSE_REFUSALS] or [grid[0]]
    return float(max(allowed, key=lambda t: (rates(prob, y, t)[0], -t)))


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("questions", type=Path, nargs="+", help="question files, fitted as one set")
    p.add_argument("--index-dir", type=Path, default=Path("index"))
    p.add_argument("--reader", default="shipped", help="reader or pair folder (default: models/reader-pair)")
    p.add_argument("--write", type=Path, help="store the calibration in this reader.json")
    args = p.parse_args()
    questions = [q for path in args.questions for q in load_questions(path)]
    engine = Engine(Config(index_dir=args.index_dir, reader=args.reader))
    x, numbers = margins(engine, questions)
    y = np.array([1.0 if q["answerable"] else 0.0 for q in questions])
    articles = sorted({str(q["id"]).split("/")[0] for q in questions})
    fold_of = {a: i % FOLDS for i, a in enumerate(articles)}
    folds = np.array([fold_of[str(q["id"]).split("/")[0]] for q in questions])
    recall, false_refusal = [], []
    for f in range(FOLDS):
        train, test = folds != f, folds == f
        a, b = fit(x[train], y[train])
        t = choose(1 / (1 + np.exp(-(a * x[train] + b))), y[train])
        r, fr = rates(1 / (1 + np.exp(-(a * x[test] + b))), y[test], t)
        recall.append(r)
        false_refusal.append(fr)
    a, b = fit(x, y)
    threshold = choose(1 / (1 + np.exp(-(a * x + b))), y)
    margin_at = (math.log(threshold / (1 - threshold)) - b) / a
    report = {
        "questions": len(questions),
        "unanswerable": int((y == 0).sum()),
        "margin_auc": round(auc(list(x[y == 1]), list(x[y == 0])), 4),
        "a": round(a, 4),
        "b": round(b, 4),
        "threshold": threshold,
        "margin_at_threshold": round(margin_at, 3),
        "cv_refusal_recall": round(float(np.mean(recall)), 4),
        "cv_false_refusal_rate": round(float(np.mean(false_refusal)), 4),
        # Would the composer's "a number the passages never name" check add anything? Its firing
        # on unanswerable questions the reader accepts, against its firing on answerable ones.
        "numbers_check_catches": int(np.sum(numbers & (y == 0) & (x >= margin_at))),
        "numbers_check_wrongly_refuses": int(np.sum(numbers & (y == 1))),
    }
    print(json.dumps(report, indent=2))
    if args.write:
        info = json.loads(args.write.read_text(encoding="utf-8"))
        info["calibration"] = {k: report[k] for k in report if k != "questions"} | {
            "data": " + ".join(map(str, args.questions))
        }
        args.write.write_text(json.dumps(info, indent=2, sort_keys=True) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()

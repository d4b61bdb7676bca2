"""Development figures of a reader on held-out articles: span exact match and F1 on each question's own
paragraph, and how well the no-answer margin separates those from same-article negatives (ROC AUC)
and from the same questions asked about another name of their paragraph (rag.answer.training.swap),
the on-topic case that other paragraphs' negatives never show."""

from __future__ import annotations

import random
from collections.abc import Callable
from typing import Any

import numpy as np

from rag.answer.reader import Reader
from rag.answer.training.squad import Article, examples
from rag.answer.training.swap import swapped
from rag.evaluation import exact_match, token_f1


def auc(positives: list[float], negatives: list[float]) -> float:
    """Probability that a random positive outscores a random negative (ties count half)."""
    p, n = np.asarray(positives), np.asarray(negatives)
    if not p.size or not n.size:
        return float("nan")
    greater = (p[:, None] > n[None, :]).sum() + 0.5 * (p[:, None] == n[None, :]).sum()
    return float(greater / (p.size * n.size))


def figures(
    reader: Reader,
    held_out: list[Article],
    limit: int,
    seed: int = 7,
    progress: Callable[[Any], Any] = iter,
) -> dict[str, float]:
    """EM, F1 and both AUCs over up to `limit` held-out examples (positives and negatives mixed)."""
    pool = examples(held_out, negative_rate=0.5, seed=seed)
    random.Random(seed).shuffle(pool)
    pool = pool[:limit]
    rng = random.Random(seed)
    em, f1, pos, neg, wrong = [], [], [], [], []
    for e in progress(pool):
        r = reader.read(e.question, [e.context])[0]
        if e.answer_start is None:
            neg.append(r.margin)
            continue
        pos.append(r.margin)
        if (other := swapped(e.question, e.context, e.answers, rng)) is not None:
            wrong.append(reader.read(other, [e.context])[0].margin)
        predicted = e.context[r.start : r.end] if r.start is not None else ""
        em.append(exact_match(predicted, e.answers) or 0.0)
        f1.append(token_f1(predicted, e.answers) or 0.0)
    return {
        "exact_match": round(float(np.mean(em)), 4),
        "f1": round(float(np.mean(f1)), 4),
        "no_answer_auc": round(auc(pos, neg), 4),
        "wrong_name_auc": round(auc(pos, wrong), 4),
        "positives": len(pos),
        "negatives": len(neg),
        "wrong_names": len(wrong),
    }

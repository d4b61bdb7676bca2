"""Evaluation metrics: pure functions, each unit-tested against hand-computed cases.

A metric with no gold data for a question returns None ("not measured"), never 0 or NaN, so a
question without gold fields is left out of that metric's mean instead of dragging it down.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Collection, Mapping, Sequence
from pathlib import Path
from typing import Any

from rag.answer import normalize_tokens
from rag.errors import UserError
from rag.evaluation.questions import read_questions
from rag.ingest import collapse

_MARKERS = re.compile(r"((?:\s*\[\d+\])+)")


def _norm(text: str) -> str:
    return collapse(text).casefold()


def holds_evidence(passage_text: str, evidence: Sequence[str]) -> bool:
    """The passage holds one of the gold quotes whole (whitespace collapsed, case folded)."""
    text = _norm(passage_text)
    return any(_norm(e) in text for e in evidence)


def gold_holders(
    passages: Sequence[tuple[str, str, str]], evidence: Sequence[str], sources: Sequence[str]
) -> list[tuple[str, set[str]]] | None:
    """Each gold item with the ids of the passages (chunk id, document, text) that hold it: the gold
    quotes, or, for a question without quotes, its gold documents; None with neither."""
    if evidence:
        return [(e, {c for c, _, text in passages if holds_evidence(text, [e])}) for e in evidence]
    if sources:
        return [(s, {c for c, doc, _ in passages if doc == s}) for s in sources]
    return None


def evidence_recall(passage_texts: Sequence[str], evidence: Sequence[str], k: int) -> float:
    """Share of gold evidence quotes that lie wholly inside one of the top-k passages."""
    if not evidence:
        return 0.0
    top = [_norm(t) for t in passage_texts[:k]]
    return sum(any(_norm(e) in t for t in top) for e in evidence) / len(evidence)


def first_hit_rank(passage_texts: Sequence[str], evidence: Sequence[str]) -> int | None:
    """1-based rank of the first passage holding any gold quote, or None."""
    for rank, text in enumerate(passage_texts, start=1):
        if holds_evidence(text, evidence):
            return rank
    return None


def load_questions(path: Path) -> list[dict[str, Any]]:
    """Strict reading for the scripts in eval/ and benchmarks/: any problem in the file is an error."""

    def fail(message: str) -> None:
        raise UserError(message)

    return [q.to_dict() for q in read_questions(path, warn=fail)]


# Ranking metrics over item ids. An id repeated in the ranking counts at its first rank only, so
# duplicates can neither raise a score nor push it past 1.


def _gains(ranked: Sequence[str], relevant: Collection[str], k: int) -> list[int]:
    seen: set[str] = set()
    gains = []
    for item in ranked[:k]:
        gains.append(int(item in relevant and item not in seen))
        seen.add(item)
    return gains


def hit_at_k(ranked: Sequence[str], relevant: Collection[str], k: int) -> float | None:
    """1.0 when a relevant item is in the top k."""
    return float(any(_gains(ranked, relevant, k))) if relevant else None


def recall_at_k(ranked: Sequence[str], relevant: Collection[str], k: int) -> float | None:
    """Share of the relevant items found in the top k."""
    return sum(_gains(ranked, relevant, k)) / len(set(relevant)) if relevant else None


def mrr_at_k(ranked: Sequence[str], relevant: Collection[str], k: int) -> float | None:
    """Reciprocal rank of the first relevant item in the top k, 0 when there is none."""
    if not relevant:
        return None
    return next((1 / rank for rank, g in enumerate(_gains(ranked, relevant, k), start=1) if g), 0.0)


def ndcg_at_k(ranked: Sequence[str], relevant: Collection[str], k: int) -> float | None:
    """Binary-relevance nDCG: DCG = sum of 1/log2(rank+1) over relevant ranks; the ideal DCG puts
    min(R, k) relevant items at the top, R being the number of relevant items."""
    if not relevant:
        return None
    dcg = sum(g / math.log2(rank + 1) for rank, g in enumerate(_gains(ranked, relevant, k), start=1))
    ideal = sum(1 / math.log2(rank + 1) for rank in range(1, min(len(set(relevant)), k) + 1))
    return dcg / ideal


# Answer text metrics.


def containment(answer: str, facts: Sequence[str]) -> float | None:
    """Share of the key facts found in the answer as whole-word sequences, both normalised."""
    wanted = [" ".join(normalize_tokens(f)) for f in facts]
    wanted = [w for w in wanted if w]
    if not wanted:
        return None
    text = f" {' '.join(normalize_tokens(answer))} "
    return sum(f" {w} " in text for w in wanted) / len(wanted)


def token_f1(answer: str, references: Sequence[str]) -> float | None:
    """SQuAD token F1 (overlap of the bags of normalised tokens), the best over the references."""
    refs = [r for r in (normalize_tokens(ref) for ref in references) if r]
    if not refs:
        return None
    predicted = Counter(normalize_tokens(answer))
    best = 0.0
    for ref in refs:
        common = sum((predicted & Counter(ref)).values())
        if common:
            precision, recall = common / sum(predicted.values()), common / len(ref)
            best = max(best, 2 * precision * recall / (precision + recall))
    return best


def exact_match(answer: str, references: Sequence[str]) -> float | None:
    """SQuAD exact match: 1.0 when the normalised answer equals one normalised reference."""
    refs = [r for r in (normalize_tokens(ref) for ref in references) if r]
    if not refs:
        return None
    return float(normalize_tokens(answer) in refs)


def answer_sentences(answer: str) -> list[tuple[str, list[int]]]:
    """The answer cut after each run of [n] markers: each sentence (markers removed) with the
    citation numbers it carries; trailing text without a marker is a sentence citing nothing."""
    parts = _MARKERS.split(answer)  # text, markers, text, markers, ..., text
    out = []
    for i in range(0, len(parts), 2):
        text = collapse(parts[i])
        numbers = [int(n) for n in re.findall(r"\d+", parts[i + 1])] if i + 1 < len(parts) else []
        if text:
            out.append((text, numbers))
    return out


def groundedness(sentences: Sequence[tuple[str, Sequence[int]]], cited: Mapping[int, str]) -> float | None:
    """Share of answer sentences whose text lies inside the passage of one of their citations
    (`cited`: citation number → passage text); a sentence without a citation is unsupported."""
    if not sentences:
        return None
    supported = sum(
        any(n in cited and _norm(text) in _norm(cited[n]) for n in numbers) for text, numbers in sentences
    )
    return supported / len(sentences)


def citation_valid(quote: str, source_text: str, start: int, end: int) -> bool:
    """The quote is the source text start:end, whitespace collapsed: what every citation promises."""
    return 0 <= start < end <= len(source_text) and collapse(source_text[start:end]) == quote


def citation_precision(
    cited: Sequence[tuple[str, str]], evidence: Sequence[str], sources: Collection[str]
) -> float | None:
    """Share of citations (doc, passage text) whose passage holds a gold quote or comes from a gold
    source; None when there is no citation or no gold evidence or sources to judge by."""
    if not cited or not (evidence or sources):
        return None
    return sum(doc in sources or holds_evidence(text, evidence) for doc, text in cited) / len(cited)


def refusal_scores(refused: Sequence[bool], answerable: Sequence[bool]) -> dict[str, Any]:
    """Refusing is the positive class and `answerable: false` the truth, so a correct refusal counts
    as a true positive. No refusal at all gives precision 1.0 (none was wrong; recall and F1 show the
    miss); recall and F1 are None without unanswerable questions, the false-refusal rate without
    answerable ones."""
    pairs = list(zip(refused, answerable, strict=True))
    n_refused = sum(refused)
    unanswerable = sum(not a for a in answerable)
    correct = sum(r and not a for r, a in pairs)
    precision = correct / n_refused if n_refused else 1.0
    recall = correct / unanswerable if unanswerable else None
    f1 = None
    if recall is not None:
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    n_answerable = len(pairs) - unanswerable
    return {
        "precision": precision,
        "recall": recall,
        "f1": f1,
        "false_refusal_rate": (n_refused - correct) / n_answerable if n_answerable else None,
        "refused": n_refused,
        "unanswerable": unanswerable,
        "correct_refusals": correct,
    }

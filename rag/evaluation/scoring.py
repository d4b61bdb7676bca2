"""Per-question metrics of one answer, and the summary of a run: what `rag eval` writes.

Ranking metrics read the top RANK_DEPTH passages of the same retrieval the answer used; answer
metrics read the answer and its citations. Which gold field each metric needs is in `score`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from rag.errors import UserError
from rag.evaluation.evaluate import (
    answer_sentences,
    citation_precision,
    citation_valid,
    containment,
    evidence_recall,
    exact_match,
    gold_holders,
    groundedness,
    hit_at_k,
    mrr_at_k,
    ndcg_at_k,
    refusal_scores,
    token_f1,
)
from rag.evaluation.intervals import mean_interval
from rag.evaluation.misses import count_misses
from rag.types import Answer, Citation, Passage, Question

RANK_DEPTH = 10
RETRIEVAL = (
    "source_hit@1",
    "source_hit@5",
    "evidence_recall@1",
    "evidence_recall@5",
    "evidence_recall@10",
    "mrr@10",
    "ndcg@10",
)
ANSWER = (
    "all_facts",
    "containment",
    "token_f1",
    "short_exact_match",
    "short_f1",
    "citation_validity",
    "citation_precision",
    "groundedness",
    "supported_sentences",
)

# the figures that are a mean over questions, as `question_figures` names them
QUESTION_FIGURES = (
    "correct",
    *(f"retrieval.{name}" for name in RETRIEVAL),
    *(f"answer.{name}" for name in ANSWER),
    "refusal.recall",
    "refusal.false_refusal_rate",
)


def score(
    q: Question, answer: Answer, ranking: Sequence[Passage], document_text: Callable[[str], str]
) -> dict[str, float | None]:
    """Every per-question metric; None where the question gives no gold data for it. Source hits need
    `sources`, evidence recall `evidence`, MRR/nDCG either; containment and F1 need `answers` on an
    answerable question (a refusal of it scores 0); citation precision needs evidence or sources."""
    texts = [p.text for p in ranking]
    docs = [p.doc for p in ranking]
    ids, relevant = _judged(q, ranking)
    metrics: dict[str, float | None] = {
        "source_hit@1": hit_at_k(docs, q.sources, 1),
        "source_hit@5": hit_at_k(docs, q.sources, 5),
        **{
            f"evidence_recall@{k}": evidence_recall(texts, q.evidence, k) if q.evidence else None
            for k in (1, 5, 10)
        },
        "mrr@10": mrr_at_k(ids, relevant, RANK_DEPTH),
        "ndcg@10": ndcg_at_k(ids, relevant, RANK_DEPTH),
    }
    sentences = [] if answer.abstained else answer_sentences(answer.answer)
    said = " ".join(text for text, _ in sentences)
    facts = containment(said, q.answers) if q.answerable else None
    passages = {p.chunk_id: p.text for p in answer.passages}
    cited = {c.n: passages.get(c.chunk_id, c.quote) for c in answer.citations}
    metrics.update(
        all_facts=None if facts is None else float(facts == 1.0),
        containment=facts,
        token_f1=token_f1(said, q.answers) if q.answerable else None,
        **_short(q, answer),
        citation_validity=_validity(answer.citations, document_text),
        citation_precision=citation_precision(
            [(c.doc, cited[c.n]) for c in answer.citations], q.evidence, q.sources
        ),
        groundedness=groundedness(sentences, cited),
        supported_sentences=_supported(answer),
    )
    return metrics


def is_correct(q: Question, abstained: bool, metrics: dict[str, float | None]) -> bool:
    """Right: an unanswerable question refused, or an answerable one answered holding every key fact
    (any answer, when no key facts are given)."""
    if not q.answerable:
        return abstained
    return not abstained and metrics["all_facts"] in (None, 1.0)


def _judged(q: Question, ranking: Sequence[Passage]) -> tuple[list[str], set[str]]:
    """Chunk ids in rank order and the relevant ones: passages holding a gold quote (lacking quotes,
    from a gold source), plus a stand-in for each gold item no listed passage holds, so that R, the
    number of relevant items nDCG's ideal ranking uses, counts it too."""
    ids = [p.chunk_id for p in ranking]
    held = gold_holders([(p.chunk_id, p.doc, p.text) for p in ranking], q.evidence, q.sources)
    if held is None:
        return ids, set()
    relevant = set().union(*(chunks for _, chunks in held))
    return ids, relevant | {f"\0missing:{item}" for item, chunks in held if not chunks}


def _short(q: Question, answer: Answer) -> dict[str, float | None]:
    """The short answer's exact match and F1 against the gold answers (a refusal of an answerable
    question scores 0); not measured for an answer given without a reader."""
    if not q.answerable or (answer.short_answer is None and not answer.abstained):
        return {"short_exact_match": None, "short_f1": None}
    short = answer.short_answer.text if answer.short_answer else ""
    return {"short_exact_match": exact_match(short, q.answers), "short_f1": token_f1(short, q.answers)}


def _supported(answer: Answer) -> float | None:
    """Share of the answer's sentences that their cited passages support (rag/generation/support.py checks a
    generated answer; an extractive one quotes its sources, so all); None for a refusal."""
    if answer.abstained:
        return None
    if not answer.sentences:
        return 1.0 if answer.mode == "extractive" else None
    return sum(s.supported for s in answer.sentences) / len(answer.sentences)


def _validity(citations: Sequence[Citation], document_text: Callable[[str], str]) -> float | None:
    def valid(c: Citation) -> bool:
        try:
            source = document_text(c.doc)
        except UserError:  # a citation of a document the index does not hold
            return False
        return citation_valid(c.quote, source, c.start, c.end)

    return sum(map(valid, citations)) / len(citations) if citations else None


def summarize(results: Sequence[dict[str, Any]], settings: dict[str, Any]) -> dict[str, Any]:
    """The run's figures: each metric the mean over the questions that have it (its count in the
    group's "n"; its 95% bootstrap interval in "intervals"), refusal precision/recall/F1, where the
    wrong answers went wrong (`count_misses`), latency percentiles of `ask`, and the settings; in llm
    mode also the generator's fallbacks and its first-token latency."""
    scored = [r for r in results if "error" not in r]
    per_question: dict[str, list[float]] = {name: [] for name in QUESTION_FIGURES}
    for r in scored:
        for name, value in question_figures(r).items():
            per_question[name].append(value)

    def group(name: str, metrics: Sequence[str]) -> dict[str, Any]:
        values = {m: per_question[f"{name}.{m}"] for m in metrics}
        return {**{m: _mean(v) for m, v in values.items()}, "n": {m: len(v) for m, v in values.items()}}

    refusal = refusal_scores([r["abstained"] for r in scored], [r["gold"]["answerable"] for r in scored])
    generation = {}
    if settings.get("mode") == "llm":  # answers that fell back to extractive, and time to first token
        first = [r["timings_ms"]["first_token"] for r in scored if "first_token" in r["timings_ms"]]
        fallbacks = sum(r.get("mode") == "extractive" for r in scored)
        generation = {
            "generation": {"fallbacks": fallbacks, "first_token_ms": _percentiles(first), "n": len(first)}
        }
    return {
        "n": len(results),
        "errors": len(results) - len(scored),
        "correct": _mean(per_question["correct"]),
        "retrieval": group("retrieval", RETRIEVAL),
        "answer": group("answer", ANSWER),
        "refusal": {k: round(v, 4) if isinstance(v, float) else v for k, v in refusal.items()},
        "misses": count_misses(scored),
        "latency_ms": _percentiles([r["timings_ms"]["total"] for r in scored]),
        **generation,
        # each per-question figure's 95% bootstrap interval, by the name `rag eval --compare` uses
        "intervals": {k: _rounded(mean_interval(v)) for k, v in per_question.items()},
        "settings": settings,
    }


def question_figures(result: dict[str, Any]) -> dict[str, float]:
    """One scored question's share in each figure that is a mean over questions, by the summary's
    names ("correct", "retrieval.mrr@10", "answer.all_facts", …; the metrics it has gold for), and in
    "refusal.recall" or "refusal.false_refusal_rate" whether it was refused (as an unanswerable or an
    answerable question): what the intervals and `rag eval --compare` resample."""
    out = {"correct": float(result["correct"])}
    for group, names in (("retrieval", RETRIEVAL), ("answer", ANSWER)):
        for name in names:
            if (value := result["metrics"].get(name)) is not None:
                out[f"{group}.{name}"] = float(value)
    refused = "refusal.false_refusal_rate" if result["gold"]["answerable"] else "refusal.recall"
    out[refused] = float(result["abstained"])
    return out


def _rounded(interval: tuple[float, float] | None) -> list[float] | None:
    return None if interval is None else [round(interval[0], 4), round(interval[1], 4)]


def _mean(values: Sequence[float]) -> float | None:
    return round(sum(values) / len(values), 4) if values else None


def _percentiles(values: Sequence[float]) -> dict[str, float | None]:
    if not values:
        return {"p50": None, "p95": None, "max": None}
    a = np.asarray(values, dtype=np.float64)
    return {
        "p50": round(float(np.percentile(a, 50)), 2),
        "p95": round(float(np.percentile(a, 95)), 2),
        "max": round(float(a.max()), 2),
    }

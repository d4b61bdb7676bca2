"""Where a run's wrong answers went wrong: retrieval, the refusal, or the reading.

An evaluator deciding whether to trust the system, or what to fix, needs more than "0.62 of key
facts": a miss whose evidence was never among the passages read is retrieval's, one refused with the
evidence read is the refusal's, one quoting another passage or the right passage's other sentence is
the reading's. Each wrong result line falls in exactly one place, judged from the line alone (its
passages, citations and gold), so a finished or resumed run can be placed again without the index.
The gold evidence quotes decide which passages hold the evidence; a question with gold sources but
no quotes is judged by its documents instead.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal

from rag.evaluation.evaluate import gold_holders

Miss = Literal[
    "answered_unanswerable",
    "not_retrieved",
    "partly_retrieved",
    "refused_with_evidence",
    "another_passage",
    "same_passage",
    "unplaced",
]
# in the order the tables list them, with the words they use
MISS_LABELS: dict[Miss, str] = {
    "answered_unanswerable": "answered, though not answerable",
    "not_retrieved": "evidence not in the passages read",
    "partly_retrieved": "only part of the evidence read",
    "refused_with_evidence": "refused with the evidence read",
    "another_passage": "answered from another passage",
    "same_passage": "evidence's passage cited, fact not quoted",
    "unplaced": "no gold evidence or source to place it",
}


def miss(result: dict[str, Any]) -> Miss | None:
    """Where this result line went wrong; None when it is right (or failed to run)."""
    if "error" in result or result.get("correct", True):
        return None
    gold = result["gold"]
    if not gold["answerable"]:
        return "answered_unanswerable"
    read = [(p["chunk_id"], p["doc"], p["text"]) for p in result.get("passages", [])]
    held = gold_holders(read, gold.get("evidence") or [], gold.get("sources") or [])
    if held is None:
        return "unplaced"
    holding = set().union(*(chunks for _, chunks in held))  # the passages read holding any of it
    if not all(chunks for _, chunks in held):
        return "partly_retrieved" if holding else "not_retrieved"
    if result["abstained"]:
        return "refused_with_evidence"
    cited = {c["chunk_id"] for c in result.get("citations", [])}
    return "same_passage" if cited & holding else "another_passage"


def count_misses(results: Sequence[dict[str, Any]]) -> dict[str, int]:
    """How many wrong answers fall in each place (every place listed, zeros too), and how many were
    wrong in all ("wrong")."""
    counts: dict[str, int] = dict.fromkeys(MISS_LABELS, 0)
    for r in results:
        if (place := miss(r)) is not None:
            counts[place] += 1
    return {"wrong": sum(counts.values()), **counts}

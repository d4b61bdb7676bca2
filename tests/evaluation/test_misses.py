"""Where a wrong answer went wrong, judged from its result line alone: one place per wrong line, none
for a right one, by gold quotes or (without them) gold documents."""

from __future__ import annotations

from typing import Any

import pytest

from rag.evaluation.misses import MISS_LABELS, count_misses, miss

EVIDENCE = "The campaign is run by Action for Children."
HOLDING = {"chunk_id": "c1", "doc": "a.txt", "text": f"Charities spoke.  {EVIDENCE.upper()} It began in May."}
OTHER = {"chunk_id": "c2", "doc": "b.txt", "text": "Barnardo's and Voice say moving a child is traumatic."}
SECOND = {"chunk_id": "c3", "doc": "a.txt", "text": "The charity asked for early help."}


def line(
    *,
    correct: bool = False,
    answerable: bool = True,
    abstained: bool = False,
    passages: tuple[dict[str, str], ...] = (HOLDING, OTHER),
    cited: tuple[str, ...] = ("c2",),
    evidence: tuple[str, ...] = (EVIDENCE,),
    sources: tuple[str, ...] = ("a.txt",),
) -> dict[str, Any]:
    """A result line as `rag eval` writes it, with the fields the placement reads."""
    return {
        "id": "q",
        "correct": correct,
        "abstained": abstained,
        "passages": list(passages),
        "citations": [] if abstained else [{"n": n, "chunk_id": c} for n, c in enumerate(cited, 1)],
        "gold": {
            "answerable": answerable,
            "evidence": list(evidence),
            "sources": list(sources),
            "answers": [],
        },
    }


@pytest.mark.parametrize(
    ("result", "place"),
    [
        (line(correct=True), None),
        (line(abstained=True, answerable=False, correct=True), None),
        (line(answerable=False, evidence=(), sources=()), "answered_unanswerable"),
        (line(passages=(OTHER, SECOND)), "not_retrieved"),
        (line(abstained=True, passages=(OTHER,)), "not_retrieved"),  # a refusal without the evidence
        (line(evidence=(EVIDENCE, "It asked for early help today."), cited=("c1",)), "partly_retrieved"),
        (line(abstained=True), "refused_with_evidence"),
        (line(cited=("c2",)), "another_passage"),
        (line(cited=("c2", "c1")), "same_passage"),  # a passage holding it cited, the fact not said
        (line(evidence=(), sources=("b.txt",), cited=("c1",)), "another_passage"),  # by documents
        (line(evidence=(), sources=("b.txt",), cited=("c2",)), "same_passage"),
        (line(evidence=(), sources=("c.txt",)), "not_retrieved"),
        (line(evidence=(), sources=()), "unplaced"),
    ],
)
def test_each_wrong_line_has_one_place(result: dict[str, Any], place: str | None) -> None:
    assert miss(result) == place


def test_a_failed_question_is_not_a_miss() -> None:
    assert miss({"id": "q", "question": "?", "error": "the question is empty", "gold": {}}) is None


def test_counts_list_every_place_and_add_up_to_the_wrong_ones() -> None:
    results = [line(), line(abstained=True), line(), line(correct=True), line(answerable=False)]
    counts = count_misses(results)
    assert list(counts) == ["wrong", *MISS_LABELS]
    assert counts["wrong"] == 4 == sum(counts[key] for key in MISS_LABELS)
    assert (counts["another_passage"], counts["refused_with_evidence"], counts["answered_unanswerable"]) == (
        2,
        1,
        1,
    )
    assert counts["not_retrieved"] == 0

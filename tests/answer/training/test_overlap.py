"""Picking the training questions that share few words with their answer sentence."""

from __future__ import annotations

from rag.answer.training.overlap import answer_sentence, low_overlap, overlap
from rag.answer.training.squad import Example

CONTEXT = "The bridge opened in 1932. It was designed by John Bradfield. Its arch spans 503 metres."
STOP = frozenset({"the", "was", "by", "it", "its", "in"})


def example(qid: str, question: str, start: int | None) -> Example:
    return Example(qid, question, CONTEXT, start, "John Bradfield", ("John Bradfield",))


def test_the_answer_sentence_is_the_one_around_the_answer() -> None:
    assert answer_sentence(CONTEXT, CONTEXT.index("John")) == "It was designed by John Bradfield."
    assert answer_sentence(CONTEXT, 0) == "The bridge opened in 1932."
    assert answer_sentence(CONTEXT, CONTEXT.index("503")) == "Its arch spans 503 metres."


def test_overlap_counts_shared_stems_of_content_words() -> None:
    sentence = "It was designed by John Bradfield."
    assert overlap("Who designed it?", sentence, STOP | {"who"}) == 1.0
    assert overlap("Which engineer drew up the plans?", sentence, STOP | {"which"}) == 0.0
    # "design" and "designed" agree in their first five letters; "engineer" is not in the sentence
    assert overlap("Which engineer had the design?", sentence, STOP | {"which", "had"}) == 0.5
    assert overlap("Who was it?", sentence, STOP | {"who"}) == 1.0  # nothing to learn from


def test_low_overlap_keeps_paraphrased_questions_and_their_negatives() -> None:
    at = CONTEXT.index("John")
    pool = [
        example("q1", "Who designed the bridge?", at),  # the sentence's own words
        example("q1#neg3", "Who designed the bridge?", None),
        example("q2", "Which engineer drew up the plans?", at),  # none of them
        example("q2#neg2", "Which engineer drew up the plans?", None),
    ]
    assert [e.id for e in low_overlap(pool, 0.34)] == ["q2", "q2#neg2"]
    assert [e.id for e in low_overlap(pool, 1.0)] == ["q1", "q1#neg3", "q2", "q2#neg2"]

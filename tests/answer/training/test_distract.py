"""Distractor sentences: the most question-like sentence of another paragraph, never one holding the
answer, added to the answer's paragraph with the answer's offset kept true."""

from __future__ import annotations

from rag.answer.training.distract import with_distractors
from rag.answer.training.squad import Article, Example

PARAGRAPHS = (
    "The bridge opened in 1932. It was designed by John Bradfield. Its arch is made of steel.",
    "John Bradfield also designed the bridge's approaches. The tunnel was designed by engineers.",
    "The bridge's lights were designed by a team of sixteen. They were switched on in 1992.",
    "The harbour hosts fireworks. Ferries cross it daily.",
)
QUESTION = "Who designed the bridge?"
ANSWER = "John Bradfield"
DISTRACTOR = "The bridge's lights were designed by a team of sixteen."


def article() -> Article:
    return Article("Bridge", PARAGRAPHS, ((0, "q1", QUESTION, PARAGRAPHS[0].index(ANSWER), (ANSWER,)),))


def positive() -> Example:
    return Example("q1", QUESTION, PARAGRAPHS[0], PARAGRAPHS[0].index(ANSWER), ANSWER, (ANSWER,))


def test_the_distractor_shares_the_question_words_and_holds_no_answer() -> None:
    # the approaches' sentence shares as many of the question's words but names the answer
    (out,) = with_distractors([positive()], [article()], share=1.0, seed=3)
    assert out.context.replace(f"{DISTRACTOR} ", "", 1) == PARAGRAPHS[0]
    assert out.context[out.answer_start : out.answer_start + len(ANSWER)] == ANSWER


def test_the_answer_offset_holds_wherever_the_distractor_goes() -> None:
    places = set()
    for seed in range(12):
        (out,) = with_distractors([positive()], [article()], share=1.0, seed=seed)
        assert out.context[out.answer_start : out.answer_start + len(ANSWER)] == ANSWER
        places.add(out.context.index(DISTRACTOR) < out.answer_start)
    assert places == {True, False}  # before the answer's sentence and after it


def test_negatives_a_zero_share_and_no_like_sentence_leave_examples_alone() -> None:
    negative = Example("q1#neg3", QUESTION, PARAGRAPHS[3], None, "", (ANSWER,))
    assert with_distractors([positive(), negative], [article()], share=0.0, seed=1) == [positive(), negative]
    assert with_distractors([negative], [article()], share=1.0, seed=1) == [negative]
    alone = Article("Bridge", (PARAGRAPHS[0], PARAGRAPHS[3]), article().questions)
    assert with_distractors([positive()], [alone], share=1.0, seed=1) == [positive()]

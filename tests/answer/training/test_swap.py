"""Wrong-name questions: which words count as names, and what a swap may and may not replace."""

from __future__ import annotations

import random

from rag.answer.training.swap import names, swapped

PARAGRAPH = (
    "However, the Aztecs built Tenochtitlan on Lake Texcoco. In 1521 Hernán Cortés took the city for "
    "the Crown of Castile, and he rebuilt it."
)


def test_names_are_capitalised_runs_not_words_capitalised_for_their_place() -> None:
    assert names(PARAGRAPH) == ["Aztecs", "Tenochtitlan", "Lake Texcoco", "Hernán Cortés", "Crown of Castile"]
    # a full stop ends a name (and what follows it opens a sentence); a lone word also seen in lower
    # case is not one
    assert names("He came. He saw the U.S. Army, then Paris, said he.") == ["U.S", "Paris"]


def test_a_swap_puts_another_name_of_the_paragraph_in_place_of_one_of_the_question() -> None:
    question = "Who took Tenochtitlan?"
    seen = {swapped(question, PARAGRAPH, ("Hernán Cortés",), random.Random(s)) for s in range(30)}
    assert seen == {"Who took Aztecs?", "Who took Lake Texcoco?", "Who took Crown of Castile?"}


def test_no_swap_touches_the_answer_or_a_question_without_names() -> None:
    # the only name of the question is its answer's: nothing to swap
    assert swapped("When did Hernán Cortés take it?", PARAGRAPH, ("Hernán Cortés",), random.Random(1)) is None
    assert swapped("who built the city?", PARAGRAPH, ("the Aztecs",), random.Random(1)) is None
    # the paragraph's only other name is part of the answer: nothing to swap in
    assert (
        swapped(
            "Who took Tenochtitlan?", "Hernán Cortés took Tenochtitlan.", ("Hernán Cortés",), random.Random(1)
        )
        is None
    )

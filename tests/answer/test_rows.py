"""A table passage is read row by row: the row the question names gives the answer, not the first."""

from __future__ import annotations

import itertools

import pytest

from rag.answer.reader import Reader
from rag.answer.rows import row_segments

TABLE = (
    "Sheet Budget, columns: Team; Vacancies; Budget.\n\n"
    "Sheet Budget, row 2: Team: North; Vacancies: 3; Budget: 12500.\n\n"
    "Sheet Budget, row 3: Team: Ostrava depot; Vacancies: 11; Budget: 48000."
)


def test_row_lines_are_cut_apart_and_cover_the_passage() -> None:
    segments = row_segments(TABLE)
    assert [TABLE[a:b].split(":")[0] for a, b in segments] == [
        "Sheet Budget, columns",
        "Sheet Budget, row 2",
        "Sheet Budget, row 3",
    ]
    assert segments[0][0] == 0 and segments[-1][1] == len(TABLE)
    assert all(b == c for (_, b), (c, _) in itertools.pairwise(segments))


@pytest.mark.parametrize(
    "text",
    [
        "A prose passage. It mentions row 3: nothing more.",
        "Row 2: city: Kelvarra; mayor: Ines Drummond.",  # one row: read whole, as before
        "",
    ],
)
def test_a_passage_without_two_row_lines_is_read_whole(text: str) -> None:
    assert row_segments(text) == [(0, len(text))]


@pytest.mark.parametrize(
    ("question", "answer"),
    [
        ("What is the budget of the Ostrava depot?", "48000"),
        ("How many vacancies does the Ostrava depot have?", "11"),
        ("What is the budget of the North team?", "12500"),
        ("How many vacancies does the North team have?", "3"),
    ],
)
def test_the_row_the_question_names_gives_the_answer(question: str, answer: str) -> None:
    reading = Reader().read(question, [TABLE])[0]
    assert reading.start is not None and reading.end is not None
    assert TABLE[reading.start : reading.end].rstrip(".") == answer

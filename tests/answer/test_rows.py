"""A table passage is read row by row: the row the question names gives the answer, not the first."""

from __future__ import annotations

import pytest

from rag.answer.reader import Reader
from rag.answer.rows import field_end, row_segments

TABLE = (
    "Sheet Budget, columns: Team; Vacancies; Budget.\n\n"
    "Sheet Budget, row 2: Team: North; Vacancies: 3; Budget: 12500.\n\n"
    "Sheet Budget, row 3: Team: Ostrava depot; Vacancies: 11; Budget: 48000."
)

DOCUMENT = (
    "Vacancies by team\n\nTeam: North; Vacancies: 3.\n\nTeam: South; Vacancies: 7.\n\nInterviews follow."
)


def test_row_lines_are_cut_apart_and_the_rest_kept() -> None:
    segments = row_segments(TABLE)
    assert [TABLE[a:b].split(":")[0] for a, b in segments] == [
        "Sheet Budget, columns",
        "Sheet Budget, row 2",
        "Sheet Budget, row 3",
    ]
    covered = {i for a, b in segments for i in range(a, b)}
    assert all(i in covered for i, ch in enumerate(TABLE) if not ch.isspace())


def test_a_document_tables_rows_are_cut_apart_from_the_prose_around_them() -> None:
    assert [DOCUMENT[a:b].strip() for a, b in row_segments(DOCUMENT)] == [
        "Vacancies by team",
        "Team: North; Vacancies: 3.",
        "Team: South; Vacancies: 7.",
        "Interviews follow.",
    ]


@pytest.mark.parametrize(
    "text",
    [
        "A prose passage. It mentions row 3: nothing more.",
        "Tubo (Chinese: 吐蕃; pinyin: Tǔbō). It first appears in the 7th century.\n"
        "Wusiguo (Chinese: 烏斯國; pinyin: Wūsīguó). A later name.",
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


@pytest.mark.parametrize(("team", "answer"), [("South", "7"), ("North", "3")])
def test_a_document_tables_row_is_found_by_its_key(team: str, answer: str) -> None:
    # Read alone, North's row outscores South's for the South question (13.6 against 12.6): the
    # row is found by the word that sets it apart, then read.
    reading = Reader().read(f"How many vacancies does the {team} team have?", [DOCUMENT])[0]
    assert reading.start is not None and reading.end is not None
    assert DOCUMENT[reading.start : reading.end] == answer


def test_a_span_of_a_row_line_stays_inside_its_field_and_prose_is_left_alone() -> None:
    row = "Team: Ostrava depot; Vacancies: 11; Budget: 48000."
    start = row.index("11")
    assert row[start : field_end(row, start, len(row))] == "11"
    assert field_end(row, start, start + 2) == start + 2  # already one field
    prose = "The depot has 11 vacancies; the budget is 48000."
    assert field_end(prose, 14, len(prose)) == len(prose)

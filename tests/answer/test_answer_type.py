"""The answer-type check: which questions ask for a time or a quantity, and which texts offer one."""

from __future__ import annotations

import pytest

from rag.answer.answer_type import expected_type, offers


@pytest.mark.parametrize(
    ("question", "kind"),
    [
        ("When did the government promise to respond?", "time"),
        ("In which month was the report published?", "time"),
        ("Since what year has she chaired the board?", "time"),
        ("What year did the inquiry end?", "time"),
        ("How many children were removed?", "quantity"),
        ("How much funding did the council receive?", "quantity"),
        ("In what percentage of deaths is a parent the suspect?", "quantity"),
        ("How often is a child killed by a parent?", "quantity"),
        # Only the leading wh-phrase counts: a "when" clause asks for no time.
        ("What did she say when the report came out?", None),
        ("Where was he speaking when he said it?", None),
        ("Who chairs the panel?", None),
        ("Why are homes in the countryside?", None),
    ],
)
def test_expected_type(question: str, kind: str | None) -> None:
    assert expected_type(question) == kind


@pytest.mark.parametrize(
    ("kind", "text", "question", "expected"),
    [
        ("time", "The duty applies from April.", "When does it start?", True),
        ("time", "It was published on 10 May 2011.", "When was it published?", True),
        ("time", "It was published last week.", "When was it published?", True),
        ("time", "The council published its plan.", "When was it published?", False),
        ("quantity", "Budgets fell by a fifth.", "How much did budgets fall?", True),
        ("quantity", "Over 200 children were removed.", "How many were removed?", True),
        ("quantity", "It received £79.9m.", "How much did it receive?", True),
        ("quantity", "Every ten days a child dies.", "How often does a child die?", True),
        ("quantity", "Reviews rose sharply.", "How many reviews were there?", False),
        # A number the question already names is not an answer to it.
        ("quantity", "In 2012 reviews rose sharply.", "How many reviews were there in 2012?", False),
        ("quantity", "In 2012 there were 85 reviews.", "How many reviews were there in 2012?", True),
    ],
)
def test_offers(kind: str, text: str, question: str, expected: bool) -> None:
    assert offers(kind, text, question) is expected  # type: ignore[arg-type]

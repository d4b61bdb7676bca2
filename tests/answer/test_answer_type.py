"""The answer-type check: which questions ask for a time or a quantity, and which texts offer one."""

from __future__ import annotations

import pytest

from rag.answer.answer_type import expected_type, offers, span_offers


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
        # A leading "when" clause is no question: a "when" that asks is followed by its auxiliary.
        ("When trees have a visible difference in colour, what is the inner wood called?", None),
        ("When approached by a person, how do these dogs react?", None),
        ("when was the review published", "time"),
        ("When's the next report due?", "time"),
    ],
)
def test_expected_type(question: str, kind: str | None) -> None:
    assert expected_type(question) == kind


CHECKS = {"sentence": offers, "span": span_offers}  # a composer's sentence, the reader's short answer


@pytest.mark.parametrize(
    ("check", "kind", "text", "question", "expected"),
    [
        ("sentence", "time", "The duty applies from April.", "When does it start?", True),
        ("sentence", "time", "It was published on 10 May 2011.", "When was it published?", True),
        ("sentence", "time", "It was published last week.", "When was it published?", True),
        ("sentence", "time", "The council published its plan.", "When was it published?", False),
        ("sentence", "quantity", "Budgets fell by a fifth.", "How much did budgets fall?", True),
        ("sentence", "quantity", "Over 200 children were removed.", "How many were removed?", True),
        ("sentence", "quantity", "It received £79.9m.", "How much did it receive?", True),
        ("sentence", "quantity", "Every ten days a child dies.", "How often does a child die?", True),
        ("sentence", "quantity", "Reviews rose sharply.", "How many reviews were there?", False),
        # A number the question already names is not an answer to it.
        (
            "sentence",
            "quantity",
            "In 2012 reviews rose sharply.",
            "How many reviews were there in 2012?",
            False,
        ),
        (
            "sentence",
            "quantity",
            "In 2012 there were 85 reviews.",
            "How many reviews were there in 2012?",
            True,
        ),
        ("span", "time", "10 May 2011", "When was it published?", True),
        # an era or a time anchored on an event is a time in a short answer
        ("span", "time", "mid-nineteenth century", "When did they settle?", True),
        ("span", "time", "during the Cultural Revolution", "When were the monasteries destroyed?", True),
        ("span", "time", "Sichuan and Qinghai", "When was Kham incorporated?", False),
        ("span", "time", "every local area", "When will the units be set up?", False),
        # a question asking for a year or a month needs one
        ("span", "time", "later this year", "In which month was the response published?", False),
        ("span", "time", "in April", "In which month was the response published?", True),
        ("span", "time", "1917", "What month did France sue for peace?", False),
        ("span", "time", "in 1917", "What year did France sue for peace?", True),
        ("span", "time", "during the war", "What year did France sue for peace?", False),
        # "how long" is answered by a duration or by the time it lasted until
        ("span", "quantity", "until the Soviet Union's dissolution", "How long did the account stand?", True),
        ("span", "quantity", "over 7500 years", "How long did the culture last?", True),
        ("span", "quantity", "until the war ended", "How many reviews were there?", False),
        ("span", "quantity", "cheaper", "How much do councils pay per week?", False),
        ("span", "quantity", "Multi Agency Child Protection Units", "Which number should I ring?", False),
        # "how often" is answered by a rate, not by any count
        ("span", "quantity", "10 days", "How often is a child killed?", True),
        ("span", "quantity", "twice a year", "How often does the board meet?", True),
        ("span", "quantity", "biennial", "How often is the festival held?", True),
        ("span", "quantity", "rarely", "How often do inspectors call?", True),
        ("span", "quantity", "64,000", "How often is a child killed?", False),
        ("span", "quantity", "A third of the children", "How often is a child killed?", False),
        # "how many" counts something other than money, unless it names the currency
        ("span", "quantity", "£79.9m", "How many days do councils get?", False),
        ("span", "quantity", "45 working days", "How many days do councils get?", True),
        ("span", "quantity", "£60 million", "How many pounds were spent on TVs?", True),
        ("span", "quantity", "$20.23 billion", "How many US dollars were spent?", True),
        ("span", "quantity", "£79.9m", "How much did it receive?", True),
    ],
)
def test_a_text_offers_the_kind_asked(
    check: str, kind: str, text: str, question: str, expected: bool
) -> None:
    assert CHECKS[check](kind, text, question) is expected  # type: ignore[operator]

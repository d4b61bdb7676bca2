"""Requests worded as commands are read as the questions they ask, every question ends in "?", and
nothing else changes."""

from __future__ import annotations

import pytest

from rag.answer.phrasing import as_question, in_plain_words, without_joining_words


@pytest.mark.parametrize(
    ("request_", "question"),
    [
        (
            "Tell me which children Munn fears could lose support.",
            "Which children Munn fears could lose support?",
        ),
        ("Could you please tell me who chairs the LGA?", "Who chairs the LGA?"),
        ("I'd like to know when it opened.", "When it opened?"),
        ("Do you know where the conference was held", "Where the conference was held?"),
        ("Explain why the review was ordered!", "Why the review was ordered?"),
        (
            "List the bodies pushing for a duty to co-operate.",
            "What are the bodies pushing for a duty to co-operate?",
        ),
        ("Give me all the figures for 2012", "What are all the figures for 2012?"),
        ("Hi, quick question: who chaired it?", "who chaired it?"),  # the chat before it
        ("OK, one more question - tell me who chaired it.", "Who chaired it?"),
        ("Thanks. And what about 2013?", "And what about 2013?"),  # "and" marks a follow-up: it stays
        ("who chaired the inquiry", "who chaired the inquiry?"),  # typed without its "?"
        ("When did it open.", "When did it open?"),
    ],
)
def test_a_request_is_read_as_its_question(request_: str, question: str) -> None:
    assert as_question(request_) == question


@pytest.mark.parametrize(
    "text",
    [
        "Who chairs it?",
        "Tell me about Munro.",  # no question inside to read instead (a "?" is all it gains)
        "Listening to the children, what did they find?",
        "Named after whom was the act?",
        "Which list of bodies did they give?",
        "Great Britain is what?",
        "Hiring: who does it?",
    ],
)
def test_questions_and_other_requests_are_left_alone(text: str) -> None:
    assert as_question(text).rstrip("?") == text.rstrip("?.")


@pytest.mark.parametrize(
    ("question", "read"),
    [
        ("So who chaired it?", "Who chaired it?"),
        ("OK so, when did it open?", "When did it open?"),
        ("And in 2013? Munro review", "In 2013? Munro review"),  # a follow-up, resolved already
        ("Well-known figures: who were they?", "Well-known figures: who were they?"),
        ("Sober voters: who?", "Sober voters: who?"),
    ],
)
def test_the_words_joining_a_question_to_the_chat_are_not_read(question: str, read: str) -> None:
    """ "So", "and", "also" mark a follow-up, but no passage holds them: the reader goes without, and
    reads the question from its next word, capitalised as a question opens."""
    assert without_joining_words(question) == read


@pytest.mark.parametrize(
    ("question", "read"),
    [
        ("who is the main threat to kids?", "who is the main threat to children?"),
        ("Kids: who looks after them?", "Children: who looks after them?"),
        ("what uni is she at?", "what university is she at?"),
        ("Did the mums and dads reckon it worked?", "Did the mothers and fathers think it worked?"),
        # a capitalised informal word inside the question is part of a name; longer words are others
        ("Who shot Billy the Kid?", "Who shot Billy the Kid?"),
        ("Is Kidderminster near the university?", "Is Kidderminster near the university?"),
    ],
)
def test_informal_words_are_read_as_written_text_has_them(question: str, read: str) -> None:
    assert in_plain_words(question) == read

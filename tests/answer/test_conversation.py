"""Follow-up questions: which questions lean on the conversation, and what the retrieval query carries
over from the previous turn. Pure functions, no model."""

from __future__ import annotations

import re
from typing import Any

import pytest

from rag.answer.conversation import cited_before, is_follow_up, resolve

FIRST = "What did Meg Munn say about social workers?"
ANSWER = "Meg Munn MP told Westminster Briefing [1] that the Children Act 1989 still matters [2]."
FOLLOW_UP = "What did she say about inspections?"
CONTINUATION = "and in 2013?"
STANDALONE = "Who did Westminster Briefing invite to speak?"
HISTORY = [{"role": "user", "content": FIRST}, {"role": "assistant", "content": ANSWER}]


def carried(question: str, query: str) -> list[str]:
    """The words `resolve` appended to the question."""
    assert query.startswith(question), query
    return query[len(question) :].split()


@pytest.mark.parametrize(
    "question",
    [
        FOLLOW_UP,  # a pronoun
        "What did he recommend?",
        "Did they publish it?",
        "and in 2013?",  # continuations
        "What about Ofsted?",
        "But what did the councils do after the review was published last year?",
        "Why?",  # too short to stand alone
        "Funding figures?",
    ],
)
def test_questions_that_lean_on_the_conversation_are_follow_ups(question: str) -> None:
    assert is_follow_up(question)


@pytest.mark.parametrize(
    "question",
    [
        STANDALONE,
        "How much money did the Children's Workforce Development Council receive for 2011/12?",
        "How many children in local authority care live outside their area?",
    ],
)
def test_a_self_contained_question_is_not_a_follow_up(question: str) -> None:
    assert not is_follow_up(question)


@pytest.mark.parametrize("history", [None, []])
def test_without_history_the_question_is_the_query(history: list[Any] | None) -> None:
    assert resolve(FOLLOW_UP, history) == FOLLOW_UP


def test_a_self_contained_question_is_not_rewritten_even_with_history() -> None:
    """Carrying old terms into a new topic would pull retrieval back to the old one."""
    assert resolve(STANDALONE, HISTORY) == STANDALONE


def test_a_follow_up_carries_the_names_of_the_last_turn() -> None:
    """ "she" is Meg Munn: the names of the previous question and answer complete the query."""
    words = carried(FOLLOW_UP, resolve(FOLLOW_UP, HISTORY))
    assert {"Meg", "Munn", "Westminster", "Briefing", "Children", "Act"} <= set(words)
    asked = {w.lower() for w in re.findall(r"\w+", FOLLOW_UP)}
    assert not asked & {w.lower() for w in words}  # "What", "did", "say", "about" are already there
    assert len(words) == len(set(words))


def test_a_continuation_carries_the_previous_question() -> None:
    """ "and in 2013?" has no topic of its own: it is the last question's topic."""
    words = carried(CONTINUATION, resolve(CONTINUATION, HISTORY))
    assert words[:8] == ["What", "did", "Meg", "Munn", "say", "about", "social", "workers"]
    assert "Westminster" in words  # then the answer's names, while the 12-word budget lasts


def test_citation_markers_in_the_answer_are_not_carried() -> None:
    words = carried(FOLLOW_UP, resolve(FOLLOW_UP, HISTORY))
    assert not any(re.search(r"\d|\[|\]", w) for w in words), words
    plain = [
        {"role": "user", "content": FIRST},
        {"role": "assistant", "content": re.sub(r" \[\d\]", "", ANSWER)},
    ]
    assert resolve(FOLLOW_UP, HISTORY) == resolve(FOLLOW_UP, plain)


def test_only_the_latest_turn_is_carried() -> None:
    """An older topic must not leak into the query once the conversation has moved on."""
    history = [
        {"role": "user", "content": "What did Steve Crocker say about Arthur and Star?"},
        {"role": "assistant", "content": "Steve Crocker called the details harrowing. [1]"},
        *HISTORY,
    ]
    words = carried(FOLLOW_UP, resolve(FOLLOW_UP, history))
    assert "Meg" in words and "Westminster" in words
    assert not {"Steve", "Crocker", "Arthur", "Star"} & set(words)


def test_at_most_twelve_words_are_carried() -> None:
    long_question = "Which " + " ".join(f"topic{i}" for i in range(30)) + " matter most?"
    query = resolve(CONTINUATION, [{"role": "user", "content": long_question}])
    words = carried(CONTINUATION, query)
    assert words == ["Which", *[f"topic{i}" for i in range(11)]]


@pytest.mark.parametrize(
    "history",
    [
        HISTORY,
        [(FIRST, ANSWER)],
        [[FIRST, ANSWER]],
    ],
    ids=["messages", "tuple-pairs", "list-pairs"],
)
def test_history_as_messages_or_pairs_resolves_the_same(history: list[Any]) -> None:
    assert resolve(FOLLOW_UP, history) == resolve(FOLLOW_UP, HISTORY) != FOLLOW_UP


@pytest.mark.parametrize(
    "junk",
    [
        [1, None, 3.5],
        [{"role": "user"}, {"content": None}, {"role": "assistant", "content": 42}],
        ["a bare string", ("one", "two", "three"), b"bytes"],
    ],
    ids=["scalars", "dicts-without-content", "other-shapes"],
)
def test_junk_history_items_are_ignored(junk: list[Any]) -> None:
    assert resolve(FOLLOW_UP, junk) == FOLLOW_UP
    assert resolve(FOLLOW_UP, [*junk, *HISTORY, *junk]) == resolve(FOLLOW_UP, HISTORY)


def test_a_pair_without_an_answer_still_carries_the_question() -> None:
    query = resolve(CONTINUATION, [(FIRST, None)])
    assert set(carried(CONTINUATION, query)) == set(re.findall(r"\w+", FIRST))


def _answered(*docs: str) -> dict[str, Any]:
    return {"role": "assistant", "content": "Quoted. [1]", "citations": [{"n": 1, "doc": d} for d in docs]}


def test_a_pronoun_follow_up_keeps_to_the_documents_cited_last() -> None:
    history = [{"role": "user", "content": "Who is Steve Crocker?"}, _answered("a.txt", "b.txt")]
    assert cited_before("What did he say about schools?", history) == {"a.txt", "b.txt"}


@pytest.mark.parametrize(
    "history",
    [
        None,
        [],
        [("Who is Steve Crocker?", "The ADCS president. [1]")],  # pairs carry no citations
        [{"role": "user", "content": "Who is Steve Crocker?"}, {"role": "assistant", "content": "x"}],
        [_answered()],  # the last answer was a refusal: nothing to keep to
    ],
)
def test_no_cited_documents_means_no_restriction(history: list[Any] | None) -> None:
    assert cited_before("What did he say about schools?", history) == set()


def test_only_a_question_pointing_back_at_someone_keeps_to_the_cited_documents() -> None:
    history = [{"role": "user", "content": "Who is Steve Crocker?"}, _answered("a.txt")]
    assert cited_before("What do councils say about schools?", history) == set()
    assert cited_before("and in 2013?", history) == set()  # a continuation widens, it does not narrow


def test_the_latest_answer_decides() -> None:
    history = [_answered("old.txt"), {"role": "user", "content": "Who is Meg Munn?"}, _answered("new.txt")]
    assert cited_before("What did she say?", history) == {"new.txt"}

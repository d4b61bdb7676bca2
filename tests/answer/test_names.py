"""Names a question asks about that the documents never name, and the spellings that still count."""

from __future__ import annotations

import pytest

from rag.answer.names import (
    anchoring_names,
    best_named,
    holds_name,
    missing_names,
    names_speaker,
    question_names,
    speaker,
    spelled_out,
)

DOCS = [
    "Sir Merrick Cockell, Chairman of the Local Government Association, spoke in Harrogate. "
    "The Local Safeguarding Children Boards met after World War II. Richard Feynman lectured in Liège. "
    "The R101 airship was housed at Cardington.",
    "Ofsted's inspections were criticised by Meg Munn and by Mary O'Brien.",
]


def test_the_names_are_the_capitalised_words_after_the_first() -> None:
    assert question_names("Who did Cockell's deputy meet in Harrogate?") == ["Cockell", "Harrogate"]
    assert question_names("Munro said what? Did Meg Munn-Smith agree?") == ["Meg", "Munn", "Smith"]
    assert question_names("Was the Butler-Sloss inquiry in Cleveland?") == ["Butler", "Sloss", "Cleveland"]
    assert question_names("what did I say about it") == []


@pytest.mark.parametrize(
    "question",
    [
        "What did cockell say in HARROGATE?",  # any case
        "What did Cockell’s speech say?",  # a possessive
        "Where did the LGA chairman speak?",  # the acronym of a name spelt out
        "When did the LSCB meet?",
        "What happened after WWII?",  # a word in capitals counts whole
        "What did Feyman lecture on?",  # misspelt
        "Where is Liege?",  # accents
        "Where was the R101 housed?",  # letters and digits
        "Does Ofsted inspect, says Munn?",
        "What did O’Brien say?",  # a name with an apostrophe, either one
        "Did O'Brien's report help?",
        "How many forms are there?",  # no name at all
    ],
)
def test_names_the_documents_hold_in_a_tolerated_spelling_are_not_missing(question: str) -> None:
    assert missing_names(question, DOCS) == []


def test_names_the_documents_never_hold_are_missing() -> None:
    assert missing_names("Who chairs the Practice Review Panel?", DOCS) == ["Practice", "Review", "Panel"]
    assert missing_names("What did the NSPCC say to Cockell?", DOCS) == ["NSPCC"]
    assert missing_names("What did Kari Feynman say?", ["Karl Feynman spoke."]) == ["Kari"]  # short: exact
    assert missing_names("What did Cockell say?", []) == ["Cockell"]
    assert missing_names("What did O'Hara say?", DOCS) == ["O'Hara"]  # its "O" alone is no name


@pytest.mark.parametrize(
    ("question", "names"),
    [
        # the name describing the answer ("London borough") need not be in the documents
        ("Which London borough does Cockell lead?", ["Cockell"]),
        ("What Conservative politician did the Ofsted inspectors meet?", ["Ofsted"]),
        # nothing else named: the describing name is what the question is about
        ("Which London borough has the most children in care?", ["London"]),
        # after a preposition a name is what the question is about, not the answer's kind
        ("What share of Hondurans have African ancestry?", ["Hondurans", "African"]),
        ("Which charity in Leeds did Munn visit?", ["Leeds", "Munn"]),
        # no auxiliary closes a description: every name counts
        ("Which TV channel aired PAIN's programme?", ["TV", "PAIN"]),
        ("What was Meg Munn's job?", ["Meg", "Munn"]),
    ],
)
def test_the_names_an_answer_must_be_about(question: str, names: list[str]) -> None:
    assert anchoring_names(question) == names


def test_a_name_describing_the_answer_is_not_missing_when_the_question_names_its_subject() -> None:
    assert missing_names("Which London borough does Cockell lead?", DOCS) == []
    assert missing_names("Which London borough has the most children in care?", DOCS) == ["London"]


def test_the_documents_naming_most_of_the_question_are_its_subject() -> None:
    """A document naming none of the question's names is about something else; two that name one
    name each of a two-name question both stay; a question naming nothing reads no text."""
    texts = {"lga": DOCS[0], "ofsted": DOCS[1], "none": "Councils look after children."}
    assert best_named("Where did Cockell speak?", texts, texts.__getitem__) == {"lga"}
    assert best_named("Did Cockell agree with Munn?", texts, texts.__getitem__) == {"lga", "ofsted"}
    assert best_named("Who met Cockell in Harrogate?", ["ofsted", "none"], texts.__getitem__) == {
        "ofsted",
        "none",
    }

    def unread(doc: str) -> str:
        raise AssertionError(f"{doc} was read")

    assert best_named("who spoke first?", ["lga", "ofsted"], unread) == {"lga", "ofsted"}


@pytest.mark.parametrize(
    ("question", "sayer"),
    [
        ("Who did Cockell say should take responsibility?", "Cockell"),
        ("who does Sir Merrick Cockell say people blame?", "Cockell"),
        ("What does the Education Secretary think of it?", "Secretary"),
        ("What's the issue, according to Munn?", "Munn"),
        ("How was it different, per Loughton's account?", "Loughton"),
        # asking about no one's words, or about someone unnamed
        ("Who chairs the Local Government Association?", None),
        ("What did the council say?", None),
    ],
)
def test_the_one_whose_words_a_question_asks_about(question: str, sayer: str | None) -> None:
    assert speaker(question) == sayer


def test_a_span_holds_a_name_when_it_holds_each_of_its_words() -> None:
    assert holds_name("Mary O’Brien, the Secretary's aide", "O'Brien")  # either apostrophe
    assert holds_name("the Education Secretary's view", "Secretary")  # a possessive
    assert holds_name("Liège", "Liege") and not holds_name("Brien", "O'Brien")


@pytest.mark.parametrize(
    ("span", "sayer", "named"),
    [
        ("Cockell", "Cockell", True),
        ("Sir Merrick", "Cockell", True),  # the fuller form the document uses
        ("Merrick", "Cockell", True),
        ("Sir Merrick Cockell, Chairman", "Cockell", True),
        ("the Local Government Association", "Cockell", False),  # what he chairs is not his name
        ("Meg Munn", "Cockell", False),
        ("Harrogate", "Cockell", False),
        ("2011", "Cockell", False),  # a span with no name in it
        ("Meg", "Munn", False),  # Meg Munn is in the other document only
        ("Mary", "O'Brien", False),
    ],
)
def test_a_span_names_the_speaker_by_any_part_of_the_name_the_document_gives(
    span: str, sayer: str, named: bool
) -> None:
    assert names_speaker(span, sayer, DOCS[0]) is named


def test_a_fuller_name_may_hold_an_apostrophe_or_a_hyphen() -> None:
    assert names_speaker("Mary", "O'Brien", DOCS[1])
    assert names_speaker("Jean", "Sartre", "As Jean-Paul Sartre wrote, …")
    assert not names_speaker("Ofsted", "O'Brien", DOCS[1])


@pytest.mark.parametrize(
    ("question", "read_as"),
    [
        ("Who leads the LGA?", "Who leads the LGA (Local Government Association)?"),
        # a plural, a shorter stretch of a longer run, a word in capitals counted whole
        ("Do LSCBs meet?", "Do LSCBs (Local Safeguarding Children Boards) meet?"),
        ("What did the SCB do?", "What did the SCB (Safeguarding Children Boards) do?"),
        ("What happened after WWII?", "What happened after WWII (World War II)?"),
        # two acronyms, each spelt out after its first use
        (
            "Did the LGA or the LSCB act, and did the LGA agree?",
            "Did the LGA (Local Government Association) or the LSCB (Local Safeguarding Children Boards) "
            "act, and did the LGA agree?",
        ),
        # spelt out no way, or not an acronym: as asked
        ("Who chairs the NSPCC?", "Who chairs the NSPCC?"),
        ("What did Meg Munn say?", "What did Meg Munn say?"),
    ],
)
def test_an_acronym_the_documents_only_spell_out_gets_their_spelling(question: str, read_as: str) -> None:
    assert spelled_out(question, DOCS) == read_as


def test_an_acronym_the_documents_write_stays_as_asked() -> None:
    assert spelled_out("Who leads the LGA?", [*DOCS, "The lga met."]) == "Who leads the LGA?"
    assert spelled_out("Who leads the LSCB?", [*DOCS, "Two LSCBs met."]) == "Who leads the LSCB?"
    assert spelled_out("Who leads the LGA?", []) == "Who leads the LGA?"

"""Answers on the real seed index: every citation checks out, noise and out-of-corpus questions are
refused, follow-ups need their history, and the issue's targets hold on the evaluation set."""

from __future__ import annotations

import json
import re

import pytest

from rag.answer.compose import REFUSAL
from rag.answer.names import names_speaker
from rag.answer.reader import DEFAULT_READER
from rag.config import Config
from rag.engine import Engine
from rag.evaluation.evaluate import load_questions
from rag.types import Answer
from tests.conftest import CITATION_KEYS, PASSAGE_KEYS, ROOT, SEEDS, collapse

QUESTIONS = load_questions(ROOT / "eval" / "seed_questions.jsonl")
READER_FLOORS = (0.79, 0.68, 0.06)  # measured by default (reader, composer fallback): 0.829, 0.725, 0.026


@pytest.fixture(scope="module")
def engine(seed_index: Config) -> Engine:
    e = Engine(seed_index)
    e.warm()
    return e


@pytest.fixture(scope="module")
def composer(seed_index: Config) -> Engine:
    e = Engine(seed_index.with_(reader="none"))
    e.warm()
    return e


@pytest.fixture(scope="module")
def answers(engine: Engine) -> dict[str, Answer]:
    return {q["id"]: engine.ask(q["question"]) for q in QUESTIONS}


@pytest.fixture(scope="module")
def composer_answers(composer: Engine) -> dict[str, Answer]:
    return {q["id"]: composer.ask(q["question"]) for q in QUESTIONS}


def assert_citations_valid(answer: Answer) -> None:
    """Every [n] has a citation, every citation is used, and each quote is the source text."""
    markers = {int(n) for n in re.findall(r"\[(\d+)\]", answer.answer)}
    assert markers == {c.n for c in answer.citations}
    for c in answer.citations:
        source = (SEEDS / c.doc).read_text(encoding="utf-8")
        assert collapse(source[c.start : c.end]) == c.quote
        assert c.quote in answer.answer
        assert any(p.chunk_id == c.chunk_id and p.start <= c.start < c.end <= p.end for p in answer.passages)


def test_every_citation_of_every_seed_question_is_valid(answers: dict[str, Answer]) -> None:
    for answer in answers.values():
        if answer.abstained:
            assert answer.answer == REFUSAL and not answer.citations
        else:
            assert answer.citations
            assert_citations_valid(answer)


@pytest.mark.parametrize(
    "question",
    [
        "What are the opening hours of the advice phone line?",
        "Which replica watches are the most popular?",
        "How do I sign up for the newsletter?",
        "What is the capital of Australia?",
        "How does Scotland's children's hearings system work?",
        "How many serious case reviews did councils start in 2019?",
    ],
)
def test_noise_and_out_of_corpus_questions_are_refused(engine: Engine, question: str) -> None:
    answer = engine.ask(question)
    assert answer.abstained and answer.answer == REFUSAL and answer.citations == []
    assert answer.passages  # the closest passages are still offered, as related reading


def test_a_follow_up_finds_its_passage_only_with_history(engine: Engine) -> None:
    """ "he" is Cockell: with the history the inspection passage of his article comes first."""
    first = "What did Sir Merrick Cockell say about child protection?"
    history = [{"role": "user", "content": first}, {"role": "assistant", "content": engine.ask(first).answer}]
    follow_up = "What did he say about inspection?"
    with_history = engine.ask(follow_up, history=history)
    without = engine.ask(follow_up)
    cockell = "000_44c9ebb48a3e38a5.txt"
    assert with_history.passages[0].doc == cockell
    assert without.passages[0].doc != cockell
    assert "Cockell" in with_history.query and without.query == follow_up
    assert not with_history.abstained


@pytest.mark.parametrize("answerer", ["engine", "composer"])
def test_a_follow_up_about_him_quotes_his_document_not_another_on_the_topic(
    answerer: str, request: pytest.FixtureRequest
) -> None:
    """Another article has a sentence closer to "multi-agency working"; "he" is the ADCS president,
    so with the earlier answer's citations in the history every citation comes from his statement.
    (The composer quotes his sentence on it; the reader, picking a span, another of his.) Without
    them, the follow-up still carries his name, which only his statement's article names."""
    engine: Engine = request.getfixturevalue(answerer)
    first = "Who is Steve Crocker?"
    answer = engine.ask(first)
    crocker = "004_e56172278690337e.txt"
    assert {c.doc for c in answer.citations} == {crocker}
    follow_up = "What did he say about multi-agency working?"
    cited = {"role": "assistant", "content": answer.answer, "citations": answer.to_dict()["citations"]}
    kept = engine.ask(follow_up, history=[{"role": "user", "content": first}, cited])
    assert not kept.abstained and {c.doc for c in kept.citations} == {crocker}
    assert answerer == "engine" or "multi-agency" in kept.answer
    uncited = {**cited, "citations": []}
    plain = engine.ask(follow_up, history=[{"role": "user", "content": first}, uncited])
    assert {c.doc for c in plain.citations} == {crocker}


def test_a_two_part_follow_up_keeps_to_the_earlier_answers_documents(engine: Engine) -> None:
    """Each part is retrieved alone too, and like the whole question it keeps to the documents the
    earlier answer cited: "he" is still the ADCS president in the second part."""
    first = "Who is Steve Crocker?"
    answer = engine.ask(first)
    crocker = "004_e56172278690337e.txt"
    cited = {"role": "assistant", "content": answer.answer, "citations": answer.to_dict()["citations"]}
    follow_up = "What did he say about multi-agency working, and what does he say about funding cuts?"
    kept = engine.ask(follow_up, history=[{"role": "user", "content": first}, cited])
    assert not kept.abstained and {p.doc for p in kept.passages} == {crocker}


def test_history_is_an_argument_not_state(engine: Engine) -> None:
    question = "How often is a child killed by a parent in England and Wales?"
    before = engine.ask(question)
    engine.ask("and what about inspections?", history=[("Who is Meg Munn?", "An MP.")])
    assert engine.ask(question).answer == before.answer


@pytest.mark.parametrize(
    ("answerer", "floors"),
    [
        # The default: the reader, the composer where it finds nothing.
        ("answers", READER_FLOORS),
        # The composer: measured key facts 0.842, refusal recall 0.75, false refusals 0.066.
        ("composer_answers", (0.81, 0.72, 0.09)),
    ],
)
def test_targets_on_the_evaluation_set(
    answerer: str, floors: tuple[float, float, float], request: pytest.FixtureRequest
) -> None:
    """Floors a little below the measured figures (key facts, refusal recall on 40 unanswerable
    questions, false refusals at most), so a regression fails here."""
    answers: dict[str, Answer] = request.getfixturevalue(answerer)
    answerable = [q for q in QUESTIONS if q["answerable"]]
    unanswerable = [q for q in QUESTIONS if not q["answerable"]]

    def has_facts(q: dict) -> bool:
        text = collapse(answers[q["id"]].answer).casefold()
        return all(collapse(f).casefold() in text for f in q["answers"])

    key_facts = sum(has_facts(q) for q in answerable) / len(answerable)
    refused = sum(answers[q["id"]].abstained for q in unanswerable) / len(unanswerable)
    false_refusals = sum(answers[q["id"]].abstained for q in answerable) / len(answerable)
    assert key_facts >= floors[0]
    assert refused >= floors[1]
    assert false_refusals <= floors[2]


def test_answer_json_contract(engine: Engine) -> None:
    d = engine.ask("What did Munro recommend about serious case reviews?").to_dict()
    assert {"question", "answer", "abstained", "citations", "passages", "timings_ms"} <= set(d)
    assert set(d["timings_ms"]) == {"retrieve", "rerank", "compose", "total"}
    assert set(d["citations"][0]) == CITATION_KEYS
    assert set(d["passages"][0]) == PASSAGE_KEYS


def test_a_number_the_documents_never_mention_means_refusal(engine: Engine) -> None:
    """The same question is answered for a year the articles cover and refused for one they don't."""
    covered = engine.ask("What did the Children Act 1989 allow social services to do?")
    assert not covered.abstained and "1989" in " ".join(p.text for p in covered.passages)
    assert engine.ask("What did the Children Act 2004 allow social services to do?").abstained


def test_a_number_the_documents_write_otherwise_is_one_they_mention(engine: Engine) -> None:
    """Meg Munn was in child safety "for over twenty years": asked with "20", the question is not
    refused for a number the documents never name, and is answered as the one asked with "twenty" is;
    nor is one writing "64000" for the article's "64,000"."""
    digits = engine.ask("What did Meg Munn do for 20 years before becoming an MP?")
    words = engine.ask("What did Meg Munn do for twenty years before becoming an MP?")
    assert not digits.abstained and digits.short_answer is not None and words.short_answer is not None
    assert "child safety" in digits.short_answer.text and "child safety" in words.short_answer.text
    # "64000" is the article's "64,000"
    unseparated = engine.ask("How many children in care live outside their local area, is it 64000?")
    assert unseparated.short_answer is not None and unseparated.short_answer.text == "64,000"


def test_a_name_the_documents_never_mention_means_refusal(engine: Engine) -> None:
    """The reader is as sure of both questions; only the one naming what the articles never name
    (a Scottish association) is refused. An acronym of a name they spell out is no unknown name."""
    named = engine.ask("Who chairs the Local Government Association?")
    unnamed = engine.ask("Who chairs the Scottish Local Government Association?")
    assert not named.abstained and unnamed.abstained and unnamed.confidence > 0.5
    assert not engine.ask("What did the LGA chairman say about child protection?").abstained


def test_an_acronym_the_articles_only_spell_out_finds_what_they_say_of_it(engine: Engine) -> None:
    """The articles name the Local Government Association and never write "LGA": searched as typed,
    "Who leads the LGA?" finds no passage of the article naming its chairman. What the spelt-out
    name finds is read too, after what the question found, and the question is answered."""
    typed = [p.chunk_id for p in engine.search("Who leads the LGA?").passages]
    answer = engine.ask("Who leads the LGA?")
    assert answer.short_answer is not None and answer.short_answer.text == "Sir Merrick Cockell"
    assert answer.short_answer.chunk_id not in typed
    assert [p.chunk_id for p in answer.passages][: len(typed)] == typed  # the question's own first


def test_a_passage_from_a_document_about_something_else_is_not_quoted(engine: Engine) -> None:
    """The reader is surer of another review's spokesman (in an article that never names the review
    asked about) than of any span in the article naming it: only that article may answer."""
    answer = engine.ask(
        "Who answered for the directors of children's services after the Arthur and Star review came out?"
    )
    assert answer.citations and {p.doc for p in answer.passages} != {c.doc for c in answer.citations}
    for c in answer.citations:
        assert "Arthur and Star" in (SEEDS / c.doc).read_text(encoding="utf-8")


def test_a_request_is_answered_as_the_question_it_asks(engine: Engine) -> None:
    """The reader learnt from questions: "Tell me who…" is read as "Who…?", a question typed
    without its "?" with it, and one opening with "So" without that, so all get one answer, as sure
    of it."""
    question = engine.ask("Who chaired the public inquiry into Cleveland?")
    for typed in (
        "Tell me who chaired the public inquiry into Cleveland.",
        question.question[:-1],
        "So who chaired the public inquiry into Cleveland?",
    ):
        answer = engine.ask(typed)
        assert answer.question == typed  # the user's words are kept
        assert not answer.abstained and answer.short_answer == question.short_answer
        assert answer.confidence == question.confidence


def test_a_quantity_question_is_answered_only_by_a_quantity(seed_index: Config) -> None:
    """The MiniLM reader alone accepts a span that names no amount ("cheaper") for what councils pay a
    week (the shipped pair accepts none); the question is refused, while one whose amount the articles
    give is answered with it."""
    info = json.loads((DEFAULT_READER / "reader.json").read_text(encoding="utf-8"))
    engine = Engine(
        seed_index.with_(reader=str(DEFAULT_READER), reader_threshold=info["calibration"]["threshold"])
    )
    question = "How much do councils pay per week for a place in a private children's home?"
    contexts, readings = engine.read(question, engine.search(question).passages)
    assert engine.span_reader is not None
    accepted = [
        c[r.start : r.end]
        for c, r in zip(contexts, readings, strict=True)
        if r.start is not None and engine.span_reader.calibration.accepts(r, engine.config.reader_threshold)
    ]
    assert accepted and not any(re.search(r"\d|£", span) for span in accepted)
    assert engine.ask(question).abstained
    funded = engine.ask("How much money did the Children's Workforce Development Council get for 2011/12?")
    assert funded.short_answer is not None and "£" in funded.short_answer.text


def test_informal_words_are_read_as_the_articles_write_them(engine: Engine) -> None:
    """ "kids" reads as "children": the same answer, as sure, as the question in the articles' word."""
    informal = engine.ask("What do people wrongly think is the main danger to kids?")
    plain = engine.ask("What do people wrongly think is the main danger to children?")
    assert (informal.abstained, informal.short_answer, informal.confidence) == (
        plain.abstained,
        plain.short_answer,
        plain.confidence,
    )
    assert informal.question.endswith("kids?")  # the user's own words are what the answer shows


def test_the_one_whose_words_are_asked_about_is_not_the_answer(engine: Engine) -> None:
    """The reader is surest of Cockell's own name for whom Cockell says should take responsibility;
    the answer is what he said, not who said it."""
    question = (
        "Who did Cockell say should take responsibility for safeguarding, beyond child protection "
        "professionals and the police?"
    )
    contexts, readings = engine.read(question, engine.search(question).passages)
    spans = [
        (c[r.start : r.end], c, r.margin)
        for c, r in zip(contexts, readings, strict=True)
        if r.start is not None
    ]
    surest = max(spans, key=lambda s: s[2])
    assert names_speaker(surest[0], "Cockell", surest[1])  # "Sir Merrick Cockell", or "Sir Merrick"
    answer = engine.ask(question)
    assert answer.short_answer is None or not names_speaker(answer.short_answer.text, "Cockell", surest[1])

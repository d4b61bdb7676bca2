"""The generative answer flow (Engine.ask_stream, rag/generation/generative.py) on the seed index, against our
own scripted chat-completions server: tokens stream, then a checked answer; a bogus marker is
removed; a stall falls back to the extractive answer with a note; weak evidence never reaches the
generator; the model's refusal is an abstention."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest

from rag.answer.compose import REFUSAL
from rag.config import Config
from rag.engine import Engine
from rag.generation.generative import WEAK_EVIDENCE
from rag.types import Answer
from tests.conftest import collapse
from tests.llm_fixtures import FakeChat

QUESTION = "How often is a child killed by a parent in England and Wales?"
NOISE = "What are the opening hours of the advice phone line?"


@pytest.fixture
def engine(seed_index: Config, fake_chat: FakeChat) -> Iterator[Engine]:
    config = seed_index.with_(
        generator="openai", llm_base_url=fake_chat.url, llm_model="fake", llm_timeout=1.0
    )
    e = Engine(config)
    yield e
    e.close()


def assert_citations_check_out(engine: Engine, answer: Answer) -> None:
    markers = {int(n) for n in re.findall(r"\[(\d+)\]", answer.answer)}
    assert markers == {c.n for c in answer.citations}
    for c in answer.citations:
        assert collapse(engine.reader.document_text(c.doc)[c.start : c.end]) == c.quote
        p = answer.passages[c.n - 1] if answer.mode == "llm" else None
        assert p is None or (p.chunk_id == c.chunk_id and p.start <= c.start < c.end <= p.end)


def test_tokens_stream_then_a_checked_answer(engine: Engine, fake_chat: FakeChat) -> None:
    fake_chat.pieces = ["In England and Wales a child is killed", " by a parent every 10 days [1]."]
    items = list(engine.ask_stream(QUESTION))
    assert items[:2] == fake_chat.pieces and isinstance(items[-1], Answer) and len(items) == 3
    answer = items[-1]
    assert (answer.mode, answer.generator, answer.note, answer.abstained) == ("llm", "fake", "", False)
    assert answer.answer == "In England and Wales a child is killed by a parent every 10 days. [1]"
    assert [s.supported for s in answer.sentences] == [True]
    assert "every 10 days" in answer.citations[0].quote
    assert_citations_check_out(engine, answer)
    assert {"retrieve", "rerank", "compose", "first_token", "generate", "check", "total"} <= set(
        answer.timings_ms
    )
    user = fake_chat.requests[0]["messages"][1]["content"]
    assert answer.passages[0].text[:100] in user and QUESTION in user
    as_json = answer.to_dict()
    assert as_json["mode"] == "llm" and as_json["sentences"][0]["supported"] is True


def test_a_bogus_marker_is_removed_and_flagged(engine: Engine, fake_chat: FakeChat) -> None:
    fake_chat.pieces = [
        "A child is killed every 10 days [1]. ",
        "Ofsted rated every council outstanding [9].",
    ]
    answer = engine.ask(QUESTION, mode="llm")
    assert "[9]" not in answer.answer and "[9]" in answer.note
    assert [(s.citations, s.supported) for s in answer.sentences] == [((1,), True), ((), False)]
    assert_citations_check_out(engine, answer)


def test_a_stalled_generator_falls_back_to_the_extractive_answer(engine: Engine, fake_chat: FakeChat) -> None:
    fake_chat.pieces, fake_chat.stall = ["A child", " is"], 30.0
    extractive = engine.ask(QUESTION)
    items = list(engine.ask_stream(QUESTION))
    assert items[0] == "A child"  # what streamed before the stall
    answer = items[-1]
    assert isinstance(answer, Answer) and answer.mode == "extractive" and answer.generator == ""
    assert "timeout after 1 s" in answer.note and "extractive answer" in answer.note
    assert answer.answer == extractive.answer and answer.citations == extractive.citations
    assert all(s.supported for s in answer.sentences) and answer.timings_ms["generate"] >= 1000
    assert_citations_check_out(engine, answer)


def test_weak_evidence_is_refused_without_asking_the_generator(engine: Engine, fake_chat: FakeChat) -> None:
    answer = engine.ask(NOISE, mode="llm")
    assert answer.abstained and answer.answer == REFUSAL and answer.note == WEAK_EVIDENCE
    assert answer.mode == "llm" and fake_chat.requests == []


def test_the_models_refusal_is_an_abstention(engine: Engine, fake_chat: FakeChat) -> None:
    fake_chat.pieces = ["I couldn't find this ", "in the documents."]
    answer = engine.ask(QUESTION, mode="llm")
    assert answer.abstained and answer.answer == REFUSAL and answer.citations == [] and answer.sentences == ()
    assert answer.passages  # offered as related reading


def test_empty_output_falls_back(engine: Engine, fake_chat: FakeChat) -> None:
    fake_chat.pieces = ["  "]
    answer = engine.ask(QUESTION, mode="llm")
    assert answer.mode == "extractive" and "returned no text" in answer.note and not answer.abstained

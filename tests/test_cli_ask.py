"""`rag ask` and `rag chat` end to end on the seed index: the JSON contract, citations that check out
against the seed files, honest refusals, clean user errors, and a chat that remembers until /new.
Each run loads the model, so runs are shared through module-scoped fixtures."""

from __future__ import annotations

import json
import re
import subprocess
from typing import Any

import pytest

from rag.answer.compose import REFUSAL
from rag.config import Config
from rag.engine import Engine
from tests.conftest import CITATION_KEYS, PASSAGE_KEYS, RAG, ROOT, SEEDS, collapse, run_rag
from tests.test_cli import assert_user_error

QUESTION = "How often is a child killed by a parent in England and Wales?"
NOISE = "What are the opening hours of the advice phone line?"
CONTRACT = {"question", "answer", "abstained", "citations", "passages", "timings_ms"}
OPTIONAL = {"query", "confidence", "mode", "generator", "sentences", "note", "short_answer"}
FIRST = "Who did Westminster Briefing invite to speak?"
FOLLOW_UP = "What did she say about inspections?"


@pytest.fixture(scope="module")
def index_dir(seed_index: Config) -> str:
    return str(seed_index.index_dir)


def ask_json(question: str, index_dir: str) -> dict[str, Any]:
    result = run_rag("ask", question, "--json", "--index-dir", index_dir)
    assert result.returncode == 0, result.stderr
    out: dict[str, Any] = json.loads(result.stdout)
    return out


@pytest.fixture(scope="module")
def answer_json(index_dir: str) -> dict[str, Any]:
    return ask_json(QUESTION, index_dir)


@pytest.fixture(scope="module")
def answer_text(index_dir: str) -> subprocess.CompletedProcess[str]:
    return run_rag("ask", QUESTION, "--index-dir", index_dir)


@pytest.fixture(scope="module")
def noise_json(index_dir: str) -> dict[str, Any]:
    return ask_json(NOISE, index_dir)


@pytest.fixture(scope="module")
def noise_text(index_dir: str) -> subprocess.CompletedProcess[str]:
    return run_rag("ask", NOISE, "--k", "2", "--index-dir", index_dir)


@pytest.fixture(scope="module")
def chat(index_dir: str) -> subprocess.CompletedProcess[str]:
    """A follow-up with history; the first question again, then /new and the follow-up without history
    (were /new ignored, it would resolve against the first question as before); an empty line quits."""
    stdin = f"{FIRST}\n{FOLLOW_UP}\n{FIRST}\n/new\n{FOLLOW_UP}\n\n"
    return subprocess.run(
        [*RAG, "chat", "--index-dir", index_dir],
        input=stdin,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def source(doc: str) -> str:
    return (SEEDS / doc).read_text(encoding="utf-8")


def test_ask_json_has_the_contract_keys(answer_json: dict[str, Any]) -> None:
    assert CONTRACT <= set(answer_json) <= CONTRACT | OPTIONAL
    assert answer_json["question"] == QUESTION
    assert answer_json["abstained"] is False
    assert isinstance(answer_json["answer"], str) and isinstance(answer_json["citations"], list)


def test_ask_json_citations_check_out_against_the_seed_files(answer_json: dict[str, Any]) -> None:
    citations = answer_json["citations"]
    assert citations
    for c in citations:
        assert set(c) == CITATION_KEYS
        assert collapse(source(c["doc"])[c["start"] : c["end"]]) == c["quote"]
        assert f"{c['quote']} [{c['n']}]" in answer_json["answer"]
    markers = [int(n) for n in re.findall(r"\[(\d+)\]", answer_json["answer"])]
    assert markers == [c["n"] for c in citations] == list(range(1, len(citations) + 1))
    passages = {p["chunk_id"]: p for p in answer_json["passages"]}
    for c in citations:  # each quote comes from a passage the answer returns
        p = passages[c["chunk_id"]]
        assert p["doc"] == c["doc"] and p["start"] <= c["start"] < c["end"] <= p["end"]
        # a seed article is plain text: its title is its first kept paragraph; it has no pages
        assert c["title"] == p["title"] and c["title"] in collapse(source(c["doc"]))
        assert c["page"] is None and c["locator"] is None


def test_ask_json_answers_the_question(answer_json: dict[str, Any]) -> None:
    assert "every 10 days" in answer_json["answer"]
    assert answer_json["confidence"] >= Config().refusal_threshold


def test_ask_json_reports_timings(answer_json: dict[str, Any]) -> None:
    timings = answer_json["timings_ms"]
    assert {"retrieve", "rerank", "compose", "total"} <= set(timings)
    assert all(isinstance(v, int | float) and v >= 0 for v in timings.values())
    assert timings["total"] + 0.1 >= timings["retrieve"] + timings["rerank"] + timings["compose"]


def test_ask_json_passages_have_the_search_shape(answer_json: dict[str, Any]) -> None:
    passages = answer_json["passages"]
    assert [p["rank"] for p in passages] == [1, 2, 3, 4, 5]  # default k
    for p in passages:
        assert set(p) == PASSAGE_KEYS
        assert collapse(source(p["doc"])[p["start"] : p["end"]]) == p["text"]
        assert p["score"] == p["scores"]["rerank"]
    scores = [p["score"] for p in passages]
    assert scores == sorted(scores, reverse=True)


def test_ask_prints_the_answer_then_its_sources(
    answer_text: subprocess.CompletedProcess[str], answer_json: dict[str, Any]
) -> None:
    assert answer_text.returncode == 0, answer_text.stderr
    lines = answer_text.stdout.splitlines()
    assert lines[:2] == [f"Answer: {answer_json['short_answer']['text']}", ""]  # the asked fact first
    assert lines[2] == answer_json["answer"] and lines[3] == ""
    sources = lines[4:]
    assert len(sources) == len(answer_json["citations"])
    for line, c in zip(sources, answer_json["citations"], strict=True):  # title, then the document id
        assert line.startswith(f'[{c["n"]}] {c["title"]} ({c["doc"]}): "{c["quote"][:100]}'), line
        assert line.endswith('"')
    assert "(002_325d7f82ffdefe65.txt): " in sources[0]


def test_a_noise_question_is_refused(noise_json: dict[str, Any]) -> None:
    assert noise_json["abstained"] is True
    assert noise_json["answer"] == REFUSAL == "I couldn't find this in the documents."
    assert noise_json["citations"] == []
    assert noise_json["confidence"] < Config().active_threshold
    assert noise_json["passages"]  # still offered, as related reading


def test_a_refusal_lists_related_passages(noise_text: subprocess.CompletedProcess[str]) -> None:
    assert noise_text.returncode == 0, noise_text.stderr
    lines = noise_text.stdout.splitlines()
    assert lines[0] == REFUSAL
    assert lines[2].startswith("Related passages")
    related = lines[3:]
    assert len(related) == 2  # --k 2
    seed_names = {p.name for p in SEEDS.iterdir()}
    for line in related:
        m = re.match(r"  - .+ \((\S+)\): \S", line)  # title, then the document id
        assert m and m[1] in seed_names, line
    assert not re.search(r"^\[\d+\] ", noise_text.stdout, re.M)  # no sources: nothing is cited


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["ask", ""], ["question is empty"]),
        (["ask", "  \n\t "], ["question is empty"]),
    ],
    ids=["ask-empty", "ask-blank"],
)
def test_user_mistakes_exit_2_with_one_line(index_dir: str, args: list[str], words: list[str]) -> None:
    assert_user_error(run_rag(*args, "--index-dir", index_dir), *words)


def answer_blocks(stdout: str) -> list[list[str]]:
    """The lines printed after each "> " prompt that got an answer (not /new, not the final empty line),
    from the cited sentences on: the short answer's line and the blank after it are left out."""
    blocks = [block.strip("\n").splitlines() for block in stdout.split("\n> ")[1:]]
    return [b[2:] if b[0].startswith("Answer: ") else b for b in blocks if b]


def test_chat_answers_each_question_with_sources(chat: subprocess.CompletedProcess[str]) -> None:
    assert chat.returncode == 0, chat.stderr
    assert "Traceback" not in chat.stderr and "error" not in chat.stderr
    blocks = answer_blocks(chat.stdout)
    assert len(blocks) == 4, chat.stdout
    for block in blocks:
        markers = [int(n) for n in re.findall(r"\[(\d+)\]", block[0])]
        assert markers and markers == list(range(1, len(markers) + 1)), block[0]
        sources = [re.match(r"\[(\d+)\] .+ \(\S+\.txt\): \"", line) for line in block[1:] if line]
        assert [int(m[1]) if m else None for m in sources] == markers, block
    assert "Westminster Briefing invited Meg" in blocks[0][0]
    assert "inspect" in blocks[1][0].lower()
    assert blocks[2] == blocks[0]  # a self-contained question does not depend on the history
    assert "inspect" in blocks[3][0].lower()


@pytest.fixture(scope="module")
def engine(seed_index: Config) -> Engine:
    e = Engine(seed_index)
    e.warm()
    return e


def test_chat_follow_ups_use_the_history_until_new(
    chat: subprocess.CompletedProcess[str], engine: Engine
) -> None:
    """The chat answers as Engine.ask does with the conversation so far; /new empties it."""
    first, with_history, _, after_new = (block[0] for block in answer_blocks(chat.stdout))
    answered = engine.ask(FIRST)
    assert first == answered.answer
    history = [
        {"role": "user", "content": FIRST},
        {"role": "assistant", "content": first, "citations": answered.to_dict()["citations"]},
    ]
    expected_with = engine.ask(FOLLOW_UP, history=history).answer
    expected_without = engine.ask(FOLLOW_UP).answer
    assert expected_with != expected_without, "history no longer changes this answer: pick another follow-up"
    assert with_history == expected_with
    assert after_new == expected_without

"""The `/ask` endpoint of a real `rag serve`, through gradio_client: the `rag ask --json` contract,
refusals, user mistakes, and concurrent clients that each keep their own conversation."""

from __future__ import annotations

import os
import signal
import threading
from typing import Any

import pytest
from gradio_client import Client

from rag.config import Config
from rag.engine import Engine
from tests.llm_fixtures import llm_children
from tests.ui_fixtures import Server

SEED_QUESTION = "Who chaired the inquiry into the Cleveland child abuse cases?"
OUT_OF_CORPUS = "What are the phone line's opening hours?"
FOLLOW_UP = "What else did he say about children?"
COCKELL = "Which council was Sir Merrick Cockell the leader of?"
LOUGHTON = "What did Tim Loughton say about the Munro review?"


def client(server: Server) -> Client:
    return Client(server.url, verbose=False)


def without_timings(answer: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in answer.items() if k != "timings_ms"}


def test_ask_returns_the_cli_json_with_valid_citations(ui_server: Server, seed_index: Config) -> None:
    got = client(ui_server).predict(SEED_QUESTION, api_name="/ask")
    engine = Engine(seed_index)
    try:
        expected = engine.ask(SEED_QUESTION).to_dict()  # what `rag ask --json` prints
        assert set(got) == set(expected) and set(got["timings_ms"]) == set(expected["timings_ms"])
        for key in ("question", "answer", "abstained", "citations", "query"):
            assert got[key] == expected[key]
        assert [p["chunk_id"] for p in got["passages"]] == [p["chunk_id"] for p in expected["passages"]]
        assert not got["abstained"] and "Butler-Slosh" in got["answer"] and "[1]" in got["answer"]
        for c in got["citations"]:
            source = engine.reader.document_text(c["doc"])
            assert " ".join(source[c["start"] : c["end"]].split()) == c["quote"]
    finally:
        engine.close()


def test_ask_in_llm_mode_checks_every_sentence(ui_server: Server, seed_index: Config) -> None:
    """The served default generator (SmolLM2, in the server process): citations still verbatim at
    their offsets, each sentence judged."""
    got = client(ui_server).predict(SEED_QUESTION, None, "llm", api_name="/ask")
    assert (got["mode"], got["generator"]) == ("llm", "SmolLM2-135M-Instruct.Q4_1"), got["note"]
    assert "first_token" in got["timings_ms"]
    assert all(isinstance(s["supported"], bool) for s in got["sentences"])
    assert got["abstained"] or got["sentences"]
    engine = Engine(seed_index)
    try:
        for c in got["citations"]:
            source = engine.reader.document_text(c["doc"])
            assert " ".join(source[c["start"] : c["end"]].split()) == c["quote"]
    finally:
        engine.close()


def test_a_crashed_local_model_does_not_take_the_server_down(ui_server: Server) -> None:
    """The local model runs in a child of `rag serve`: its crash is that child's, the server answers
    the next question in generative mode from a new child, and in extractive mode as ever."""
    first = client(ui_server).predict(SEED_QUESTION, None, "llm", api_name="/ask")
    assert first["mode"] == "llm", first["note"]
    (child,) = llm_children(ui_server.pid)
    os.kill(child, signal.SIGSEGV)
    again = client(ui_server).predict(SEED_QUESTION, None, "llm", api_name="/ask")
    assert again["mode"] == "llm" and again["generator"] == "SmolLM2-135M-Instruct.Q4_1", again["note"]
    assert llm_children(ui_server.pid) not in ([], [child])
    assert not client(ui_server).predict(SEED_QUESTION, api_name="/ask")["abstained"]


def test_ask_refuses_out_of_corpus_questions(ui_server: Server) -> None:
    got = client(ui_server).predict(OUT_OF_CORPUS, None, api_name="/ask")
    assert got["abstained"] and got["citations"] == []
    assert got["answer"] == "I couldn't find this in the documents."
    assert got["passages"]  # offered as related reading


def test_ask_reports_user_mistakes_as_one_line(ui_server: Server) -> None:
    with pytest.raises(Exception, match="the question is empty"):
        client(ui_server).predict("   ", api_name="/ask")
    with pytest.raises(Exception, match="the question must be text, not int"):
        client(ui_server).predict(5, api_name="/ask")
    with pytest.raises(Exception, match="mode must be text, not dict"):
        client(ui_server).predict("Who?", None, {"x": 1}, api_name="/ask")


def history(first: str, answer: dict[str, Any]) -> list[dict[str, Any]]:
    """The conversation after one question, as the chat keeps it (the answer with its citations)."""
    return [
        {"role": "user", "content": first},
        {"role": "assistant", "content": answer["answer"], "citations": answer["citations"]},
    ]


def test_concurrent_clients_keep_their_own_histories(ui_server: Server) -> None:
    """The same follow-up, asked at once by two clients with different conversations, gets each
    client the answer its own conversation gives when asked alone."""
    firsts = [COCKELL, LOUGHTON]
    clients = [client(ui_server), client(ui_server)]
    histories = [history(q, c.predict(q, api_name="/ask")) for q, c in zip(firsts, clients, strict=True)]
    alone = [c.predict(FOLLOW_UP, h, api_name="/ask") for c, h in zip(clients, histories, strict=True)]
    assert alone[0]["answer"] != alone[1]["answer"]  # the histories matter

    rounds = 4
    results: list[list[dict[str, Any]]] = [[], []]
    start = threading.Barrier(2)

    def ask_repeatedly(i: int) -> None:
        start.wait()
        for _ in range(rounds):
            results[i].append(clients[i].predict(FOLLOW_UP, histories[i], api_name="/ask"))

    threads = [threading.Thread(target=ask_repeatedly, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    for i in range(2):
        assert len(results[i]) == rounds
        assert all(without_timings(r) == without_timings(alone[i]) for r in results[i])

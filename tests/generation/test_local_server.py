"""The local model out of process (rag/generation/local_server.py, rag/generation/llm_child.py): the real
SmolLM2 answers through a supervised llama_cpp.server child; a crash or a hang of the child fails one
answer with a note, the next question gets a new child; a model that cannot load is a note, not a crash;
the child never outlives its parent, even after kill -9."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

import pytest

from rag.config import Config
from rag.engine import Engine
from rag.errors import GenerationError
from rag.generation.generate import LocalGenerator
from rag.types import Answer
from tests.conftest import RAG, ROOT
from tests.llm_fixtures import llm_children, smollm2_path
from tests.ui_fixtures import OFFLINE_ENV, free_port, stop, wait_until_up

CLEVELAND = "Who chaired the inquiry into the Cleveland child abuse cases?"
HELLO = [{"role": "user", "content": "Tell me a long story about a dragon and a castle."}]


def test_the_local_model_answers_from_a_child_of_ours() -> None:
    generator = LocalGenerator(smollm2_path(), max_tokens=16)
    assert generator.name == "SmolLM2-135M-Instruct.Q4_1"
    pieces = list(generator.stream(HELLO))
    assert len(pieces) >= 2 and "".join(pieces).strip()
    assert generator.server.pid in llm_children(os.getpid())


def test_a_crash_mid_answer_fails_that_answer_only() -> None:
    generator = LocalGenerator(smollm2_path(), max_tokens=200)
    stream = generator.stream(HELLO)
    next(stream)  # the child is generating
    starts = generator.server.starts
    crashed = generator.server.pid
    assert crashed is not None
    os.kill(crashed, signal.SIGSEGV)  # what the AMX build of llama.cpp did
    with pytest.raises(GenerationError, match=r"crashed \(SIGSEGV\); it restarts on the next question"):
        list(stream)
    pieces = list(LocalGenerator(smollm2_path(), max_tokens=8).stream(HELLO))
    assert "".join(pieces).strip()
    assert generator.server.starts == starts + 1 and generator.server.pid not in (None, crashed)


def test_a_hung_child_is_a_timeout_and_is_replaced() -> None:
    generator = LocalGenerator(smollm2_path(), timeout=5, max_tokens=200)
    stream = generator.stream(HELLO)
    next(stream)
    hung = generator.server.pid
    assert hung is not None
    os.kill(hung, signal.SIGSTOP)  # alive but silent, as a deadlock in native code would be
    with pytest.raises(GenerationError, match="timeout after 5 s; the local model was stopped"):
        list(stream)
    assert not Path(f"/proc/{hung}").exists() or "Z" in Path(f"/proc/{hung}/stat").read_text().split()[2]
    patient = LocalGenerator(smollm2_path(), max_tokens=8)  # the same supervised child
    assert "".join(patient.stream(HELLO)).strip() and generator.server.pid not in (None, hung)


def test_a_model_that_cannot_load_is_a_note_not_a_crash(seed_index: Config, tmp_path: Path) -> None:
    broken = tmp_path / "broken.gguf"
    broken.write_bytes(b"GGUF" + os.urandom(4096))
    engine = Engine(seed_index.with_(llm_model_path=str(broken)))
    try:
        items = list(engine.ask_stream(CLEVELAND))
    finally:
        engine.close()
    answer = items[-1]
    assert isinstance(answer, Answer) and answer.mode == "extractive" and answer.answer
    assert "the local model's server exited with status" in answer.note
    assert "at start" in answer.note and "showing the extractive answer" in answer.note


def test_engine_falls_back_with_a_note_when_the_child_dies_mid_answer(seed_index: Config) -> None:
    engine = Engine(seed_index.with_(llm_max_tokens=200))
    try:
        stream = engine.ask_stream(CLEVELAND)
        first = next(stream)
        assert isinstance(first, str)
        generator = engine.generator()
        assert isinstance(generator, LocalGenerator) and generator.server.pid
        os.kill(generator.server.pid, signal.SIGKILL)
        answer = list(stream)[-1]
        assert isinstance(answer, Answer) and answer.mode == "extractive"
        assert "crashed (SIGKILL)" in answer.note and answer.answer
        again = engine.ask("Which council was Sir Merrick Cockell the leader of?", mode="llm")
        assert again.mode == "llm" and not again.note, again.note
    finally:
        engine.close()


@pytest.mark.slow
def test_no_child_outlives_a_killed_serve(seed_index: Config, tmp_path: Path) -> None:
    from gradio_client import Client

    port = free_port()
    log = tmp_path / "serve.log"
    settings = tmp_path / "settings.toml"
    settings.write_text("llm_max_tokens = 8\n", encoding="utf-8")
    env = {**os.environ, **OFFLINE_ENV, "GRADIO_TEMP_DIR": str(tmp_path / "gradio")}
    command = [*RAG, "serve", "--port", str(port), "--index-dir", str(seed_index.index_dir)]
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [*command, "--config", str(settings)], cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT
        )
    try:
        url = f"http://127.0.0.1:{port}/"
        wait_until_up(url + "gradio_api/info", proc, log, "rag serve")
        got = Client(url, verbose=False).predict(CLEVELAND, None, "llm", api_name="/ask")
        assert got["mode"] == "llm", got["note"]
        children = llm_children(proc.pid)
        assert len(children) == 1
        proc.kill()
        proc.wait()
        deadline = time.monotonic() + 10
        while Path(f"/proc/{children[0]}").exists() and time.monotonic() < deadline:
            time.sleep(0.1)  # polling: the child notices its parent is gone within half a second
        assert not Path(f"/proc/{children[0]}").exists(), "the model's process outlived rag serve"
    finally:
        if proc.poll() is None:
            stop(proc)

"""Generators (rag/generation/generate.py): real tokens from llama-cpp-python's OpenAI-compatible server;
failures (a stall, an HTTP error, no server, a malformed stream) become GenerationError; settings from
config and environment. The local generator's supervised child is tested in test_local_server.py."""

from __future__ import annotations

import time

import pytest

from rag.config import Config
from rag.errors import UserError
from rag.generation.generate import (
    GenerationError,
    LocalGenerator,
    OpenAIGenerator,
    _sse_deltas,
    make_generator,
)
from tests.llm_fixtures import FakeChat, smollm2_path
from tests.ui_fixtures import free_port

HELLO = [{"role": "user", "content": "Say hello in three words."}]
ENV = ("CITERAG_LLM_BASE_URL", "CITERAG_LLM_MODEL", "CITERAG_LLM_API_KEY", "OPENAI_API_KEY")


def test_openai_generator_streams_real_tokens(llm_server: str) -> None:
    generator = OpenAIGenerator(llm_server, max_tokens=16)
    pieces = list(generator.stream(HELLO))
    assert len(pieces) >= 2 and "".join(pieces).strip()
    assert generator.name  # no model named: the one the server lists


def test_the_request_is_a_streamed_chat_completion(
    fake_chat: FakeChat, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake_chat.pieces = ["Hel", "lo", " there."]
    generator = OpenAIGenerator(fake_chat.url, api_key="sk-test", max_tokens=7, temperature=0.0)
    assert list(generator.stream(HELLO)) == ["Hel", "lo", " there."]
    body = fake_chat.requests[0]
    assert body["stream"] is True and body["max_tokens"] == 7 and body["messages"] == HELLO
    assert body["model"] == "fake-model" == generator.name
    assert fake_chat.headers[0]["Authorization"] == "Bearer sk-test"


def test_a_stalled_server_is_a_timeout(fake_chat: FakeChat) -> None:
    fake_chat.pieces, fake_chat.stall = ["Partial", " answer"], 30.0
    started = time.monotonic()
    with pytest.raises(GenerationError, match=r"timeout after 0\.5 s"):
        list(OpenAIGenerator(fake_chat.url, model="m", timeout=0.5).stream(HELLO))
    assert time.monotonic() - started < 5


def test_an_http_error_is_a_generation_error(fake_chat: FakeChat) -> None:
    fake_chat.status = 500
    with pytest.raises(GenerationError, match=r"HTTP 500.*scripted failure"):
        list(OpenAIGenerator(fake_chat.url, model="m").stream(HELLO))


def test_no_server_is_a_generation_error() -> None:
    with pytest.raises(GenerationError, match="cannot reach"):
        list(OpenAIGenerator(f"http://127.0.0.1:{free_port()}/v1", model="m", timeout=2).stream(HELLO))


def test_a_malformed_stream_is_a_generation_error() -> None:
    assert list(_sse_deltas(iter([": comment", "", 'data: {"choices": [{"delta": {"content": "x"}}]}']))) == [
        "x"
    ]
    with pytest.raises(GenerationError, match="malformed"):
        list(_sse_deltas(iter(["data: {not json"])))
    with pytest.raises(GenerationError, match="reported an error"):
        list(_sse_deltas(iter(['data: {"error": {"message": "overloaded"}}'])))


def test_settings_come_from_config_then_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ENV:
        monkeypatch.delenv(name, raising=False)
    with pytest.raises(UserError, match="needs llm_base_url"):
        make_generator(Config(generator="openai"))
    monkeypatch.setenv("CITERAG_LLM_BASE_URL", "http://127.0.0.1:1/v1/")
    monkeypatch.setenv("CITERAG_LLM_MODEL", "env-model")
    monkeypatch.setenv("OPENAI_API_KEY", "sk-env")
    generator = make_generator(Config(generator="openai"))
    assert isinstance(generator, OpenAIGenerator)
    assert (generator.base_url, generator.name) == ("http://127.0.0.1:1/v1", "env-model")
    assert generator._headers == {"Authorization": "Bearer sk-env"}
    chosen = make_generator(Config(generator="openai", llm_base_url="http://h:2/v1", llm_model="cfg"))
    assert isinstance(chosen, OpenAIGenerator) and (chosen.base_url, chosen.name) == ("http://h:2/v1", "cfg")
    local = make_generator(Config())
    assert isinstance(local, LocalGenerator) and local.path == smollm2_path()
    with pytest.raises(UserError, match="GGUF model not found"):
        make_generator(Config(llm_model_path="/no/such/model.gguf"))


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"generator": "gpt"}, "generator must be one of local, openai"),
        ({"llm_timeout": 0}, "llm_timeout"),
        ({"llm_max_tokens": 0}, "llm_max_tokens"),
        ({"llm_temperature": 3}, "llm_temperature"),
        ({"llm_threads": -1}, "llm_threads"),
        ({"llm_base_url": "127.0.0.1:8080"}, "llm_base_url must start with http"),
    ],
)
def test_bad_generator_settings_are_refused(changes: dict[str, object], message: str) -> None:
    with pytest.raises(UserError, match=message):
        Config(**changes)  # type: ignore[arg-type]


def test_without_llama_cpp_generative_mode_is_one_line_and_extractive_works(
    monkeypatch: pytest.MonkeyPatch, seed_index: Config
) -> None:
    """A machine where the llm extra did not build: `import llama_cpp` fails there, as it does here
    with the module blocked."""
    import sys

    from rag.engine import Engine

    monkeypatch.setitem(sys.modules, "llama_cpp", None)
    with pytest.raises(UserError, match="generative mode is unavailable: llama-cpp-python is not installed"):
        make_generator(Config())
    engine = Engine(seed_index)
    try:
        assert not engine.ask("Who chaired the inquiry into the Cleveland child abuse cases?").abstained
    finally:
        engine.close()

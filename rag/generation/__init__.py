"""Generative answers: a generator (`make_generator`: a local GGUF model in a child process, or an
OpenAI-compatible server) writes from the passages (`build_messages`), and `generate_answer` streams
its text and keeps only the sentences the cited passages support (`check`).

The entry points load on first use: `python -m rag.generation.llm_child` imports this package
before it runs, and the local model's child needs none of them (numpy and the rest would add about
a second to every start of the child)."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from rag.generation.generate import Generator, LocalGenerator, OpenAIGenerator, make_generator
    from rag.generation.generative import WEAK_EVIDENCE, generate_answer
    from rag.generation.prompt import build_messages
    from rag.generation.support import check

_HOMES = {
    "Generator": "generate",
    "LocalGenerator": "generate",
    "OpenAIGenerator": "generate",
    "make_generator": "generate",
    "WEAK_EVIDENCE": "generative",
    "generate_answer": "generative",
    "build_messages": "prompt",
    "check": "support",
}

__all__ = [
    "WEAK_EVIDENCE",
    "Generator",
    "LocalGenerator",
    "OpenAIGenerator",
    "build_messages",
    "check",
    "generate_answer",
    "make_generator",
]


def __getattr__(name: str) -> Any:
    if name not in _HOMES:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{_HOMES[name]}"), name)

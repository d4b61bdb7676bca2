"""Generative answers: a generator (`make_generator`: a local GGUF model in a child process, or an
OpenAI-compatible server) writes from the passages (`build_messages`), and `generate_answer` streams
its text and keeps only the sentences the cited passages support (`check`)."""

from rag.generation.generate import Generator, LocalGenerator, OpenAIGenerator, make_generator
from rag.generation.generative import WEAK_EVIDENCE, generate_answer
from rag.generation.prompt import build_messages
from rag.generation.support import check

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

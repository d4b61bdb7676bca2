"""The generative answer: the generator writes from the retrieved passages, its text streams out, and
the result is checked (rag/generation/support.py) before it becomes an Answer.

It starts from the extractive draft of the same question, which settles retrieval and the refusal
on weak evidence, and is the honest answer to fall back on: when the draft refuses, the generator
is not asked; when the generator fails or stalls, the draft is returned (mode "extractive") with a
note saying why. Timings: `first_token` is measured from the question's arrival, `generate` from
the request to the last token, `check` is the support check.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import replace
from typing import Any

import numpy as np

from rag.answer import Draft, earlier_question
from rag.generation.generate import GenerationError, Generator
from rag.generation.prompt import build_messages
from rag.generation.support import check
from rag.types import Answer

WEAK_EVIDENCE = "the documents hold too little evidence for an answer, so the generator was not asked"


def _ms(seconds: float) -> float:
    return round(seconds * 1000, 2)


def generate_answer(
    draft: Draft,
    generator: Generator,
    encode: Callable[[list[str]], np.ndarray],
    budget: int,
    history: Sequence[Any] | None = None,
) -> Iterator[str | Answer]:
    """The generator's text in pieces, then the checked Answer (or the draft, with a note)."""
    extractive = draft.answer
    if extractive.abstained:
        yield replace(extractive, mode="llm", generator=generator.name, note=WEAK_EVIDENCE)
        return
    earlier = earlier_question(history) if extractive.query != extractive.question else ""
    messages = build_messages(extractive.question, extractive.passages, budget, earlier)
    asked = time.perf_counter()
    first: float | None = None
    pieces: list[str] = []
    try:
        for piece in generator.stream(messages):
            if first is None:
                first = time.perf_counter()
            pieces.append(piece)
            yield piece
        if not "".join(pieces).strip():
            raise GenerationError("it returned no text")
    except GenerationError as exc:
        failed = time.perf_counter()
        timings = {
            **extractive.timings_ms,
            "generate": _ms(failed - asked),
            "total": _ms(failed - draft.started),
        }
        if first is not None:
            timings["first_token"] = _ms(first - draft.started)
        name = f"the generator {generator.name}" if generator.name else "the generator"
        yield replace(
            extractive, timings_ms=timings, note=f"{name} failed ({exc}); showing the extractive answer"
        )
        return
    generated = time.perf_counter()
    checked = check("".join(pieces), extractive.passages, draft.candidates, encode)
    done = time.perf_counter()
    timings = {
        **extractive.timings_ms,
        "first_token": _ms((first or generated) - draft.started),
        "generate": _ms(generated - asked),
        "check": _ms(done - generated),
        "total": _ms(done - draft.started),
    }
    note = ""
    if checked.dropped:
        markers = ", ".join(f"[{n}]" for n in checked.dropped)
        note = f"removed citation markers that name no given passage: {markers}"
    yield Answer(
        extractive.question,
        checked.answer,
        checked.abstained,
        checked.citations,
        extractive.passages,
        timings,
        extractive.query,
        extractive.confidence,
        mode="llm",
        generator=generator.name,
        sentences=checked.sentences,
        note=note,
    )

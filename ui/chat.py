"""What the chat tab does: stream an answer into the chat, show a source in its document, the
`/ask` endpoint. Each browser session keeps its own chat and history (gradio State), the engine
is shared."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from functools import lru_cache
from pathlib import Path
from typing import Any

import gradio as gr

from rag.engine import clean_question
from rag.errors import UserError
from rag.ingest import VIEW_KINDS, PageView, page_view
from rag.library import Library
from rag.types import Answer
from ui.notify import warn
from ui.render import (
    Span,
    answer_html,
    document_html,
    generating_html,
    score_rows,
    sentences,
    spans,
    text,
)

EXTRACTIVE = "extractive"
GENERATIVE = "generative"
_MODES = {EXTRACTIVE: "extractive", GENERATIVE: "llm"}  # the radio's choices as engine modes

Message = dict[str, Any]


@lru_cache(maxsize=32)
def _page_view(path: str, mtime_ns: int, page: int, quote: str) -> PageView:
    """A PDF page or an image with the quote marked, kept while the file is unchanged (`mtime_ns` is
    part of the key): picking a source again must not render, or OCR, its page again."""
    return page_view(Path(path), page, quote)


class Chat:
    def __init__(self, library: Library) -> None:
        self.library = library

    def respond(
        self,
        question: str,
        chat: list[Message],
        history: list[Message],
        k: float,
        rerank: bool,
        mode: str = EXTRACTIVE,
    ) -> Iterator[tuple[Any, ...]]:
        """Answer with the chat history: a generator's text as it streams, or an extractive answer
        sentence by sentence; then the sources. Outputs: question box, chat, history, spans, source
        picker, document view, scores table. A user mistake is a warning."""
        before = chat
        try:
            chat = [*chat, {"role": "user", "content": text(clean_question(question))}]
            stream = self.library.engine(rerank).ask_stream(question, history, int(k), _MODES.get(mode, mode))
        except UserError as exc:
            warn(str(exc))
            yield (gr.skip(),) * 7
            return
        if mode == GENERATIVE:  # the question shows at once: the first token takes a few seconds
            yield "", [*chat, {"role": "assistant", "content": generating_html("…")}], *(gr.skip(),) * 5
        try:
            first = next(stream)  # retrieval done; in generative mode, the first token written
        except UserError as exc:  # e.g. no generator configured
            warn(str(exc))
            yield question, before, *(gr.skip(),) * 5
            return
        written = ""
        answer = first
        for item in itertools.chain([first], stream):
            if isinstance(item, str):
                written += item
                yield (
                    "",
                    [*chat, {"role": "assistant", "content": generating_html(written)}],
                    *(gr.skip(),) * 5,
                )
            else:
                answer = item
        assert isinstance(answer, Answer)
        if not written:  # extractive: revealed sentence by sentence
            for shown in range(1, len(sentences(answer.answer))):
                partial = {"role": "assistant", "content": answer_html(answer, shown)}
                yield ("", [*chat, partial], *(gr.skip(),) * 5)
        chat.append({"role": "assistant", "content": answer_html(answer)})
        history = [
            *history,
            {"role": "user", "content": answer.question},
            {"role": "assistant", "content": answer.answer, "citations": answer.to_dict()["citations"]},
        ]
        found = spans(answer)
        picker = gr.update(
            choices=[(s.label, str(i)) for i, s in enumerate(found)], value="0" if found else None
        )
        # The answer first: a PDF source's page view takes a moment more (seconds, when it is OCRed).
        yield "", chat, history, found, picker, gr.skip(), gr.skip()
        yield *(gr.skip(),) * 5, self.document(found[0]) if found else "", score_rows(answer.passages)

    def show(self, choice: str | None, found: list[Span]) -> str:
        """The document view for the source picked."""
        return self.document(found[int(choice)]) if choice is not None and found else ""

    def document(self, span: Span) -> str:
        reader = self.library.engine().reader
        try:
            body = reader.document_text(span.doc)
            path, kind = reader.source(span.doc)
        except UserError as exc:  # removed since the answer
            return f"<p>{text(str(exc))}</p>"
        page = None
        if kind in VIEW_KINDS:  # a PDF page, or an image (a single one has no page number: page 1)
            try:
                quote = body[span.start : span.end]
                page = _page_view(path, Path(path).stat().st_mtime_ns, span.page or 1, quote)
            except OSError:  # the file moved since it was indexed: the text only
                pass
            except UserError as exc:  # it changed, or is damaged now: the text only
                warn(str(exc))
        return document_html(span.doc, body, span.start, span.end, span.short, page)

    @staticmethod
    def example(evt: gr.SelectData) -> str:
        """An example question clicked: into the question box."""
        return str(evt.value["text"])

    @staticmethod
    def new_chat() -> tuple[Any, ...]:
        return "", [], [], [], gr.update(choices=[], value=None), "", []

    def mode(self, choice: str) -> str:
        """Generative answers need a configured generator: without one, a message and back to
        extractive (the model itself loads on the first generated answer)."""
        if choice == GENERATIVE:
            try:
                self.library.engine().generator()
            except UserError as exc:
                warn(f"Generative answers are not available: {exc}")
                return EXTRACTIVE
        return choice

    def ask(
        self, question: str, history: list[Message] | None = None, mode: str = "extractive"
    ) -> dict[str, Any]:
        """Answer like `rag ask --json`; `history` is the earlier messages, [{"role", "content"}, …],
        an assistant's with the "citations" of its answer (follow-ups about a person keep to them);
        `mode` "extractive" or "llm" (as `rag ask --mode`)."""
        if not isinstance(mode, str):
            raise gr.Error(f"mode must be text, not {type(mode).__name__}")
        if history is not None and not isinstance(history, list):
            raise gr.Error(f"history must be a list of messages, not {type(history).__name__}")
        try:
            answer: Answer = self.library.engine().ask(question, history or None, mode=_MODES.get(mode, mode))
        except UserError as exc:
            raise gr.Error(str(exc)) from None
        return answer.to_dict()

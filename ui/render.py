"""Answers, sources and documents as HTML strings: pure functions, everything from a document or a
question escaped, so it shows as the characters it is and never runs or formats as markup."""

from __future__ import annotations

import base64
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from rag.evaluation import summary_rows
from rag.ingest import PageView
from rag.types import Answer, Citation, Passage, where

# HTML's specials, plus Markdown's (the chat renders Markdown) as numeric entities that show as typed.
_ESCAPES = str.maketrans(
    {"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;"}
    | {c: f"&#{ord(c)};" for c in "\\`*_{}[]()#+-.!|~$:"}
)
_SENTENCE = re.compile(r".*?\[\d+\](?=\s|$)", re.DOTALL)
STAGES = ("dense", "bm25", "fused", "rerank")
SCORE_HEADERS = ["rank", "document", "chunk", "score", *STAGES, "passage"]
DOCUMENT_HEADERS = ["document", "type", "chunks", "dropped paragraphs"]
SUMMARY_HEADERS = ["group", "metric", "value", "questions counted", "95% interval"]
RELATED = 3  # related passages offered with a refusal


def text(value: str) -> str:
    """Untrusted text as inert HTML (safe in Markdown too)."""
    return value.translate(_ESCAPES)


def snippet(value: str, limit: int) -> str:
    return value if len(value) <= limit else value[: limit - 1] + "…"


def mark(value: str, start: int, end: int, mark_id: str = "", inner: tuple[int, int] | None = None) -> str:
    """`value` escaped, with `start:end` highlighted (out-of-range spans highlight nothing) and, inside
    it, the `inner` span (the short answer) emphasised."""
    if not 0 <= start < end <= len(value):
        return text(value)
    attr = f' id="{mark_id}"' if mark_id else ""
    middle = text(value[start:end])
    if inner is not None and start <= inner[0] < inner[1] <= end:
        a, b = inner[0] - start, inner[1] - start
        middle = emphasise(value[start:end], a, b)
    return f"{text(value[:start])}<mark{attr}>{middle}</mark>{text(value[end:])}"


def emphasise(value: str, start: int, end: int) -> str:
    """`value` escaped, with `start:end` as the short answer."""
    if not 0 <= start < end <= len(value):
        return text(value)
    return f'{text(value[:start])}<strong class="short">{text(value[start:end])}</strong>{text(value[end:])}'


def mark_quote(passage: str, quote: str, short: str = "") -> str:
    """The passage with the quoted sentence highlighted (both have whitespace collapsed) and the
    short answer inside it emphasised."""
    at = passage.find(quote)
    if at < 0:
        return text(passage)
    inner = quote.find(short) if short else -1
    return mark(
        passage, at, at + len(quote), inner=(at + inner, at + inner + len(short)) if inner >= 0 else None
    )


def sentences(answer: str) -> list[str]:
    """The answer's cited sentences, each with its `[n]` marker (a refusal is one sentence)."""
    parts = [s.strip() for s in _SENTENCE.findall(answer)]
    return parts if parts and " ".join(parts) == answer.strip() else [answer]


def _where(passage: Passage) -> str:
    return where(passage.doc, snippet(passage.title or "", 80), passage.locator)


def _cited(c: Citation) -> str:
    """A citation's label: "[1] Staffing plan · page 2 (staffing.pdf)"."""
    return f"[{c.n}] {where(c.doc, snippet(c.title or '', 80), c.locator)}"


def _source(label: str, summary: str, body_html: str) -> str:
    """One numbered source that opens on its passage."""
    return (
        f'<details class="source"><summary><b>{text(label)}</b> {text(summary)}</summary>'
        f"<blockquote>{body_html}</blockquote></details>"
    )


def _sources(answer: Answer) -> str:
    by_chunk = {p.chunk_id: p for p in answer.passages}
    items = []
    for c in answer.citations:
        passage = by_chunk.get(c.chunk_id)
        label = f"{_cited(c)}:"
        short = answer.short_answer.text if answer.short_answer and answer.short_answer.n == c.n else ""
        body = mark_quote(passage.text, c.quote, short) if passage else mark(c.quote, 0, len(c.quote))
        items.append(_source(label, f"“{snippet(c.quote, 200)}”", body))
    return '<p class="sources-title">Sources</p>' + "".join(items)


def _related(passages: Sequence[Passage]) -> str:
    if not passages:
        return ""
    items = [_source(_where(p), snippet(p.text, 120), text(p.text)) for p in passages[:RELATED]]
    return '<p class="sources-title">Related passages (not evidence for an answer):</p>' + "".join(items)


UNSUPPORTED = "not supported by its sources"
ATTRIBUTED = "cited by the checker"


def _generated(answer: Answer) -> str:
    """A generated answer's sentences with their markers; one its sources do not support is marked
    and says so in words (a flag, not a hidden sentence)."""
    parts = []
    for s in answer.sentences:
        said = text(s.text + "".join(f" [{n}]" for n in s.citations))
        if s.supported and s.attributed:  # the model gave no marker; the checker found the source
            parts.append(f"{said} <small>({ATTRIBUTED})</small>")
        elif s.supported:
            parts.append(said)
        else:
            parts.append(f'<span class="unsupported">{said} <small>⚠ ({UNSUPPORTED})</small></span>')
    return " ".join(parts)


def answer_html(answer: Answer, shown: int | None = None) -> str:
    """The chat bubble: the first `shown` sentences (all when None) and, once complete, the numbered
    sources (each opens on its passage with the cited sentence highlighted) or, for a refusal,
    the related passages. A generated answer flags its unsupported sentences; a note (a generator
    that failed, a refusal before generating) comes first."""
    note = f'<p class="note">{text("Note: " + answer.note)}</p>' if answer.note else ""
    if answer.mode == "llm" and not answer.abstained:
        return f'{note}<div class="answer">{_generated(answer)}</div>{_sources(answer)}'
    parts = sentences(answer.answer)
    body = f'<div class="answer">{_with_short(" ".join(parts[:shown]), answer)}</div>'
    if answer.short_answer is not None:
        body = f'<p class="short-answer"><b>Answer:</b> {text(answer.short_answer.text)}</p>{body}'
    if shown is not None and shown < len(parts):
        return note + body
    return note + body + (_related(answer.passages) if answer.abstained else _sources(answer))


def _with_short(shown: str, answer: Answer) -> str:
    """The answer's sentences escaped, the short answer emphasised where the first sentence holds it."""
    short = answer.short_answer.text if answer.short_answer else ""
    at = shown.find(short) if short else -1
    return emphasise(shown, at, at + len(short)) if at >= 0 else text(shown)


def generating_html(written: str) -> str:
    """A generator's text so far, before it is checked."""
    return f'<div class="answer generating">{text(written)}</div>'


@dataclass(frozen=True)
class Span:
    """A stretch of a document to show in the document view."""

    label: str
    doc: str
    start: int
    end: int
    short: tuple[int, int] | None = None  # the short answer inside it, in document offsets
    page: int | None = None  # where it starts, for a page view of a PDF


def spans(answer: Answer) -> list[Span]:
    """What the document view offers for an answer: its citations, or a refusal's related passages."""
    if answer.abstained:
        return [
            Span(f"{_where(p)} (related)", p.doc, p.start, p.end, None, p.page)
            for p in answer.passages[:RELATED]
        ]
    s = answer.short_answer
    return [
        Span(_cited(c), c.doc, c.start, c.end, (s.start, s.end) if s and s.n == c.n else None, c.page)
        for c in answer.citations
    ]


def document_html(
    doc: str,
    body: str,
    start: int,
    end: int,
    short: tuple[int, int] | None = None,
    page: PageView | None = None,
) -> str:
    """The whole cleaned document with the span highlighted (the view scrolls to `#cited`) and the
    short answer inside it emphasised; for a PDF, beside it the page itself with the quote marked."""
    figure = ""
    if page is not None:
        marked = "the quote highlighted" if page.found else "the quote could not be placed on it"
        alt = f"{doc}, page {page.page}, {marked}"
        figure = (
            f'<figure class="doc-page"><img class="page-image" alt="{text(alt)}" '
            f'src="data:image/png;base64,{base64.b64encode(page.png).decode()}">'
            f"<figcaption>Page {page.page}{'' if page.found else f' ({marked})'}</figcaption></figure>"
        )
    return (
        f'<div class="doc-title">{text(doc)}</div><div class="doc-panes">{figure}'
        f'<div class="doc-text">{mark(body, start, end, "cited", short)}</div></div>'
    )


def score_rows(passages: Sequence[Passage]) -> list[list[Any]]:
    """Every retrieved passage with each stage's score, so a ranking can be explained."""
    return [
        [
            p.rank,
            p.doc,
            p.chunk_id,
            round(p.score, 4),
            *(round(p.scores[s], 4) if s in p.scores else None for s in STAGES),
            snippet(p.text, 160),
        ]
        for p in passages
    ]


def document_rows(documents: Sequence[dict[str, Any]]) -> list[list[Any]]:
    return [[d["doc"], d["kind"], d["chunks"], d["dropped"]] for d in documents]


def summary_table(summary: dict[str, Any]) -> list[list[str]]:
    """An evaluation run's figures after its number of questions, in the rows, labels and rounding of
    its report.html and of `rag eval` on the terminal, so the three never disagree."""
    return [["all", "questions", str(summary["n"]), "", ""], *(list(row) for row in summary_rows(summary))]


def bullets(lines: Sequence[str]) -> str:
    """Messages (which may quote a file's text) as a Markdown list, each shown as typed."""
    return "\n".join(f"- {text(line)}" for line in lines)

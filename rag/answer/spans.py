"""Picking the answer span from a reader's start/end logits: small pure functions.

A span's score is start logit + end logit (the usual SQuAD reading); the "no answer" score is the
same sum at the [CLS] token. Both are log-odds on one scale, so their difference is the margin the
refusal is calibrated on.

A reader trained on SQuAD often gives a span that repeats the question's own words ("What did Britain
establish in 1824?" → "in 1824, Britain established Singapore"), while the asked fact is the part the
question does not name. Among the spans, one whose content tokens echo the question is marked down by
ECHO_PENALTY times the share of them that do; chosen on the calibration half of the SQuAD test bed
(eval/squad_corpus.py): short-answer F1 +0.010, exact match +0.016, refusals unchanged.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from rag.ingest import trimmed

MAX_ANSWER_TOKENS = 30
ECHO_PENALTY = 1.0


@dataclass(frozen=True)
class Span:
    """The best span of one window: token positions, its score and the window's no-answer score."""

    first: int
    last: int
    score: float
    null: float


def echo_share(
    content: np.ndarray, echoed: np.ndarray, firsts: np.ndarray | None = None, stops: np.ndarray | None = None
) -> np.ndarray:
    """share[i, j]: of the content tokens from firsts[i] up to (not including) stops[j], the share that
    repeat the question's (0 when the span holds none); `content` and `echoed` are masks over the same
    tokens (or characters, marking where a token begins). By default every token is a first and a last:
    share[i, j] covers tokens i to j."""
    c = np.concatenate([[0.0], np.cumsum(content)])
    e = np.concatenate([[0.0], np.cumsum(echoed)])
    lo = np.arange(len(content)) if firsts is None else firsts
    hi = np.arange(1, len(content) + 1) if stops is None else stops
    return (e[None, hi] - e[lo, None]) / np.maximum(c[None, hi] - c[lo, None], 1.0)


@lru_cache(maxsize=1)
def _abbreviations() -> frozenset[str]:
    """English abbreviations that end on a full stop ("inc", "jr", "u.s"), pysbd's list: the project's
    sentence splitter knows them already."""
    from pysbd.lang.english import English

    return frozenset(English.Abbreviation.ABBREVIATIONS)


def answer_edges(text: str, start: int, end: int) -> tuple[int, int]:
    """`text[start:end]`, a reader's span, without the whitespace at its edges or the comma, semicolon,
    colon or sentence-closing full stop after its last word: a span may take them in ("2010,",
    "Big Hero 6."), and no answer ends on them. A full stop closing an abbreviation ("Inc.", "U.S.")
    stays; a span of punctuation alone is left whole."""
    start, end = trimmed(text, start, end)
    cut = end
    while cut > start:
        last = text[cut - 1]
        if last == ".":
            words = text[start : cut - 1].split()
            if not words or words[-1].lower() in _abbreviations():
                break
        elif not (last.isspace() or last in ",;:"):
            break
        cut -= 1
    return (start, cut) if cut > start else (start, end)


def window_sequences(sequence_ids: list[int | None], width: int) -> np.ndarray:
    """Which part of the input each of a padded window's tokens is: 0 the question, 1 the context,
    -1 a special or padding token."""
    return np.array([-1 if x is None else x for x in sequence_ids] + [-1] * (width - len(sequence_ids)))


def window_echo(
    ids: np.ndarray, sequences: np.ndarray, content_ids: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """The (content, echoed) masks of one window: its context's content tokens, and those among them
    whose word piece also stands in the window's question. `sequences` is window_sequences' array;
    `content_ids` marks the vocabulary's content word pieces (rag.answer.features.content_vocabulary)."""
    content = content_ids[ids]
    asked = ids[(sequences == 0) & content]
    context = content & (sequences == 1)
    return context, context & np.isin(ids, asked)


def best_span(
    start_logits: np.ndarray,
    end_logits: np.ndarray,
    context: np.ndarray,
    max_tokens: int = MAX_ANSWER_TOKENS,
    echo: tuple[np.ndarray, np.ndarray] | None = None,
) -> Span | None:
    """The highest-scoring span of context tokens with first <= last < first + max_tokens, marked
    down for echoing the question when `echo` gives the window's (content, echoed) token masks; None
    when the window has no context token. `context` is a boolean mask over the window's tokens. The
    span's score is its own start + end logit, so the margin describes the span given."""
    where = np.flatnonzero(context)
    if not where.size:
        return None
    s, e = start_logits[where], end_logits[where]
    scores = s[:, None] + e[None, :]
    gap = where[None, :] - where[:, None]  # token distance last - first
    scores = np.where((gap >= 0) & (gap < max_tokens), scores, -np.inf)
    chosen = scores if echo is None else scores - ECHO_PENALTY * echo_share(echo[0][where], echo[1][where])
    i, j = np.unravel_index(int(np.argmax(chosen)), chosen.shape)
    null = float(start_logits[0] + end_logits[0])
    return Span(int(where[i]), int(where[j]), float(scores[i, j]), null)


@dataclass(frozen=True)
class WindowTokens:
    """One window's context tokens as char_logits needs them: their start and end logits, their
    (start, end) characters in the context with the space a piece carries trimmed off, their
    (content, echoed) flags (window_echo), and the window's "no answer" score."""

    start: np.ndarray
    end: np.ndarray
    chars: np.ndarray
    content: np.ndarray
    echoed: np.ndarray
    null: float


@dataclass(frozen=True)
class CharLogits:
    """One reader's logits over a context's characters, so that readers with different word pieces
    can be summed: `start[c]` is the start logit of the token whose text begins at character c,
    `end[c]` that of the token whose text ends there (-inf where none does; the best over a long
    context's windows), `null` the "no answer" score (the lowest over its windows). `tokens`,
    `content` and `echoed` mark where a token begins: any, one carrying content, one repeating the
    question."""

    start: np.ndarray
    end: np.ndarray
    null: float
    tokens: np.ndarray
    content: np.ndarray
    echoed: np.ndarray


def char_logits(length: int, windows: list[WindowTokens]) -> CharLogits:
    """A context of `length` characters as CharLogits, from its windows."""
    start, end = np.full(length + 1, -np.inf), np.full(length + 1, -np.inf)
    marks = np.zeros((3, length + 1))
    for w in windows:
        keep = w.chars[:, 1] > w.chars[:, 0]
        a, b = w.chars[keep, 0], w.chars[keep, 1]
        np.maximum.at(start, a, w.start[keep])
        np.maximum.at(end, b, w.end[keep])
        marks[0, a] = 1.0
        np.maximum.at(marks[1], a, w.content[keep].astype(float))
        np.maximum.at(marks[2], a, w.echoed[keep].astype(float))
    null = min((w.null for w in windows), default=0.0)
    return CharLogits(start, end, null, marks[0], marks[1], marks[2])


def best_char_span(
    readers: list[CharLogits], weights: list[float], max_tokens: int = MAX_ANSWER_TOKENS
) -> tuple[int, int, float, float] | None:
    """The best span of a context by the readers' weighted logits summed at the characters where
    every reader's tokens begin and end: (start, end, score, null), or None when they share no span.
    Length and echo are counted in the first reader's tokens, as best_span counts them."""
    starts = np.flatnonzero(np.all([np.isfinite(r.start) for r in readers], axis=0))
    ends = np.flatnonzero(np.all([np.isfinite(r.end) for r in readers], axis=0))
    if not starts.size or not ends.size:
        return None
    scores = sum(
        w * (r.start[starts][:, None] + r.end[ends][None, :]) for w, r in zip(weights, readers, strict=True)
    )
    first = readers[0]
    tokens = np.concatenate([[0.0], np.cumsum(first.tokens)])
    count = tokens[ends][None, :] - tokens[starts][:, None]  # tokens beginning inside the span
    scores = np.where((ends[None, :] > starts[:, None]) & (count <= max_tokens), scores, -np.inf)
    chosen = scores - ECHO_PENALTY * echo_share(first.content, first.echoed, starts, ends)
    i, j = np.unravel_index(int(np.argmax(chosen)), chosen.shape)
    if not np.isfinite(scores[i, j]):
        return None
    null = float(sum(w * r.null for w, r in zip(weights, readers, strict=True)))
    return int(starts[i]), int(ends[j]), float(scores[i, j]), null

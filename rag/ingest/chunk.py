"""Sentence-aware chunking with exact source offsets.

Chunks never cross a dropped paragraph, so `text[start:end]` of the source, whitespace collapsed, is
exactly the chunk text. Sentences come from pysbd (rule-based, handles abbreviations such as "Dr.");
sizes are counted in the embedding model's own word pieces, so nothing is silently truncated.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from rag.types import Chunk, Document, Paragraph

TokenCounter = Callable[[list[str]], list[int]]
# 2: a lead-in ending in ":" never ends a chunk; it opens the next, with what it announces
CHUNKER_VERSION = "2"
_WS = re.compile(r"\s+")
_NONSPACE = re.compile(r"\S+")


def collapse(text: str) -> str:
    return _WS.sub(" ", text).strip()


@dataclass(frozen=True)
class _Unit:
    """A sentence (or a piece of an over-long one) inside a run of kept paragraphs."""

    start: int
    end: int
    tokens: int
    para: int
    heading: bool
    lead_in: bool = False  # ends in ":", announcing what follows ("Her recommendations include:")


@lru_cache(maxsize=1)
def _segmenter() -> Any:
    import pysbd

    return pysbd.Segmenter(language="en", clean=False)


def split_sentences(text: str, start: int, end: int) -> list[tuple[int, int]]:
    """Absolute (start, end) spans of the sentences in `text[start:end]`, covering all its words.

    pysbd reads a whitespace-collapsed copy (it would take a hard line wrap for a sentence end);
    each sentence found there is mapped back to the source positions of its characters.
    """
    flat: list[str] = []  # collapsed characters...
    where: list[int] = []  # ...and the source offset of each
    for m in _NONSPACE.finditer(text, start, end):
        if flat:
            flat.append(" ")
            where.append(m.start() - 1)
        flat.extend(m.group())
        where.extend(range(m.start(), m.end()))
    return [(where[s], where[e - 1] + 1) for s, e in _sentence_spans("".join(flat))]


SEGMENT_WINDOW = 3000  # characters per pysbd call: its time grows with the square of its input


def _sentence_spans(collapsed: str) -> list[tuple[int, int]]:
    """Sentence spans of a whitespace-collapsed paragraph, read in windows so that a huge paragraph
    (a whole file on one line) takes linear time. A window that does not reach the end keeps all its
    sentences but the last, which the cut may have split; the next window starts there."""
    spans: list[tuple[int, int]] = []
    pos = 0
    while pos < len(collapsed):
        stop = min(pos + SEGMENT_WINDOW, len(collapsed))
        found = _segment(collapsed, pos, stop)
        if stop < len(collapsed):
            if len(found) > 1:
                found.pop()
            else:  # one sentence longer than the window: cut it at its last space
                cut = collapsed.rfind(" ", pos + 1, stop)
                found = [(pos, cut if cut > pos else stop)]
        spans += found
        pos = found[-1][1]
        while pos < len(collapsed) and collapsed[pos] == " ":
            pos += 1
    return spans


def _segment(collapsed: str, start: int, stop: int) -> list[tuple[int, int]]:
    """pysbd's sentences of `collapsed[start:stop]` as absolute spans, covering all its words."""
    window = collapsed[start:stop]
    spans: list[tuple[int, int]] = []
    cursor = 0
    for sentence in _segmenter().segment(window):
        s = sentence.strip()
        found = window.find(s, cursor) if s else -1
        if found < 0:  # empty, or the splitter altered the text: the rest stays one sentence
            continue
        spans.append((start + found, start + found + len(s)))
        cursor = found + len(s)
    rest = window[cursor:].strip()
    if rest:
        first = window.index(rest, cursor)
        spans.append((start + first, start + first + len(rest)))
    return spans


def _split_long(text: str, start: int, end: int, limit: int, count: TokenCounter) -> list[tuple[int, int]]:
    """Cut an over-long sentence at word boundaries into pieces of at most `limit` word pieces."""
    spans = [(m.start() + start, m.end() + start) for m in _NONSPACE.finditer(text[start:end])]
    sizes = count([text[s:e] for s, e in spans])
    words = [
        w for (s, e), size in zip(spans, sizes, strict=True) for w in _cut(text, s, e, size, limit, count)
    ]
    pieces: list[tuple[int, int]] = []
    piece_start, used = words[0][0], 0
    prev_end = words[0][0]
    for s, e, size in words:
        if used and used + size > limit:
            pieces.append((piece_start, prev_end))
            piece_start, used = s, 0
        used += size
        prev_end = e
    pieces.append((piece_start, prev_end))
    return pieces


def _cut(
    text: str, start: int, end: int, size: int, limit: int, count: TokenCounter
) -> list[tuple[int, int, int]]:
    """A "word" of more word pieces than fit (a run without spaces: a list like 1,2,3,… or Chinese
    without sentence marks) halved between characters until each part fits: (start, end, size)."""
    if size <= limit or end - start == 1:
        return [(start, end, size)]
    mid = (start + end) // 2
    halves = [(start, mid), (mid, end)]
    sizes = count([text[s:e] for s, e in halves])
    return [p for (s, e), n in zip(halves, sizes, strict=True) for p in _cut(text, s, e, n, limit, count)]


def _runs(paragraphs: Sequence[Paragraph]) -> list[list[Paragraph]]:
    """Consecutive kept paragraphs; a dropped one ends a run."""
    runs: list[list[Paragraph]] = [[]]
    for p in paragraphs:
        if p.kept:
            runs[-1].append(p)
        elif runs[-1]:
            runs.append([])
    return [r for r in runs if r]


def _units(text: str, run: list[Paragraph], limit: int, count: TokenCounter) -> list[_Unit]:
    spans: list[tuple[int, int, int, bool]] = []
    for i, p in enumerate(run):
        sentences = split_sentences(text, p.start, p.end)
        heading = len(sentences) == 1 and (len(p.text) < 70 or p.text[-1] not in '.!?"”’')
        spans += [(s, e, i, heading) for s, e in sentences]
    sizes = count([text[s:e] for s, e, _, _ in spans])
    units: list[_Unit] = []
    for (s, e, para, heading), size in zip(spans, sizes, strict=True):
        if size <= limit:
            units.append(_Unit(s, e, size, para, heading, text[s:e].rstrip().endswith(":")))
            continue
        for ps, pe in _split_long(text, s, e, limit, count):
            units.append(_Unit(ps, pe, count([text[ps:pe]])[0], para, False))
    return units


def _pack(units: list[_Unit], max_tokens: int, overlap: int) -> list[list[_Unit]]:
    """Greedy packing that prefers paragraph boundaries and starts sections at their headings. A
    chunk never ends on a lead-in ending in ":" (where it fits, it opens the next chunk instead):
    cut off from what it announces, it would be cited alone, saying nothing ("He told delegates:")."""
    para_tokens: dict[int, int] = {}
    for u in units:
        para_tokens[u.para] = para_tokens.get(u.para, 0) + u.tokens
    groups: list[list[_Unit]] = []
    current: list[_Unit] = []
    used = 0
    for u in units:
        new_para = bool(current) and u.para != current[-1].para
        full = used + u.tokens > max_tokens
        half = used >= max_tokens // 2
        para_wont_fit = new_para and used + para_tokens[u.para] > max_tokens
        if current and (full or (new_para and half and (u.heading or para_wont_fit))):
            opening = _trailing_lead_ins(current, max_tokens - u.tokens)
            current = current[: len(current) - len(opening)]
            groups.append(current)
            carry = [] if u.heading or opening else current[-overlap:] if overlap else []
            carry = [c for c in carry if not c.heading]
            while carry and sum(c.tokens for c in carry) + u.tokens > max_tokens:
                carry = carry[1:]
            carry += opening
            current, used = list(carry), sum(c.tokens for c in carry)
        current.append(u)
        used += u.tokens
    if current:
        groups.append(current)
    return groups


def _trailing_lead_ins(current: list[_Unit], room: int) -> list[_Unit]:
    """The lead-ins ending `current` that move to the next chunk: as many as fit in `room` word
    pieces, and never the chunk's only text."""
    n = 0
    while (
        n + 1 < len(current) and current[-n - 1].lead_in and sum(c.tokens for c in current[-n - 1 :]) <= room
    ):
        n += 1
    return current[len(current) - n :]


def chunk_document(
    doc: Document,
    paragraphs: Sequence[Paragraph],
    count_tokens: TokenCounter,
    max_tokens: int = 200,
    overlap: int = 1,
    window: int | None = None,
    title: str | None = None,
) -> list[Chunk]:
    """Chunks of the kept paragraphs, each at most `window` word pieces (default `max_tokens`)."""
    cap = max(window or max_tokens, max_tokens)
    chunks: list[Chunk] = []
    seen: dict[str, int] = {}
    for run in _runs(paragraphs):
        units = _units(doc.text, run, max_tokens, count_tokens)
        groups = _pack(units, max_tokens, overlap)
        texts = [collapse(doc.text[g[0].start : g[-1].end]) for g in groups]
        for group, text, size in zip(groups, texts, count_tokens(texts), strict=True):
            for part in _fit(group, text, size, cap, doc.text, count_tokens):
                chunks.append(_make_chunk(doc, part, seen, title))
    return chunks


def _fit(
    group: list[_Unit], text: str, size: int, cap: int, source: str, count: TokenCounter
) -> list[list[_Unit]]:
    """Halve a group whose joined text still exceeds the model window (joins can add pieces)."""
    if size <= cap or len(group) == 1:
        return [group]
    mid = len(group) // 2
    out: list[list[_Unit]] = []
    for half in (group[:mid], group[mid:]):
        half_text = collapse(source[half[0].start : half[-1].end])
        out += _fit(half, half_text, count([half_text])[0], cap, source, count)
    return out


def _make_chunk(doc: Document, group: list[_Unit], seen: dict[str, int], title: str | None) -> Chunk:
    start, end = group[0].start, group[-1].end
    text = collapse(doc.text[start:end])
    base = hashlib.sha1(f"{doc.doc}\0{text}".encode()).hexdigest()[:16]
    n = seen.get(base, 0)
    seen[base] = n + 1
    chunk_id = base if n == 0 else f"{base}-{n}"
    return Chunk(
        doc=doc.doc,
        chunk_id=chunk_id,
        start=start,
        end=end,
        text=text,
        sentences=tuple((u.start, u.end) for u in group),
        page=doc.page_at(start),
        title=title,
        locator=doc.places.locator_at(start),
    )

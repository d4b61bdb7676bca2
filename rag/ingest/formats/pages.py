"""Texts made of pages (PDF pages, TIFF frames, slides, chapters): joined a blank line apart, with the
offset where each begins, and the labels a citation shows for them ("slide 3", "chapter 2")."""

from __future__ import annotations

from collections.abc import Sequence


def join_pages(pages: Sequence[str]) -> tuple[str, tuple[int, ...]]:
    """Pages a blank line apart, and the offset where each begins."""
    starts, offset = [], 0
    for page in pages:
        starts.append(offset)
        offset += len(page) + 2
    return "\n\n".join(pages), tuple(starts)


def labelled(starts: Sequence[int], word: str) -> tuple[tuple[int, str], ...]:
    """(offset, "word N") for each page, numbered from 1."""
    return tuple((start, f"{word} {n}") for n, start in enumerate(starts, start=1))

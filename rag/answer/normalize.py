"""How two answers are compared word for word: the SQuAD normalisation. The reader's answer uses it to
tell distinct spans apart, the SQuAD data to find an answer in a paragraph, and rag.evaluation's
metrics to score answers (so they score the reader by the rule it answers by)."""

from __future__ import annotations

import unicodedata

ARTICLES = frozenset({"a", "an", "the"})


def normalize_tokens(text: str) -> list[str]:
    """SQuAD-style normalisation: case folded, punctuation to spaces (so "everyone’s" still holds
    "everyone"), articles a/an/the dropped, split on whitespace."""
    spaced = "".join(" " if unicodedata.category(ch).startswith("P") else ch for ch in text.casefold())
    return [t for t in spaced.split() if t not in ARTICLES]

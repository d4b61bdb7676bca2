"""A question that asks two things ("Who chaired it, and when did it report?") is read part by part
too, so that the answer holds both facts even when they sit in different sentences.

A plain syntactic rule: the question splits where "and" (or a comma, or ";") is followed by a
question word opening a new clause. "Who was the bread and butter supplier?" does not split.
"""

from __future__ import annotations

import re

_SPLIT = re.compile(
    r"\s*(?:,\s*(?:and\s+)?|;\s*(?:and\s+)?|\s+and\s+)(?=(?:what|which|who|whom|whose|when|where|why|how)\b)",
    re.IGNORECASE,
)
_MIN_WORDS = 3  # a part shorter than this ("and why?") leans on the rest and is not read alone


def question_parts(question: str) -> list[str]:
    """The parts of a multi-part question, each ending in "?"; an empty list for a single question."""
    pieces = [p.strip(" ,;?") for p in _SPLIT.split(question)]
    pieces = [p for p in pieces if p]
    if len(pieces) < 2 or any(len(p.split()) < _MIN_WORDS for p in pieces):
        return []
    return [p[0].upper() + p[1:] + "?" for p in pieces]

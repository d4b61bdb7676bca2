"""A question that asks two things ("Who chaired it, and when did it report?") is read part by part
too, so that the answer holds both facts even when they sit in different sentences.

A plain syntactic rule: the question splits where "and" (or a comma, or ";") is followed by a
question word opening a new clause. "Who was the bread and butter supplier?" does not split, nor does
a lead-in that only qualifies what follows ("According to Munro, what stops them?").
"""

from __future__ import annotations

import re

_ASKS = r"(?:what|which|who|whom|whose|when|where|why|how)\b"
_SPLIT = re.compile(r"\s*(?:,\s*(?:and\s+)?|;\s*(?:and\s+)?|\s+and\s+)(?=" + _ASKS + ")", re.IGNORECASE)
_ASKING = re.compile(r"\b" + _ASKS, re.IGNORECASE)  # a question word anywhere in a piece
_MIN_WORDS = 3  # a part shorter than this ("and why?") leans on the rest and is not read alone
_LEAD_IN = re.compile(  # a prepositional opening: "According to Munro", "In 2011", "Under the plans"
    r"(?:according|as|after|before|by|during|for|from|in|on|per|since|under|with|without)\b", re.IGNORECASE
)


def question_parts(question: str) -> list[str]:
    """The parts of a multi-part question, each ending in "?"; an empty list for a single question."""
    pieces = [p.strip(" ,;?") for p in _SPLIT.split(question)]
    pieces = [p for p in pieces if p]
    if len(pieces) > 1 and _LEAD_IN.match(pieces[0]) and not _ASKING.search(pieces[0]):
        pieces[:2] = [f"{pieces[0]}, {pieces[1]}"]  # the lead-in belongs to the question after it
    if len(pieces) < 2 or any(len(p.split()) < _MIN_WORDS for p in pieces):
        return []
    return [p[0].upper() + p[1:] + "?" for p in pieces]

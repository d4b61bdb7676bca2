"""A question that asks two things ("Who chaired it, and when did it report?") is read part by part
too, so that the answer holds both facts even when they sit in different sentences.

A plain syntactic rule: the question splits where "and" (or a comma, or ";") is followed by a
question word opening a new clause, perhaps after a preposition ("…which event, and in what town?").
"Who was the bread and butter supplier?" does not split. A piece that asks nothing itself only
qualifies the piece after it and stays with it: a lead-in ("According to Munro, what stops them?",
"Besides a duty to work together, what power…?") or a statement the question builds on ("Munro
recommended revising it; what does the new version accept?").
"""

from __future__ import annotations

import re

_ASKS = r"(?:what|which|who|whom|whose|when|where|why|how)\b"
_PREPOSITION = r"(?:(?:at|by|for|from|in|on|to|with)\s+)?"
_SPLIT = re.compile(
    r"\s*(?:,\s*(?:and\s+)?|;\s*(?:and\s+)?|\s+and\s+)(?=" + _PREPOSITION + _ASKS + ")", re.IGNORECASE
)
_ASKING = re.compile(r"\b" + _ASKS, re.IGNORECASE)  # a question word anywhere in a piece
_MIN_WORDS = 3  # a part shorter than this ("and why?") leans on the rest and is not read alone
# More parts than this is no question a person asks but pasted text: it is read whole, since every
# part is retrieved and read on its own (a 20,000-character message of "…, and who…" pieces would
# otherwise cost hundreds of retrievals and thousands of windows read).
MAX_PARTS = 4


def question_parts(question: str) -> list[str]:
    """The parts of a multi-part question, each ending in "?"; an empty list for a single question."""
    pieces: list[str] = []
    pending = ""  # pieces asking nothing, waiting for the piece they qualify
    for piece in (p.strip(" ,;?") for p in _SPLIT.split(question)):
        if not piece:
            continue
        if not _ASKING.search(piece):
            pending = f"{pending}, {piece}" if pending else piece
            continue
        pieces.append(f"{pending}, {piece}" if pending else piece)
        pending = ""
    if not 2 <= len(pieces) <= MAX_PARTS or pending or any(len(p.split()) < _MIN_WORDS for p in pieces):
        return []
    return [p[0].upper() + p[1:] + "?" for p in pieces]

"""Questions about the wrong name: a SQuAD question with one of its names swapped for another name of
its own paragraph ("Who originally built Mexico City?" -> "Who originally built Lake Texcoco?").

The paragraph stays on topic and still holds a span of the asked kind, but not the asked fact: the
case users most need refused, and the one SQuAD v1.1 lacks (its questions always name what their
paragraph answers). The development figures (rag.answer.training.dev_figures) measure how well a
reader's "no answer" tells these from the questions as asked. A swap can still be answerable (the
paragraph may say the same of the other name), so the figure's ceiling is below 1. Training on them
as negatives (commit f37c0bd, `--swap`) moved the figure a little and answers not at all
(models/reader/README.md).
"""

from __future__ import annotations

import random
import re

_WORD = r"[A-Z](?:[\w'’-]|\.(?=\w))*"  # a full stop only inside a word ("U.S"), never ending a sentence
_NAME = re.compile(rf"\b{_WORD}(?:\s+(?:of|the|de|von|van|and|for)?\s*{_WORD})*")
_SENTENCE_START = re.compile(r"(?:^|[.!?:;]\s+|[\"“(]\s*)$")


def names(text: str) -> list[str]:
    """Runs of capitalised words (joined by "of", "the", …). A lone word is left out where it opens a
    sentence or the text also has it in lower case: it is then capitalised for its place ("However",
    "He"), not known to be a name."""
    lower = set(re.findall(r"\b[a-z][\w'’-]*", text))
    out = []
    for m in _NAME.finditer(text):
        name = m.group(0).strip()
        if " " in name or not (_SENTENCE_START.search(text[: m.start()]) or name.lower() in lower):
            out.append(name)
    return out


def swapped(question: str, paragraph: str, answers: tuple[str, ...], rng: random.Random) -> str | None:
    """The question with one of its names (none inside an answer) replaced by a name of the paragraph
    that is neither in the question nor part of an answer; None where there is no such pair."""
    answer_text = " ".join(answers).lower()
    own = [n for n in names(question) if n.lower() not in answer_text]
    if not own:
        return None
    target = rng.choice(own)
    others = sorted(
        {
            n
            for n in names(paragraph)
            if n not in question
            and target not in n
            and n not in target
            and not any(n.lower() in a.lower() or a.lower() in n.lower() for a in answers)
        }
    )
    return question.replace(target, rng.choice(others), 1) if others else None

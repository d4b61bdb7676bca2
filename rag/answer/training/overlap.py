"""Questions that share few words with the sentence answering them: SQuAD's hardest paraphrases.

Crowd workers wrote many SQuAD questions by copying the answer sentence's words, and a reader trained
on them learns to match words. Users word questions their own way ("what's stopping frontline staff"
for "too many forms and procedures"), and the reader is unsure of those. A stage trained on the
questions whose content words the answer sentence mostly lacks practises reading beyond the words.
"""

from __future__ import annotations

import re

from rag.answer.training.squad import Example

_WORD = re.compile(r"[^\W_]+")
_STEM = 5  # words agreeing in their first five letters count as one ("appointed", "appointment")


def _stems(text: str, stop: frozenset[str]) -> set[str]:
    return {w[:_STEM] for w in _WORD.findall(text.lower()) if w not in stop}


def answer_sentence(context: str, start: int) -> str:
    """The sentence of `context` around character `start`, cut at ". " boundaries."""
    left = context.rfind(". ", 0, start)
    right = context.find(". ", start)
    return context[0 if left < 0 else left + 2 : len(context) if right < 0 else right + 1]


def overlap(question: str, sentence: str, stop: frozenset[str]) -> float:
    """The share of the question's content words (not in `stop`; their stems) that the sentence also
    has; 1.0 for a question without content words, which is nothing to learn from here."""
    asked = _stems(question, stop)
    return len(asked & _stems(sentence, stop)) / len(asked) if asked else 1.0


def low_overlap(pool: list[Example], most: float) -> list[Example]:
    """The examples whose question shares at most `most` of its content words with its answer
    sentence, negatives included: a negative follows its question (its id is the question's plus
    "#neg…"), so the "no answer" decision learns from the same questions as the spans do."""
    from bm25s.stopwords import STOPWORDS_EN

    from rag.store import QUESTION_WORDS

    stop = frozenset(STOPWORDS_EN) | QUESTION_WORDS
    kept = {
        e.id
        for e in pool
        if e.answer_start is not None
        and overlap(e.question, answer_sentence(e.context, e.answer_start), stop) <= most
    }
    return [e for e in pool if e.id.split("#")[0] in kept]

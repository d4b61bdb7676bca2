"""The reader's answer: first the sentence holding the span the reader is surest of (a little in
favour of the reranker's higher passages), the short answer marked in it; further sentences only
where another passage offers a distinct answer span of its own.

Deterministic, given the readings: the reader has already found, per passage, the best span and how
much it beats "no answer". The question's confidence is that margin (the best over the passages)
through the logistic calibration shipped with the model; below the refusal threshold, it refuses.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from rag.answer.answer_type import expected_type, span_offers
from rag.answer.names import names_speaker, speaker
from rag.answer.normalize import normalize_tokens
from rag.answer.reader import UNREAD, Calibration, Reading
from rag.ingest import collapse
from rag.search import Candidate
from rag.types import Citation, Passage, ShortAnswer

REDUNDANT = 0.95  # a further sentence this similar to a chosen one says the same again
# Margin (logits) a passage must gain per place below the top one to lead the answer: fitted on the
# SQuAD bed's calibration half (README, "Answers"); a large value keeps the reranker's order alone.
LEAD_RANK_PENALTY = 1.0
# A further sentence joins only where the reader thinks it more likely than not to answer, however low
# the threshold the lead is refused below: an unsure extra sentence is mostly another topic's.
EVEN_ODDS = 0.5


@dataclass(frozen=True)
class ReaderAnswer:
    citations: list[Citation]
    short_answer: ShortAnswer | None
    abstained: bool
    confidence: float


@dataclass(frozen=True)
class _Found:
    rank: int  # the passage's place in the reranker's order, 0 first
    passage: Passage
    reading: Reading
    start: int  # absolute offsets of the span in the document
    end: int
    sentence: tuple[int, int]  # absolute offsets of the sentence(s) holding it
    vector: np.ndarray


def _sentence_of(p: Passage, c: Candidate, start: int, end: int) -> tuple[tuple[int, int], np.ndarray]:
    """The passage's sentences covering start:end, as one range, and the first one's vector. A last
    sentence ending in a colon announces what follows ("…, he told delegates:", "Her recommendations
    include:"), and quoted alone it shows none of it: the passage's next sentence (the quote, the
    list's first item) is cited with it."""
    inside = [i for i, (a, b) in enumerate(p.sentences) if a < end and b > start]
    if not inside:
        return (start, end), c.vector
    last = inside[-1]
    if c.sentences[last].endswith(":") and last + 1 < len(p.sentences):
        last += 1
    return (p.sentences[inside[0]][0], p.sentences[last][1]), c.sentence_vectors[inside[0]]


def _found(
    passages: list[Passage], readings: list[Reading], candidates: dict[str, Candidate]
) -> list[_Found]:
    out = []
    for rank, (p, r) in enumerate(zip(passages, readings, strict=True)):
        if r.start is None or r.end is None:
            continue
        start, end = p.start + r.start, p.start + r.end
        sentence, vector = _sentence_of(p, candidates[p.chunk_id], start, end)
        out.append(_Found(rank, p, r, start, end, sentence, vector))
    return out


def as_asked(
    question: str, contexts: Sequence[str], readings: list[Reading], check_kind: bool = True
) -> list[Reading]:
    """The readings whose span can answer the question as asked, the others UNREAD:
    - a span of the kind the question asks for (`expected_type`; unless `check_kind` is false, as for
      a multi-part question, whose whole reading may rightly lead with another part's kind): "How
      much do councils pay per week?" is not answered by "cheaper", nor "Which number should I
      ring?" by a unit's name, however sure the reader is of them;
    - a span not naming the one whose words the question asks about (`speaker`, `names_speaker`): in
      "Who did Cockell say should take responsibility?" Cockell says, and "Sir Merrick Cockell" (or
      "Sir Merrick"), the name the reader is surest of, is not what he said."""
    kind = expected_type(question) if check_kind else None
    sayer = speaker(question)

    def fits(span: str, context: str) -> bool:
        if kind is not None and not span_offers(kind, span, question):
            return False
        return sayer is None or not names_speaker(span, sayer, context)

    return [
        r if r.start is None or r.end is None or fits(context[r.start : r.end], context) else UNREAD
        for context, r in zip(contexts, readings, strict=True)
    ]


def compose(
    passages: list[Passage],
    readings: list[Reading],
    candidates: dict[str, Candidate],
    document_text: dict[str, str],
    calibration: Calibration,
    threshold: float,
    max_sentences: int,
    parts: Sequence[list[Reading]] = (),
    rank_penalty: float = LEAD_RANK_PENALTY,
) -> ReaderAnswer:
    """Citations (the lead first) and the short answer, or a refusal when the calibrated confidence is
    below `threshold`. `parts` holds the readings of each part of a multi-part question: each part's
    best new span is offered next, then the other passages' spans. An offered span joins only if the
    reader finds an answer there (P(answerable) at least the threshold and `EVEN_ODDS`), it differs
    from the spans chosen, and its sentence is new."""
    found = _found(passages, readings, candidates)
    if not found:
        return ReaderAnswer([], None, True, 0.0)
    margin = max(f.reading.margin for f in found)
    confidence = calibration.probability(margin)
    if confidence < threshold:
        return ReaderAnswer([], None, True, confidence)

    # Both the reranker's order and the reader's margin (the span's logit over "no answer", comparable
    # across passages where the raw span score is not) say which passage answers; a lower-ranked
    # passage leads only when its margin beats the higher one's by `rank_penalty` a place.
    def standing(f: _Found) -> float:
        return f.reading.margin - rank_penalty * f.rank

    accepted = [f for f in found if calibration.accepts(f.reading, threshold)]
    lead = max(accepted, key=standing)
    chosen = [lead]

    def joins(f: _Found) -> bool:
        """Whether `f` joins the answer: the reader accepts it, its span and its sentence are new."""
        if len(chosen) >= max_sentences or not calibration.accepts(f.reading, max(threshold, EVEN_ODDS)):
            return False
        words = normalize_tokens(document_text[f.passage.doc][f.start : f.end])
        if any(normalize_tokens(document_text[c.passage.doc][c.start : c.end]) == words for c in chosen):
            return False
        if any(
            (f.passage.doc, f.sentence) == (c.passage.doc, c.sentence)
            or float(f.vector @ c.vector) >= REDUNDANT
            for c in chosen
        ):
            return False
        chosen.append(f)
        return True

    # Each part brings its best span that is new, "best" as for the lead: a part whose best span is the
    # lead's own ("How many children…" finds "Thousands" again) offers its next one ("64,000"). By the
    # raw span score instead, a part asked in several passages of one article ("…, and what is the
    # span of the Early Cretaceous?") took the lower passage's "100 million to 65 million years"
    # (the Late Cretaceous) over the top one's answer: on a first cut of the two-part questions made
    # from the SQuAD calibration half (143), both facts were held 0.587 -> 0.657 of the time.
    for readings_of_part in parts:
        for f in sorted(_found(passages, readings_of_part, candidates), key=standing, reverse=True):
            if joins(f):
                break
    for f in sorted((f for f in found if f is not lead), key=lambda f: -f.reading.score):
        joins(f)
    citations = []
    for n, f in enumerate(chosen, start=1):
        a, b = f.sentence
        quote = collapse(document_text[f.passage.doc][a:b])
        citations.append(Citation(n, f.passage.doc, f.passage.chunk_id, a, b, quote))
    best = chosen[0]
    short = ShortAnswer(
        collapse(document_text[best.passage.doc][best.start : best.end]),
        1,
        best.passage.doc,
        best.passage.chunk_id,
        best.start,
        best.end,
        round(best.reading.margin, 4),
    )
    return ReaderAnswer(citations, short, False, confidence)

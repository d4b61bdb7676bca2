"""Checking a generated answer against the passages it was given: what makes generative mode honest.

The model's text is split into sentences (pysbd, as the chunker does) and its `[n]` markers read.
A marker naming no given passage is removed, whatever the passages or the model said. Each sentence
is then tested against the sentences of the passages it cites: supported when one of them shares
most of its content words or means nearly the same (embedding cosine), and the passage mentions
every name and number the sentence gives. A sentence with no marker at all (small models often
write none) is tested against every passage and, if one supports it, cited to that passage and
marked `attributed`; one whose markers were all invalid stays uncited and unsupported. The test is
lexical and semantic, not logical: a negated claim can pass it. Nothing is hidden: unsupported
sentences stay, flagged.

Each citation `[n]` quotes, verbatim and with its offsets, the sentence of passage n that best
supports what the answer says with it, so citations keep the extractive contract.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from rag.answer import REFUSAL
from rag.ingest import collapse, split_sentences
from rag.search import Candidate
from rag.store import tokenize
from rag.types import AnswerSentence, Citation, Passage

# Chosen on hand-written paraphrases and false claims about seed sentences (held by
# tests/generation/test_support.py): faithful paraphrases share >= 0.6 of their content words with a source
# sentence, or reach cosine >= 0.75 with it when worded differently; claims on the same topic that the
# sentence does not make mostly fall below both. A name or number the cited passage never mentions ("chaired
# by Lord Laming" against a passage naming Butler-Sloss) makes a sentence unsupported however similar it is.
LEXICAL_SUPPORT = 0.6
SEMANTIC_SUPPORT = 0.75

_MARKER = re.compile(r"\[\s*(?:passages?\s*)?(\d+(?:\s*(?:,|and)\s*\d+)*)\s*\]", re.IGNORECASE)
_LEADING_MARKERS = re.compile(r"^(?:\s*\[[^\]]*\d[^\]]*\])+")
_NAME_OR_NUMBER = re.compile(r"(?<!^)(?<![.?!;:] )\b[A-Z][\w’'-]+|\d+(?:[.,]\d+)*")
_SPACE_BEFORE_PUNCT = re.compile(r"\s+([.,;:!?])")
_REFUSAL_CORE = re.compile(
    r"(?:couldn['’]?t|could not|cannot|can['’]?t|did not|didn['’]?t) find .{0,40}?in the "
    r"(?:given |provided )?(?:documents?|passages?|texts?|context)"
    r"|(?:passages?|documents?) (?:do|does) not (?:contain|mention)"
)

Encode = Callable[[list[str]], np.ndarray]


@dataclass(frozen=True)
class Checked:
    answer: str  # the sentences, each followed by its valid markers
    sentences: tuple[AnswerSentence, ...]
    citations: list[Citation]
    abstained: bool
    dropped: tuple[int, ...]  # marker numbers that named no given passage


@dataclass(frozen=True)
class _Evidence:
    passage: int  # 1-based
    sentence: int  # index within the passage
    score: float


def parse(text: str) -> list[tuple[str, list[int]]]:
    """The text's sentences, markers removed, each with the numbers its markers give (in order,
    without repeats). Markers opening a sentence ("… done. [2] Next …") belong to the one before."""
    out: list[tuple[str, list[int]]] = []
    for start, end in split_sentences(text, 0, len(text)):
        piece = text[start:end]
        lead = _LEADING_MARKERS.match(piece)
        if lead and out:
            out[-1] = (out[-1][0], _merge(out[-1][1], _numbers(lead.group())))
            piece = piece[lead.end() :]
        numbers = _numbers(piece)
        words = collapse(_SPACE_BEFORE_PUNCT.sub(r"\1", _MARKER.sub(" ", piece)))
        if any(ch.isalnum() for ch in words):
            out.append((words, numbers))
        elif out and numbers:
            out[-1] = (out[-1][0], _merge(out[-1][1], numbers))
    return out


def _numbers(text: str) -> list[int]:
    return _merge([], [int(n) for m in _MARKER.finditer(text) for n in re.findall(r"\d+", m.group(1))])


def _merge(a: list[int], b: list[int]) -> list[int]:
    return a + [n for i, n in enumerate(b) if n not in a and n not in b[:i]]


def is_refusal(text: str) -> bool:
    """The model said the passages do not hold the answer (the prompt's phrase, or close to it)."""
    return text.strip() == REFUSAL or bool(_REFUSAL_CORE.search(text.lower()))


def lexical_overlap(claim: str, source: str) -> float:
    """Share of the claim's content words (stemmed, stop words out) that the source contains."""
    claim_terms, source_terms = tokenize([claim, source])
    return _overlap(set(claim_terms), set(source_terms))


def unseen_names(claim: str, passage_text: str) -> list[str]:
    """Names (capitalised, not opening the sentence) and numbers in the claim the passage never
    mentions: the usual shape of an invented detail."""
    text = passage_text.casefold()
    return [w for w in _NAME_OR_NUMBER.findall(claim) if w.casefold() not in text]


def _overlap(wanted: set[str], present: set[str]) -> float:
    return len(wanted & present) / len(wanted) if wanted else 0.0


def check(
    text: str, passages: Sequence[Passage], candidates: Mapping[str, Candidate], encode: Encode
) -> Checked:
    """The generated `text` checked against `passages` (numbered from 1) and their sentences."""
    parsed = parse(text)
    if not parsed or any(is_refusal(sentence) for sentence, _ in parsed):
        return Checked(REFUSAL, (), [], True, ())
    valid = range(1, len(passages) + 1)
    dropped = tuple(sorted({n for _, numbers in parsed for n in numbers if n not in valid}))
    claims = [sentence for sentence, _ in parsed]
    vectors = encode(claims)
    claim_terms = [set(t) for t in tokenize(claims)]
    source_terms = {
        n: [set(t) for t in tokenize(candidates[p.chunk_id].sentences)] for n, p in enumerate(passages, 1)
    }

    def evidence(n: int, sentence: str, vector: np.ndarray, terms: set[str]) -> tuple[bool, _Evidence]:
        """Whether passage n supports the sentence, and its sentence that comes closest."""
        cosines = candidates[passages[n - 1].chunk_id].sentence_vectors @ vector
        overlaps = np.array([_overlap(terms, source) for source in source_terms[n]])
        close = bool((overlaps >= LEXICAL_SUPPORT).any() or (cosines >= SEMANTIC_SUPPORT).any())
        combined = (cosines + overlaps) / 2
        i = int(np.argmax(combined))
        return close and not unseen_names(sentence, passages[n - 1].text), _Evidence(n, i, float(combined[i]))

    sentences: list[AnswerSentence] = []
    best: dict[int, _Evidence] = {}  # passage number -> its sentence that best supports the answer
    for (sentence, numbers), vector, terms in zip(parsed, vectors, claim_terms, strict=True):
        cited = [n for n in numbers if n in valid]
        found = [evidence(n, sentence, vector, terms) for n in cited]
        attributed = False
        if not numbers:  # the model gave no marker: cite the passage that supports it best, if one does
            backing = [e for ok, e in (evidence(n, sentence, vector, terms) for n in valid) if ok]
            if backing:
                chosen = max(backing, key=lambda e: e.score)
                found, cited, attributed = [(True, chosen)], [chosen.passage], True
        supported = any(ok for ok, _ in found)
        for _, e in found:
            if e.passage not in best or e.score > best[e.passage].score:
                best[e.passage] = e
        sentences.append(AnswerSentence(sentence, tuple(cited), supported, attributed))
    citations = [_citation(best[n], passages, candidates) for n in sorted(best)]
    answer = " ".join(
        s.text + "".join(f" [{n}]" for n in s.citations) if s.citations else s.text for s in sentences
    )
    return Checked(answer, tuple(sentences), citations, False, dropped)


def _citation(e: _Evidence, passages: Sequence[Passage], candidates: Mapping[str, Candidate]) -> Citation:
    p = passages[e.passage - 1]
    start, end = p.sentences[e.sentence]
    return Citation(e.passage, p.doc, p.chunk_id, start, end, candidates[p.chunk_id].sentences[e.sentence])

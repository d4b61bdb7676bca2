"""The public object: open an index once, then answer `search` quickly with models loaded once."""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from functools import cache
from pathlib import PurePosixPath
from typing import TYPE_CHECKING, Any

import numpy as np

from rag.answer import (
    REFUSAL,
    UNREAD,
    Composer,
    Composition,
    Draft,
    Reading,
    as_asked,
    as_question,
    best_named,
    cited_before,
    compose_from_readings,
    missing_names,
    missing_numbers,
    open_span_reader,
    question_parts,
    resolve,
    spelled_out,
    without_joining_words,
)
from rag.config import Config
from rag.errors import UserError
from rag.search import Candidate, Found, SearchPipeline, joined, make_reranker, prefer
from rag.store import Embedder, check_settings, open_reader, where
from rag.types import Answer, AnswerSentence, Passage, ShortAnswer

if TYPE_CHECKING:
    from rag.generation import Generator

MAX_QUESTION_CHARS = 20_000
MODES = ("extractive", "llm")
# A multi-part question's passages are the whole question's, then up to this many more of each part's
# own: a part whose fact sits in another passage of the article ("…, and who was murdered in
# Austria?") is often not among the whole question's top five. Chosen on a first cut (143) of the
# two-part questions made from the SQuAD calibration half (eval/two_part_questions.py): both facts
# held 0.622 with none, 0.636 with 1, 0.657 with 2 or 3.
PART_PASSAGES = 2


@dataclass(frozen=True)
class SearchResult:
    question: str
    passages: list[Passage]
    truncated: bool = False  # the question was longer than the model's window
    timings_ms: dict[str, float] = field(default_factory=dict)

    def to_dict(self) -> dict[str, object]:
        return {"question": self.question, "passages": [p.to_dict() for p in self.passages]}


_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
# Terminal escape sequences, whole: CSI ("\x1b[31m"), OSC ("\x1b]0;title\x07"), and two-byte ones. Only
# the ESC byte would otherwise be a control character, and "[31m" would stay as a word and a number.
_ESCAPE = re.compile(
    r"\x1b(?:\[[0-?]*[ -/]*[@-~]|\][^\x07\x1b]*(?:\x07|\x1b\\)?|[@-Z\\-_])|\x9b[0-?]*[ -/]*[@-~]"
)


def clean_question(question: str) -> str:
    """Whitespace collapsed; terminal escape sequences and control characters read as spaces; a lone
    surrogate (an undecodable byte in argv, or "\\ud800" in JSON) becomes U+FFFD, which the tokenizer
    can take. Anything but a string (from the REST API) is a user error."""
    if not isinstance(question, str):
        raise UserError(f"the question must be text, not {type(question).__name__}")
    question = question.encode("utf-8", "surrogatepass").decode("utf-8", "replace")
    text = " ".join(_CONTROL.sub(" ", _ESCAPE.sub(" ", question)).split())
    if not text:
        raise UserError("the question is empty")
    if len(text) > MAX_QUESTION_CHARS:
        raise UserError(f"the question is too long ({len(text)} characters, limit {MAX_QUESTION_CHARS})")
    return text


def _contexts(passages: list[Passage], texts: dict[str, str]) -> list[str]:
    """What the reader reads: each passage's source text (offsets into the file, not the collapsed
    chunk text), from its document's text."""
    return [texts[p.doc][p.start : p.end] for p in passages]


class Engine:
    """Search and answer over one index (a folder or a database), models loaded once; safe to call
    from several threads."""

    def __init__(self, config: Config) -> None:
        self.config = config
        self.reader = open_reader(config)
        try:
            check_settings(self.reader.manifest, config.index_settings(), where(config))
        except UserError:
            self.reader.close()
            raise
        self.embedder = Embedder(config)
        self.reranker = make_reranker(config.rerank, config.device)
        self.pipeline = SearchPipeline(config, self.reader, self.embedder, self.reranker)
        self.composer = Composer(max_sentences=config.answer_sentences, threshold=config.refusal_threshold)
        self.span_reader = (
            None
            if config.reader == "none"
            else open_span_reader(None if config.reader == "shipped" else config.reader)
        )
        self._generator: Generator | None = None
        self._generator_lock = threading.Lock()

    def close(self) -> None:
        self.reader.close()

    def warm(self) -> None:
        """Load the models and the indexes now rather than on the first question."""
        self.embedder.encode(["warm up"])
        if self.span_reader is not None:
            self.span_reader.warm()
        self.reader.warm()

    def search(self, question: str, k: int | None = None) -> SearchResult:
        question = clean_question(question)
        found = self.pipeline.retrieve(question, self._k(k))
        return SearchResult(question, found.passages, found.truncated, found.timings_ms)

    def ask(
        self,
        question: str,
        history: Sequence[Any] | None = None,
        k: int | None = None,
        mode: str = "extractive",
    ) -> Answer:
        """A cited answer, or a refusal; `history` holds the earlier chat messages. `mode` "llm" has a
        generator write it (see `ask_stream`), "extractive" quotes the best source sentences."""
        if mode == "extractive":
            return self._draft(question, history, k).answer
        final = None
        for item in self.ask_stream(question, history, k, mode):
            final = item
        assert isinstance(final, Answer)
        return final

    def ask_stream(
        self, question: str, history: Sequence[Any] | None = None, k: int | None = None, mode: str = "llm"
    ) -> Iterator[str | Answer]:
        """The answer's text in pieces as the generator writes it, then the checked Answer (in
        extractive mode, only the Answer). Retrieval, history and the refusal on weak evidence are
        those of extractive mode; a failing generator gives the extractive answer with a note."""
        if mode not in MODES:
            raise UserError(f"mode must be one of {', '.join(MODES)}")
        if mode == "extractive":
            yield self.ask(question, history, k)
            return
        from rag.generation import generate_answer

        generator = self.generator()  # a setup mistake fails before any work
        draft = self._draft(question, history, k)
        for item in generate_answer(
            draft, generator, self.embedder.encode, self.config.llm_context_chars, history
        ):
            yield self._located(item) if isinstance(item, Answer) else item

    def _located(self, answer: Answer) -> Answer:
        """Each citation with its document's title and where its quote starts: page (PDF, slide) and
        locator ("page 2", "slide 3", "sheet Budget, row 3", "chapter 2")."""
        titles = {p.chunk_id: p.title for p in answer.passages}
        where_in = {doc: self.reader.places(doc) for doc in {c.doc for c in answer.citations}}
        citations = []
        for c in answer.citations:
            places = where_in[c.doc]
            title = titles.get(c.chunk_id) or PurePosixPath(c.doc).name
            citations.append(
                replace(c, title=title, page=places.page_at(c.start), locator=places.locator_at(c.start))
            )
        return replace(answer, citations=citations)

    def generator(self) -> Generator:
        """The configured generator, made once (a local model loads on its first question)."""
        with self._generator_lock:
            if self._generator is None:
                from rag.generation import make_generator

                self._generator = make_generator(self.config)
            return self._generator

    def _draft(self, question: str, history: Sequence[Any] | None, k: int | None) -> Draft:
        """The extractive answer, and the sentence vectors a generator's answer is checked with."""
        started = time.perf_counter()
        question = clean_question(question)
        asked = as_question(question)  # a request ("Tell me which…") read as the question it asks
        query = resolve(asked, history)
        sources = cited_before(asked, history)
        k = self._k(k)
        text_of = cache(self.reader.document_text)  # each document fetched once a question, if at all
        found = self._retrieve(query, k, sources)
        if found.passages:
            # an acronym the documents spell out but never write: what its spelling finds is read too,
            # after the passages the question found as asked
            spelled = spelled_out(query, (text_of(d) for d in dict.fromkeys(p.doc for p in found.passages)))
            if spelled != query:
                found = joined(found, [self._retrieve(spelled, k, sources)], PART_PASSAGES)
        # each part's own best passages too; a part reads the whole question's and its own
        reading = without_joining_words(query)  # what the reader reads, the follow-up resolved
        parts: list[tuple[str, set[str]]] = []
        if found.passages:
            own = {p.chunk_id for p in found.passages}
            runs = [(part, self._retrieve(part, k, sources)) for part in question_parts(reading)]
            parts = [(part, own | {p.chunk_id for p in run.passages}) for part, run in runs]
            found = joined(found, [run for _, run in runs], PART_PASSAGES)
        composing = time.perf_counter()
        composition = Composition(REFUSAL, [], True, 0.0)
        short: ShortAnswer | None = None
        candidates: dict[str, Candidate] = {}
        if found.passages:
            candidates = self.pipeline.candidates_for(found)
            # the evidence: passages from the documents naming most of what the question names
            evidence = self._on_subject(query, found.passages, text_of)
            if self.span_reader is None:
                composition = self._compose(asked, query, found, candidates, evidence)
            else:
                composition, short = self._read(reading, parts, evidence, candidates, text_of)
                if composition.abstained and self.config.composer_fallback:
                    composed = self._compose(asked, query, found, candidates, evidence)
                    composition = composition if composed.abstained else composed
                elif not composition.abstained and missing_numbers(asked, found.passages):
                    # "the Children Act 2004" when the documents name only 1989: not in the documents
                    # (the composer's own answers pass the same check)
                    composition, short = Composition(REFUSAL, [], True, composition.confidence), None
            # read lazily: a question naming nothing needs no document
            documents = (text_of(d) for d in dict.fromkeys(p.doc for p in found.passages))
            if not composition.abstained and missing_names(asked, documents):
                # "Who chairs the Child Safeguarding Practice Review Panel?" over documents that never
                # name that panel: whatever chair they name is not its chair
                composition, short = Composition(REFUSAL, [], True, composition.confidence), None
        done = time.perf_counter()
        timings = {
            **found.timings_ms,
            "compose": round((done - composing) * 1000, 2),
            "total": round((done - started) * 1000, 2),
        }
        answer = self._located(
            Answer(
                question,
                composition.answer,
                composition.abstained,
                composition.citations,
                found.passages,
                timings,
                query,
                composition.confidence,
                sentences=tuple(AnswerSentence(c.quote, (c.n,), True) for c in composition.citations),
                short_answer=short,
            )
        )
        return Draft(answer, candidates, started)

    def _retrieve(self, query: str, k: int, sources: set[str]) -> Found:
        """The top k passages; for a follow-up citing earlier `sources`, retrieved deeper and those
        documents' kept (`prefer`)."""
        if not sources:
            return self.pipeline.retrieve(query, k)
        return prefer(self.pipeline.retrieve(query, max(k, self.config.rerank_candidates)), sources, k)

    def _compose(
        self,
        question: str,
        query: str,
        found: Found,
        candidates: dict[str, Candidate],
        evidence: list[Passage],
    ) -> Composition:
        """The sentence composer's answer: without a reader, or where the reader finds no span but the
        composer's evidence check passes ("What did she say about inspections?" asks for a sentence,
        not the short span a reader trained on SQuAD looks for). Its check weighs every passage
        retrieved, as it was calibrated; it quotes only the `evidence` (`_on_subject`)."""
        # A follow-up's answer must fit both what was asked and what it refers to.
        vector = found.vector if found.vector is not None else self.embedder.encode([query])[0]
        if query != question:
            blend = vector + self.embedder.encode([question])[0]
            vector = blend / np.linalg.norm(blend)
        weights = self.composer.term_weights(question, self.reader.lexical)
        return self.composer.compose(vector, weights, found.passages, candidates, question, evidence)

    def _read(
        self,
        question: str,
        parts: list[tuple[str, set[str]]],
        passages: list[Passage],
        candidates: dict[str, Candidate],
        text_of: Callable[[str], str],
    ) -> tuple[Composition, ShortAnswer | None]:
        """The reader's answer to `question` (as the reader reads it, `without_joining_words`) over the
        passages, as the composer's Composition plus the short answer.
        `parts` holds a multi-part question's parts, each with the chunk ids it may read: the whole
        question's passages and its own (reading the other parts' too changed no answer of the
        two-part SQuAD sets and cost 45 ms at p50)."""
        reader = self.span_reader
        assert reader is not None
        texts = {p.doc: text_of(p.doc) for p in passages}
        contexts = _contexts(passages, texts)
        first = self.config.reader_first or len(contexts)

        def read_as_asked(some: list[str]) -> list[Reading]:
            """The spans that can answer the question as asked (`as_asked`); a multi-part question's
            whole reading may rightly lead with another part's kind ("When…, and who…?")."""
            return as_asked(question, some, reader.read(question, some), check_kind=not parts)

        readings = read_as_asked(contexts[:first])
        calibration, threshold = reader.calibration, self.config.reader_threshold
        if any(calibration.accepts(r, threshold) for r in readings):  # the rest are not read
            unread = [UNREAD] * len(contexts[first:])
        else:
            readings += read_as_asked(contexts[first:])
            first, unread = len(contexts), []
        # a multi-part question's parts are read in the passages the whole question was read in, each
        # part in its own of those and those about what it names itself
        part_readings = [
            self._read_on_subject(part, passages[:first], contexts[:first], text_of, among) + unread
            for part, among in parts
        ]
        readings += unread
        read = compose_from_readings(
            passages,
            readings,
            candidates,
            texts,
            calibration,
            threshold,
            self.config.answer_sentences,
            part_readings,
        )
        if read.abstained:
            return Composition(REFUSAL, [], True, read.confidence), None
        text = " ".join(f"{c.quote} [{c.n}]" for c in read.citations)
        return Composition(text, read.citations, False, read.confidence), read.short_answer

    def read(self, question: str, passages: list[Passage]) -> tuple[list[str], list[Reading]]:
        """The passages' source text (offsets into the file, not the collapsed chunk text) and the
        reader's verdict on each, as `ask` reads them: a request as its question (`as_question`,
        `without_joining_words`), UNREAD for those off the question's subject (`_on_subject`); needs a
        reader (`reader` not "none"). The verdicts are the reader's own, before `ask` sets aside the
        spans that cannot answer the question as asked (`as_asked`): the calibration was fitted on
        them so."""
        question = without_joining_words(as_question(question))
        text_of = cache(self.reader.document_text)
        contexts = _contexts(passages, {p.doc: text_of(p.doc) for p in passages})
        return contexts, self._read_on_subject(question, passages, contexts, text_of)

    def _read_on_subject(
        self,
        question: str,
        passages: list[Passage],
        contexts: list[str],
        text_of: Callable[[str], str],
        among: set[str] | None = None,
    ) -> list[Reading]:
        """The reader's verdict on each of `contexts` (the passages' text) that comes from a document
        `_on_subject` keeps, and whose chunk id is `among` those given; UNREAD, and not read, for the
        rest."""
        assert self.span_reader is not None
        on = {p.chunk_id for p in self._on_subject(question, passages, text_of)}
        if among is not None:
            on &= among
        kept = [i for i, p in enumerate(passages) if p.chunk_id in on]
        by_place = dict(zip(kept, self.span_reader.read(question, [contexts[i] for i in kept]), strict=True))
        return [by_place.get(i, UNREAD) for i in range(len(passages))]

    def _on_subject(
        self, question: str, passages: list[Passage], text_of: Callable[[str], str]
    ) -> list[Passage]:
        """The passages from the documents naming the most of the question's names (`best_named`):
        only they may answer it, by the reader or the composer. The rest stay in the answer's
        passages, as retrieved."""
        named = best_named(question, [p.doc for p in passages], text_of)
        return [p for p in passages if p.doc in named]

    def _k(self, k: int | None) -> int:
        k = self.config.k if k is None else k
        if not 1 <= k <= 100:
            raise UserError("k must be between 1 and 100")
        return k

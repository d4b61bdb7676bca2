"""The public object: open an index once, then answer `search` quickly with models loaded once."""

from __future__ import annotations

import json
import re
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

import numpy as np

from rag.answer.from_reader import compose as compose_from_readings
from rag.answer.parts import question_parts
from rag.answer.reader import UNREAD, Reader, Reading
from rag.compose import REFUSAL, Composer, Composition, missing_numbers
from rag.config import Config
from rag.conversation import cited_before, resolve
from rag.embed import Embedder
from rag.errors import UserError
from rag.rerank import Candidate, make_reranker
from rag.retrieve import Ranked, dense_search, rrf, weighted
from rag.store import IndexReader, check_settings
from rag.types import Answer, AnswerSentence, Passage, ShortAnswer

if TYPE_CHECKING:
    from rag.generate import Generator

MAX_QUESTION_CHARS = 20_000
MODES = ("extractive", "llm")


@dataclass(frozen=True)
class _Found:
    """One retrieval run, with what answering needs beyond the passages."""

    passages: list[Passage]
    vector: np.ndarray | None  # None when no stage needed it
    lists: dict[str, Ranked]
    candidates: list[Candidate]
    truncated: bool
    timings_ms: dict[str, float]


@dataclass(frozen=True)
class Draft:
    """An extractive answer and what a generator's answer needs besides: the passages' sentences and
    their vectors, and when the question arrived."""

    answer: Answer
    candidates: dict[str, Candidate]
    started: float  # time.perf_counter() when the question arrived


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


def _prefer(found: _Found, sources: set[str], k: int) -> _Found:
    """The top k passages from `sources` alone, in their reranked order; the top k of all when none
    comes from `sources` (the follow-up has moved on to another topic)."""
    preferred = [p for p in found.passages if p.doc in sources] or found.passages
    passages = [replace(p, rank=rank) for rank, p in enumerate(preferred[:k], start=1)]
    return replace(found, passages=passages)


class Engine:
    """Search and answer over one index folder, models loaded once; safe to call from several threads."""

    def __init__(self, config: Config) -> None:
        self.config = config
        self.reader = IndexReader(config.index_dir)
        check_settings(self.reader.manifest, config.index_settings(), config.index_dir)
        self.embedder = Embedder(config)
        self.reranker = make_reranker(config.rerank, config.device)
        self.composer = Composer(max_sentences=config.answer_sentences, threshold=config.refusal_threshold)
        self.span_reader = (
            None if config.reader == "none" else Reader(None if config.reader == "shipped" else config.reader)
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
        _ = self.reader.faiss, self.reader.lexical

    def search(self, question: str, k: int | None = None) -> SearchResult:
        question = clean_question(question)
        found = self._retrieve(question, k)
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
        from rag.generative import generate_answer

        generator = self.generator()  # a setup mistake fails before any work
        draft = self._draft(question, history, k)
        yield from generate_answer(
            draft, generator, self.embedder.encode, self.config.llm_context_chars, history
        )

    def generator(self) -> Generator:
        """The configured generator, made once (a local model loads on its first question)."""
        with self._generator_lock:
            if self._generator is None:
                from rag.generate import make_generator

                self._generator = make_generator(self.config)
            return self._generator

    def _draft(self, question: str, history: Sequence[Any] | None, k: int | None) -> Draft:
        """The extractive answer, and the sentence vectors a generator's answer is checked with."""
        started = time.perf_counter()
        question = clean_question(question)
        query = resolve(question, history)
        sources = cited_before(question, history)
        if sources:  # retrieve deeper, then keep the earlier answer's documents
            k = self._k(k)
            found = _prefer(self._retrieve(query, max(k, self.config.rerank_candidates)), sources, k)
        else:
            found = self._retrieve(query, k)
        composing = time.perf_counter()
        composition = Composition(REFUSAL, [], True, 0.0)
        short: ShortAnswer | None = None
        candidates: dict[str, Candidate] = {}
        if found.passages:
            candidates = self._candidates_for(found)
            if self.span_reader is None:
                composition = self._compose(question, query, found, candidates)
            else:
                composition, short = self._read(query, found.passages, candidates)
                if composition.abstained and self.config.composer_fallback:
                    composed = self._compose(question, query, found, candidates)
                    composition = composition if composed.abstained else composed
                elif not composition.abstained and missing_numbers(question, found.passages):
                    # "the Children Act 2004" when the documents name only 1989: not in the documents
                    # (the composer's own answers pass the same check)
                    composition, short = Composition(REFUSAL, [], True, composition.confidence), None
        done = time.perf_counter()
        timings = {
            **found.timings_ms,
            "compose": round((done - composing) * 1000, 2),
            "total": round((done - started) * 1000, 2),
        }
        answer = Answer(
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
        return Draft(answer, candidates, started)

    def _compose(
        self, question: str, query: str, found: _Found, candidates: dict[str, Candidate]
    ) -> Composition:
        """The sentence composer's answer: without a reader, or where the reader finds no span but the
        composer's evidence check passes ("What did she say about inspections?" asks for a sentence,
        not the short span a reader trained on SQuAD looks for)."""
        # A follow-up's answer must fit both what was asked and what it refers to.
        vector = found.vector if found.vector is not None else self.embedder.encode([query])[0]
        if query != question:
            blend = vector + self.embedder.encode([question])[0]
            vector = blend / np.linalg.norm(blend)
        weights = self.composer.term_weights(question, self.reader.lexical)
        return self.composer.compose(vector, weights, found.passages, candidates, question)

    def _read(
        self, question: str, passages: list[Passage], candidates: dict[str, Candidate]
    ) -> tuple[Composition, ShortAnswer | None]:
        """The reader's answer over the passages, as the composer's Composition plus the short answer."""
        assert self.span_reader is not None
        texts = {p.doc: self.reader.document_text(p.doc) for p in passages}
        contexts = [texts[p.doc][p.start : p.end] for p in passages]
        first = self.config.reader_first or len(contexts)
        readings = self.span_reader.read(question, contexts[:first])
        if self._answered(readings):  # the passages further down are not read
            readings += [UNREAD] * len(contexts[first:])
        else:
            readings += self.span_reader.read(question, contexts[first:])
        parts = [self.span_reader.read(part, contexts) for part in question_parts(question)]
        read = compose_from_readings(
            passages,
            readings,
            candidates,
            texts,
            self.span_reader.calibration,
            self.config.reader_threshold,
            self.config.answer_sentences,
            parts,
        )
        if read.abstained:
            return Composition(REFUSAL, [], True, read.confidence), None
        text = " ".join(f"{c.quote} [{c.n}]" for c in read.citations)
        return Composition(text, read.citations, False, read.confidence), read.short_answer

    def _answered(self, readings: list[Reading]) -> bool:
        """Whether one of these readings is an answer the reader would give."""
        assert self.span_reader is not None
        margins = [r.margin for r in readings if r.start is not None]
        return bool(margins) and (
            self.span_reader.calibration.probability(max(margins)) >= self.config.reader_threshold
        )

    def read(self, question: str, passages: list[Passage]) -> tuple[list[str], list[Reading]]:
        """The passages' source text (offsets into the file, not the collapsed chunk text) and the
        reader's verdict on each; needs a reader (`reader` not "none")."""
        assert self.span_reader is not None
        contexts = [self.reader.document_text(p.doc)[p.start : p.end] for p in passages]
        return contexts, self.span_reader.read(question, contexts)

    def _retrieve(self, query: str, k: int | None) -> _Found:
        """Both first stages, fusion and reranking for `query` (the question, or its resolved form).
        The query is embedded only when a stage uses its vector."""
        k = self._k(k)
        started = time.perf_counter()
        truncated = self.embedder.count_tokens([query])[0] > self.embedder.window
        needs_vector = self.config.use_dense or self.reranker is not None
        vector = self.embedder.encode([query])[0] if needs_vector else None
        lists = self.first_stage(query, vector)
        fused = self.fuse(lists)
        ranked = fused
        retrieved = time.perf_counter()
        rerank_scores: dict[int, float] = {}
        candidates: list[Candidate] = []
        if self.reranker is not None and vector is not None:
            candidates = self.candidates(ranked[: max(self.config.rerank_candidates, k)], lists)
            scores = self.reranker.scores(query, vector, candidates)
            rerank_scores = {c.row: float(s) for c, s in zip(candidates, scores, strict=True)}
            ranked = sorted(rerank_scores.items(), key=lambda item: (-item[1], item[0]))
        reranked = time.perf_counter()
        passages = self._passages(ranked[:k], lists, dict(fused) if len(lists) > 1 else {}, rerank_scores)
        done = time.perf_counter()
        timings = {  # looking the passages up is part of retrieval
            "retrieve": round((retrieved - started + done - reranked) * 1000, 2),
            "rerank": round((reranked - retrieved) * 1000, 2),
        }
        return _Found(passages, vector, lists, candidates, truncated, timings)

    def _k(self, k: int | None) -> int:
        k = self.config.k if k is None else k
        if not 1 <= k <= 100:
            raise UserError("k must be between 1 and 100")
        return k

    def _candidates_for(self, found: _Found) -> dict[str, Candidate]:
        """Sentence vectors of the returned passages (already loaded when reranking was on)."""
        by_row = {c.row: c for c in found.candidates}
        missing = [(p.row, p.score) for p in found.passages if p.row not in by_row]
        for c in self.candidates(missing, found.lists) if missing else []:
            by_row[c.row] = c
        return {p.chunk_id: by_row[p.row] for p in found.passages}

    def candidates(self, ranked: Ranked, lists: dict[str, Ranked]) -> list[Candidate]:
        """What the reranker reads: sentences, their vectors and the first-stage scores."""
        bm25 = dict(lists.get("bm25", []))
        rows = self._rows([row for row, _ in ranked], "vector, sentence_vectors")
        dim = self.reader.dimension
        out = []
        for row, fused in ranked:
            r = rows[row]
            text = self.reader.document_text(r["doc"])
            out.append(
                Candidate(
                    row=row,
                    text=r["text"],
                    sentences=[" ".join(text[a:b].split()) for a, b in r["sentences"]],
                    sentence_vectors=np.frombuffer(r["sentence_vectors"], dtype=np.float32).reshape(-1, dim),
                    vector=np.frombuffer(r["vector"], dtype=np.float32),
                    fused=fused,
                    bm25=bm25.get(row, 0.0),
                )
            )
        return out

    def _rows(self, ids: list[int], extra: str = "") -> dict[int, dict[str, Any]]:
        columns = ["id", "doc", "chunk_id", "start", "end", "text", "sentences", "page", "title"]
        extras = [c.strip() for c in extra.split(",") if c.strip()]
        sql = (
            f"SELECT {', '.join(chr(34) + c + chr(34) for c in columns + extras)} FROM chunks "
            f"WHERE id IN ({','.join('?' * len(ids))})"
        )
        out = {}
        for values in self.reader.db.execute(sql, ids):
            row = dict(zip(columns + extras, values, strict=True))
            row["sentences"] = [(int(a), int(b)) for a, b in json.loads(row["sentences"])]
            out[row["id"]] = row
        return out

    def first_stage(self, question: str, vector: np.ndarray | None) -> dict[str, Ranked]:
        """Candidate lists of the enabled first stages (dense, BM25)."""
        lists: dict[str, Ranked] = {}
        if self.config.use_dense and vector is not None:
            lists["dense"] = dense_search(self.reader.faiss, vector, self.config.dense_candidates)
        if self.config.use_bm25:
            lists["bm25"] = self.reader.lexical.search(question, self.config.bm25_candidates)
        return lists

    def fuse(self, lists: dict[str, Ranked]) -> Ranked:
        if len(lists) == 1:
            return next(iter(lists.values()))
        if self.config.fusion == "weighted":
            weights = {"dense": self.config.dense_weight, "bm25": self.config.bm25_weight}
            return weighted(lists, weights)
        return rrf(lists, self.config.rrf_k)

    def _passages(
        self, ranked: Ranked, lists: dict[str, Ranked], fused: dict[int, float], reranked: dict[int, float]
    ) -> list[Passage]:
        """Look the chunks up and attach every stage's score, so a ranking can be explained."""
        stage_scores = {name: dict(items) for name, items in lists.items()}
        rows = self._rows([row for row, _ in ranked])
        passages = []
        for rank, (row, score) in enumerate(ranked, start=1):
            r = rows[row]
            scores = {name: s[row] for name, s in stage_scores.items() if row in s}
            if row in fused:
                scores["fused"] = fused[row]
            if row in reranked:
                scores["rerank"] = reranked[row]
            passages.append(
                Passage(
                    rank,
                    score,
                    r["doc"],
                    r["chunk_id"],
                    r["start"],
                    r["end"],
                    r["text"],
                    scores,
                    tuple(r["sentences"]),
                    r["page"],
                    r["title"],
                    row,
                )
            )
        return passages

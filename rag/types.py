"""Plain data passed between stages, defined once (the JSON contracts come from `to_dict`)."""

from __future__ import annotations

from bisect import bisect_right
from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass(frozen=True)
class Places:
    """Where a document's pages (PDF, TIFF, slides) and labelled sections ("slide 3", "sheet Budget,
    row 3", "chapter 2") begin, as offsets into its text: what a citation says about where it is."""

    page_starts: tuple[int, ...] = ()
    locators: tuple[tuple[int, str], ...] = ()  # (offset, label), in text order

    def page_at(self, offset: int) -> int | None:
        """1-based page number holding `offset`; None for a format without pages."""
        if not self.page_starts:
            return None
        return max(1, bisect_right(self.page_starts, offset))

    def locator_at(self, offset: int) -> str | None:
        """The label of the section holding `offset`, else "page N", else None."""
        if self.locators:
            i = bisect_right([start for start, _ in self.locators], offset) - 1
            return self.locators[i][1] if i >= 0 else None
        page = self.page_at(offset)
        return None if page is None else f"page {page}"


def where(doc: str, title: str | None, locator: str | None) -> str:
    """How a source is named to a reader: "Staffing plan · page 2 (plans/staffing.pdf)"; the title
    alone stands when it is the document id's own file name."""
    name = doc.rsplit("/", 1)[-1]
    shown = title if title and title != name else ""
    place = " · ".join(part for part in (shown or doc, locator) if part)
    return f"{place} ({doc})" if shown else place


@dataclass(frozen=True)
class Document:
    """A decoded source file. Every offset elsewhere points into `text`."""

    doc: str  # document id: the path relative to the indexed folder (for seeds/, the file name)
    path: str  # absolute source path
    text: str  # decoded text (.txt/.md: the file itself; other kinds: the extracted text)
    kind: str  # txt, md, html, pdf, or one of rag.ingest.formats.FORMAT_KINDS (docx, xlsx, eml, …)
    sha256: str
    size: int
    mtime_ns: int
    title: str | None = None
    page_starts: tuple[int, ...] = ()  # PDF, TIFF, slides: offset in `text` where each page begins
    notes: tuple[str, ...] = ()  # one line each: how the file was read, where that is worth saying
    locators: tuple[tuple[int, str], ...] = ()  # labelled sections (see Places); pages need none
    scanned: tuple[tuple[int, int], ...] = ()  # (start, end) of OCR text: the cleaner keeps it whole

    @property
    def places(self) -> Places:
        return Places(self.page_starts, self.locators)

    def page_at(self, offset: int) -> int | None:
        """1-based page number holding `offset`, for PDFs, TIFFs and slides."""
        return self.places.page_at(offset)


@dataclass(frozen=True)
class Paragraph:
    """A paragraph of a document and the cleaner's verdict on it."""

    start: int
    end: int
    text: str  # whitespace collapsed
    kept: bool
    reason: str  # why it was kept or dropped, for the audit report


@dataclass(frozen=True)
class Chunk:
    """A retrievable passage: `text` equals the source slice `start:end` with whitespace collapsed."""

    doc: str
    chunk_id: str
    start: int
    end: int
    text: str
    sentences: tuple[tuple[int, int], ...]  # absolute (start, end) of each sentence
    page: int | None = None
    title: str | None = None
    locator: str | None = None  # where the chunk starts: "page 2", "slide 3", "sheet Budget, row 3"

    def to_dict(self) -> dict[str, Any]:
        return {
            "doc": self.doc,
            "chunk_id": self.chunk_id,
            "start": self.start,
            "end": self.end,
            "text": self.text,
            "title": self.title,
            "page": self.page,
            "locator": self.locator,
        }


@dataclass(frozen=True)
class IndexReport:
    """What one `rag index` run did."""

    index_dir: str
    documents: int
    chunks: int
    dropped_paragraphs: int
    added: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # files read, but not the usual way
    empty: list[str] = field(default_factory=list)  # read, but nothing kept after cleaning
    seconds: float = 0.0

    @property
    def changed(self) -> int:
        return len(self.added) + len(self.updated) + len(self.removed)

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "changed": self.changed}


@dataclass(frozen=True)
class Passage:
    """A retrieved chunk with its rank and the score each stage gave it."""

    rank: int
    score: float
    doc: str
    chunk_id: str
    start: int
    end: int
    text: str
    scores: dict[str, float]
    sentences: tuple[tuple[int, int], ...] = ()
    page: int | None = None
    title: str | None = None
    locator: str | None = None
    row: int = -1  # the index's internal row id (not part of the JSON contract)

    def to_dict(self) -> dict[str, Any]:
        return {
            "rank": self.rank,
            "score": round(self.score, 6),
            "doc": self.doc,
            "chunk_id": self.chunk_id,
            "start": self.start,
            "end": self.end,
            "text": self.text,
            "scores": {k: round(v, 6) for k, v in self.scores.items()},
            "title": self.title,
            "page": self.page,
            "locator": self.locator,
        }


@dataclass(frozen=True)
class Citation:
    """Support for one answer sentence: the exact source sentence and where it is."""

    n: int
    doc: str
    chunk_id: str
    start: int
    end: int
    quote: str  # the source text start:end, whitespace collapsed
    title: str | None = None  # the document's own title (else its file name)
    page: int | None = None  # of the quote's start: PDF page or slide; None where the format has none
    locator: str | None = None  # "page 2", "slide 3", "sheet Budget, row 3", "chapter 2"; or None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class ShortAnswer:
    """The asked fact itself, as the reader found it: the file's text start:end (whitespace collapsed),
    inside citation `n`; `score` is the reader's margin of this span over "no answer"."""

    text: str
    n: int
    doc: str
    chunk_id: str
    start: int
    end: int
    score: float

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class AnswerSentence:
    """One sentence of an answer, the passages it cites and whether they support it. Extractive
    sentences are verbatim quotes, so always supported; a generated one is checked
    (rag/generation/support.py)."""

    text: str
    citations: tuple[int, ...]
    supported: bool
    attributed: bool = False  # the model gave no marker; the checker cited the passage supporting it

    def to_dict(self) -> dict[str, Any]:
        return {
            "text": self.text,
            "citations": list(self.citations),
            "supported": self.supported,
            "attributed": self.attributed,
        }


@dataclass(frozen=True)
class Answer:
    question: str
    answer: str
    abstained: bool
    citations: list[Citation]
    passages: list[Passage]  # what retrieval returned; when abstaining, offered as "related" only
    timings_ms: dict[str, float]
    query: str = ""  # the retrieval query, with terms carried over from earlier turns
    confidence: float = 0.0  # evidence strength the refusal threshold was applied to
    mode: str = "extractive"  # who wrote the answer: "extractive" (also a generator's fallback) or "llm"
    generator: str = ""  # the model's name in llm mode
    sentences: tuple[AnswerSentence, ...] = ()  # empty for a refusal
    note: str = ""  # why the answer is not what was asked for (a generator's failure, weak evidence)
    short_answer: ShortAnswer | None = None  # the reader's span; None for a refusal or without a reader

    def to_dict(self) -> dict[str, Any]:
        return {
            "question": self.question,
            "answer": self.answer,
            "abstained": self.abstained,
            "citations": [c.to_dict() for c in self.citations],
            "passages": [p.to_dict() for p in self.passages],
            "timings_ms": self.timings_ms,
            "query": self.query,
            "confidence": round(self.confidence, 4),
            "mode": self.mode,
            "generator": self.generator,
            "sentences": [s.to_dict() for s in self.sentences],
            "note": self.note,
            "short_answer": self.short_answer.to_dict() if self.short_answer else None,
        }


@dataclass(frozen=True)
class Question:
    """One evaluation question and its gold fields; an empty gold field means "not given"."""

    id: str
    question: str
    answers: tuple[str, ...] = ()  # reference answers or key facts
    sources: tuple[str, ...] = ()  # document ids that hold the answer
    evidence: tuple[str, ...] = ()  # verbatim supporting quotes
    answerable: bool = True
    line: int = 0  # where it was read, for messages

    def gold(self) -> dict[str, Any]:
        return {
            "answers": list(self.answers),
            "sources": list(self.sources),
            "evidence": list(self.evidence),
            "answerable": self.answerable,
        }

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "question": self.question, **self.gold()}

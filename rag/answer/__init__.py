"""Answering from the retrieved passages: the trained span `Reader` and its answer or refusal
(`compose_from_readings`), the sentence `Composer` (the fallback, and the answer without a reader),
what a follow-up refers to (`resolve`, `cited_before`), and the `Draft` a generator starts from.
The reader's training and export: rag.answer.training."""

from rag.answer.answer_type import expected_type, offers
from rag.answer.compose import REFUSAL, Composer, Composition, coverage, missing_numbers
from rag.answer.conversation import cited_before, earlier_question, is_follow_up, resolve
from rag.answer.draft import Draft
from rag.answer.from_reader import as_asked
from rag.answer.from_reader import compose as compose_from_readings
from rag.answer.names import best_named, missing_names, spelled_out
from rag.answer.normalize import normalize_tokens
from rag.answer.pair import ReaderPair, open_span_reader
from rag.answer.parts import question_parts
from rag.answer.phrasing import as_question, without_joining_words
from rag.answer.reader import DEFAULT_READER, UNREAD, Calibration, Reader, Reading

__all__ = [
    "DEFAULT_READER",
    "REFUSAL",
    "UNREAD",
    "Calibration",
    "Composer",
    "Composition",
    "Draft",
    "Reader",
    "ReaderPair",
    "Reading",
    "as_asked",
    "as_question",
    "best_named",
    "cited_before",
    "compose_from_readings",
    "coverage",
    "earlier_question",
    "expected_type",
    "is_follow_up",
    "missing_names",
    "missing_numbers",
    "normalize_tokens",
    "offers",
    "open_span_reader",
    "question_parts",
    "resolve",
    "spelled_out",
    "without_joining_words",
]

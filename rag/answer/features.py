"""Question + context to model inputs, and token labels for training: one place, so that training and
reading cut windows the same way.

A context longer than the window is read in overlapping windows. The label of a window that does not
hold the whole answer (or of a negative example) is the [CLS] token at position 0: "no answer here".
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

MAX_LENGTH = 256  # word pieces per window: a 200-piece chunk and its question fit in one
STRIDE = 96  # overlap between windows of a longer context


@dataclass(frozen=True)
class Feature:
    input_ids: list[int]
    token_type_ids: list[int]
    start: int  # label token positions; 0 and 0 for "no answer in this window"
    end: int


MAX_QUESTION = 96  # word pieces of the question a window keeps, so the context always has room


def clip_question(tokenizer: Any, question: str) -> str:
    """The question's last MAX_QUESTION word pieces: the tokenizer cannot cut a window whose question
    alone fills it, and a long message usually puts what it asks at its end."""
    enc = tokenizer(question, add_special_tokens=False, return_offsets_mapping=True)
    offsets = enc["offset_mapping"]
    return question if len(offsets) <= MAX_QUESTION else question[offsets[-MAX_QUESTION][0] :]


def content_vocabulary(tokenizer: Any) -> np.ndarray:
    """Which word pieces of the vocabulary carry content: letters or digits, and not one of Lucene's
    English stop words (bm25s's list, as the word index uses), so that "the" or "of" shared with the
    question does not count as repeating it."""
    from bm25s.stopwords import STOPWORDS_EN

    stop = set(STOPWORDS_EN)
    pieces = tokenizer.convert_ids_to_tokens(list(range(len(tokenizer))))
    words = [p[2:] if p.startswith("##") else p.lstrip("▁") for p in pieces]  # WordPiece or SentencePiece
    return np.array([w.isalnum() and w.lower() not in stop for w in words])


def encode(tokenizer: Any, questions: list[str], contexts: list[str]) -> Any:
    """The tokenizer's windows for each (question, context), with character offsets of each token."""
    return tokenizer(
        questions,
        contexts,
        truncation="only_second",
        max_length=MAX_LENGTH,
        stride=STRIDE,
        return_overflowing_tokens=True,
        return_offsets_mapping=True,
        padding=False,
    )


def label(
    offsets: list[tuple[int, int]], sequence_ids: list[int | None], start: int, end: int
) -> tuple[int, int]:
    """Token positions of the answer's characters start:end in this window, or (0, 0) when the window
    does not hold all of it."""
    context = [i for i, s in enumerate(sequence_ids) if s == 1]
    if not context or offsets[context[0]][0] > start or offsets[context[-1]][1] < end:
        return 0, 0
    first = next(i for i in context if offsets[i][1] > start)
    last = next(i for i in reversed(context) if offsets[i][0] < end)
    return first, last


def training_features(tokenizer: Any, batch: list[Any]) -> list[Feature]:
    """Labelled windows of a batch of examples (rag.answer.training.squad.Example)."""
    enc = encode(tokenizer, [e.question for e in batch], [e.context for e in batch])
    out = []
    for w in range(len(enc["input_ids"])):
        e = batch[enc["overflow_to_sample_mapping"][w]]
        s, t = 0, 0
        if e.answer_start is not None:
            s, t = label(
                enc["offset_mapping"][w],
                enc.sequence_ids(w),
                e.answer_start,
                e.answer_start + len(e.answer_text),
            )
        out.append(Feature(enc["input_ids"][w], enc["token_type_ids"][w], s, t))
    return out

"""Picking the answer span from a reader's start/end logits: small pure functions.

A span's score is start logit + end logit (the usual SQuAD reading); the "no answer" score is the
same sum at the [CLS] token. Both are log-odds on one scale, so their difference is the margin the
refusal is calibrated on.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

MAX_ANSWER_TOKENS = 30


@dataclass(frozen=True)
class Span:
    """The best span of one window: token positions, its score and the window's no-answer score."""

    first: int
    last: int
    score: float
    null: float


def best_span(
    start_logits: np.ndarray, end_logits: np.ndarray, context: np.ndarray, max_tokens: int = MAX_ANSWER_TOKENS
) -> Span | None:
    """The highest-scoring span of context tokens with first <= last < first + max_tokens; None when
    the window has no context token. `context` is a boolean mask over the window's tokens."""
    where = np.flatnonzero(context)
    if not where.size:
        return None
    s, e = start_logits[where], end_logits[where]
    scores = s[:, None] + e[None, :]
    gap = where[None, :] - where[:, None]  # token distance last - first
    scores = np.where((gap >= 0) & (gap < max_tokens), scores, -np.inf)
    i, j = np.unravel_index(int(np.argmax(scores)), scores.shape)
    null = float(start_logits[0] + end_logits[0])
    return Span(int(where[i]), int(where[j]), float(scores[i, j]), null)

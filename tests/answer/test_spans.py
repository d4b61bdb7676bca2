"""Span picking against a brute-force reference over every (first, last) pair."""

from __future__ import annotations

import itertools

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from rag.answer.spans import best_span


def reference(
    start: np.ndarray, end: np.ndarray, context: np.ndarray, max_tokens: int
) -> tuple[int, int, float]:
    pairs = [
        (i, j, start[i] + end[j])
        for i, j in itertools.product(range(len(start)), repeat=2)
        if context[i] and context[j] and 0 <= j - i < max_tokens
    ]
    return max(pairs, key=lambda p: p[2])


@settings(max_examples=200, deadline=None)
@given(
    st.integers(2, 24).flatmap(
        lambda n: st.tuples(
            st.lists(st.floats(-10, 10), min_size=n, max_size=n),
            st.lists(st.floats(-10, 10), min_size=n, max_size=n),
            st.lists(st.booleans(), min_size=n, max_size=n),
            st.integers(1, 8),
        )
    )
)
def test_best_span_matches_brute_force(case: tuple[list[float], list[float], list[bool], int]) -> None:
    s, e, mask, max_tokens = case
    start, end, context = np.array(s), np.array(e), np.array(mask)
    context[0] = False  # [CLS] is never part of an answer
    span = best_span(start, end, context, max_tokens)
    if not context.any():
        assert span is None
        return
    assert span is not None
    _, _, score = reference(start, end, context, max_tokens)
    assert span.score == score
    assert context[span.first] and context[span.last] and 0 <= span.last - span.first < max_tokens
    assert span.null == start[0] + end[0]


def test_a_long_span_is_not_taken() -> None:
    start = np.array([0.0, 5.0, 0.0, 0.0, 0.0])
    end = np.array([0.0, 0.0, 0.0, 0.0, 5.0])
    context = np.array([False, True, True, True, True])
    span = best_span(start, end, context, max_tokens=2)
    assert span is not None and span.last - span.first < 2

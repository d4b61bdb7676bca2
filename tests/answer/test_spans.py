"""Span picking against a brute-force reference over every (first, last) pair."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rag.answer.spans import ECHO_PENALTY, answer_edges, best_span, window_echo, window_sequences


def reference(
    start: np.ndarray,
    end: np.ndarray,
    context: np.ndarray,
    max_tokens: int,
    echo: tuple[np.ndarray, np.ndarray] | None = None,
) -> tuple[int, int, float]:
    """The best (first, last, marked-down score) by trying every pair, the mark-down counted by hand."""

    def marked(i: int, j: int) -> float:
        if echo is None:
            return 0.0
        content = [k for k in range(i, j + 1) if context[k] and echo[0][k]]
        return ECHO_PENALTY * sum(bool(echo[1][k]) for k in content) / max(len(content), 1)

    pairs = [
        (i, j, start[i] + end[j] - marked(i, j))
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


@settings(max_examples=200, deadline=None)
@given(
    st.integers(2, 16).flatmap(
        lambda n: st.tuples(
            st.lists(st.floats(-10, 10), min_size=n, max_size=n),
            st.lists(st.floats(-10, 10), min_size=n, max_size=n),
            st.lists(st.sampled_from([0, 1, 2]), min_size=n, max_size=n),
        )
    )
)
def test_the_echo_mark_down_matches_brute_force(case: tuple[list[float], list[float], list[int]]) -> None:
    """Context tokens are function words (0), content (1) or content the question repeats (2)."""
    s, e, kinds = case
    start, end = np.array(s), np.array(e)
    context = np.array([k > 0 or i % 3 == 0 for i, k in enumerate(kinds)])
    context[0] = False
    if not context.any():
        return
    echo = (np.array([k >= 1 for k in kinds]), np.array([k == 2 for k in kinds]))
    span = best_span(start, end, context, 5, echo)
    assert span is not None
    _, _, best = reference(start, end, context, 5, echo)
    content = [k for k in range(span.first, span.last + 1) if context[k] and echo[0][k]]
    share = sum(bool(echo[1][k]) for k in content) / max(len(content), 1)
    assert span.score - ECHO_PENALTY * share == pytest.approx(best)
    assert span.score == start[span.first] + end[span.last]  # the margin is the given span's own


def test_the_echo_masks_mark_context_words_the_question_repeats() -> None:
    # [CLS] who chaired it [SEP] the panel was chaired by anna [SEP], ids standing for word pieces
    ids = np.array([101, 7, 8, 9, 102, 1, 5, 6, 8, 4, 11, 102, 0])
    sequence = [None, 0, 0, 0, None, 1, 1, 1, 1, 1, 1, None]  # one short of the padded width
    content_ids = np.zeros(200, dtype=bool)
    content_ids[[5, 7, 8, 9, 11]] = True  # 1 "the", 6 "was", 4 "by" are stop words
    content, echoed = window_echo(ids, window_sequences(sequence, len(ids)), content_ids)
    assert np.flatnonzero(content).tolist() == [6, 8, 10]
    assert np.flatnonzero(echoed).tolist() == [8]


def test_a_long_span_is_not_taken() -> None:
    start = np.array([0.0, 5.0, 0.0, 0.0, 0.0])
    end = np.array([0.0, 0.0, 0.0, 0.0, 5.0])
    context = np.array([False, True, True, True, True])
    span = best_span(start, end, context, max_tokens=2)
    assert span is not None and span.last - span.first < 2


@pytest.mark.parametrize(
    ("span", "answer"),
    [
        ("2010,", "2010"),
        ("Big Hero 6.", "Big Hero 6"),
        (" the Treaty of Paris; ", "the Treaty of Paris"),
        ("in 1824, Britain", "in 1824, Britain"),  # inner punctuation stays
        ("Apple Inc.", "Apple Inc."),  # an abbreviation keeps its full stop
        ("the U.S.", "the U.S."),
        ("6.5", "6.5"),
        (",", ","),  # punctuation alone is left whole, not made empty
    ],
)
def test_an_answer_does_not_end_on_punctuation_a_span_took_in(span: str, answer: str) -> None:
    text = f"Before {span} after."
    start, end = answer_edges(text, 7, 7 + len(span))
    assert text[start:end] == answer


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet="ab .,;:", max_size=12))
def test_answer_edges_only_cut_whitespace_and_closing_punctuation(span: str) -> None:
    start, end = answer_edges(span, 0, len(span))
    assert 0 <= start <= end <= len(span)
    assert set(span[:start]) <= set(" ") and set(span[end:]) <= set(" .,;:")
    if span.strip(" .,;:"):
        assert not span[start:end].endswith((",", ";", ":", " ")) and not span[start:end].startswith(" ")

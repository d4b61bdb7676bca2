"""Intervals and the McNemar test, against hand-worked references: the binomial sums, and the normal
approximation to a mean's interval."""

from __future__ import annotations

import math

import pytest

from rag.evaluation.intervals import mcnemar, mean_interval


@pytest.mark.parametrize(
    ("right_to_wrong", "wrong_to_right", "p"),
    [
        (0, 6, 2 * 0.5**6),  # every flip one way: 2 × P(X = 0), n = 6
        (2, 8, 2 * (1 + 10 + 45) / 1024),  # 2 × P(X <= 2), n = 10
        (1, 1, 1.0),
    ],
)
def test_mcnemar_is_the_exact_two_sided_binomial_test(
    right_to_wrong: int, wrong_to_right: int, p: float
) -> None:
    assert mcnemar(right_to_wrong, wrong_to_right) == pytest.approx(p)
    assert mcnemar(wrong_to_right, right_to_wrong) == pytest.approx(p)


def test_a_rate_s_interval_matches_the_normal_approximation() -> None:
    values = [1.0] * 40 + [0.0] * 10  # right on 40 of 50 questions
    low, high = mean_interval(values) or (math.nan, math.nan)
    half = 1.96 * math.sqrt(0.8 * 0.2 / 50)
    assert low == pytest.approx(0.8 - half, abs=0.03) and high == pytest.approx(0.8 + half, abs=0.03)
    assert mean_interval(values) == (low, high)  # seeded: the same run always prints the same


def test_no_spread_gives_the_one_value_and_fewer_than_two_none() -> None:
    assert mean_interval([0.0, 0.0, 0.0]) == (0.0, 0.0)
    assert mean_interval([1.0, 1.0]) == (1.0, 1.0)
    assert mean_interval([1.0]) is None and mean_interval([]) is None

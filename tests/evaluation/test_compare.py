"""`rag eval --compare`'s statistics: paired intervals and the McNemar test, against hand-worked
references (the binomial sums, and the normal approximation to a mean's interval)."""

from __future__ import annotations

import math
from typing import Any

import pytest

from rag.evaluation.compare import counted, mcnemar, paired_interval, per_question


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


def test_the_interval_of_a_mean_difference_matches_the_normal_approximation() -> None:
    a = [0.0] * 50
    b = [1.0] * 40 + [0.0] * 10  # B right on 40 more of 50 questions
    low, high = paired_interval(a, b) or (math.nan, math.nan)
    half = 1.96 * math.sqrt(0.8 * 0.2 / 50)
    assert low == pytest.approx(0.8 - half, abs=0.03) and high == pytest.approx(0.8 + half, abs=0.03)
    assert paired_interval(a, b) == (low, high)  # seeded: a compare prints the same every time


def test_no_spread_gives_the_one_value_and_one_pair_no_interval() -> None:
    assert paired_interval([0.5, 0.2, 1.0], [0.5, 0.2, 1.0]) == (0.0, 0.0)
    assert paired_interval([0.0, 0.0], [1.0, 1.0]) == (1.0, 1.0)
    assert paired_interval([0.0], [1.0]) is None


def result(correct: bool, answerable: bool, abstained: bool, **metrics: float | None) -> dict[str, Any]:
    return {
        "correct": correct,
        "abstained": abstained,
        "gold": {"answerable": answerable},
        "metrics": metrics,
    }


def test_per_question_pairs_only_questions_both_runs_score_and_splits_refusals() -> None:
    a = {
        "q1": result(True, True, False, all_facts=1.0, short_f1=0.5),
        "q2": result(False, True, True, all_facts=0.0, short_f1=None),
        "u1": result(False, False, False),
    }
    b = {
        "q1": result(True, True, False, all_facts=1.0, short_f1=1.0),
        "q2": result(True, True, False, all_facts=1.0, short_f1=0.8),
        "u1": result(True, False, True),
    }
    paired = per_question(a, b, ["q1", "q2", "u1"])
    assert paired["correct"] == ([1.0, 0.0, 0.0], [1.0, 1.0, 1.0])
    assert paired["answer.all_facts"] == ([1.0, 0.0], [1.0, 1.0])
    assert paired["answer.short_f1"] == ([0.5], [1.0])  # q2 has none in A
    assert paired["refusal.false_refusal_rate"] == ([0.0, 1.0], [0.0, 0.0])
    assert paired["refusal.recall"] == ([0.0], [1.0])


def test_counted_reads_how_many_questions_each_figure_averages() -> None:
    summary = {
        "n": 10,
        "errors": 1,
        "answer": {"all_facts": 0.5, "n": {"all_facts": 6}},
        "refusal": {"unanswerable": 3},
    }
    assert counted(summary, "correct") == 9
    assert counted(summary, "answer.all_facts") == 6
    assert counted(summary, "refusal.recall") == 3
    assert counted(summary, "refusal.false_refusal_rate") == 6
    assert counted(summary, "answer.short_f1") is None

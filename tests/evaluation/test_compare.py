"""`rag eval --compare`'s pairing of two runs' questions for its intervals."""

from __future__ import annotations

from typing import Any

from rag.evaluation.compare import counted, paired_interval, per_question
from rag.evaluation.intervals import mean_interval


def test_the_paired_interval_is_the_interval_of_the_differences() -> None:
    a = [0.0, 1.0, 0.5, 0.0, 1.0, 0.0]
    b = [1.0, 1.0, 1.0, 0.0, 0.0, 1.0]
    assert paired_interval(a, b) == mean_interval([1.0, 0.0, 0.5, 0.0, -1.0, 1.0])
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

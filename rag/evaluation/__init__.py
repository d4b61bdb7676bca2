"""Evaluation: a question set (`read_questions`) asked of the engine (`start_run`, `execute`), each
answer scored by pure metrics (rag.evaluation.evaluate) and summed up (`summarize`), written as a
report (`write_report`, `terminal_table`) and compared with an earlier run (`compare_runs`; `flips`
and `mcnemar` for a table of many runs, eval/quality.py)."""

from rag.evaluation.compare import compare_runs, flips, load_run
from rag.evaluation.evalrun import (
    REPORT,
    RESULTS,
    SUMMARY,
    answer_one,
    check_workers,
    default_out_dir,
    execute,
    execute_with,
    run_settings,
    start_run,
)
from rag.evaluation.evaluate import (
    containment,
    evidence_recall,
    exact_match,
    first_hit_rank,
    load_questions,
    refusal_scores,
    token_f1,
)
from rag.evaluation.intervals import mcnemar
from rag.evaluation.questions import read_questions
from rag.evaluation.report import NOT_MEASURED, shown_figure, summary_rows, terminal_table, write_report
from rag.evaluation.scoring import summarize

__all__ = [
    "NOT_MEASURED",
    "REPORT",
    "RESULTS",
    "SUMMARY",
    "answer_one",
    "check_workers",
    "compare_runs",
    "containment",
    "default_out_dir",
    "evidence_recall",
    "exact_match",
    "execute",
    "execute_with",
    "first_hit_rank",
    "flips",
    "load_questions",
    "load_run",
    "mcnemar",
    "read_questions",
    "refusal_scores",
    "run_settings",
    "shown_figure",
    "start_run",
    "summarize",
    "summary_rows",
    "terminal_table",
    "token_f1",
    "write_report",
]

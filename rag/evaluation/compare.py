"""`rag eval --compare DIR_A DIR_B`: what changed between two runs, figure by figure and question by
question, so a change to the code or settings can be judged before it is kept.

A change of a question or two on a set of fifty moves a figure by several points, so each per-question
figure's change comes with a 95% paired bootstrap interval over the questions both runs scored, and
the flips of "correct" with an exact McNemar test (rag.evaluation.intervals). An interval that holds
0, or a large p, says the two runs may differ by chance.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from rag.errors import UserError
from rag.evaluation.intervals import mcnemar, mean_interval
from rag.evaluation.scoring import question_figures

GROUPS = ("retrieval", "answer", "refusal", "misses", "latency_ms")


def load_run(folder: Path) -> tuple[dict[str, Any], dict[str, dict[str, Any]]]:
    """A finished run's summary and its result lines by id."""
    try:
        summary = json.loads((folder / "summary.json").read_text(encoding="utf-8"))
        lines = (folder / "results.jsonl").read_text(encoding="utf-8").splitlines()
        results = {str(r["id"]): r for r in map(json.loads, lines)}
    except (OSError, ValueError, KeyError, TypeError):
        raise UserError(
            f"{folder} is not a finished `rag eval` folder (summary.json, results.jsonl)"
        ) from None
    return summary, results


def figures(summary: dict[str, Any]) -> dict[str, float | None]:
    """Every number of a summary by "group.name", counts included."""
    out: dict[str, float | None] = {"correct": summary.get("correct")}
    for group in GROUPS:
        for name, value in summary.get(group, {}).items():
            if value is None or (isinstance(value, int | float) and not isinstance(value, bool)):
                out[f"{group}.{name}"] = value
    return out


def compare_runs(dir_a: Path, dir_b: Path) -> str:
    """Deltas (B − A) of every figure, then the questions whose verdict flipped."""
    summary_a, results_a = load_run(dir_a)
    summary_b, results_b = load_run(dir_b)
    fig_a, fig_b = figures(summary_a), figures(summary_b)
    both = scored_in_both(results_a, results_b)
    paired = per_question(results_a, results_b, both)
    rows = [("figure", "A", "B", "B − A", "95% interval of B − A")]
    for name in sorted(fig_a.keys() | fig_b.keys(), key=list({**fig_a, **fig_b}).index):
        a, b = fig_a.get(name), fig_b.get(name)
        delta = "" if a is None or b is None else _show(b - a, "+")
        interval = paired_interval(*paired[name]) if name in paired else None
        shown = "" if interval is None else f"{_show(interval[0], '+')} … {_show(interval[1], '+')}"
        pairs = len(paired[name][0]) if name in paired else 0
        if interval is not None and not pairs == counted(summary_a, name) == counted(summary_b, name):
            shown += f" on {pairs}"  # fewer questions than the figures count: those both runs scored
        rows.append((name, _show(a), _show(b), delta, shown))
    widths = [max(len(r[i]) for r in rows) for i in range(5)]
    lines = [
        f"{n:<{widths[0]}}  {a:>{widths[1]}}  {b:>{widths[2]}}  {d:>{widths[3]}}  {c:>{widths[4]}}".rstrip()
        for n, a, b, d, c in rows
    ]
    lines.append(
        f"(95% paired bootstrap intervals over the {len(both)} questions both runs scored; "
        '"on N": over the N of them that both runs give that figure)'
    )
    changed = [
        key
        for key in summary_b.get("settings", {})
        if summary_a.get("settings", {}).get(key) != summary_b["settings"][key]
    ]
    if changed:
        lines.append(f"\nsettings that differ: {', '.join(changed)}")
    worse, better = flips(results_a, results_b)
    for title, flipped in (("right → wrong", worse), ("wrong → right", better)):
        lines.append(f"\n{title}: {len(flipped)}")
        lines += [f"  {i}: {results_b[i]['question']}" for i in flipped]
    if worse or better:
        p = mcnemar(len(worse), len(better))
        lines.append(
            f"exact McNemar test on the flips: p = {p:.3g} (how often flips this uneven come by chance)"
        )
    only = len(results_a.keys() ^ results_b.keys())
    if only:
        lines.append(f"\n{only} questions are in only one of the runs")
    return "\n".join(lines)


def scored_in_both(results_a: dict[str, dict[str, Any]], results_b: dict[str, dict[str, Any]]) -> list[str]:
    """The ids both runs answered and judged (a question that failed has no verdict)."""
    return [
        i for i in results_a if i in results_b and "correct" in results_a[i] and "correct" in results_b[i]
    ]


def flips(
    results_a: dict[str, dict[str, Any]], results_b: dict[str, dict[str, Any]]
) -> tuple[list[str], list[str]]:
    """The ids judged correct in A and not in B (right → wrong), and the other way round."""
    both = scored_in_both(results_a, results_b)
    return (
        [i for i in both if results_a[i]["correct"] is True and results_b[i]["correct"] is not True],
        [i for i in both if results_a[i]["correct"] is not True and results_b[i]["correct"] is True],
    )


def per_question(
    results_a: dict[str, dict[str, Any]], results_b: dict[str, dict[str, Any]], ids: list[str]
) -> dict[str, tuple[list[float], list[float]]]:
    """Each per-question figure's values in A and in B (`question_figures`), over the `ids` where both
    runs have one."""
    out: dict[str, tuple[list[float], list[float]]] = {}
    for i in ids:
        a, b = question_figures(results_a[i]), question_figures(results_b[i])
        for name in a.keys() & b.keys():
            pair = out.setdefault(name, ([], []))
            pair[0].append(a[name])
            pair[1].append(b[name])
    return out


def counted(summary: dict[str, Any], name: str) -> int | None:
    """How many questions a summary's per-question figure `name` ("group.metric") is a mean over."""
    scored = summary.get("n", 0) - summary.get("errors", 0)
    refusal = summary.get("refusal", {})
    if name == "correct":
        return int(scored)
    if name == "refusal.recall":
        return refusal.get("unanswerable")
    if name == "refusal.false_refusal_rate":
        return int(scored - refusal.get("unanswerable", 0))
    group, _, metric = name.partition(".")
    return summary.get(group, {}).get("n", {}).get(metric)


def paired_interval(a: list[float], b: list[float]) -> tuple[float, float] | None:
    """The 95% bootstrap interval of mean(B − A) over paired values (None for fewer than two pairs)."""
    return mean_interval(np.asarray(b) - np.asarray(a))


def _show(value: float | None, sign: str = "") -> str:
    """Four decimals at most, trailing zeros dropped (0.8026, 10340.6, 34, +0)."""
    return "–" if value is None else f"{value:{sign}.4f}".rstrip("0").rstrip(".")

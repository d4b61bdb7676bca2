"""`rag eval --compare DIR_A DIR_B`: what changed between two runs, figure by figure and question by
question, so a change to the code or settings can be judged before it is kept."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from rag.errors import UserError

GROUPS = ("retrieval", "answer", "refusal", "latency_ms")


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
    rows = [("figure", "A", "B", "B − A")]
    for name in sorted(fig_a.keys() | fig_b.keys(), key=list({**fig_a, **fig_b}).index):
        a, b = fig_a.get(name), fig_b.get(name)
        delta = "" if a is None or b is None else _show(b - a, "+")
        rows.append((name, _show(a), _show(b), delta))
    widths = [max(len(r[i]) for r in rows) for i in range(4)]
    lines = [
        f"{n:<{widths[0]}}  {a:>{widths[1]}}  {b:>{widths[2]}}  {d:>{widths[3]}}".rstrip()
        for n, a, b, d in rows
    ]
    changed = [
        key
        for key in summary_b.get("settings", {})
        if summary_a.get("settings", {}).get(key) != summary_b["settings"][key]
    ]
    if changed:
        lines.append(f"\nsettings that differ: {', '.join(changed)}")
    both = [
        i for i in results_a if i in results_b and "correct" in results_a[i] and "correct" in results_b[i]
    ]
    for title, before in (("right → wrong", True), ("wrong → right", False)):
        flipped = [
            i for i in both if results_a[i]["correct"] is before and results_b[i]["correct"] is not before
        ]
        lines.append(f"\n{title}: {len(flipped)}")
        lines += [f"  {i}: {results_b[i]['question']}" for i in flipped]
    only = len(results_a.keys() ^ results_b.keys())
    if only:
        lines.append(f"\n{only} questions are in only one of the runs")
    return "\n".join(lines)


def _show(value: float | None, sign: str = "") -> str:
    """Four decimals at most, trailing zeros dropped (0.8026, 10340.6, 34, +0)."""
    return "–" if value is None else f"{value:{sign}.4f}".rstrip("0").rstrip(".")

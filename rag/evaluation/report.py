"""The run's report: one self-contained HTML file (summary table, plots, worst questions) and the
compact table printed on the terminal, both from the same rows.

Plots are drawn with matplotlib (a real plotting library rather than hand-made SVG) and inlined as
SVG, so the file opens anywhere offline. Every piece of text from questions, answers or documents
goes through html.escape.
"""

from __future__ import annotations

import html
import io
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from rag.evaluation.misses import MISS_LABELS, miss

WORST = 20
NOT_MEASURED = "–"  # a figure that is null: no question had the gold field it needs
LABELS = {
    "source_hit@1": "source hit@1",
    "source_hit@5": "source hit@5",
    "evidence_recall@1": "evidence recall@1",
    "evidence_recall@5": "evidence recall@5",
    "evidence_recall@10": "evidence recall@10",
    "mrr@10": "MRR@10",
    "ndcg@10": "nDCG@10",
    "all_facts": "all key facts",
    "containment": "key-fact containment",
    "token_f1": "token F1",
    "short_exact_match": "short answer exact match",
    "short_f1": "short answer F1",
    "citation_validity": "citation validity",
    "citation_precision": "citation precision",
    "groundedness": "groundedness",
    "supported_sentences": "supported sentences",
}


def shown_figure(value: float | None) -> str:
    """A figure as the tables show it: three decimals, or a dash where it was not measured."""
    return NOT_MEASURED if value is None else f"{value:.3f}"


def summary_rows(summary: dict[str, Any]) -> list[tuple[str, str, str, str, str]]:
    """(group, metric, value, questions counted, 95% interval) for every figure of a summary; the
    interval is blank for figures that are not a mean over questions, and in summaries written before
    intervals were."""
    intervals = summary.get("intervals", {})

    def row(group: str, label: str, key: str, value: str, n: str) -> tuple[str, str, str, str, str]:
        interval = intervals.get(key)
        shown = "" if interval is None else f"{interval[0]:.3f} – {interval[1]:.3f}"
        return group, label, value, n, shown

    rows = [
        row(
            "all",
            "correct",
            "correct",
            shown_figure(summary["correct"]),
            str(summary["n"] - summary["errors"]),
        )
    ]
    if summary["errors"]:
        rows.append(("all", "failed (see results.jsonl)", str(summary["errors"]), str(summary["n"]), ""))
    for group in ("retrieval", "answer"):
        figures = summary[group]
        rows += [
            row(group, LABELS[name], f"{group}.{name}", shown_figure(figures[name]), str(n))
            for name, n in figures["n"].items()
        ]
    r = summary["refusal"]
    answerable = summary["n"] - summary["errors"] - r["unanswerable"]
    rows += [
        ("refusal", "precision", shown_figure(r["precision"]), str(r["refused"]), ""),
        row("refusal", "recall", "refusal.recall", shown_figure(r["recall"]), str(r["unanswerable"])),
        ("refusal", "F1", shown_figure(r["f1"]), str(r["unanswerable"]), ""),
        row(
            "refusal",
            "false refusal rate",
            "refusal.false_refusal_rate",
            shown_figure(r["false_refusal_rate"]),
            str(answerable),
        ),
    ]
    if "misses" in summary:  # summaries written before the misses were placed lack them
        misses = summary["misses"]
        rows += [
            ("misses", label, str(misses[key]), str(misses["wrong"]), "")
            for key, label in MISS_LABELS.items()
        ]
    lat = summary["latency_ms"]
    ms = " / ".join(NOT_MEASURED if lat[p] is None else f"{lat[p]:.1f}" for p in ("p50", "p95", "max"))
    rows.append(("latency", "ms p50 / p95 / max", ms, str(summary["n"] - summary["errors"]), ""))
    if "generation" in summary:
        g = summary["generation"]
        first = " / ".join(
            NOT_MEASURED if g["first_token_ms"][p] is None else f"{g['first_token_ms'][p]:.1f}"
            for p in ("p50", "p95", "max")
        )
        rows.append(("latency", "first token ms p50 / p95 / max", first, str(g["n"]), ""))
        rows.append(
            (
                "generation",
                "fell back to extractive",
                str(g["fallbacks"]),
                str(summary["n"] - summary["errors"]),
                "",
            )
        )
    return rows


def terminal_table(summary: dict[str, Any]) -> str:
    """The summary as a compact fixed-width table."""
    rows = [("group", "metric", "value", "n", "95% interval"), *summary_rows(summary)]
    widths = [max(len(row[i]) for row in rows) for i in range(5)]
    lines = []
    for i, (group, metric, value, n, interval) in enumerate(rows):
        shown = group if i == 0 or group != rows[i - 1][0] else ""
        lines.append(
            f"{shown:<{widths[0]}}  {metric:<{widths[1]}}  {value:>{widths[2]}}  {n:>{widths[3]}}"
            f"  {interval:>{widths[4]}}".rstrip()
        )
    return "\n".join(lines)


def write_report(path: Path, summary: dict[str, Any], results: Sequence[dict[str, Any]]) -> None:
    settings = summary["settings"]
    about = (
        f"{summary['n']} questions · mode {settings['mode']} · k {settings['k']} · model {settings['model']}"
        f" · reranker {settings['reranker']} · refusal threshold {settings['refusal_threshold']}"
    )
    table = "".join(
        "<tr>" + "".join(f"<td>{html.escape(cell)}</td>" for cell in row) + "</tr>"
        for row in summary_rows(summary)
    )
    page = f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>citerag evaluation</title>
<style>
body {{ font: 14px/1.4 system-ui, sans-serif; margin: 2em; color: #222; }}
table {{ border-collapse: collapse; margin-bottom: 2em; }}
td, th {{ border: 1px solid #ccc; padding: 4px 8px; vertical-align: top; text-align: left; }}
.worst td {{ width: 33%; }}
.wrong {{ color: #b00; font-weight: bold; }} .right {{ color: #070; font-weight: bold; }}
blockquote {{ margin: 4px 0; padding-left: 8px; border-left: 3px solid #ccc; }}
svg {{ max-width: 100%; height: auto; }}
</style></head><body>
<h1>citerag evaluation</h1>
<p>{html.escape(about)}</p>
<h2>Summary</h2>
<table><tr><th>group</th><th>metric</th><th>value</th><th>questions</th><th>95% interval</th></tr>
{table}</table>
<h2>Distributions</h2>
{_plots(results, settings["refusal_threshold"])}
<h2>Worst {WORST} questions</h2>
<table class="worst"><tr><th>question</th><th>answer and citations</th><th>gold</th></tr>
{"".join(_worst_row(r) for r in worst(results))}</table>
</body></html>
"""
    path.write_text(page, encoding="utf-8")


def worst(results: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """Wrong before right, then fewer key facts, lower F1; file order breaks ties (deterministic)."""

    def badness(item: tuple[int, dict[str, Any]]) -> tuple[bool, float, float, int]:
        i, r = item
        m = r.get("metrics", {})
        return (r.get("correct", False), m.get("containment") or 0.0, m.get("token_f1") or 0.0, i)

    return [r for _, r in sorted(enumerate(results), key=badness)[:WORST]]


def _worst_row(r: dict[str, Any]) -> str:
    e = html.escape
    place = miss(r)
    verdict = (
        '<span class="right">right</span>'
        if r.get("correct")
        else '<span class="wrong">wrong</span>' + (f" · {e(MISS_LABELS[place])}" if place else "")
    )
    metrics = ", ".join(
        f"{LABELS[k]} {v:.2f}" for k, v in r.get("metrics", {}).items() if v is not None and k in LABELS
    )
    question = f"<b>{e(str(r['id']))}</b> {verdict}<br>{e(r['question'])}<br><small>{e(metrics)}</small>"
    if "error" in r:
        answer = f"<i>error: {e(r['error'])}</i>"
    else:
        cites = "".join(
            f"<blockquote>[{c['n']}] {e(c['doc'])} {c['start']}–{c['end']}: {e(c['quote'])}</blockquote>"
            for c in r["citations"]
        )
        short = r.get("short_answer")
        lead = f"<b>Answer: {e(short['text'])}</b><br>" if short else ""
        answer = f"{lead}{e(r['answer'])}{cites}"
    gold = r["gold"]
    facts = "; ".join(gold["answers"]) or "–"
    evidence = "".join(f"<blockquote>{e(q)}</blockquote>" for q in gold["evidence"])
    gold_cell = (
        f"{'answerable' if gold['answerable'] else 'not answerable'}<br>key facts: {e(facts)}"
        f"<br>sources: {e(', '.join(gold['sources']) or '–')}{evidence}"
    )
    return f"<tr><td>{question}</td><td>{answer}</td><td>{gold_cell}</td></tr>\n"


def _plots(results: Sequence[dict[str, Any]], threshold: float) -> str:
    """Score distributions and the latency histogram as inline SVG (fixed ids and no date inside,
    so the same run gives the same file)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    scored = [r for r in results if "error" not in r]
    with matplotlib.rc_context({"svg.hashsalt": "citerag", "svg.fonttype": "none", "font.size": 9}):
        fig, axes = plt.subplots(1, 4, figsize=(14, 3))
        for ax, name in zip(axes[:2], ("containment", "token_f1"), strict=True):
            values = [r["metrics"][name] for r in scored if r["metrics"].get(name) is not None]
            ax.hist(values, bins=10, range=(0, 1), color="#4a78b5")
            ax.set(title=f"{LABELS[name]} ({len(values)} questions)", xlabel="score", ylabel="questions")
        for answerable, colour in ((True, "#4a78b5"), (False, "#d08a2b")):
            conf = [r["confidence"] for r in scored if r["gold"]["answerable"] is answerable]
            label = "answerable" if answerable else "not answerable"
            axes[2].hist(conf, bins=20, alpha=0.6, color=colour, label=label)
        axes[2].axvline(threshold, color="#b00", linestyle="--", label="refusal threshold")
        axes[2].set(title="answer confidence", xlabel="evidence strength", ylabel="questions")
        axes[2].legend()
        latency = [r["timings_ms"]["total"] for r in scored]
        axes[3].hist(latency, bins=20, color="#5a9e6f")
        axes[3].set(title="latency of ask", xlabel="ms", ylabel="questions")
        fig.tight_layout()
        buffer = io.StringIO()
        fig.savefig(buffer, format="svg", metadata=dict.fromkeys(("Creator", "Date", "Format", "Type")))
        plt.close(fig)
    svg = buffer.getvalue()
    return svg[svg.index("<svg") :]

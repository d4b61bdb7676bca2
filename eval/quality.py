"""Every quality set in one run (`make quality`): the figures a landing is judged by, side by side.

Each set is a question file and the index it is asked over: the seed questions in the articles'
wording, in users' wording and written blind (over index/), and the SQuAD test bed's calibration half
(the decision set), its test half and their WordNet-reworded copies (over build/squad-index; see
eval/squad_corpus.py). Every set runs through `rag eval` into OUT/<set>/, so any of them can be opened,
re-reported or compared alone; a set whose files are missing is named in one line and skipped. The
table gives, per set, how often the evidence is among the five passages read (so that a miss can be
told for retrieval's or the answer's), the key facts with their 95% interval, the short answer's
exact match and F1, false refusals, refusal recall, valid citations and `ask` p50; with `--compare
PREV` (an earlier run's OUT) also each set's key-facts change and its flips (right → wrong / wrong →
right) with the exact McNemar p, the test `rag eval --compare` uses for one set. A second table
says where each set's wrong answers went wrong (`rag.evaluation.misses`): retrieval, the refusal or
the reading.

    python eval/quality.py --out build/quality [--compare build/quality-before] [--config my.toml]
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rag.cli import main as rag_main
from rag.errors import UserError
from rag.evaluation import NOT_MEASURED, RESULTS, flips, load_run, mcnemar, shown_figure
from rag.evaluation.misses import MISS_LABELS

BED = Path("build/squad-heldout")
SQUAD_INDEX = Path("build/squad-index")


@dataclass(frozen=True)
class QualitySet:
    name: str
    questions: Path
    index_dir: Path


DEFAULT_SETS = (
    QualitySet("seeds", Path("eval/seed_questions.jsonl"), Path("index")),
    QualitySet("seeds-users", Path("eval/seed_questions_users.jsonl"), Path("index")),
    QualitySet("seeds-blind", Path("eval/seed_questions_users2.jsonl"), Path("index")),
    QualitySet("squad-calibration", BED / "calibration.jsonl", SQUAD_INDEX),
    QualitySet("squad-calibration-reworded", BED / "calibration-reworded.jsonl", SQUAD_INDEX),
    QualitySet("squad-test", BED / "test.jsonl", SQUAD_INDEX),
    QualitySet("squad-test-reworded", BED / "test-reworded.jsonl", SQUAD_INDEX),
)
HEADER = (
    "set",
    "questions (answerable + not)",
    "evidence in top 5",
    "key facts (95%)",
    "short EM / F1",
    "false refusals",
    "refusal recall",
    "citations valid",
    "p50 ms",
)
COMPARED = ("key facts change", "flips worse / better")


def parse_set(text: str) -> QualitySet:
    """A set given as NAME=QUESTIONS@INDEX_DIR."""
    name, _, rest = text.partition("=")
    questions, _, index_dir = rest.rpartition("@")
    if not name or not questions or not index_dir:
        raise UserError(f"--set wants NAME=QUESTIONS@INDEX_DIR, not {text!r}")
    return QualitySet(name, Path(questions), Path(index_dir))


def why_not(s: QualitySet, out: Path) -> str | None:
    """Why set `s` cannot run into `out`, or None when it can: an earlier run's results are never
    overwritten (`make quality` moves the last run aside and compares against it)."""
    if not s.questions.is_file():
        return f"{s.questions} not found"
    if not (s.index_dir / "CURRENT").is_file():
        return f"no index in {s.index_dir}"
    if (out / s.name / RESULTS).exists():
        return f"{out / s.name} already holds results; pick another --out"
    return None


def run_set(s: QualitySet, out: Path, config: Path | None) -> bool:
    """`rag eval` of one set into out/<name>/; whether it finished."""
    extra = ["--config", str(config)] if config else []
    argv = ["eval", str(s.questions), "--index-dir", str(s.index_dir), "--out", str(out / s.name), *extra]
    return rag_main(argv) == 0


def _percent(value: float | None) -> str:
    return NOT_MEASURED if value is None else f"{100 * value:.1f}%"


def row(name: str, summary: dict[str, Any]) -> tuple[str, ...]:
    """One set's line of the table from its summary.json."""
    answer, refusal, retrieval = summary["answer"], summary["refusal"], summary.get("retrieval", {})
    unanswerable = refusal.get("unanswerable", 0)
    answerable = summary["n"] - summary.get("errors", 0) - unanswerable  # as the run's own table counts
    interval = summary.get("intervals", {}).get("answer.all_facts")
    facts = shown_figure(answer.get("all_facts"))
    if interval:
        facts += f" ({interval[0]:.3f}–{interval[1]:.3f})"
    return (
        name,
        f"{answerable} + {unanswerable}",
        shown_figure(retrieval.get("evidence_recall@5")),
        facts,
        f"{shown_figure(answer.get('short_exact_match'))} / {shown_figure(answer.get('short_f1'))}",
        _percent(refusal.get("false_refusal_rate")),
        shown_figure(refusal.get("recall")),
        _percent(answer.get("citation_validity")),
        f"{summary['latency_ms'].get('p50') or 0:.0f}",
    )


def miss_row(name: str, summary: dict[str, Any]) -> tuple[str, ...]:
    """One set's line of the misses table: how many answers were wrong, and where."""
    misses = summary.get("misses")
    if misses is None:  # a summary written before the misses were placed
        return (name, NOT_MEASURED, *(NOT_MEASURED for _ in MISS_LABELS))
    return (name, str(misses["wrong"]), *(str(misses[key]) for key in MISS_LABELS))


def against(new: dict[str, Any], new_results: dict[str, dict[str, Any]], before: Path) -> tuple[str, str]:
    """The key-facts change and the flips of a run (its summary and results) against the earlier run
    in `before`."""
    old, old_results = load_run(before)
    a, b = old["answer"].get("all_facts"), new["answer"].get("all_facts")
    change = NOT_MEASURED if a is None or b is None else f"{b - a:+.3f}"
    worse, better = (len(ids) for ids in flips(old_results, new_results))
    p = f", p = {mcnemar(worse, better):.2g}" if worse + better else ""
    return change, f"{worse} / {better}{p}"


def compared(new: dict[str, Any], new_results: dict[str, dict[str, Any]], before: Path) -> tuple[str, str]:
    """`against` the earlier run, or dashes (and one line saying why) where it has no such set."""
    try:
        return against(new, new_results, before)
    except UserError as exc:
        print(f"quality: not compared: {exc}", file=sys.stderr)
        return (NOT_MEASURED, NOT_MEASURED)


def table(rows: Sequence[tuple[str, ...]]) -> str:
    """A Markdown table: readable in the terminal, pasteable into a closing note or the README."""
    lines = ["| " + " | ".join(r) + " |" for r in rows]
    lines.insert(1, "|" + "---|" * len(rows[0]))
    return "\n".join(lines)


def quality(sets: Sequence[QualitySet], out: Path, config: Path | None, compare: Path | None) -> str:
    """Run every set that can run; the table of their figures (and changes against `compare`)."""
    header = HEADER + COMPARED if compare else HEADER
    rows: list[tuple[str, ...]] = [header]
    misses: list[tuple[str, ...]] = [("set", "wrong", *MISS_LABELS.values())]
    figures: dict[str, Any] = {}
    for s in sets:
        why = why_not(s, out)
        if why:
            print(f"quality: skipping {s.name}: {why}", file=sys.stderr)
            continue
        if not run_set(s, out, config):
            print(f"quality: {s.name} did not finish (see above)", file=sys.stderr)
            continue
        summary, results = load_run(out / s.name)
        figures[s.name] = summary
        line = row(s.name, summary)
        if compare:
            line += compared(summary, results, compare / s.name)
        rows.append(line)
        misses.append(miss_row(s.name, summary))
    if len(rows) == 1:
        raise UserError("no set could run")
    text = f"{table(rows)}\n\nWhere the wrong answers went wrong:\n\n{table(misses)}"
    out.mkdir(parents=True, exist_ok=True)
    (out / "quality.md").write_text(text + "\n", encoding="utf-8")
    (out / "quality.json").write_text(json.dumps(figures, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    return text


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=Path("build/quality"), help="one folder per set")
    parser.add_argument("--config", type=Path, help="TOML settings for every set (rag/config.py)")
    parser.add_argument("--compare", type=Path, help="an earlier run's --out folder")
    parser.add_argument(
        "--set",
        dest="sets",
        action="append",
        metavar="NAME=QUESTIONS@INDEX_DIR",
        help="run these sets instead of the default seven (repeatable)",
    )
    args = parser.parse_args(argv)
    try:
        sets = [parse_set(s) for s in args.sets] if args.sets else list(DEFAULT_SETS)
        if args.compare and not args.compare.is_dir():
            raise UserError(f"--compare: {args.compare} is not a folder")
        print(quality(sets, args.out, args.config, args.compare))
    except UserError as exc:
        print(f"quality: error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())

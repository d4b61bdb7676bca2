"""Validate eval/seed_questions.jsonl against the seed articles.

Checks every line for the required fields and types, unique ids, that sources exist in seeds/,
that each evidence quote occurs verbatim (whitespace collapsed) inside a paragraph the cleaner
keeps, and that each answer occurs (case-insensitive) in one of the line's evidence quotes.
Run from the project root: `.venv/bin/python eval/check_questions.py [FILE.jsonl]`.
Exits 1 listing every problem.
"""

from __future__ import annotations

import json
import re
import sys
from collections import Counter
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from rag.ingest import classify  # noqa: E402

QUESTIONS = ROOT / "eval" / "seed_questions.jsonl"
SEEDS = ROOT / "seeds"
FIELDS: dict[str, type] = {
    "id": str,
    "question": str,
    "sources": list,
    "evidence": list,
    "answers": list,
    "answerable": bool,
}
_WS = re.compile(r"\s+")


def collapse(text: str) -> str:
    """Whitespace runs to single spaces, ends stripped."""
    return _WS.sub(" ", text).strip()


def load_seeds() -> dict[str, tuple[str, list[str]]]:
    """File name -> (collapsed full text, collapsed texts of the paragraphs the cleaner keeps)."""
    seeds: dict[str, tuple[str, list[str]]] = {}
    for path in sorted(SEEDS.iterdir()):
        if path.is_file():
            text = path.read_text(encoding="utf-8")
            kept = [collapse(p.text) for p in classify(text) if p.kept]
            seeds[path.name] = (collapse(text), kept)
    return seeds


def check_row(row: Any, seeds: dict[str, tuple[str, list[str]]]) -> list[str]:
    """Problems with one parsed line (its id is not checked for uniqueness here)."""
    if not isinstance(row, dict):
        return ["not a JSON object"]
    problems = [
        f"field {name!r} missing or not {kind.__name__}"
        for name, kind in FIELDS.items()
        if not isinstance(row.get(name), kind)
    ]
    if problems:
        return problems
    for name in ("sources", "evidence", "answers"):
        if not all(isinstance(x, str) and x.strip() for x in row[name]):
            problems.append(f"{name}: every item must be a non-empty string")
    if problems:
        return problems
    if not row["question"].strip():
        problems.append("empty question")
    sizes = [len(row[name]) for name in ("sources", "evidence", "answers")]
    if row["answerable"] and min(sizes) == 0:
        problems.append("answerable line needs at least one source, evidence quote and answer")
    if not row["answerable"] and max(sizes) > 0:
        problems.append("unanswerable line must have empty sources, evidence and answers")
    known = [s for s in row["sources"] if s in seeds]
    problems += [f"source not in seeds/: {s}" for s in row["sources"] if s not in seeds]
    quotes = [collapse(q) for q in row["evidence"]]
    for quote in quotes:
        if not any(quote in seeds[s][0] for s in known):
            problems.append(f"evidence not found in its sources: {quote[:70]!r}")
        elif not any(quote in para for s in known for para in seeds[s][1]):
            problems.append(f"evidence not inside a kept paragraph: {quote[:70]!r}")
    for answer in row["answers"]:
        if not any(collapse(answer).lower() in q.lower() for q in quotes):
            problems.append(f"answer not in any evidence quote: {answer!r}")
    return problems


def main(argv: list[str]) -> int:
    path = Path(argv[0]) if argv else QUESTIONS
    seeds = load_seeds()
    problems: list[str] = []
    ids: Counter[str] = Counter()
    per_doc: Counter[str] = Counter()
    answerable = unanswerable = multi = 0
    lines = path.read_text(encoding="utf-8").splitlines()
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as exc:
            problems.append(f"line {number}: invalid JSON ({exc})")
            continue
        label = f"line {number} ({row.get('id', '?') if isinstance(row, dict) else '?'})"
        problems += [f"{label}: {p}" for p in check_row(row, seeds)]
        if not isinstance(row, dict):
            continue
        if isinstance(row.get("id"), str):
            ids[row["id"]] += 1
        if row.get("answerable") is True:
            answerable += 1
            sources = row.get("sources") or []
            multi += len(set(sources)) > 1
            per_doc.update(s for s in set(sources) if isinstance(s, str))
        elif row.get("answerable") is False:
            unanswerable += 1
    problems += [f"duplicate id: {i} ({n} lines)" for i, n in ids.items() if n > 1]

    print(f"{path}: {answerable} answerable, {unanswerable} unanswerable")
    print(f"  spanning two or more articles: {multi}")
    for doc in sorted(seeds):
        print(f"  {doc}: {per_doc[doc]} questions")
    if problems:
        print(f"\n{len(problems)} problem(s):")
        for problem in problems:
            print(f"  - {problem}")
        return 1
    print("no problems")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

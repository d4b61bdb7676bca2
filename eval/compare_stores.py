"""The same questions answered from the folder store and from the database store: `rag eval`'s
figures of both runs side by side (`rag eval --compare`), then how often the top passage, the top
five and the answer are the same.

    rag eval eval/seed_questions.jsonl --index-dir DIR --out runs/folder
    rag eval eval/seed_questions.jsonl --store postgresql://… --out runs/postgres
    .venv/bin/python eval/compare_stores.py runs/folder runs/postgres
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from rag.evaluation import RESULTS, compare_runs  # noqa: E402


def results(run: Path) -> dict[str, dict[str, Any]]:
    lines = (run / RESULTS).read_text(encoding="utf-8").splitlines()
    return {r["id"]: r for r in map(json.loads, lines)}


def agreement(folder: Path, database: Path) -> str:
    a, b = results(folder), results(database)
    ids = sorted(a.keys() & b.keys())

    def chunks(r: dict[str, Any], k: int) -> list[str]:
        return [p["chunk_id"] for p in r["passages"][:k]]

    top = sum(chunks(a[i], 1) == chunks(b[i], 1) for i in ids)
    top5 = sum(chunks(a[i], 5) == chunks(b[i], 5) for i in ids)
    answer = sum(a[i]["answer"] == b[i]["answer"] for i in ids)
    n = len(ids)
    return (
        f"{n} questions: top passage the same {top} ({top / n:.1%}), top five the same and in the same "
        f"order {top5} ({top5 / n:.1%}), answer the same {answer} ({answer / n:.1%})"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", type=Path, help="the folder store's `rag eval` run")
    parser.add_argument("database", type=Path, help="the database store's run on the same questions")
    args = parser.parse_args()
    print(compare_runs(args.folder, args.database))
    print()
    print(agreement(args.folder, args.database))


if __name__ == "__main__":
    main()

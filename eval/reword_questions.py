"""A question file with its questions reworded by WordNet synonyms, their gold fields kept.

SQuAD's questions reuse their paragraph's words; users' questions mostly do not. The test bed's
questions reworded (`rag/answer/training/reword.py`, the rewording the reader can be trained with) give
a large set on which to see what a change does to questions worded unlike the text, beside the small
hand-written users' set. The rewording is WordNet's, so a reader trained with it has seen its kind:
read the users' set as the fair judge.

    python eval/reword_questions.py build/squad-heldout/test.jsonl \
        --out build/squad-heldout/test-reworded.jsonl
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from rag.answer.training.reword import reworded
from rag.answer.training.squad import Example
from rag.errors import UserError
from rag.evaluation import load_questions


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("questions", type=Path, help="a .jsonl or .csv question file (rag eval's format)")
    p.add_argument("--out", type=Path, required=True)
    p.add_argument("--seed", type=int, default=13)
    args = p.parse_args()
    try:  # no WordNet (the train extra) or a bad question file: one line, not a traceback
        rows = load_questions(args.questions)
        pool = [Example(str(r["id"]), str(r["question"]), "", None, "", ()) for r in rows]
        pairs = list(zip(rows, reworded(pool, 1.0, args.seed), strict=True))
    except UserError as exc:
        print(f"reword_questions: error: {exc}", file=sys.stderr)
        return 2
    lines = [json.dumps(r | {"question": e.question}, ensure_ascii=False) for r, e in pairs]
    args.out.write_text("\n".join(lines) + "\n", encoding="utf-8")
    changed = sum(e.question != r["question"] for r, e in pairs)
    print(f"{changed} of {len(rows)} questions reworded -> {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

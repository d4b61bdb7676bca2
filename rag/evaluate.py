"""Evaluation metrics, pure functions over retrieved passages and gold evidence.

The batch-evaluation issue builds `rag eval` on these; retrieval stages are compared with them now.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from rag.chunk import collapse
from rag.errors import UserError


def _norm(text: str) -> str:
    return collapse(text).casefold()


def evidence_recall(passage_texts: Sequence[str], evidence: Sequence[str], k: int) -> float:
    """Share of gold evidence quotes that lie wholly inside one of the top-k passages."""
    if not evidence:
        return 0.0
    top = [_norm(t) for t in passage_texts[:k]]
    return sum(any(_norm(e) in t for t in top) for e in evidence) / len(evidence)


def first_hit_rank(passage_texts: Sequence[str], evidence: Sequence[str]) -> int | None:
    """1-based rank of the first passage holding any gold quote, or None."""
    quotes = [_norm(e) for e in evidence]
    for rank, text in enumerate(passage_texts, start=1):
        if any(q in _norm(text) for q in quotes):
            return rank
    return None


def load_questions(path: Path) -> list[dict[str, Any]]:
    """JSONL questions; a malformed line is a user error naming its line number."""
    rows = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as exc:
            raise UserError(f"{path}:{number}: not valid JSON ({exc.msg})") from None
        if not isinstance(row, dict) or not isinstance(row.get("question"), str):
            raise UserError(f'{path}:{number}: needs a "question" string')
        rows.append(row)
    return rows

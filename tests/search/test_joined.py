"""A multi-part question's passages: the whole question's, then each part's own that it lacks."""

from __future__ import annotations

import numpy as np

from rag.search import Candidate, Found, joined
from rag.types import Passage


def found(rows: list[int], ms: float) -> Found:
    """A retrieval run returning the given index rows in order, which took `ms` to retrieve."""
    passages = [
        Passage(rank, 1.0, "a.txt", f"a#{row}", row, row + 1, f"text {row}", {}, row=row)
        for rank, row in enumerate(rows, start=1)
    ]
    unit = np.ones(2, dtype=np.float32) / np.sqrt(2)
    candidates = [Candidate(row, f"text {row}", [], np.zeros((0, 2)), unit, 0.0, 0.0) for row in rows]
    return Found(passages, None, {}, candidates, False, {"retrieve": ms})


def test_each_part_adds_its_best_passages_the_whole_question_lacks() -> None:
    whole = found([1, 2, 3], 5.0)
    out = joined(whole, [found([2, 7, 8, 9], 4.0), found([7, 1, 5], 3.0)], each=2)
    assert [p.row for p in out.passages] == [1, 2, 3, 7, 8, 5]
    assert [p.rank for p in out.passages] == [1, 2, 3, 4, 5, 6]
    assert [c.row for c in out.candidates] == [1, 2, 3, 7, 8, 5]  # what reading the passages needs
    assert out.timings_ms["retrieve"] == 12.0  # every retrieval counted


def test_parts_finding_nothing_new_leave_the_passages_as_they_were() -> None:
    whole = found([1, 2], 5.0)
    out = joined(whole, [found([2, 1], 1.0)], each=2)
    assert out.passages == whole.passages and out.candidates == whole.candidates

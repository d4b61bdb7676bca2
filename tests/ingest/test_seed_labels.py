"""The hand labels of the seed paragraphs (benchmarks/data/seed_paragraph_labels.jsonl, the noisy side
of benchmarks/bench_clean.py) against the seeds and the cleaner.

The labels must still fit the seeds' paragraphs, so the confusion table cannot rot silently; and the
cleaner may drop no larger share of the labelled content, nor keep a larger share of the labelled
noise, than it did when the table was first measured (content: 1 of 119 dropped, an ordinary
sentence naming an RSS feed; noise: 1 of 38 kept, a blog's bio under the post).
"""

from __future__ import annotations

import importlib.util
import sys
from collections import Counter
from functools import cache

from rag.types import Paragraph
from tests.conftest import ROOT, SEEDS

# By its file: benchmarks/ is a folder of scripts, and a package named "benchmarks" (pysbd's) is installed.
_spec = importlib.util.spec_from_file_location("seed_labels", ROOT / "benchmarks" / "seed_labels.py")
assert _spec is not None and _spec.loader is not None
seed_labels = sys.modules["seed_labels"] = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(seed_labels)

CONTENT_KEPT_MIN = 118 / 119
NOISE_DROPPED_MIN = 37 / 38


@cache
def paragraphs() -> dict[str, list[Paragraph]]:
    return seed_labels.cleaned(SEEDS)


@cache
def table() -> Counter[tuple[str, bool]]:
    return seed_labels.confusion(seed_labels.judge(paragraphs(), seed_labels.read_labels()))


def test_labels_fit_the_seed_paragraphs() -> None:
    """Every paragraph the cleaner sees has one label, on the same text."""
    labels = seed_labels.read_labels()
    assert seed_labels.mismatches(paragraphs(), labels) == []
    assert {r["label"] for r in labels} == {"noise", "content"}


def test_labelled_content_is_kept() -> None:
    kept, dropped = table()["content", False], table()["content", True]
    assert kept + dropped >= 100
    assert kept / (kept + dropped) >= CONTENT_KEPT_MIN


def test_labelled_noise_is_dropped() -> None:
    dropped, kept = table()["noise", True], table()["noise", False]
    assert dropped + kept >= 30
    assert dropped / (dropped + kept) >= NOISE_DROPPED_MIN

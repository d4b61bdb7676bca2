"""The seed articles' paragraphs labelled by hand (noise or content) and the cleaner's verdict on each.

The labels (`benchmarks/data/seed_paragraph_labels.jsonl`, one row per paragraph as
`rag.ingest.clean.split_paragraphs` cuts the seed text `rag.ingest.load` reads) were made by reading
each paragraph, before the cleaner's verdicts were looked at: noise is page furniture (phone banners,
watch spam, newsletter and subscription boxes, comment threads, navigation, tags and widgets, a
blog's bio under every post, a caption scraped twice), content is the article's own prose, title,
byline, date, headings and bullets. A row keeps the paragraph's SHA-1 prefix, so a change of splitting
or of a seed shows as a mismatch instead of labels silently sliding onto other paragraphs.

Shared by `benchmarks/bench_clean.py` (the confusion table) and `tests/ingest/test_seed_labels.py`
(the labels still fit the seeds; the cleaner drops no more labelled content than it does now).
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from rag.ingest import classify, furniture_keys, load, repeated_keys
from rag.types import Paragraph

LABELS = Path(__file__).resolve().parent / "data" / "seed_paragraph_labels.jsonl"


@dataclass(frozen=True)
class Judged:
    """One labelled paragraph and what the cleaner did with it."""

    doc: str
    index: int
    label: str  # "noise" or "content"
    paragraph: Paragraph

    @property
    def dropped(self) -> bool:
        return not self.paragraph.kept


def paragraph_hash(text: str) -> str:
    return hashlib.sha1(text.encode("utf-8")).hexdigest()[:12]


def read_labels(path: Path = LABELS) -> list[dict[str, object]]:
    with path.open(encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def cleaned(seeds: Path) -> dict[str, list[Paragraph]]:
    """Each seed's paragraphs with the cleaner's verdicts, cleaned as `rag index seeds/` cleans them
    (paragraphs repeated across the seeds count as furniture)."""
    texts = {p.name: load(p.name, p).text for p in sorted(seeds.iterdir()) if p.suffix == ".txt"}
    repeated = repeated_keys(furniture_keys(t) for t in texts.values())
    return {doc: classify(text, repeated) for doc, text in texts.items()}


def mismatches(paragraphs: dict[str, list[Paragraph]], labels: list[dict[str, object]]) -> list[str]:
    """One line per paragraph whose label no longer fits: unlabelled, labelled but gone, or changed."""
    found = {(doc, i): paragraph_hash(p.text) for doc, ps in paragraphs.items() for i, p in enumerate(ps)}
    labelled = {(str(r["doc"]), int(str(r["index"]))): str(r["sha1"]) for r in labels}
    lines = [f"{d}#{i}: not labelled" for d, i in sorted(found.keys() - labelled.keys())]
    lines += [f"{d}#{i}: labelled, no such paragraph" for d, i in sorted(labelled.keys() - found.keys())]
    both = sorted(found.keys() & labelled.keys())
    lines += [f"{d}#{i}: text changed" for d, i in both if found[d, i] != labelled[d, i]]
    return lines


def judge(paragraphs: dict[str, list[Paragraph]], labels: list[dict[str, object]]) -> list[Judged]:
    """Each labelled paragraph with the cleaner's verdict (the labels must fit: see `mismatches`)."""
    judged = []
    for row in labels:
        doc, index = str(row["doc"]), int(str(row["index"]))
        judged.append(Judged(doc, index, str(row["label"]), paragraphs[doc][index]))
    return judged


def confusion(judged: list[Judged]) -> Counter[tuple[str, bool]]:
    """Counts of (label, dropped)."""
    return Counter((j.label, j.dropped) for j in judged)

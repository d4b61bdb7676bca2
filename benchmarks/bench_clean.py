"""The cleaner's two sides at once: clean prose must lose nothing, scraped noise must go.

Clean side: every paragraph of the 442 SQuAD v1.1 training articles (`../shared/data`), each judged
as a document of its own (encyclopedia prose, no boilerplate: anything dropped is a loss; target at
most 0.2%). Noisy side: the 157 paragraphs of the seed articles (scraped pages), each labelled noise
or content by hand in `benchmarks/data/seed_paragraph_labels.jsonl`, and the confusion table of the
cleaner's verdicts against those labels, with precision and recall of dropping, overall and by the
cleaner's reason (`tests/ingest/test_clean.py` checks the known noise by name as well).

How the labels were made: the seeds were split as the cleaner splits them and every paragraph was
read and labelled before any verdict of the cleaner was looked at (label first, then measure; the
labels were committed before this table existed). Noise: phone banners, watch spam, newsletter,
subscription and privacy boxes, comment threads (a letter quoted in a comment included), navigation,
tag lists, event and related-article widgets, a blog's bio printed under every post, and a caption
scraped twice (alt text and caption). Content: titles, bylines and dates, the article's prose,
headings, bullets, captions and a reposting blogger's own introduction. Where a label needed a
judgement, its row says why (`note`). The rules were not tuned to these labels.
Run: `.venv/bin/python benchmarks/bench_clean.py [--examples 3]`.
"""

from __future__ import annotations

import argparse
import gzip
import json
import sys
from collections import Counter, defaultdict
from pathlib import Path

from measure import ROOT, SEEDS, result_path, write_json
from seed_labels import Judged, cleaned, confusion, judge, mismatches, read_labels

from rag.ingest import classify

SQUAD = ROOT.parent / "shared" / "data" / "squad-v1.1-train.json.gz"
CLEAN_DROP_MAX = 0.002


def clean_side(examples: int) -> dict[str, object]:
    """Paragraphs of clean prose the cleaner drops (any part of), by the first dropped part's reason."""
    with gzip.open(SQUAD, "rt", encoding="utf-8") as f:
        articles = json.load(f)["data"]
    total, reasons, shown = 0, Counter[str](), defaultdict[str, list[str]](list)
    for article in articles:
        for paragraph in article["paragraphs"]:
            total += 1
            lost = [p for p in classify(paragraph["context"]) if not p.kept]
            if lost:
                reasons[lost[0].reason] += 1
                if len(shown[lost[0].reason]) < examples:
                    shown[lost[0].reason].append(lost[0].text[:120])
    dropped = sum(reasons.values())
    return {
        "paragraphs": total,
        "dropped": dropped,
        "share": round(dropped / total, 5),
        "target_met": dropped / total <= CLEAN_DROP_MAX,
        "reasons": dict(reasons.most_common()),
        "examples": dict(shown),
    }


def labelled_side() -> dict[str, object]:
    """The cleaner's verdicts on the labelled seed paragraphs: the confusion table, by reason."""
    paragraphs, labels = cleaned(SEEDS), read_labels()
    stale = mismatches(paragraphs, labels)
    if stale:
        raise SystemExit(f"bench_clean: the seed labels no longer fit the seeds: {'; '.join(stale[:5])}")
    judged = judge(paragraphs, labels)
    table = confusion(judged)
    by_reason: defaultdict[str, Counter[str]] = defaultdict(Counter)
    for j in judged:
        by_reason[f"{'dropped' if j.dropped else 'kept'}: {j.paragraph.reason}"][j.label] += 1
    dropped = table["noise", True] + table["content", True]
    noise = table["noise", True] + table["noise", False]
    return {
        "paragraphs": len(judged),
        "noise_dropped": table["noise", True],
        "noise_kept": table["noise", False],
        "content_dropped": table["content", True],
        "content_kept": table["content", False],
        "precision": round(table["noise", True] / dropped, 4) if dropped else None,
        "recall": round(table["noise", True] / noise, 4) if noise else None,
        "by_reason": {r: dict(c) for r, c in sorted(by_reason.items())},
        "misjudged": [_misjudged(j) for j in judged if (j.label == "noise") != j.dropped],
    }


def _misjudged(j: Judged) -> str:
    verdict = "dropped" if j.dropped else "kept"
    return f"{j.label} {verdict} ({j.paragraph.reason}): {j.doc}#{j.index} {j.paragraph.text[:70]}"


def _print_labelled(seeds: dict[str, object]) -> None:
    print(f"seed articles, {seeds['paragraphs']} paragraphs labelled by hand (confusion table):")
    print(f"  {'':18} {'dropped':>8} {'kept':>8}")
    print(f"  {'labelled noise':18} {seeds['noise_dropped']:8d} {seeds['noise_kept']:8d}")
    print(f"  {'labelled content':18} {seeds['content_dropped']:8d} {seeds['content_kept']:8d}")
    precision, recall = seeds["precision"], seeds["recall"]
    print(f"  dropping: precision {precision:.3f}, recall {recall:.3f}")
    print(f"  {'by reason':56} {'noise':>6} {'content':>8} {'precision':>10}")
    for reason, counts in seeds["by_reason"].items():  # type: ignore[attr-defined]
        noise, content = counts.get("noise", 0), counts.get("content", 0)
        share = f"{noise / (noise + content):10.3f}" if reason.startswith("dropped") else ""
        print(f"  {reason:56} {noise:6d} {content:8d} {share}".rstrip())
    for line in seeds["misjudged"]:  # type: ignore[attr-defined]
        print(f"  misjudged: {line}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--examples", type=int, default=3, help="dropped clean paragraphs shown per reason")
    parser.add_argument("--json-out", type=Path, default=result_path("bench_clean"))
    args = parser.parse_args(argv)
    if not SQUAD.is_file():
        print(f"bench_clean: {SQUAD} not found (the shared SQuAD training file)", file=sys.stderr)
        return 1
    clean, seeds = clean_side(args.examples), labelled_side()
    print(f"clean prose (SQuAD train, {clean['paragraphs']} paragraphs): dropped {clean['dropped']}")
    verdict = "met" if clean["target_met"] else "NOT met"
    print(f"  share {clean['share']:.3%} (target at most {CLEAN_DROP_MAX:.1%}: {verdict})")
    for reason, count in clean["reasons"].items():  # type: ignore[attr-defined]
        print(f"  {count:6d}  {reason}")
        for text in clean["examples"][reason]:  # type: ignore[index]
            print(f"            {text}")
    _print_labelled(seeds)
    write_json(args.json_out, {"clean": clean, "seeds": seeds})
    return 0


if __name__ == "__main__":
    sys.exit(main())

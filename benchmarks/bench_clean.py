"""The cleaner's two sides at once: clean prose must lose nothing, scraped noise must go.

Clean side: every paragraph of the 442 SQuAD v1.1 training articles (`../shared/data`), each judged
as a document of its own (encyclopedia prose, no boilerplate: anything dropped is a loss; target at
most 0.2%). Noisy side: the seed articles, whose dropped paragraphs are listed by reason (phone
banners, navigation, spam, comment threads; `tests/ingest/test_clean.py` checks each by name).
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


def noisy_side() -> dict[str, object]:
    """The seed articles' paragraphs kept and dropped, the dropped ones by reason."""
    kept, reasons = 0, Counter[str]()
    for path in sorted(SEEDS.iterdir()):
        for p in classify(path.read_text(encoding="utf-8")):
            if p.kept:
                kept += 1
            else:
                reasons[p.reason] += 1
    return {"kept": kept, "dropped": sum(reasons.values()), "reasons": dict(reasons.most_common())}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--examples", type=int, default=3, help="dropped clean paragraphs shown per reason")
    parser.add_argument("--json-out", type=Path, default=result_path("bench_clean"))
    args = parser.parse_args(argv)
    if not SQUAD.is_file():
        print(f"bench_clean: {SQUAD} not found (the shared SQuAD training file)", file=sys.stderr)
        return 1
    clean, noisy = clean_side(args.examples), noisy_side()
    print(f"clean prose (SQuAD train, {clean['paragraphs']} paragraphs): dropped {clean['dropped']}")
    verdict = "met" if clean["target_met"] else "NOT met"
    print(f"  share {clean['share']:.3%} (target at most {CLEAN_DROP_MAX:.1%}: {verdict})")
    for reason, count in clean["reasons"].items():  # type: ignore[attr-defined]
        print(f"  {count:6d}  {reason}")
        for text in clean["examples"][reason]:  # type: ignore[index]
            print(f"            {text}")
    print(f"seed articles: kept {noisy['kept']} paragraphs, dropped {noisy['dropped']}")
    for reason, count in noisy["reasons"].items():  # type: ignore[attr-defined]
        print(f"  {count:6d}  {reason}")
    write_json(args.json_out, {"clean": clean, "seeds": noisy})
    return 0


if __name__ == "__main__":
    sys.exit(main())

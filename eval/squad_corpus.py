"""A held-out open-domain test bed from SQuAD v1.1 train: the reader never saw these articles.

Each held-out article (every 20th, see rag/answer/training/squad.py) becomes one text file with about a fifth
of its paragraphs left out. Questions on the kept paragraphs are answerable; a question on a left-out
paragraph whose answer no kept paragraph of its article holds is unanswerable: same topic, the fact
absent, which is the refusal users need. Questions are split by article into a calibration half (odd
positions) and a test half (even positions), so thresholds are chosen on articles they are not
measured on.

    python eval/squad_corpus.py --out build/squad-heldout
    rag index build/squad-heldout/docs --index-dir build/squad-index
    rag eval build/squad-heldout/test.jsonl --index-dir build/squad-index
"""

from __future__ import annotations

import argparse
import json
import random
import re
from pathlib import Path

from rag.answer.training.squad import Article, holds, read_articles, split
from rag.answer.training.train_reader import DATA

LEFT_OUT = 0.2


def slug(title: str) -> str:
    return re.sub(r"[^A-Za-z0-9]+", "_", title).strip("_")[:40]


def sentence_around(text: str, start: int, end: int) -> str:
    """The sentence holding text[start:end], cut at ". " boundaries: a quote for evidence recall."""
    left = text.rfind(". ", 0, start)
    left = 0 if left < 0 else left + 2
    right = text.find(". ", end)
    return text[left : right + 1 if right >= 0 else len(text)].strip()


def build(
    articles: list[Article], out: Path, seed: int, answerable: int, unanswerable: int
) -> dict[str, int]:
    rng = random.Random(seed)
    docs = out / "docs"
    docs.mkdir(parents=True, exist_ok=True)
    halves: dict[str, list[dict[str, object]]] = {"calibration": [], "test": []}
    pools: dict[str, tuple[list[dict[str, object]], list[dict[str, object]]]] = {h: ([], []) for h in halves}
    for i, a in enumerate(articles):
        name = f"{i:02d}_{slug(a.title)}.txt"
        left_out = set(rng.sample(range(len(a.paragraphs)), int(LEFT_OUT * len(a.paragraphs))))
        kept = [p for j, p in enumerate(a.paragraphs) if j not in left_out]
        (docs / name).write_text(
            a.title.replace("_", " ") + "\n\n" + "\n\n".join(kept) + "\n", encoding="utf-8"
        )
        yes, no = pools["calibration" if i % 2 else "test"]
        for para, qid, question, start, answers in a.questions:
            if para not in left_out:
                context = a.paragraphs[para]
                evidence = sentence_around(context, start, start + len(answers[0]))
                yes.append(
                    {
                        "id": qid,
                        "question": question,
                        "answers": list(dict.fromkeys(answers)),
                        "sources": [name],
                        "evidence": [evidence],
                        "answerable": True,
                    }
                )
            elif not any(holds(p, answers) for p in kept):
                no.append({"id": qid, "question": question, "answerable": False})
    counts = {}
    for half, (yes, no) in pools.items():
        rng.shuffle(yes)
        rng.shuffle(no)
        chosen = yes[:answerable] + no[:unanswerable]
        rng.shuffle(chosen)
        path = out / f"{half}.jsonl"
        path.write_text("".join(json.dumps(q, ensure_ascii=False) + "\n" for q in chosen), encoding="utf-8")
        counts[f"{half}_answerable"] = min(len(yes), answerable)
        counts[f"{half}_unanswerable"] = min(len(no), unanswerable)
    return counts


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data", type=Path, default=DATA)
    p.add_argument("--out", type=Path, default=Path("build/squad-heldout"))
    p.add_argument("--seed", type=int, default=5)
    p.add_argument("--answerable", type=int, default=300, help="answerable questions per half")
    p.add_argument("--unanswerable", type=int, default=100, help="unanswerable questions per half")
    args = p.parse_args()
    _, held_out = split(read_articles(args.data))
    print(json.dumps(build(held_out, args.out, args.seed, args.answerable, args.unanswerable)))


if __name__ == "__main__":
    main()

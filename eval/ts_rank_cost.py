"""What PostgreSQL's own full-text ranking would cost against the store's BM25 in SQL: on a question
file, how often the top lexical passage (and any of the top five) holds one of the question's
evidence sentences, with `ts_rank` (no IDF) and with BM25 (rag.store.postgres.bm25), over the same
database, and how often the two agree on the top passage.

    .venv/bin/python eval/ts_rank_cost.py --store postgresql://… [eval/seed_questions.jsonl]
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from rag.config import Config  # noqa: E402
from rag.store import open_reader  # noqa: E402

# Every word of the question may match (OR), as BM25 scores any term; ranked by ts_rank.
TS_RANK = """
WITH q AS (SELECT to_tsquery('english', string_agg(lexeme, ' | ')) AS query
           FROM unnest(to_tsvector('english', %s)) AS t(lexeme, positions, weights))
SELECT c.id, ts_rank(to_tsvector('english', c.text), q.query) AS score
FROM citerag.chunks c, q WHERE to_tsvector('english', c.text) @@ q.query
ORDER BY score DESC, c.id LIMIT 5
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("questions", nargs="?", type=Path, default=ROOT / "eval" / "seed_questions.jsonl")
    parser.add_argument("--store", required=True)
    args = parser.parse_args()
    reader = open_reader(Config(store=args.store))
    rows = [json.loads(line) for line in args.questions.read_text(encoding="utf-8").splitlines() if line]
    rows = [r for r in rows if r.get("answerable", True) and r.get("sources")]
    hits = {"bm25": [0, 0], "ts_rank": [0, 0]}
    same_top = 0
    try:
        for r in rows:
            with reader.connection() as conn:
                ranked = {
                    "bm25": reader.lexical.search(r["question"], 5),
                    "ts_rank": [(i, s) for i, s in conn.execute(TS_RANK, (r["question"],)).fetchall()],
                }
            evidence = [" ".join(e.split()) for e in r["evidence"]]
            for name, found in ranked.items():
                texts = [reader.rows([row])[row]["text"] for row, _ in found]
                held = [any(e in t for e in evidence) for t in texts]
                hits[name][0] += bool(held) and held[0]
                hits[name][1] += any(held)
            same_top += [i for i, _ in ranked["bm25"][:1]] == [i for i, _ in ranked["ts_rank"][:1]]
    finally:
        reader.close()
    n = len(rows)
    for name, (top, five) in hits.items():
        print(f"{name:<8} top passage holds the evidence {top / n:.3f}, one of the top five {five / n:.3f}")
    print(f"same top passage {same_top / n:.3f} ({n} answerable questions of {args.questions.name})")


if __name__ == "__main__":
    main()

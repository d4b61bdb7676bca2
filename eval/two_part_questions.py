"""Two-part questions made from a question file: two questions on one paragraph asked as one.

Users ask two things at once ("When did she speak, and who organised it?"), and the answer must hold
both facts. SQuAD has no such questions, so the project's only ones were the few in the hand-written
users' set. Joining two answerable questions on the same paragraph ("Q1, and q2?"), then on the same
article (two facts from two passages), gives a set of them, each needing both gold answers. With
`--pronoun`, a name the second question repeats from the first becomes "it" ("What did Marvel publish
in 1961, and when did it go bankrupt?"), as people write; only pairs with such a name are kept then.

    python eval/two_part_questions.py build/squad-heldout/calibration.jsonl \
        --out build/squad-heldout/calibration-two-part.jsonl [--pronoun]
"""

from __future__ import annotations

import argparse
import json
import re
from collections import defaultdict
from pathlib import Path

from rag.evaluation import load_questions

_ASKS = re.compile(
    r"^(?:(?:at|by|for|from|in|on|to|with)\s+)?(?:what|which|who|whom|whose|when|where|why|how)\b", re.I
)
_NAME = re.compile(r"\b[A-Z][\w'-]*(?:\s+(?:of\s+|the\s+)?[A-Z][\w'-]*)*")


def _names(question: str) -> list[str]:
    """Capitalised phrases after the question's first word, longest first."""
    first = question.split(maxsplit=1)[0] if question.split() else ""
    found = [m.group(0) for m in _NAME.finditer(question) if m.start() >= len(first)]
    return sorted(set(found), key=len, reverse=True)


def _with_pronoun(first: str, second: str) -> str | None:
    """`second` with the first name it shares with `first` said as "it" ("its" before "'s")."""
    for name in _names(second):
        if name in _names(first) and not re.search(rf"\b{re.escape(name)}\s+\d", second):
            name_as = rf"\b(?:the\s+)?{re.escape(name)}"
            said = re.sub(name_as + r"(?:'s|’s)", "its", second, count=1)
            if said == second:
                said = re.sub(name_as + r"\b", "it", second, count=1)
            return said if said != second else None
    return None


def _overlap(a: str, b: str) -> bool:
    a, b = a.casefold(), b.casefold()
    return a in b or b in a


def _joined(a: dict[str, object], b: dict[str, object], pronoun: bool) -> dict[str, object] | None:
    """The two questions asked as one, or None when they do not make a two-part question."""
    first, second = str(a["question"]).strip().rstrip("?").strip(), str(b["question"]).strip()
    answers = [str(a["answers"][0]), str(b["answers"][0])]  # type: ignore[index]
    if not _ASKS.match(second) or _overlap(*answers):
        return None
    if pronoun:
        second = _with_pronoun(first, second) or ""
        if not second:
            return None
    second = second.rstrip("?").strip()
    return {
        "id": f"{a['id']}+{b['id']}",
        "question": f"{first}, and {second[0].lower()}{second[1:]}?",
        "answers": answers,
        "sources": sorted({*a.get("sources", []), *b.get("sources", [])}),  # type: ignore[misc]
        "evidence": [*a.get("evidence", []), *b.get("evidence", [])],  # type: ignore[misc]
        "answerable": True,
    }


def join(rows: list[dict[str, object]], pronoun: bool) -> list[dict[str, object]]:
    """Pairs of answerable questions (ids "Article/paragraph/n"), each used once, in either order: first
    within a paragraph, then what is left within an article (two facts from two passages)."""
    answerable = [r for r in rows if r.get("answerable", True) and r.get("answers")]
    used: set[int] = set()
    out = []
    for level in (2, 1):  # paragraph ("Article/paragraph"), then article
        groups: dict[str, list[int]] = defaultdict(list)
        for i, r in enumerate(answerable):
            if i not in used:
                groups["/".join(str(r["id"]).split("/")[:level])].append(i)
        for group in groups.values():
            for x, i in enumerate(group):
                for j in group[x + 1 :]:
                    if i in used or j in used:
                        continue
                    a, b = answerable[i], answerable[j]
                    joined = _joined(a, b, pronoun) or _joined(b, a, pronoun)
                    if joined is not None:
                        out.append(joined)
                        used |= {i, j}
    return out


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("questions", type=Path, help="a .jsonl or .csv question file (rag eval's format)")
    p.add_argument("--out", type=Path, required=True)
    p.add_argument("--pronoun", action="store_true", help="the second part refers back with 'it'")
    args = p.parse_args()
    joined = join(load_questions(args.questions), args.pronoun)
    args.out.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in joined), encoding="utf-8")
    print(f"{len(joined)} two-part questions -> {args.out}")


if __name__ == "__main__":
    main()

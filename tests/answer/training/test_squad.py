"""The reader's training data: checksum, split by article, same-topic negatives, token labels."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest

from rag.answer.features import encode, label
from rag.answer.training.squad import (
    HOLD_OUT_EVERY,
    Article,
    examples,
    groups,
    holds,
    read_articles,
    split,
)
from rag.errors import UserError

PARAGRAPHS = [
    "The bridge opened in 1932 and was designed by John Bradfield.",
    "Traffic on the bridge is heavy; about 160,000 vehicles cross it every day.",
    "The harbour hosts a fireworks display every New Year's Eve.",
]


def squad_file(tmp_path: Path, articles: int = 1) -> Path:
    data = {
        "version": "1.1",
        "data": [
            {
                "title": f"Bridge {a}",
                "paragraphs": [
                    {
                        "context": PARAGRAPHS[0],
                        "qas": [
                            {
                                "id": f"{a}/0/0",
                                "question": "Who designed the bridge?",
                                "answers": [{"answer_start": 46, "text": "John Bradfield"}],
                            }
                        ],
                    },
                    *({"context": p, "qas": []} for p in PARAGRAPHS[1:]),
                ],
            }
            for a in range(articles)
        ],
    }
    path = tmp_path / "squad.json.gz"
    with gzip.open(path, "wt", encoding="utf-8") as f:
        json.dump(data, f)
    return path


def test_a_file_with_another_checksum_is_refused(tmp_path: Path) -> None:
    with pytest.raises(UserError, match="checksum"):
        read_articles(squad_file(tmp_path))


def test_a_missing_or_broken_file_is_one_clear_error(tmp_path: Path) -> None:
    with pytest.raises(UserError, match="not found"):
        read_articles(tmp_path / "absent.json.gz", check=False)
    broken = tmp_path / "broken.json"
    broken.write_text("{not json", encoding="utf-8")
    with pytest.raises(UserError, match="not SQuAD JSON"):
        read_articles(broken, check=False)


def test_every_twentieth_article_is_held_out(tmp_path: Path) -> None:
    articles = read_articles(squad_file(tmp_path, articles=45), check=False)
    train, held = split(articles)
    assert [a.title for a in held] == [f"Bridge {i}" for i in range(0, 45, HOLD_OUT_EVERY)]
    assert len(train) + len(held) == 45 and not {a.title for a in train} & {a.title for a in held}


def test_negatives_are_same_article_paragraphs_without_the_answer(tmp_path: Path) -> None:
    articles = read_articles(squad_file(tmp_path), check=False)
    out = examples(articles, negative_rate=1.0, seed=1)
    positive, negative = out
    assert positive.context[positive.answer_start :].startswith("John Bradfield")
    assert negative.answer_start is None and negative.context in PARAGRAPHS[1:]
    assert not holds(negative.context, negative.answers)
    assert holds(PARAGRAPHS[0], ("john  Bradfield",)) and not holds(PARAGRAPHS[0], ("Bradfields",))


def test_labels_point_at_the_answer_tokens() -> None:
    from transformers import AutoTokenizer

    from rag.store.models import resolve_model

    tokenizer = AutoTokenizer.from_pretrained(resolve_model("all-MiniLM-L6-v2"))
    context = PARAGRAPHS[0]
    enc = encode(tokenizer, ["Who designed the bridge?"], [context])
    first, last = label(enc["offset_mapping"][0], enc.sequence_ids(0), 46, 60)
    offsets = enc["offset_mapping"][0]
    assert context[offsets[first][0] : offsets[last][1]] == "John Bradfield"
    long = " ".join(["filler words here."] * 200) + " " + context
    enc = encode(tokenizer, ["Who designed the bridge?"], [long])
    assert len(enc["input_ids"]) > 1  # read in overlapping windows
    at = long.index("John Bradfield")
    labels = [
        label(enc["offset_mapping"][w], enc.sequence_ids(w), at, at + 14)
        for w in range(len(enc["input_ids"]))
    ]
    assert labels[0] == (0, 0) and labels[-1] != (0, 0)  # only the window holding it is labelled


def test_a_group_is_the_question_over_the_paragraphs_most_like_it_that_lack_its_answer() -> None:
    paragraphs = (
        *PARAGRAPHS,
        "John Bradfield also planned the city's railway.",  # holds the answer: never a negative
        "The bridge was painted grey, and the bridge's arch is the world's widest steel arch.",
    )
    question = (0, "q1", "Who designed the bridge?", 46, ("John Bradfield",))
    article = Article("Bridge", paragraphs, (question,))
    (group,) = groups([article], size=3, negative_rate=0.0, seed=1, start=0, count=1)
    assert group[0].context == PARAGRAPHS[0] and group[0].answer_start == 46
    # the others by BM25 likeness to the question: the two on the bridge, not the harbour's
    assert [e.context for e in group[1:]] == [paragraphs[4], PARAGRAPHS[1]]
    assert all(e.answer_start is None and e.id.startswith("q1#neg") for e in group[1:])
    (unanswerable,) = groups([article], size=3, negative_rate=1.0, seed=1, start=0, count=1)
    assert [e.context for e in unanswerable] == [paragraphs[4], PARAGRAPHS[1], PARAGRAPHS[2]]
    assert groups([article], size=3, negative_rate=0.0, seed=1, start=1, count=5) == []

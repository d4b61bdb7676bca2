"""SQuAD v1.1 training data for the reader: checked, split by article, with same-topic negatives.

The split is by article, never by question, so held-out figures are on text the reader never saw.
Negatives pair a question with another paragraph of its own article that does not hold the answer:
the "on topic, fact absent" case a user needs refused, which SQuAD v1.1 itself lacks.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import random
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from rag.answer.normalize import normalize_tokens
from rag.errors import UserError
from rag.store import LexicalIndex

SQUAD_GZ_MD5 = "c8c91797a7c5938a420574babd3f9be7"  # ../shared/data/README.md
HOLD_OUT_EVERY = 20  # every 20th article (0, 20, 40, …) is held out for development figures


@dataclass(frozen=True)
class Example:
    """A question over one context; `answer_start` is None when the context does not hold it."""

    id: str
    question: str
    context: str
    answer_start: int | None
    answer_text: str
    answers: tuple[str, ...]  # every gold answer text (for scoring)


@dataclass(frozen=True)
class Article:
    title: str
    paragraphs: tuple[str, ...]
    questions: tuple[tuple[int, str, str, int, tuple[str, ...]], ...]  # (paragraph, id, q, start, answers)


def md5(path: Path) -> str:
    with path.open("rb") as f:
        return hashlib.file_digest(f, "md5").hexdigest()


def read_articles(path: Path, check: bool = True) -> list[Article]:
    """The articles of a SQuAD JSON(.gz) file, its checksum checked first when `check`."""
    if not path.is_file():
        raise UserError(f"training data not found: {path}")
    if check and (found := md5(path)) != SQUAD_GZ_MD5:
        raise UserError(f"training data {path} has checksum {found}, expected {SQUAD_GZ_MD5}")
    opener: Any = gzip.open if path.suffix == ".gz" else open
    try:
        with opener(path, "rt", encoding="utf-8") as f:
            data = json.load(f)["data"]
    except (OSError, ValueError, KeyError) as exc:
        raise UserError(f"training data {path} is not SQuAD JSON: {exc}") from None
    articles = []
    for a in data:
        paragraphs, questions = [], []
        for i, p in enumerate(a["paragraphs"]):
            paragraphs.append(p["context"])
            for qa in p["qas"]:
                answers = tuple(x["text"] for x in qa["answers"])
                questions.append((i, qa["id"], qa["question"], qa["answers"][0]["answer_start"], answers))
        articles.append(Article(a["title"], tuple(paragraphs), tuple(questions)))
    return articles


def split(articles: list[Article]) -> tuple[list[Article], list[Article]]:
    """(training, held out): every HOLD_OUT_EVERY-th article is held out."""
    train = [a for i, a in enumerate(articles) if i % HOLD_OUT_EVERY]
    held = [a for i, a in enumerate(articles) if not i % HOLD_OUT_EVERY]
    return train, held


def holds(context: str, answers: tuple[str, ...]) -> bool:
    """Some gold answer occurs in `context` as whole normalised words."""
    text = f" {' '.join(normalize_tokens(context))} "
    return any(f" {' '.join(normalize_tokens(a))} " in text for a in answers if normalize_tokens(a))


def negative(qid: str, question: str, article: Article, paragraph: int, answers: tuple[str, ...]) -> Example:
    """The question over a paragraph of its article that does not hold its answer. The id starts with
    the question's own ("id#negN"), which rewording keys on to word a question and its negatives alike."""
    return Example(f"{qid}#neg{paragraph}", question, article.paragraphs[paragraph], None, "", answers)


def examples(articles: list[Article], negative_rate: float, seed: int) -> list[Example]:
    """Every question with its own paragraph, plus for a `negative_rate` share of them a negative:
    the question over another paragraph of its article that holds none of its answers."""
    rng = random.Random(seed)
    out = []
    for a in articles:
        for para, qid, question, start, answers in a.questions:
            context = a.paragraphs[para]
            out.append(Example(qid, question, context, start, answers[0], answers))
            if rng.random() >= negative_rate:
                continue
            others = [i for i in range(len(a.paragraphs)) if i != para]
            rng.shuffle(others)
            for i in others[:5]:
                if not holds(a.paragraphs[i], answers):
                    out.append(negative(qid, question, a, i, answers))
                    break
    return out


def groups(
    articles: list[Article], size: int, negative_rate: float, seed: int, start: int, count: int
) -> list[tuple[Example, ...]]:
    """`count` questions of the seeded shuffle of all questions (from position `start`), each with
    `size` paragraphs of its article as open-domain retrieval puts them before the reader: its own
    (except for a `negative_rate` share of the questions, made unanswerable) and the others most like
    it by BM25 that hold none of its answers. For training with shared normalisation."""
    rng = random.Random(seed)
    questions = [(a, q) for a in articles for q in a.questions]
    rng.shuffle(questions)
    lexical: dict[str, LexicalIndex] = {}
    out = []
    for a, (para, qid, question, start_char, answers) in questions[start : start + count]:
        if a.title not in lexical:
            lexical[a.title] = LexicalIndex.build(list(a.paragraphs), np.arange(len(a.paragraphs)))
        answerable = rng.random() >= negative_rate
        group = [Example(qid, question, a.paragraphs[para], start_char, answers[0], answers)] * answerable
        for i in np.argsort(-lexical[a.title].scores(question), kind="stable"):
            if len(group) == size:
                break
            if i != para and not holds(a.paragraphs[i], answers):
                group.append(negative(qid, question, a, i, answers))
        if group:  # a negative of an article whose every other paragraph holds the answer: none
            out.append(tuple(group))
    return out

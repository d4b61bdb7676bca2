"""BM25 over passages: scores equal the Lucene BM25 formula worked out independently, tokens are stemmed
and stop-word free, and an index survives a save/load round trip."""

from __future__ import annotations

import math
from collections import Counter
from pathlib import Path

import numpy as np
import pytest

from rag.store.lexical import LexicalIndex, tokenize

CORPUS = [
    "Every 10 days a child is killed at the hands of their parent.",
    "Social workers safeguard children; safeguarding children is the social worker's first duty.",
    "The council cut its budget for children's social care by ten per cent.",
    "And of the",  # only stop words: a zero-length document still counts in N and the average length
    "Inspections of children's homes found that homes far from the child's area were at risk.",
    "Parents, parents and more parents: the parent panel met the council about a child killed in care.",
]
IDS = np.array([40, 7, 13, 99, 2, 61], dtype=np.int64)  # row ids unrelated to position

QUERIES = [
    "How often is a child killed by a parent?",
    "safeguarding children",
    "council budget for social care",
    "parents parents",  # a repeated query term counts twice
    "homes at risk far away",
    "zebra crossing",  # no term in the corpus
]


def lucene_bm25(corpus: list[list[str]], query: list[str], k1: float = 1.5, b: float = 0.75) -> np.ndarray:
    """Reference BM25, Lucene variant (Kamphuis et al. 2020), written from the formula:
    sum over query tokens t of
    ln(1 + (N - df + 0.5) / (df + 0.5)) * tf / (tf + k1 * (1 - b + b * dl / avgdl))."""
    n = len(corpus)
    avgdl = sum(len(d) for d in corpus) / n
    df = Counter(t for d in corpus for t in set(d))
    out = np.zeros(n)
    for i, doc in enumerate(corpus):
        tf = Counter(doc)
        for t in query:
            if tf[t]:
                idf = math.log(1 + (n - df[t] + 0.5) / (df[t] + 0.5))
                out[i] += idf * tf[t] / (tf[t] + k1 * (1 - b + b * len(doc) / avgdl))
    return out


@pytest.fixture(scope="module")
def index() -> LexicalIndex:
    return LexicalIndex.build(CORPUS, IDS)


@pytest.mark.parametrize("query", QUERIES)
def test_scores_equal_the_lucene_bm25_formula(index: LexicalIndex, query: str) -> None:
    """bm25s's defaults (method "lucene", k1 1.5, b 0.75) over our own tokens, not some other variant."""
    expected = lucene_bm25(tokenize(CORPUS), tokenize([query])[0])
    got = index.scores(query)
    assert got.shape == (len(CORPUS),)
    assert np.allclose(got, expected, rtol=1e-5, atol=1e-6), (got, expected)


def test_the_reference_is_not_trivially_zero(index: LexicalIndex) -> None:
    """Guard for the comparison above: the queries do produce distinct, non-zero scores."""
    scores = index.scores(QUERIES[0])
    assert (scores > 0).sum() >= 2 and len(set(scores[scores > 0].round(6))) >= 2


# tokenize ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("safeguarding", "safeguards"),
        ("killed", "killing"),
        ("inspections", "inspection"),
        ("parents", "parent"),
    ],
)
def test_tokenize_stems_word_forms_together(a: str, b: str) -> None:
    """A question saying "safeguards" must match a passage saying "safeguarding"."""
    (ta,), (tb,) = tokenize([a, b])
    assert ta == tb


def test_tokenize_drops_stop_words_and_lower_cases() -> None:
    tokens = tokenize(["The CHILDREN and THE Parents of the Council", "the children and the parents"])
    assert tokens[0][:2] == tokens[1]
    assert not {"the", "and", "of"} & set(tokens[0])
    assert all(t == t.lower() for t in tokens[0])
    assert len(tokens[0]) == 3


def test_tokenize_stop_words_only_gives_no_tokens() -> None:
    assert tokenize(["and of the", "!!! ..."]) == [[], []]


# save / load ------------------------------------------------------------------------------------------


def test_save_load_round_trip_gives_the_same_scores(index: LexicalIndex, tmp_path: Path) -> None:
    index.save(tmp_path / "bm25")
    loaded = LexicalIndex.load(tmp_path / "bm25")
    assert loaded.ids.tolist() == IDS.tolist()
    for query in QUERIES:
        assert np.array_equal(loaded.scores(query), index.scores(query))
        assert loaded.search(query, 3) == index.search(query, 3)


def test_empty_index_saves_loads_and_finds_nothing(tmp_path: Path) -> None:
    """A new or emptied collection has no passages; searching it must not fail."""
    empty = LexicalIndex.build([], np.array([], dtype=np.int64))
    assert empty.search("child", 5) == []
    empty.save(tmp_path / "bm25")
    loaded = LexicalIndex.load(tmp_path / "bm25")
    assert len(loaded.ids) == 0
    assert loaded.scores("child").shape == (0,)
    assert loaded.search("child", 5) == []


# search -----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("query", QUERIES)
@pytest.mark.parametrize("k", [1, 2, 3, 100])
def test_search_returns_positive_scores_best_first_at_most_k(index: LexicalIndex, query: str, k: int) -> None:
    found = index.search(query, k)
    expected = lucene_bm25(tokenize(CORPUS), tokenize([query])[0])
    positive = int((expected > 0).sum())
    assert len(found) == min(k, positive)
    scores = [s for _, s in found]
    assert all(s > 0 for s in scores)
    assert scores == sorted(scores, reverse=True)
    by_row = dict(zip(IDS.tolist(), expected, strict=True))
    for row, score in found:
        assert score == pytest.approx(by_row[row], rel=1e-5)
    # Nothing left out scores higher than the last one returned.
    if found:
        returned = {row for row, _ in found}
        assert all(s <= scores[-1] + 1e-6 for row, s in by_row.items() if row not in returned)


def test_search_maps_positions_to_row_ids(index: LexicalIndex) -> None:
    """The top hit for the killing question is CORPUS[0], whose row id is 40, not 0."""
    assert index.search("child killed every 10 days", 1)[0][0] == 40


@pytest.mark.parametrize("query", ["", "   ", "the and of", "?!"])
def test_search_with_no_usable_tokens_returns_nothing(index: LexicalIndex, query: str) -> None:
    """Questions like "Who is it?" tokenize to nothing; that is no lexical evidence, not an error."""
    assert index.search(query, 5) == []
    assert not index.scores(query).any()


def test_search_k_zero_returns_nothing(index: LexicalIndex) -> None:
    assert index.search("child", 0) == []

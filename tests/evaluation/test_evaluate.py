"""Metric code against small hand-computed cases: empty retrievals, duplicate ids, all refusals,
questions without gold fields (skipped, not zero), nDCG and MRR values worked out by hand."""

from __future__ import annotations

import math

import pytest

from rag.answer.normalize import normalize_tokens
from rag.evaluation.evaluate import (
    answer_sentences,
    citation_precision,
    citation_valid,
    containment,
    evidence_recall,
    first_hit_rank,
    groundedness,
    hit_at_k,
    mrr_at_k,
    ndcg_at_k,
    recall_at_k,
    refusal_scores,
    token_f1,
)
from rag.evaluation.intervals import mean_interval
from rag.evaluation.scoring import is_correct, score, summarize
from rag.types import Answer, Citation, Passage, Question

LOG3 = math.log2(3)  # the discount at rank 2


def test_ndcg_against_hand_computed_values() -> None:
    # relevant at ranks 1 and 3 of 2 relevant: (1 + 1/2) / (1 + 1/log2 3)
    assert ndcg_at_k(["a", "b", "c"], {"a", "c"}, 10) == pytest.approx(1.5 / (1 + 1 / LOG3))
    assert ndcg_at_k(["x", "a"], {"a"}, 10) == pytest.approx(1 / LOG3)
    assert ndcg_at_k(["a", "b"], {"a", "b"}, 10) == pytest.approx(1.0)
    # more relevant items than k: the ideal ranking is capped at k
    assert ndcg_at_k(["a", "b", "c"], {"a", "b", "c", "d"}, 2) == pytest.approx(1.0)
    assert ndcg_at_k(["x", "a"], {"a"}, 1) == 0.0


def test_a_repeated_id_counts_once_and_never_lifts_a_score_past_one() -> None:
    assert ndcg_at_k(["a", "a", "b"], {"a", "b"}, 10) == pytest.approx(1.5 / (1 + 1 / LOG3))
    assert ndcg_at_k(["a", "a", "a"], {"a"}, 10) == 1.0
    assert recall_at_k(["a", "x", "a"], {"a", "b"}, 10) == 0.5
    assert mrr_at_k(["x", "x", "a"], {"a"}, 10) == pytest.approx(1 / 3)


def test_mrr_hit_and_recall() -> None:
    assert mrr_at_k(["x", "y", "a"], {"a"}, 10) == pytest.approx(1 / 3)
    assert mrr_at_k(["x", "y", "a"], {"a"}, 2) == 0.0
    assert mrr_at_k(["a", "b"], {"b", "a"}, 10) == 1.0
    assert hit_at_k(["x", "a"], {"a"}, 1) == 0.0
    assert hit_at_k(["x", "a"], {"a"}, 2) == 1.0
    assert recall_at_k(["a", "b", "c"], {"a", "c", "d", "e"}, 3) == 0.5


def test_empty_retrieval_scores_zero_and_no_gold_is_not_measured() -> None:
    for metric in (hit_at_k, recall_at_k, mrr_at_k, ndcg_at_k):
        assert metric([], {"a"}, 10) == 0.0
        assert metric(["a", "b"], set(), 10) is None
        assert metric([], [], 10) is None


def test_evidence_recall_and_first_hit_rank_keep_their_meaning() -> None:
    texts = ["Nothing here.", "The  Quick brown fox.", "a quick brown fox jumps"]
    assert evidence_recall(texts, ["quick brown fox", "lazy dog"], 2) == 0.5
    assert evidence_recall(texts, ["quick brown fox"], 1) == 0.0
    assert first_hit_rank(texts, ["QUICK brown"]) == 2
    assert first_hit_rank([], ["x"]) is None


def test_normalisation_is_squad_style_with_punctuation_as_spaces() -> None:
    assert normalize_tokens("The LGA’s chair, an MP!") == ["lga", "s", "chair", "mp"]
    assert normalize_tokens("  ") == []


def test_containment_of_key_facts() -> None:
    answer = "Sir Merrick is leader of the Royal Borough and Chairman of the LGA. [1] It is everyone’s job."
    assert containment(answer, ["royal borough", "the LGA", "everyone"]) == 1.0
    assert containment(answer, ["Harrogate", "Chairman"]) == 0.5
    assert containment("Harrogates", ["Harrogate"]) == 0.0  # whole words only
    assert containment(answer, []) is None
    assert containment(answer, ["the", "  "]) is None  # nothing left to look for


def test_token_f1_hand_computed() -> None:
    # answer tokens cat sat on mat, reference cat on mat: P 3/4, R 1, F1 6/7
    assert token_f1("The cat sat on the mat.", ["a cat on a mat"]) == pytest.approx(6 / 7)
    assert token_f1("The cat sat on the mat.", ["dog", "cat sat"]) == pytest.approx(2 / 3)  # best reference
    assert token_f1("", ["cat"]) == 0.0
    assert token_f1("cat", []) is None


def test_answer_sentences_and_groundedness() -> None:
    sentences = answer_sentences("A b. [1] C d. [2][3] trailing text")
    assert sentences == [("A b.", [1]), ("C d.", [2, 3]), ("trailing text", [])]
    cited = {1: "x   a B. y", 2: "nothing"}
    assert groundedness(sentences, cited) == pytest.approx(1 / 3)  # [3] missing, trailing uncited
    assert groundedness(answer_sentences("I couldn't find this."), {}) == 0.0
    assert groundedness([], {}) is None


def test_citation_validity() -> None:
    source = "Hello   world.\nBye now."
    assert citation_valid("Hello world.", source, 0, 14)
    assert not citation_valid("Hello world.", source, 0, 13)
    assert not citation_valid("Bye now.", source, 15, 99)
    assert not citation_valid("", source, 3, 3)


def test_citation_precision() -> None:
    cited = [("d1", "it holds the Quote here"), ("d2", "other text")]
    assert citation_precision(cited, ["the quote"], []) == 0.5
    assert citation_precision(cited, ["the quote"], ["d2"]) == 1.0
    assert citation_precision(cited, [], []) is None
    assert citation_precision([], ["the quote"], ["d1"]) is None


def test_refusal_scores_mixed() -> None:
    s = refusal_scores([True, True, False, False, True], [False, True, False, True, True])
    assert s["precision"] == pytest.approx(1 / 3)
    assert s["recall"] == 0.5
    assert s["f1"] == pytest.approx(2 * (1 / 3) * 0.5 / (1 / 3 + 0.5))
    assert s["false_refusal_rate"] == pytest.approx(2 / 3)
    assert (s["refused"], s["unanswerable"], s["correct_refusals"]) == (3, 2, 1)


def test_refusal_edge_cases_are_never_nan() -> None:
    never = refusal_scores([False] * 4, [True, False, True, False])
    assert never["precision"] == 1.0 and never["recall"] == 0.0 and never["f1"] == 0.0
    all_wrong = refusal_scores([True] * 3, [True] * 3)  # every answerable question refused
    assert all_wrong["precision"] == 0.0 and all_wrong["recall"] is None and all_wrong["f1"] is None
    assert all_wrong["false_refusal_rate"] == 1.0
    all_right = refusal_scores([True] * 2, [False] * 2)  # correct refusals count as correct
    assert all_right["precision"] == all_right["recall"] == all_right["f1"] == 1.0
    assert all_right["false_refusal_rate"] is None
    empty = refusal_scores([], [])
    assert empty["precision"] == 1.0 and empty["recall"] is None


def _passage(rank: int, doc: str, text: str) -> Passage:
    return Passage(rank, 1.0 / rank, doc, f"c{rank}", 0, len(text), text, {})


SOURCE = "Alpha says hi. Beta says bye."
RANKING = [
    _passage(1, "d1", "Alpha says hi."),
    _passage(2, "d2", "Gamma."),
    _passage(3, "d1", "Beta says bye."),
]
ANSWERED = Answer(
    "q",
    "Alpha says hi. [1]",
    False,
    [Citation(1, "d1", "c1", 0, 14, "Alpha says hi.")],
    RANKING,
    {"total": 5.0},
)
REFUSED = Answer("q", "I couldn't find this in the documents.", True, [], RANKING, {"total": 4.0})


def test_score_with_gold_fields() -> None:
    q = Question("1", "q", answers=("alpha", "says"), sources=("d1",), evidence=("alpha says", "delta"))
    m = score(q, ANSWERED, RANKING, lambda doc: SOURCE)
    assert m["source_hit@1"] == 1.0 and m["evidence_recall@5"] == 0.5
    # relevant: c1, plus a stand-in for "delta" that no passage holds, so R = 2
    assert m["mrr@10"] == 1.0 and m["ndcg@10"] == pytest.approx(1 / (1 + 1 / LOG3))
    assert m["containment"] == m["all_facts"] == m["citation_validity"] == m["groundedness"] == 1.0
    assert m["citation_precision"] == 1.0
    assert is_correct(q, False, m)


def test_overlapping_passages_holding_one_quote_keep_ndcg_at_most_one() -> None:
    ranking = [_passage(1, "d1", "Beta says bye."), _passage(2, "d1", "x. Beta says bye.")]
    m = score(Question("1", "q", evidence=("beta says bye",)), REFUSED, ranking, lambda doc: SOURCE)
    assert m["ndcg@10"] == pytest.approx(1.0)


def test_questions_without_gold_fields_are_skipped_not_scored_zero() -> None:
    m = score(Question("1", "q"), ANSWERED, RANKING, lambda doc: SOURCE)
    skipped = [name for name, value in m.items() if value is None]
    assert set(skipped) == {
        *(f"source_hit@{k}" for k in (1, 5)),
        *(f"evidence_recall@{k}" for k in (1, 5, 10)),
        "mrr@10",
        "ndcg@10",
        "containment",
        "all_facts",
        "token_f1",
        "short_exact_match",
        "short_f1",
        "citation_precision",
    }
    assert m["citation_validity"] == 1.0 and is_correct(Question("1", "q"), False, m)
    results = [_result(Question("1", "q"), ANSWERED, m)]
    graded = Question("2", "q", answers=("alpha",))
    results.append(_result(graded, ANSWERED, score(graded, ANSWERED, RANKING, lambda doc: SOURCE)))
    summary = summarize(results, {})
    assert summary["answer"]["containment"] == 1.0 and summary["answer"]["n"]["containment"] == 1
    assert summary["retrieval"]["mrr@10"] is None and summary["retrieval"]["n"]["mrr@10"] == 0


def test_a_refused_answerable_question_scores_zero_and_an_unanswerable_one_is_right() -> None:
    answerable = Question("1", "q", answers=("alpha",), evidence=("alpha says",))
    m = score(answerable, REFUSED, RANKING, lambda doc: SOURCE)
    assert m["containment"] == m["token_f1"] == 0.0 and m["groundedness"] is None
    assert m["citation_validity"] is None and not is_correct(answerable, True, m)
    assert m["evidence_recall@1"] == 1.0  # retrieval is judged apart from the refusal
    unanswerable = Question("2", "q", answerable=False)
    m = score(unanswerable, REFUSED, RANKING, lambda doc: SOURCE)
    assert is_correct(unanswerable, True, m) and not is_correct(unanswerable, False, m)
    summary = summarize([_result(unanswerable, REFUSED, m)], {})
    assert summary["correct"] == 1.0 and summary["refusal"]["recall"] == 1.0


def test_invalid_citations_and_unknown_documents_are_caught() -> None:
    from rag.errors import UserError

    def text_of(doc: str) -> str:
        if doc != "d1":
            raise UserError("no such document")
        return SOURCE

    bad = Answer(
        "q",
        "Alpha says hi. [1] Beta says bye. [2]",
        False,
        [Citation(1, "d1", "c1", 0, 13, "Alpha says hi."), Citation(2, "zz", "c3", 15, 29, "Beta says bye.")],
        RANKING,
        {"total": 1.0},
    )
    assert score(Question("1", "q"), bad, RANKING, text_of)["citation_validity"] == 0.0


def test_latency_percentiles_in_the_summary() -> None:
    results = [
        _result(Question(str(i), "q", answerable=False), REFUSED, {}, total=float(t))
        for i, t in enumerate([10, 20, 30, 40, 50])
    ]
    assert summarize(results, {})["latency_ms"] == {"p50": 30.0, "p95": 48.0, "max": 50.0}
    assert summarize([], {})["latency_ms"] == {"p50": None, "p95": None, "max": None}


def _result(q: Question, answer: Answer, metrics: dict, total: float = 5.0) -> dict:
    return {
        "id": q.id,
        **answer.to_dict(),
        "timings_ms": {"total": total},
        "gold": q.gold(),
        "metrics": metrics,
        "correct": is_correct(q, answer.abstained, {"all_facts": None, **metrics}),
    }


def test_exact_match_is_squad_normalised_and_the_best_over_references() -> None:
    from rag.evaluation.evaluate import exact_match

    assert exact_match("The  Eiffel Tower!", ["eiffel tower", "Paris"]) == 1.0
    assert exact_match("Eiffel", ["eiffel tower"]) == 0.0
    assert exact_match("anything", []) is None


def test_the_summary_gives_each_per_question_figure_its_interval() -> None:
    graded = Question("1", "q", answers=("alpha",))
    right = score(graded, ANSWERED, RANKING, lambda doc: SOURCE)
    wrong = score(graded, REFUSED, RANKING, lambda doc: SOURCE)
    results = [_result(graded, ANSWERED, right)] * 6 + [_result(graded, REFUSED, wrong)] * 4
    intervals = summarize(results, {})["intervals"]
    assert intervals["answer.containment"] == [round(x, 4) for x in mean_interval([1.0] * 6 + [0.0] * 4)]
    low, high = intervals["refusal.false_refusal_rate"]
    assert low < summarize(results, {})["refusal"]["false_refusal_rate"] == 0.4 < high
    assert intervals["refusal.recall"] is None  # no unanswerable question
    assert intervals["retrieval.mrr@10"] is None  # no question has the gold it needs

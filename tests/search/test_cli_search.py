"""`rag search` end to end on the seed index: the JSON contract, readable output, clean user errors,
the window warning, and spam that never comes back. Each run loads the model, so runs are shared."""

from __future__ import annotations

import json
import re
import subprocess

import pytest

from rag.config import Config
from tests.conftest import PASSAGE_KEYS, SEEDS, collapse, run_rag
from tests.test_cli import assert_user_error

QUESTION = "How often is a child killed by a parent in England and Wales?"
STAGES = {"dense", "bm25", "fused", "rerank"}


@pytest.fixture(scope="module")
def index_dir(seed_index: Config) -> str:
    return str(seed_index.index_dir)


@pytest.fixture(scope="module")
def json_run(index_dir: str) -> subprocess.CompletedProcess[str]:
    return run_rag("search", QUESTION, "--json", "--index-dir", index_dir)


@pytest.fixture(scope="module")
def long_run(index_dir: str) -> subprocess.CompletedProcess[str]:
    """About 3,000 words: far past the model's 256-piece window, still under the 20,000-character limit."""
    question = " ".join([QUESTION] * 231)  # 13 words each
    assert 2900 <= len(question.split()) <= 3100
    return run_rag("search", question, "--index-dir", index_dir)


def test_json_has_the_documented_shape(json_run: subprocess.CompletedProcess[str]) -> None:
    assert json_run.returncode == 0, json_run.stderr
    out = json.loads(json_run.stdout)
    assert set(out) == {"question", "passages"}
    assert out["question"] == QUESTION
    passages = out["passages"]
    assert [p["rank"] for p in passages] == [1, 2, 3, 4, 5]  # default k
    for p in passages:
        assert set(p) == PASSAGE_KEYS
        assert set(p["scores"]) <= STAGES
        assert {"fused", "rerank"} <= set(p["scores"]) and {"dense", "bm25"} & set(p["scores"])
        assert p["score"] == p["scores"]["rerank"]  # the final order is the reranker's
    scores = [p["score"] for p in passages]
    assert scores == sorted(scores, reverse=True)


def test_json_offsets_map_back_to_the_source(json_run: subprocess.CompletedProcess[str]) -> None:
    """A citation is only as good as its offsets: the slice of the seed file is the passage text."""
    for p in json.loads(json_run.stdout)["passages"]:
        source = (SEEDS / p["doc"]).read_text(encoding="utf-8")
        assert 0 <= p["start"] < p["end"] <= len(source)
        assert collapse(source[p["start"] : p["end"]]) == p["text"]


def test_json_top_3_holds_the_answer(json_run: subprocess.CompletedProcess[str]) -> None:
    top3 = json.loads(json_run.stdout)["passages"][:3]
    assert any("every 10 days a child is killed" in p["text"] for p in top3), [p["text"][:80] for p in top3]


def test_human_output_numbers_passages_with_their_document(index_dir: str) -> None:
    result = run_rag("search", QUESTION, "--k", "3", "--index-dir", index_dir)
    assert result.returncode == 0, result.stderr
    heads = [
        m
        for line in result.stdout.splitlines()
        if (m := re.match(r"(\d+)\. .+ \((\S+)\) \[(\d+):(\d+)\]", line))
    ]
    assert [int(m[1]) for m in heads] == [1, 2, 3]
    seed_names = {p.name for p in SEEDS.iterdir()}
    assert all(m[2] in seed_names for m in heads)
    lines = result.stdout.splitlines()
    snippets = [lines[i + 1] for i, line in enumerate(lines) if re.match(r"\d+\. ", line)]
    assert len(snippets) == 3 and all(s.startswith("   ") and s.strip() for s in snippets)


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["   "], ["question is empty"]),
        ([""], ["question is empty"]),
        (["What is BM25?", "--k", "0"], ["k must be between 1 and 100"]),
        (["What is BM25?", "--k", "1000"], ["k must be between 1 and 100"]),
    ],
)
def test_user_mistakes_exit_2_with_one_line(index_dir: str, args: list[str], words: list[str]) -> None:
    assert_user_error(run_rag("search", *args, "--index-dir", index_dir), *words)


def test_a_question_longer_than_the_window_warns_once(long_run: subprocess.CompletedProcess[str]) -> None:
    assert long_run.returncode == 0, long_run.stderr
    warnings = [line for line in long_run.stderr.splitlines() if line.startswith("rag: warning:")]
    assert len(warnings) == 1 and "window" in warnings[0], long_run.stderr
    assert re.match(r"1\. .+ \(\S+\) \[\d+:\d+\]", long_run.stdout)


def test_a_long_question_leaves_only_rags_warning_on_stderr(
    long_run: subprocess.CompletedProcess[str],
) -> None:
    """Library noise ("will result in indexing errors") is false here and confuses the user."""
    lines = long_run.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("rag: warning:"), long_run.stderr


def test_spam_is_not_in_the_index(index_dir: str) -> None:
    """The seed file opens with replica-watch spam; the cleaner drops it, so no query can return it."""
    result = run_rag("search", "replica watches Montblanc", "--json", "--k", "20", "--index-dir", index_dir)
    assert result.returncode == 0, result.stderr
    passages = json.loads(result.stdout)["passages"]
    assert passages  # the index answers; it just has no spam to offer
    for p in passages:
        assert "replica" not in p["text"].lower() and "montblanc" not in p["text"].lower()

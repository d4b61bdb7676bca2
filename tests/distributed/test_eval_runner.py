"""`rag eval --ray` on a real two-node cluster against a shared PostgreSQL store (itself built with
`rag index --ray`): the same results.jsonl, in the question file's order, and summary.json as a
local run, save the latencies."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import ROOT, run_rag
from tests.distributed.conftest import small_corpus
from tests.ray_cluster import RayCluster

pytestmark = pytest.mark.slow
QUESTIONS = 8


def results(out: Path) -> list[dict[str, Any]]:
    """The result lines without their timings (the only thing two runs may differ in)."""
    lines = [json.loads(line) for line in (out / "results.jsonl").read_text(encoding="utf-8").splitlines()]
    return [{k: v for k, v in line.items() if k != "timings_ms"} for line in lines]


def test_a_ray_eval_equals_a_local_eval(ray_cluster: RayCluster, pg_url: str, tmp_path: Path) -> None:
    corpus = small_corpus(tmp_path / "docs")
    built = run_rag(
        "index", str(corpus), "--store", pg_url, "--ray", ray_cluster.address, env=ray_cluster.env
    )
    assert built.returncode == 0, built.stderr
    questions = tmp_path / "questions.jsonl"
    lines = (ROOT / "eval" / "seed_questions.jsonl").read_text(encoding="utf-8").splitlines()
    questions.write_text("\n".join(lines[:QUESTIONS]) + "\n", encoding="utf-8")
    runs = {}
    for name, extra in (("local", []), ("ray", ["--ray", ray_cluster.address])):
        out = tmp_path / name
        done = run_rag(
            "eval", str(questions), "--store", pg_url, "--out", str(out), *extra, env=ray_cluster.env
        )
        assert done.returncode == 0, done.stderr
        runs[name] = out
    local, ray = results(runs["local"]), results(runs["ray"])
    assert [r["id"] for r in ray] == [f"q{i:02d}" for i in range(1, QUESTIONS + 1)]
    assert ray == local
    summaries = [json.loads((runs[name] / "summary.json").read_text()) for name in ("local", "ray")]
    for summary in summaries:
        summary.pop("latency_ms")
    assert summaries[0] == summaries[1]
    assert summaries[0]["n"] == QUESTIONS


def test_an_unreachable_address_writes_no_run(tmp_path: Path) -> None:
    questions = tmp_path / "questions.jsonl"
    questions.write_text('{"id": "q1", "question": "Who chaired the inquiry?"}\n', encoding="utf-8")
    out = tmp_path / "run"
    done = run_rag("eval", str(questions), "--out", str(out), "--ray", "127.0.0.1:9")
    assert done.returncode == 2
    assert done.stderr.startswith("rag: error: cannot reach the Ray cluster at 127.0.0.1:9")
    assert not out.exists()

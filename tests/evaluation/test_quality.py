"""eval/quality.py: every set through the real `rag eval` on the seed index, one table, changes against
an earlier run, and no earlier result overwritten."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from eval.quality import main
from rag.config import Config
from rag.evaluation import flips, load_run
from rag.evaluation.misses import MISS_LABELS
from tests.conftest import ROOT

LINES = (ROOT / "eval" / "seed_questions.jsonl").read_text(encoding="utf-8").splitlines()


@pytest.fixture(scope="module")
def few(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Six answerable seed questions and two the articles cannot answer."""
    rows = [json.loads(line) for line in LINES]
    chosen = [r for r in rows if r["answerable"]][:6] + [r for r in rows if not r["answerable"]][:2]
    path = tmp_path_factory.mktemp("quality") / "few.jsonl"
    path.write_text("\n".join(json.dumps(r) for r in chosen) + "\n", encoding="utf-8")
    return path


def test_each_set_runs_into_its_folder_and_the_table_shows_its_figures(
    few: Path, seed_index: Config, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "run"
    sets = ["--set", f"few={few}@{seed_index.index_dir}", "--set", f"gone={tmp_path / 'no.jsonl'}@index"]
    assert main(["--out", str(out), *sets]) == 0
    printed = capsys.readouterr()
    assert f"skipping gone: {tmp_path / 'no.jsonl'} not found" in printed.err
    summary, results = load_run(out / "few")
    assert len(results) == 8
    line, misses = (row for row in printed.out.splitlines() if row.startswith("| few |"))
    cells = [c.strip() for c in line.strip("|").split("|")]
    assert cells[1] == "6 + 2"
    assert cells[2] == f"{summary['retrieval']['evidence_recall@5']:.3f}"  # retrieval apart from reading
    assert cells[3].startswith(f"{summary['answer']['all_facts']:.3f}")
    assert cells[5] == f"{100 * summary['refusal']['false_refusal_rate']:.1f}%"
    assert json.loads((out / "quality.json").read_text(encoding="utf-8"))["few"] == summary
    wrong = [summary["misses"]["wrong"], *(summary["misses"][key] for key in MISS_LABELS)]
    assert [int(c) for c in misses.strip("|").split("|")[1:]] == wrong  # where the misses went wrong
    assert (out / "quality.md").read_text(encoding="utf-8").strip() in printed.out


def test_compare_counts_the_flips_against_an_earlier_run_and_nothing_is_overwritten(
    few: Path, seed_index: Config, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    before, after = tmp_path / "before", tmp_path / "after"
    composer = tmp_path / "composer.toml"
    composer.write_text('reader = "none"\n', encoding="utf-8")  # another answerer: some verdicts differ
    one = ["--set", f"few={few}@{seed_index.index_dir}"]
    assert main(["--out", str(before), "--config", str(composer), *one]) == 0
    capsys.readouterr()
    assert main(["--out", str(after), "--compare", str(before), *one]) == 0
    line = next(row for row in capsys.readouterr().out.splitlines() if row.startswith("| few |"))
    worse, better = flips(load_run(before / "few")[1], load_run(after / "few")[1])
    assert worse or better
    assert line.split("|")[-2].strip().startswith(f"{len(worse)} / {len(better)}, p = ")

    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()  # an earlier run without this set: no change to show, one line why
    assert main(["--out", str(tmp_path / "third"), "--compare", str(elsewhere), *one]) == 0
    printed = capsys.readouterr()
    assert next(row for row in printed.out.splitlines() if row.startswith("| few |")).endswith("| – | – |")
    assert f"quality: not compared: {elsewhere / 'few'} is not a finished `rag eval` folder" in printed.err

    kept = (after / "few" / "results.jsonl").read_bytes()
    assert main(["--out", str(after), *one]) == 2  # the only set already has results: nothing runs
    assert "already holds results" in capsys.readouterr().err
    assert (after / "few" / "results.jsonl").read_bytes() == kept


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--set", "few"], "--set wants NAME=QUESTIONS@INDEX_DIR, not 'few'"),
        (["--compare", "/nonexistent/run"], "--compare: /nonexistent/run is not a folder"),
    ],
)
def test_bad_arguments_are_one_line(
    args: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(args) == 2
    assert capsys.readouterr().err.strip() == f"quality: error: {message}"

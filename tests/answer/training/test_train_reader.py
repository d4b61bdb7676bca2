"""The training script end to end on a few dozen questions: it trains, resumes, exports a model the
Reader loads, and writes its development figures."""

from __future__ import annotations

import json
import subprocess
import sys
from importlib.util import find_spec
from pathlib import Path

import pytest

from rag.answer.reader import DEFAULT_READER, Reader
from rag.answer.training.train_reader import DATA
from tests.conftest import ROOT


def train(out: Path, work: Path, steps: int, *more: str) -> subprocess.CompletedProcess[str]:
    command = [
        sys.executable,
        "-m",
        "rag.answer.training.train_reader",
        "--limit-questions",
        "40",
        "--max-steps",
    ]
    args = [
        str(steps),
        "--out",
        str(out),
        "--work",
        str(work),
        "--dev-examples",
        "20",
        "--checkpoint-every",
        "1",
        *more,
    ]
    return subprocess.run(
        [*command, *args], cwd=ROOT, capture_output=True, text=True, timeout=600, check=False
    )


@pytest.mark.slow
@pytest.mark.skipif(not DATA.is_file(), reason="the shared SQuAD training file is not beside the project")
def test_training_runs_end_to_end_resumes_and_writes_a_loadable_model(tmp_path: Path) -> None:
    out, work = tmp_path / "reader", tmp_path / "work"
    first = train(out, work, 2, "--stop-after", "1")  # step 1 of a 2-step schedule, then stop
    assert first.returncode == 0, first.stderr[-2000:]
    assert "stopped at step 1 of 2" in first.stderr and not (out / "reader.json").exists()
    again = train(out, work, 2)  # the checkpoint of step 1 is taken up, one more step is trained
    assert again.returncode == 0, again.stderr[-2000:]
    assert "resuming from step 1 of 2" in again.stderr
    info = json.loads((out / "reader.json").read_text(encoding="utf-8"))
    assert info["steps"] == 2 and set(info["dev"]) == {"int8", "fp32"}
    assert [(s["stage"], s["steps"]) for s in info["stages"]] == [(1, 2)]
    assert 0 <= info["dev"]["int8"]["f1"] <= 1
    # how well "no answer" is told from the same question about another name of its paragraph
    assert {"no_answer_auc", "wrong_name_auc", "wrong_names"} <= set(info["dev"]["int8"])
    readings = Reader(out).read("Who designed the bridge?", ["The bridge was designed by John Bradfield."])
    assert len(readings) == 1 and readings[0].start is not None


def test_a_wrong_data_file_is_one_clear_line(tmp_path: Path) -> None:
    bad = tmp_path / "squad.json.gz"
    bad.write_bytes(b"not gzip")
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "rag.answer.training.train_reader",
            "--data",
            str(bad),
            "--work",
            str(tmp_path / "w"),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 2 and "checksum" in proc.stderr and "Traceback" not in proc.stderr


@pytest.mark.slow
@pytest.mark.skipif(not DATA.is_file(), reason="the shared SQuAD training file is not beside the project")
@pytest.mark.skipif(find_spec("wn") is None, reason="the train extra (wn) is not installed")
def test_a_later_stage_starts_from_the_shipped_reader_skips_earlier_batches_and_rewords(
    tmp_path: Path,
) -> None:
    out, work = tmp_path / "reader", tmp_path / "work"
    run = train(
        out, work, 5, "--init", str(DEFAULT_READER), "--skip-steps", "1", "--lr", "1e-6", "--reword", "0.5"
    )
    assert run.returncode == 0, run.stderr[-2000:]
    info = json.loads((out / "reader.json").read_text(encoding="utf-8"))
    assert info["steps"] == 1  # 40 questions make two batches; the first is left out
    # reader.json tells every stage: the shipped reader's, then this one
    shipped = json.loads((DEFAULT_READER / "reader.json").read_text(encoding="utf-8"))["stages"]
    assert info["stages"][:-1] == shipped
    assert info["stages"][-1]["stage"] == len(shipped) + 1 and info["stages"][-1]["steps"] == 1
    assert info["stages"][-1]["settings"]["reword"] == "0.5"
    # One step at a tiny learning rate leaves the shipped reader as it was (held-out F1 about 0.7); a
    # run that had started from the base model would score near nothing after one step.
    assert info["dev"]["int8"]["f1"] > 0.5


@pytest.mark.slow
@pytest.mark.skipif(not DATA.is_file(), reason="the shared SQuAD training file is not beside the project")
def test_a_shared_normalisation_stage_trains_each_question_over_several_paragraphs(tmp_path: Path) -> None:
    out, work = tmp_path / "reader", tmp_path / "work"
    run = train(out, work, 1, "--init", str(DEFAULT_READER), "--lr", "1e-6", "--shared-norm", "3")
    assert run.returncode == 0, run.stderr[-2000:]
    info = json.loads((out / "reader.json").read_text(encoding="utf-8"))
    # each of the 40 questions comes with paragraphs of its article: more examples than questions
    assert info["stages"][-1]["settings"]["shared_norm"] == "3" and 40 < info["examples"] <= 120
    assert info["dev"]["int8"]["f1"] > 0.5  # the shipped reader, barely moved, still reads

"""ui/evaluate.py's checks of an uploaded question file, on real files: the type, the size and the
question caps, and messages that name the file as uploaded rather than gradio's temporary copy."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from rag.errors import UserError
from ui.evaluate import MAX_FILE_MB, MAX_QUESTIONS, upload_questions


@pytest.fixture
def upload_dir(tmp_path: Path) -> Path:
    """Where gradio keeps an upload: a folder of its own, the file under its original name."""
    folder = tmp_path / "gradio" / "3f9a"
    folder.mkdir(parents=True)
    return folder


def test_good_lines_are_read_and_bad_ones_noted_by_their_upload_name(upload_dir: Path) -> None:
    path = upload_dir / "questions.jsonl"
    path.write_text('{"question": "Who?"}\n{"question": oops\n{"question": "Where?", "id": "w"}\n')
    notes: list[str] = []
    questions = upload_questions(path, notes)
    assert [(q.id, q.question) for q in questions] == [("1", "Who?"), ("w", "Where?")]
    assert notes == ["questions.jsonl:2: not valid JSON (Expecting value); line skipped"]


def test_a_file_without_questions_is_refused_by_its_upload_name(upload_dir: Path) -> None:
    path = upload_dir / "empty.csv"
    path.write_text("question,id\n")
    with pytest.raises(UserError) as caught:
        upload_questions(path, [])
    assert str(caught.value) == "empty.csv: no questions to evaluate"


@pytest.mark.parametrize(
    ("name", "problem"),
    [
        ("questions.txt", "questions.txt: unsupported file type .txt; use .jsonl, .csv"),
        (".q.jsonl", "hidden"),
    ],
)
def test_other_file_types_are_refused(upload_dir: Path, name: str, problem: str) -> None:
    path = upload_dir / name
    path.write_text('{"question": "Who?"}\n')
    with pytest.raises(UserError, match=problem):
        upload_questions(path, [])


def test_the_size_cap_is_checked_before_reading(upload_dir: Path) -> None:
    path = upload_dir / "huge.jsonl"
    with path.open("wb") as f:
        f.truncate(int(MAX_FILE_MB * 1e6) + 1)  # sparse: big on paper, nothing written
    with pytest.raises(UserError, match=rf"huge.jsonl: too large \(10.0 MB, limit {MAX_FILE_MB:g} MB\)"):
        upload_questions(path, [])


def test_more_questions_than_the_cap_are_refused_with_the_count(upload_dir: Path) -> None:
    path = upload_dir / "many.jsonl"
    lines = [json.dumps({"question": f"Question {i}?"}) for i in range(MAX_QUESTIONS + 1)]
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(UserError, match=r"many\.jsonl: 2,001 questions; the browser evaluates up to 2,000"):
        upload_questions(path, [])
    path.write_text("\n".join(lines[:MAX_QUESTIONS]) + "\n")
    assert len(upload_questions(path, [])) == MAX_QUESTIONS

"""Question files: JSONL and CSV, defaults, and bad lines reported with their line number and skipped."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from rag.errors import UserError
from rag.evaluation.evaluate import load_questions
from rag.evaluation.questions import read_questions
from rag.types import Question
from tests.conftest import ROOT


def _read(path: Path) -> tuple[list[Question], list[str]]:
    warnings: list[str] = []
    return read_questions(path, warnings.append), warnings


def test_jsonl_fields_and_defaults(tmp_path: Path) -> None:
    path = tmp_path / "q.jsonl"
    rows = [
        {"id": "a", "question": " Who? ", "answers": ["x", " "], "sources": "d.txt", "evidence": ["e"]},
        {"question": "Why?", "answerable": False, "id": 7},
        {"question": "What\u2028else?"},  # a line separator inside a string is not a line break
    ]
    path.write_text(json.dumps(rows[0]) + "\n\n" + "\n".join(map(json.dumps, rows[1:])) + "\n")
    questions, warnings = _read(path)
    assert warnings == []
    assert questions[0] == Question("a", "Who?", ("x",), ("d.txt",), ("e",), True, 1)
    assert (questions[1].id, questions[1].answerable, questions[1].answers) == ("7", False, ())
    assert questions[2].id == "4" and questions[2].answerable  # id defaults to the line number


def test_malformed_jsonl_lines_are_reported_with_their_line_and_skipped(tmp_path: Path) -> None:
    path = tmp_path / "q.jsonl"
    path.write_text(
        '{"question": "one"}\n'
        '{"question": "two"\n'
        '["not", "an object"]\n'
        '{"id": "x"}\n'
        '{"question": "three", "answerable": "maybe"}\n'
        '{"question": "four", "answers": [1, 2]}\n'
        '{"question": "five", "id": {"a": 1}}\n'
        '{"question": "six"}\n'
    )
    questions, warnings = _read(path)
    assert [q.question for q in questions] == ["one", "six"]
    assert [w.split(": ")[0] for w in warnings] == [f"{path}:{n}" for n in range(2, 8)]
    assert "not valid JSON" in warnings[0] and "line skipped" in warnings[0]
    assert '"question"' in warnings[2] and '"answerable"' in warnings[3] and '"answers"' in warnings[4]


def test_duplicate_ids_are_renamed_with_a_warning(tmp_path: Path) -> None:
    path = tmp_path / "q.jsonl"
    path.write_text("\n".join(json.dumps({"id": "q1", "question": f"n{i}"}) for i in range(3)) + "\n")
    questions, warnings = _read(path)
    assert [q.id for q in questions] == ["q1", "q1#2", "q1#3"]
    assert len(warnings) == 2 and "already used on line 1" in warnings[0] and "'q1#2'" in warnings[0]


def test_csv_with_header_semicolon_lists_and_quoted_cells(tmp_path: Path) -> None:
    path = tmp_path / "q.csv"
    path.write_text(
        "\ufeffid, question ,answers,sources,evidence,answerable,notes\n"
        'a,"Who, then?",Kensington; Chelsea ;,d.txt,,no,ignored\n'
        ',"Two\nlines",,,,,\n'
        "b,too,many,cells,in,this,row,here\n"
        "c,Last?,x,,,yes,\n",
        encoding="utf-8",
    )
    questions, warnings = _read(path)
    assert questions[0] == Question("a", "Who, then?", ("Kensington", "Chelsea"), ("d.txt",), (), False, 2)
    assert questions[1].question == "Two\nlines" and questions[1].id == "4"  # the line the row ends on
    assert questions[2].id == "c" and questions[2].answerable and questions[2].answers == ("x",)
    assert len(warnings) == 1 and warnings[0].startswith(f"{path}:5: more cells")


def test_csv_without_a_question_column_is_a_user_error(tmp_path: Path) -> None:
    path = tmp_path / "q.csv"
    path.write_text("id,text\n1,hello\n")
    with pytest.raises(UserError, match='"question" column'):
        _read(path)


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("missing.jsonl", None, "not found"),
        ("empty.jsonl", b"", "no questions"),
        ("blank.csv", b"", '"question" column'),
        ("all_bad.jsonl", b"{oops\n", "no questions"),
        ("latin1.jsonl", '{"question": "café"}'.encode("latin-1"), "not UTF-8"),
    ],
)
def test_unusable_files_are_user_errors(
    tmp_path: Path, name: str, content: bytes | None, message: str
) -> None:
    path = tmp_path / name
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(UserError, match=message):
        _read(path)
    with pytest.raises(UserError, match="is a folder"):
        _read(tmp_path)


def test_strict_loading_for_scripts(tmp_path: Path) -> None:
    seed = load_questions(ROOT / "eval" / "seed_questions.jsonl")
    assert (
        len(seed) == 116 and seed[0]["id"] == "q01" and set(seed[0]) >= {"answers", "evidence", "answerable"}
    )
    path = tmp_path / "q.jsonl"
    path.write_text('{"question": "fine"}\nnot json\n')
    with pytest.raises(UserError, match=r"q\.jsonl:2: not valid JSON"):
        load_questions(path)


def test_an_unterminated_quote_in_csv_costs_one_row_not_the_rest(tmp_path: Path) -> None:
    path = tmp_path / "q.csv"
    path.write_text(
        'id,question\na,First?\nb,"Where is the quote closed?\nc,Third?\nd,Fourth?\n',
        encoding="utf-8",
    )
    questions, warnings = _read(path)
    assert [(q.id, q.question) for q in questions] == [("a", "First?"), ("c", "Third?"), ("d", "Fourth?")]
    assert len(warnings) == 1 and warnings[0].startswith(f"{path}:3: not valid CSV")
    assert "unterminated quote" in warnings[0] and "line skipped" in warnings[0]

"""Reading evaluation question files, JSONL or CSV, forgiving line by line.

A line that cannot be a question is reported (file:line) and skipped, so one typo does not cost an
overnight run; only an unreadable or empty file stops everything.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

from rag.errors import UserError
from rag.types import Question

Warn = Callable[[str], None]
LIST_FIELDS = ("answers", "sources", "evidence")
_YES = {"true", "yes", "y", "1"}
_NO = {"false", "no", "n", "0"}


class _BadLine(ValueError):
    """A line that cannot be a question: reported and skipped."""


def read_questions(path: Path, warn: Warn) -> list[Question]:
    """Every well-formed question of a .csv file (header row needed) or of a JSONL file (any other
    name), in file order; a repeated id gets its line number appended, with a warning."""
    text = _read_text(path)
    rows = _csv_rows(text, path) if path.suffix.lower() == ".csv" else _jsonl_rows(text)
    questions: list[Question] = []
    first_line: dict[str, int] = {}
    for line, row in rows:
        try:
            question = _question(row, line)
        except _BadLine as exc:
            warn(f"{path}:{line}: {exc}; line skipped")
            continue
        if question.id in first_line:
            unique = f"{question.id}#{line}"
            warn(
                f"{path}:{line}: id {question.id!r} already used on line {first_line[question.id]}; "
                f"this question is evaluated as {unique!r}"
            )
            question = replace(question, id=unique)
        first_line[question.id] = line
        questions.append(question)
    if not questions:
        raise UserError(f"{path}: no questions to evaluate")
    return questions


def _read_text(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8-sig")  # -sig: spreadsheets often write a BOM
    except FileNotFoundError:
        raise UserError(f"question file not found: {path}") from None
    except IsADirectoryError:
        raise UserError(f"{path} is a folder; give a .jsonl or .csv question file") from None
    except UnicodeDecodeError:
        raise UserError(f"{path} is not UTF-8 text") from None
    except OSError as exc:
        raise UserError(f"cannot read {path}: {exc.strerror}") from None


def _jsonl_rows(text: str) -> Iterator[tuple[int, Any]]:
    # split on "\n" only: JSON strings may hold other line separators such as U+2028
    for number, line in enumerate(text.split("\n"), start=1):
        if not line.strip():
            continue
        try:
            yield number, json.loads(line)
        except json.JSONDecodeError as exc:
            yield number, _BadLine(f"not valid JSON ({exc.msg})")


def _csv_rows(text: str, path: Path) -> Iterator[tuple[int, Any]]:
    """Rows as dicts with the list fields split at ";"; a row with extra cells is a bad line. A row
    CSV cannot read (an unterminated quote would swallow every later row into one cell) is a bad
    line too, and reading resumes on the line after the one it began on."""
    lines = io.StringIO(text, newline="").readlines()
    try:
        header = [name.strip() for name in next(csv.reader(lines[:1]), [])]
    except csv.Error as exc:
        raise UserError(f"{path}:1: not valid CSV ({exc})") from None
    if "question" not in header:
        raise UserError(f'{path}: a CSV question file needs a header row with a "question" column')
    offset = 1  # file lines before the part being read
    while offset < len(lines):
        reader = csv.DictReader(lines[offset:], fieldnames=header, strict=True)
        done = 0  # lines of this part read as whole rows
        try:
            for row in reader:
                done = reader.line_num
                if None in row:
                    yield offset + done, _BadLine("more cells than the header has columns")
                    continue
                yield (
                    offset + done,
                    {
                        name: value.split(";") if name in LIST_FIELDS and value else value
                        for name, value in row.items()
                    },
                )
            return
        except csv.Error as exc:
            bad = offset + done + 1
            yield bad, _BadLine(f"not valid CSV ({exc}; an unterminated quote?)")
            offset = bad


def _question(row: Any, line: int) -> Question:
    if isinstance(row, _BadLine):
        raise row
    if not isinstance(row, dict):
        raise _BadLine("not a JSON object")
    question = row.get("question")
    if not isinstance(question, str) or not question.strip():
        raise _BadLine('needs a non-empty "question" string')
    raw_id = row.get("id")
    if raw_id is None or raw_id == "":
        qid = str(line)
    elif isinstance(raw_id, str | int) and not isinstance(raw_id, bool):
        qid = str(raw_id).strip() or str(line)
    else:
        raise _BadLine('"id" must be a string or a number')
    return Question(
        id=qid,
        question=question.strip(),
        answers=_strings(row.get("answers"), "answers"),
        sources=_strings(row.get("sources"), "sources"),
        evidence=_strings(row.get("evidence"), "evidence"),
        answerable=_flag(row.get("answerable")),
        line=line,
    )


def _strings(value: Any, name: str) -> tuple[str, ...]:
    """A list of strings (or one string), stripped, empty ones dropped: an empty key fact would be
    found in any answer."""
    items = [value] if isinstance(value, str) else value
    if items is None:
        return ()
    if not isinstance(items, list) or not all(isinstance(v, str) for v in items):
        raise _BadLine(f'"{name}" must be a list of strings')
    return tuple(v.strip() for v in items if v.strip())


def _flag(value: Any) -> bool:
    if value is None or value == "":
        return True
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in _YES | _NO:
        return value.strip().lower() in _YES
    raise _BadLine('"answerable" must be true or false')

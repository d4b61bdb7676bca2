"""The project's own evaluation set stays valid: every quote is verbatim and survives the cleaner."""

from __future__ import annotations

import json
import subprocess
import sys

from tests.conftest import ROOT


def test_seed_questions_are_valid_against_the_cleaned_seeds() -> None:
    result = subprocess.run(
        [sys.executable, str(ROOT / "eval" / "check_questions.py")],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_seed_questions_meet_the_size_the_issue_asks_for() -> None:
    rows = [json.loads(line) for line in (ROOT / "eval" / "seed_questions.jsonl").read_text().splitlines()]
    answerable = [r for r in rows if r["answerable"]]
    assert len(answerable) >= 40
    assert len(rows) - len(answerable) >= 10
    assert sum(len(r["sources"]) > 1 for r in answerable) >= 3

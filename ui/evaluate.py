"""What the evaluate tab does: an uploaded question file is run like `rag eval` on the served engine,
then its summary table and its files are offered.

Each run gets a fresh folder `<index_dir>/runs/<date>-<time>-<random>/`, beside the uploads, so the
server writes nothing outside its index folder; the folders stay there for `rag eval --compare`.
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import gradio as gr

from rag.config import Config
from rag.errors import UserError
from rag.evaluation import REPORT, RESULTS, SUMMARY, execute, read_questions, run_settings, start_run
from rag.library import Library, check_size, safe_name
from rag.types import Question
from ui.chat import EXTRACTIVE
from ui.notify import warn
from ui.render import bullets, summary_table, text
from ui.temp_files import discard

RUNS = "runs"
QUESTION_KINDS = (".jsonl", ".csv")
MAX_QUESTIONS = 2_000  # ~3 minutes on a small machine; larger sets belong to `rag eval`
MAX_FILE_MB = 10.0  # far above 2,000 questions with their gold evidence
PROGRESS = gr.Progress()  # a parameter defaulting to a Progress gets gradio's progress bar


def runs_dir(config: Config) -> Path:
    return config.index_dir / RUNS


def upload_questions(path: Path, notes: list[str]) -> list[Question]:
    """The upload's questions; a bad line is a note, a bad file a UserError. Messages name the file
    as uploaded, not gradio's temporary copy."""
    name = safe_name(path.name, QUESTION_KINDS)

    def named(message: str) -> str:
        return message.replace(str(path), name)

    check_size(path, name, MAX_FILE_MB)
    try:
        questions = read_questions(path, lambda message: notes.append(named(message)))
    except UserError as exc:
        raise UserError(named(str(exc))) from None
    if len(questions) > MAX_QUESTIONS:
        raise UserError(
            f"{name}: {len(questions):,} questions; the browser evaluates up to {MAX_QUESTIONS:,} "
            "at a time (split the file, or use `rag eval`)"
        )
    return questions


def _fresh_folder(config: Config) -> Path:
    try:
        runs_dir(config).mkdir(parents=True, exist_ok=True)
        return Path(tempfile.mkdtemp(prefix=time.strftime("%Y%m%d-%H%M%S-"), dir=runs_dir(config)))
    except OSError as exc:
        raise UserError(f"cannot write to {runs_dir(config)}: {exc.strerror}") from None


def _step(done: int, total: int) -> str:
    """The progress bar's text; after the last answer comes the report, a few seconds on big runs."""
    return f"{done:,} of {total:,} questions" if done < total else "writing the summary and report"


class Evaluate:
    def __init__(self, library: Library) -> None:
        self.library = library

    def run(self, upload: str | None, progress: gr.Progress = PROGRESS) -> Iterator[tuple[Any, ...]]:
        """Evaluate the uploaded file with one worker (the chat keeps the other core); outputs: status
        line, skipped-line notes, summary table, run files, cleared upload box."""
        if not upload:
            yield (gr.skip(),) * 5
            return
        notes: list[str] = []
        hidden = gr.update(visible=False)
        try:
            try:
                questions = upload_questions(Path(upload), notes)
            finally:
                discard([upload])  # read (or refused): gradio's copy is not needed any more
            settings = run_settings(self.library.config, EXTRACTIVE)
            run = start_run(_fresh_folder(self.library.config), questions, settings, False, notes.append)
        except UserError as exc:
            warn(str(exc))
            yield text(str(exc)), bullets(notes), hidden, hidden, None
            return
        yield text(f"Evaluating {len(questions):,} questions…"), bullets(notes), hidden, hidden, gr.skip()
        started = time.monotonic()
        summary = execute(
            run,
            self.library.engine(),
            progress=lambda done, total: progress(done / total, desc=_step(done, total)),
        )
        status = (
            f"Evaluated {len(questions):,} questions in {time.monotonic() - started:.1f} s; "
            f"the run is in {run.out_dir}."
        )
        files = [str(run.out_dir / name) for name in (RESULTS, SUMMARY, REPORT)]
        yield (
            text(status),
            bullets(notes),
            gr.update(value=summary_table(summary), visible=True),
            gr.update(value=files, visible=True),
            None,
        )

"""Running a file of questions: results appended and flushed per question (a kill loses only the
questions in flight), resumable, answered by a thread pool over one shared Engine.

`start_run` checks the output folder before any model loads; `execute` answers what is left and
writes results.jsonl, summary.json and report.html. A UI drives the same two calls and passes a
`progress` callback.
"""

from __future__ import annotations

import json
import os
import sys
import time
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rag.config import Config
from rag.errors import UserError
from rag.evaluation.report import write_report
from rag.evaluation.scoring import RANK_DEPTH, is_correct, score, summarize
from rag.types import Question

if TYPE_CHECKING:
    from rag.engine import Engine

RESULTS, SUMMARY, SETTINGS, REPORT = "results.jsonl", "summary.json", "settings.json", "report.html"
Progress = Callable[[int, int], None]  # (questions done, total), called after each question
Answerer = Callable[[list[Question]], Iterable[dict[str, Any]]]  # questions to result lines, any order


@dataclass
class EvalRun:
    out_dir: Path
    questions: list[Question]
    settings: dict[str, Any]
    done: dict[str, dict[str, Any]]  # id -> result line, from an earlier run when resuming


def default_out_dir() -> Path:
    return Path("runs") / time.strftime("%Y%m%d-%H%M%S")


def run_settings(config: Config, mode: str) -> dict[str, Any]:
    """What the figures depend on, recorded with them; a resumed run must use the same."""
    return {
        "mode": mode,
        "k": config.k,
        "model": config.model,
        "reranker": config.rerank,
        "reader": config.reader,
        "refusal_threshold": config.active_threshold,
        "config": config.public(),
    }


def start_run(
    out_dir: Path,
    questions: list[Question],
    settings: dict[str, Any],
    resume: bool,
    warn: Callable[[str], None],
) -> EvalRun:
    """Check the folder and, when resuming, read the finished results (a line cut short by a kill is
    dropped); record the settings for a later resume."""
    results = out_dir / RESULTS
    done: dict[str, dict[str, Any]] = {}
    if results.exists() and not resume:
        raise UserError(f"{out_dir} already holds results; add --resume to continue that run, or pick --out")
    if out_dir.exists() and not out_dir.is_dir():
        raise UserError(f"{out_dir} is a file, not a folder")
    if results.exists():
        recorded = _recorded_settings(out_dir)
        if recorded != settings:
            changed = sorted(key for key in settings if recorded.get(key) != settings[key])
            raise UserError(
                f"{out_dir} was run with other settings ({', '.join(changed)}); pick another --out"
            )
        done = _finished(results)
        unknown = sorted(set(done) - {q.id for q in questions})
        if unknown:
            raise UserError(
                f"{out_dir} holds results for ids not in the question file (e.g. {unknown[0]!r}); "
                "resume with the same file"
            )
        warn(f"resuming: {len(done)} of {len(questions)} questions already answered")
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / SETTINGS).write_text(json.dumps(settings, indent=2) + "\n", encoding="utf-8")
    return EvalRun(out_dir, questions, settings, done)


def _recorded_settings(out_dir: Path) -> dict[str, Any]:
    try:
        recorded = json.loads((out_dir / SETTINGS).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        raise UserError(f"cannot resume {out_dir}: its {SETTINGS} is missing or damaged") from None
    return recorded if isinstance(recorded, dict) else {}


def _finished(results: Path) -> dict[str, dict[str, Any]]:
    """Complete result lines by id; the file is cut back to them, so appending starts on a clean line."""
    done: dict[str, dict[str, Any]] = {}
    keep = 0
    with results.open("rb") as f:
        for raw in f:
            try:
                row = json.loads(raw)
            except ValueError:
                break
            if not raw.endswith(b"\n") or not isinstance(row, dict) or "id" not in row:
                break
            done[str(row["id"])] = row
            keep += len(raw)
    with results.open("r+b") as f:
        f.truncate(keep)
    return done


def check_workers(workers: int, cluster: bool = False) -> None:
    """At least one worker thread, and only on one machine: a cluster answers on its own workers."""
    if workers < 1:
        raise UserError("--workers must be at least 1")
    if cluster and workers != 1:
        raise UserError("--workers is for one machine; with --ray the cluster's workers answer in parallel")


def execute(
    run: EvalRun, engine: Engine, workers: int = 1, progress: Progress | None = None, bar: bool = False
) -> dict[str, Any]:
    """Answer the questions not done yet, then write the summary and the report; returns the summary."""
    check_workers(workers)

    def answered(todo: list[Question]) -> Iterator[dict[str, Any]]:
        engine.warm()  # load the model now, so the first question's latency is its own
        return _answered(engine, todo, run.settings["k"], workers, run.settings["mode"])

    return execute_with(run, answered, progress, bar)


def execute_with(
    run: EvalRun, answered: Answerer, progress: Progress | None = None, bar: bool = False
) -> dict[str, Any]:
    """`execute` with the answering left to `answered` (questions to result lines, in any order;
    rag.distributed spreads them over a Ray cluster); asked only when questions are left."""
    from tqdm import tqdm

    total = len(run.questions)
    todo = [q for q in run.questions if q.id not in run.done]
    path = run.out_dir / RESULTS
    with (
        path.open("a", encoding="utf-8") as out,
        tqdm(
            total=total, initial=total - len(todo), disable=not bar, unit="q", desc="eval", file=sys.stderr
        ) as meter,
    ):
        for result in answered(todo) if todo else ():
            out.write(json.dumps(result, ensure_ascii=False) + "\n")
            out.flush()
            run.done[result["id"]] = result
            meter.update()
            if progress is not None:
                progress(len(run.done), total)
    results = [run.done[q.id] for q in run.questions]
    _write_atomic(path, "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in results))  # input order
    summary = summarize(results, run.settings)
    _write_atomic(run.out_dir / SUMMARY, json.dumps(summary, indent=2, ensure_ascii=False) + "\n")
    write_report(run.out_dir / REPORT, summary, results)
    return summary


def _answered(
    engine: Engine, todo: list[Question], k: int, workers: int, mode: str = "extractive"
) -> Iterator[dict[str, Any]]:
    """Result lines as questions finish; at most 2 × workers are in flight, so an interrupt stops soon."""
    pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="rag-eval")
    pending: set[Future[dict[str, Any]]] = set()
    queue = iter(todo)
    try:
        while True:
            while len(pending) < 2 * workers and (q := next(queue, None)) is not None:
                pending.add(pool.submit(answer_one, engine, q, k, mode))
            if not pending:
                return
            finished, pending = wait(pending, return_when=FIRST_COMPLETED)
            for future in finished:
                yield future.result()
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def answer_one(engine: Engine, q: Question, k: int, mode: str = "extractive") -> dict[str, Any]:
    """One results.jsonl line: the id, every `rag ask --json` field, the gold fields, the metrics.
    In llm mode a generator's failure is not an error: the line holds the extractive fallback
    (mode "extractive" and its note), scored like any answer."""
    try:
        answer = engine.ask(q.question, k=k, mode=mode)
        # Ranking metrics look deeper than k: the same retrieval again with more passages (the answer
        # keeps k), run only for questions with gold evidence or sources to judge a ranking by.
        deeper = k < RANK_DEPTH and bool(q.evidence or q.sources)
        ranking = engine.search(q.question, RANK_DEPTH).passages if deeper else answer.passages
    except UserError as exc:
        return {"id": q.id, "question": q.question, "error": str(exc), "gold": q.gold()}
    metrics = score(q, answer, ranking, engine.reader.document_text)
    return {
        "id": q.id,
        **answer.to_dict(),
        "gold": q.gold(),
        "metrics": metrics,
        "correct": is_correct(q, answer.abstained, metrics),
    }


def _write_atomic(path: Path, text: str) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)

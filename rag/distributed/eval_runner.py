"""`rag eval --ray`: a question file spread over a Ray cluster, each actor an Engine of its own on
the shared store (a PostgreSQL database; a folder works when every node sees it at the same path).
Each question is answered and scored by the local path's `answer_one`; the driver writes
results.jsonl (in the file's order at the end), summary.json and the report as a local run does."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from rag.config import Config
from rag.distributed.cluster import check_reachable, connect, disconnect, run_batches, start_actors
from rag.distributed.workers import EvalWorker
from rag.types import Question

QUESTIONS_PER_BATCH = 4  # small: a killed worker loses little, and the results stream in


class RayAnswerer:
    """Questions to result lines on the cluster at `address`, joined on first use."""

    def __init__(self, address: str, config: Config, mode: str) -> None:
        check_reachable(address)  # before the run's folder is made
        self.address = address
        self.mode = mode
        self.config = config.with_(index_dir=config.index_dir.resolve())  # the actors' cwd is not ours

    def __call__(self, todo: list[Question]) -> Iterator[dict[str, Any]]:
        connect(self.address)
        actors = start_actors(EvalWorker, self.config, self.address)
        k, mode = self.config.k, self.mode
        batches = (todo[i : i + QUESTIONS_PER_BATCH] for i in range(0, len(todo), QUESTIONS_PER_BATCH))
        for _, _, results in run_batches(
            actors, lambda actor, batch: actor.answer.remote(batch, k, mode), batches, self.address
        ):
            yield from results

    def close(self) -> None:
        disconnect()

"""`rag index --ray`: the build's per-document work (rag.store.steps) on a Ray cluster.

The driver reads each new or changed file's bytes (so the nodes need no shared folder) and streams
them in batches to the actors, which parse them; the indexer then finds the paragraphs repeated
across documents (that needs them all) and the actors clean, chunk and embed in batches. Results
come back to the driver, which alone writes the store, exactly as a local build does.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np

from rag.config import Config
from rag.distributed.cluster import IN_FLIGHT, check_reachable, connect, disconnect, run_batches, start_actors
from rag.distributed.workers import IndexWorker
from rag.errors import LoadError
from rag.ingest import RawFile, read_file
from rag.store import Embedded, Loaded, Prepared, embedding_texts, encode_batches, with_vectors
from rag.types import Document

PARSE_BATCH_BYTES = 8_000_000  # file bytes per parse batch (and at most PARSE_BATCH_FILES files)
PARSE_BATCH_FILES = 16
PREPARE_BATCH_CHARS = 40_000  # document text per clean-and-chunk batch: about 40 chunks
ENCODE_BATCHES_PER_TASK = 4  # encoder batches (`batch_size` texts each) per embedding task


class RayRunner:
    """A `Runner` whose work runs on the cluster at `address`, joined on first use (a build with
    nothing new sends nothing). `sent` counts the files sent to the cluster."""

    def __init__(self, address: str, config: Config, progress: bool = False) -> None:
        check_reachable(address)  # before anything is opened or written
        self.address = address
        self.config = config
        self.progress = progress
        self.sent = 0
        self.started = 0  # actors started (0: the cluster was never asked)
        self._actors: list[Any] = []

    def summary(self) -> dict[str, Any]:
        return {"address": self.address, "actors": self.started, "files_sent": self.sent}

    def close(self) -> None:
        self._actors = []
        disconnect()

    def start(self) -> list[Any]:
        """Join the cluster and start the actors, unless done already."""
        if not self._actors:
            connect(self.address)
            self._actors = start_actors(IndexWorker, self.config, self.address)
            self.started = len(self._actors)
        return self._actors

    def load(self, files: list[tuple[str, Path]]) -> Iterator[tuple[str, Loaded]]:
        actors = self.start()
        max_bytes = int(self.config.max_file_mb * 1e6)
        results: dict[str, Loaded] = {}
        per_batch = _share(len(files), len(actors), PARSE_BATCH_FILES)
        with _bar(len(files), self.progress, "reading (ray)") as bar:
            for _, batch, loaded in run_batches(
                actors,
                lambda actor, batch: actor.parse.remote(batch),
                _file_batches(files, max_bytes, results, bar.update, per_batch),
                self.address,
                lambda batch: bar.update(len(batch)),
            ):
                self.sent += len(batch)
                results.update(zip((doc for doc, _, _ in batch), loaded, strict=True))
        for doc, _ in files:
            yield doc, results[doc]

    def prepare(
        self, documents: list[Document], keys: dict[str, list[str]], repeated: frozenset[str]
    ) -> list[Embedded]:
        """Cleaned and chunked on the cluster, then embedded there in the batches a local build's
        encoder would make of all the texts (rag.store.encode_batches), so the vectors are its own."""
        import ray

        actors = self.start()
        repeated_ref = ray.put(repeated)
        chars = _share(sum(len(d.text) for d in documents), len(actors), PREPARE_BATCH_CHARS)
        batches = list(_document_batches(documents, chars))
        chunked: dict[int, list[Prepared]] = {}
        with _bar(len(documents), self.progress, "chunking (ray)") as bar:
            for number, _, prepared in run_batches(
                actors,
                lambda actor, batch: actor.prepare.remote(
                    batch, {d.doc: keys[d.doc] for d in batch}, repeated_ref
                ),
                iter(batches),
                self.address,
                lambda batch: bar.update(len(batch)),
            ):
                chunked[number] = prepared
        prepared = [p for number in range(len(batches)) for p in chunked[number]]
        texts, spans = embedding_texts(prepared)
        return with_vectors(prepared, spans, self._encode(texts))

    def _encode(self, texts: list[str]) -> np.ndarray:
        actors = self.start()
        rows = encode_batches(texts, self.config.batch_size)
        per_task = _share(len(rows), len(actors), ENCODE_BATCHES_PER_TASK)
        groups = [rows[i : i + per_task] for i in range(0, len(rows), per_task)]
        vectors: np.ndarray | None = None
        with _bar(len(texts), self.progress, "embedding (ray)", unit="text") as bar:
            for _, group, results in run_batches(
                actors,
                lambda actor, group: actor.encode.remote([[texts[i] for i in batch] for batch in group]),
                iter(groups),
                self.address,
                lambda group: bar.update(sum(len(batch) for batch in group)),
            ):
                for batch, batch_vectors in zip(group, results, strict=True):
                    if vectors is None:
                        vectors = np.zeros((len(texts), batch_vectors.shape[1]), dtype=np.float32)
                    vectors[batch] = batch_vectors
        assert vectors is not None, "no text to embed"
        return vectors


def _file_batches(
    files: list[tuple[str, Path]],
    max_bytes: int,
    refused: dict[str, Loaded],
    counted: Callable[[], object],
    per_batch: int,
) -> Iterator[list[tuple[str, Path, RawFile]]]:
    """Files read on the driver as the cluster asks for them, in batches; a file that cannot be
    read is recorded in `refused` with its LoadError (and `counted`), and not sent."""
    batch: list[tuple[str, Path, RawFile]] = []
    size = 0
    for doc, path in files:
        try:
            file = read_file(path, max_bytes)
        except LoadError as exc:
            refused[doc] = exc
            counted()
            continue
        batch.append((doc, path, file))
        size += len(file.raw)
        if size >= PARSE_BATCH_BYTES or len(batch) >= per_batch:
            yield batch
            batch, size = [], 0
    if batch:
        yield batch


def _share(total: int, actors: int, most: int) -> int:
    """A batch's size: at most `most`, and small enough that a small job still keeps every actor busy."""
    return max(1, min(most, -(-total // (IN_FLIGHT * actors))))


def _document_batches(documents: list[Document], chars_per_batch: int) -> Iterator[list[Document]]:
    batch: list[Document] = []
    chars = 0
    for document in documents:
        batch.append(document)
        chars += len(document.text)
        if chars >= chars_per_batch:
            yield batch
            batch, chars = [], 0
    if batch:
        yield batch


def _bar(total: int, enabled: bool, label: str, unit: str = "file") -> Any:
    """A progress bar over the whole cluster's work (tqdm hides itself when stderr is not a terminal)."""
    from tqdm import tqdm

    return tqdm(total=total, desc=label, unit=unit, leave=False, disable=None if enabled else True)

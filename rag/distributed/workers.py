"""What runs inside a Ray actor: plain classes (no Ray import), one model per actor, loaded once.
The driver wraps them with `ray.remote` (rag.distributed.cluster) and sends them batches; each
batch item goes through the functions the local build and the local evaluation call."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from rag.config import Config
from rag.ingest import RawFile
from rag.store import Embedder, Loaded, Prepared, parse_one, prepare_document
from rag.types import Document, Question


class IndexWorker:
    """Parses files, cleans and chunks documents, and embeds batches of texts, with its own encoder."""

    def __init__(self, config: Config) -> None:
        self.config = config
        self.embedder = Embedder(config)

    def ready(self) -> dict[str, Any]:
        """The index settings this node's citerag gives (its cleaner version, say): the driver
        refuses a cluster whose code would build another index. The encoder is loaded here, once."""
        _ = self.embedder.window
        return self.config.index_settings()

    def parse(self, files: list[tuple[str, Path, RawFile]]) -> list[Loaded]:
        max_bytes = int(self.config.max_file_mb * 1e6)
        return [parse_one(doc, path, file, max_bytes) for doc, path, file in files]

    def prepare(
        self, documents: list[Document], keys: dict[str, list[str]], repeated: frozenset[str]
    ) -> list[Prepared]:
        return [prepare_document(d, keys[d.doc], repeated, self.embedder, self.config) for d in documents]

    def encode(self, batches: list[list[str]]) -> list[np.ndarray]:
        """Each batch encoded as one batch (the driver made them as a local build's encoder would)."""
        return [self.embedder.encode(batch) for batch in batches]


class EvalWorker:
    """Answers and scores questions with an Engine of its own on the shared index."""

    def __init__(self, config: Config) -> None:
        from rag.engine import Engine

        self.config = config
        self.engine = Engine(config)

    def ready(self) -> dict[str, Any]:
        self.engine.warm()
        return self.config.index_settings()

    def answer(self, questions: list[Question], k: int, mode: str) -> list[dict[str, Any]]:
        from rag.evaluation import answer_one

        return [answer_one(self.engine, q, k, mode) for q in questions]

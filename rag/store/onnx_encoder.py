"""A sentence-transformers model's int8 ONNX export run with ONNX Runtime: tokenised by the model's own
tokenizer with its window, token vectors mean-pooled over the attention mask and L2-normalised, as
sentence-transformers' Transformer → Pooling(mean) → Normalize pipeline does.

It offers the part of `SentenceTransformer` that `Embedder` uses (`tokenizer`, `max_seq_length`,
`get_embedding_dimension`, `encode`), so the two encoders are interchangeable behind it.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path
from typing import Any

import numpy as np

from rag.errors import UserError
from rag.store.onnx_runtime import cpu_session, is_runtime_error


class OnnxEncoder:
    """Runs `model` (an export made by rag.store.onnx_export) on batches of texts."""

    def __init__(self, model: Path, tokenizer_dir: str, max_seq_length: int, dimension: int) -> None:
        from transformers import AutoTokenizer
        from transformers.utils import logging as transformers_logging

        transformers_logging.set_verbosity_error()  # as for the torch encoder (rag.store.models)
        self.path = model
        self.max_seq_length = max_seq_length
        self.dimension = dimension
        self.tokenizer = AutoTokenizer.from_pretrained(tokenizer_dir, model_max_length=max_seq_length)
        self._lock = threading.Lock()  # a fast tokenizer sets its truncation per call: not shareable
        self._session: Any = None
        self._pid = 0

    def get_embedding_dimension(self) -> int:
        return self.dimension

    @property
    def session(self) -> Any:
        """The runtime session, started on first use in each process: its thread pool does not survive
        a fork, and a process forked before any encoding (tests/fault_server.py) stays single-threaded."""
        with self._lock:
            if self._session is None or self._pid != os.getpid():
                try:
                    self._session = cpu_session(self.path)
                except Exception as exc:
                    if not is_runtime_error(exc):
                        raise
                    raise UserError(
                        f"ONNX encoder {self.path} cannot be run ({str(exc).splitlines()[0][:200]}); "
                        'set encoder = "torch"'
                    ) from None
                self._pid = os.getpid()
            return self._session

    def encode(
        self,
        texts: list[str],
        batch_size: int = 32,
        normalize_embeddings: bool = True,
        show_progress_bar: bool = False,
    ) -> np.ndarray:
        """One float32 row per text. Longest texts first, as sentence-transformers batches them, so a
        batch pads to lengths close to its own."""
        from tqdm import tqdm

        session = self.session
        wanted = [i.name for i in session.get_inputs()]
        out = np.zeros((len(texts), self.dimension), dtype=np.float32)
        batches = encode_batches(texts, batch_size)
        for rows in tqdm(batches, desc="Batches", disable=not show_progress_bar, leave=False):
            with self._lock:
                enc = self.tokenizer(
                    [texts[i] for i in rows],
                    padding=True,
                    truncation=True,
                    max_length=self.max_seq_length,
                    return_tensors="np",
                )
            tokens = session.run(None, {name: enc[name].astype(np.int64) for name in wanted})[0]
            mask = enc["attention_mask"][..., None].astype(np.float32)
            vectors = (tokens * mask).sum(axis=1) / np.clip(mask.sum(axis=1), 1e-9, None)
            if normalize_embeddings:
                vectors /= np.clip(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12, None)
            out[rows] = vectors
        return out


def encode_batches(texts: list[str], batch_size: int) -> list[np.ndarray]:
    """The rows of each batch `encode` runs: longest texts first. The int8 model quantises each batch's
    activations by the batch's own range, so a text's vector depends (within about 0.02) on the texts
    it is batched with: a build spread over machines runs these same batches to get the same vectors."""
    order = np.argsort([-len(t) for t in texts], kind="stable")
    return [order[start : start + batch_size] for start in range(0, len(texts), batch_size)]

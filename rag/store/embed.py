"""Text to normalised vectors with a sentence-transformers model, loaded lazily and once."""

from __future__ import annotations

from typing import Any

import numpy as np

from rag.config import Config
from rag.store.models import sentence_transformer


class Embedder:
    """Embeds passages and questions; counts word pieces so the chunker can respect the window."""

    def __init__(self, config: Config) -> None:
        self.config = config

    @property
    def model(self) -> Any:
        return sentence_transformer(self.config.model, self.config.device)

    @property
    def dimension(self) -> int:
        dim = self.model.get_embedding_dimension()
        return int(dim)

    @property
    def window(self) -> int:
        """Word pieces of text the model sees, not counting its two special tokens."""
        return int(self.model.max_seq_length) - 2

    def count_tokens(self, texts: list[str]) -> list[int]:
        if not texts:
            return []
        encoded = self.model.tokenizer(texts, add_special_tokens=False, truncation=False)["input_ids"]
        return [len(ids) for ids in encoded]

    def encode(self, texts: list[str], progress: bool = False) -> np.ndarray:
        """Unit-length float32 vectors, one row per text."""
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        vectors = self.model.encode(
            texts,
            batch_size=self.config.batch_size,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=progress,
        )
        return np.ascontiguousarray(vectors, dtype=np.float32)

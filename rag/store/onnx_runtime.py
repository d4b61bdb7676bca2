"""ONNX Runtime, shared by the models citerag runs with it (the sentence encoder, the trained reader):
a torch module exported and quantised to int8, and the CPU session that runs the file.

Dynamic int8 quantisation keeps a file at a quarter of fp32 (about 22 MB for MiniLM-L6) and runs
faster on a CPU; per-channel scales keep the outputs close to fp32 (per-tensor ones lose more: a
sentence vector's cosine to fp32 drops from about 0.99 to 0.93-0.95).
"""

from __future__ import annotations

import contextlib
import logging
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any


def export_int8(
    module: Any,
    sample: tuple[Any, ...],
    input_names: list[str],
    output_names: list[str],
    fp32: Path,
    target: Path,
) -> None:
    """Export `module` (called on `sample`) with torch.onnx to `fp32`, then quantise it dynamically to
    int8 per channel into `target`. Batch and sequence length stay dynamic in every input and output."""
    import torch
    from onnxruntime.quantization import QuantType, quantize_dynamic

    axes = {0: "batch", 1: "tokens"}
    with _quiet(), torch.no_grad():
        torch.onnx.export(
            module.eval().to("cpu"),
            sample,
            str(fp32),
            input_names=input_names,
            output_names=output_names,
            dynamic_axes={name: axes for name in [*input_names, *output_names]},
            opset_version=17,
            dynamo=False,
        )
        quantize_dynamic(str(fp32), str(target), weight_type=QuantType.QInt8, per_channel=True)


@contextlib.contextmanager
def _quiet() -> Iterator[None]:
    """Without the exporter's tracer warnings and the quantiser's advice logged on the root logger,
    which say nothing to a user (the export's quality is measured: tests/store/test_onnx_encoder.py).
    The root logger gets a handler for the while, so that advice does not install a default one."""
    root = logging.getLogger()
    handler, level = logging.NullHandler(), root.level
    root.addHandler(handler)
    root.setLevel(logging.ERROR)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            yield
    finally:
        root.removeHandler(handler)
        root.setLevel(level)


def cpu_session(model: Path, threads: int = 0) -> Any:
    """An ONNX Runtime session on the CPU, quiet below errors, on `threads` threads per call (0: one per
    core). It starts its own thread pool, which a fork does not carry over: a forked process needs a
    session of its own."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.log_severity_level = 3
    if threads:
        options.intra_op_num_threads = threads
    return ort.InferenceSession(str(model), options, providers=["CPUExecutionProvider"])


def is_runtime_error(exc: BaseException) -> bool:
    """Whether ONNX Runtime raised this (its own classes, e.g. for a damaged or foreign file)."""
    return type(exc).__module__.startswith("onnxruntime")

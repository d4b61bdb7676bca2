"""A trained torch reader to the shipped form: ONNX, quantised to int8 per channel (rag.store's
`export_int8`, the encoder's route too), with its tokenizer."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from rag.answer.reader import MODEL_FILE
from rag.store import export_int8

FP32_FILE = "model-fp32.onnx"


def export(model: Any, tokenizer: Any, out: Path, work: Path, info: dict[str, Any]) -> Path:
    """Write out/model.onnx (int8), the tokenizer files and reader.json; the fp32 ONNX stays in work."""
    out.mkdir(parents=True, exist_ok=True)
    work.mkdir(parents=True, exist_ok=True)
    sample = tokenizer(["what is it?"], ["it is a sample."], return_tensors="pt")
    target = out / MODEL_FILE
    export_int8(
        model,
        (sample["input_ids"], sample["attention_mask"], sample["token_type_ids"]),
        ["input_ids", "attention_mask", "token_type_ids"],
        ["start_logits", "end_logits"],
        work / FP32_FILE,
        target,
    )
    tokenizer.save_pretrained(str(out))
    (out / "reader.json").write_text(json.dumps(info, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    return target

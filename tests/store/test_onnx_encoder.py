"""The int8 ONNX encoder (the default) against the torch one it replaces: the same vectors within a
cosine of 0.98 on the seeds' own chunks and sentences, an export made once and reused, a damaged cached
file exported again with one warning, torch with one warning when no export can be made, and the
encoder tied to the index it built."""

from __future__ import annotations

import contextlib
import io
import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from rag.config import DEFAULT_MODEL, Config
from rag.errors import UserError
from rag.store import IndexReader, build_index, check_settings
from rag.store.embed import sentence_encoder
from rag.store.manifest import FORMAT, sha256_file
from rag.store.models import resolve_model, sentence_transformer
from rag.store.onnx_encoder import OnnxEncoder
from rag.store.onnx_export import META, MODEL, cache_folder, load_onnx_encoder
from tests.conftest import SEEDS, collapse, run_rag


def seed_texts(config: Config) -> list[str]:
    """What indexing the seeds embeds: every chunk and every distinct sentence of them."""
    reader = IndexReader(config.index_dir)
    try:
        chunks = list(reader.chunks())
        sentences = {collapse(reader.document_text(c.doc)[a:b]) for c in chunks for a, b in c.sentences}
    finally:
        reader.close()
    return [c.text for c in chunks] + sorted(sentences)


@pytest.fixture(scope="module")
def first_export(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """A cache of our own holding one export of the default model, made here by the real exporter, and
    what the export printed."""
    root = tmp_path_factory.mktemp("xdg-cache")
    printed = io.StringIO()
    with pytest.MonkeyPatch.context() as mp, contextlib.redirect_stderr(printed):
        mp.setenv("XDG_CACHE_HOME", str(root))
        load_onnx_encoder(DEFAULT_MODEL)
    return root, printed.getvalue()


@pytest.fixture(scope="module")
def private_cache(first_export: tuple[Path, str]) -> Path:
    return first_export[0]


def test_the_first_export_says_why_it_pauses(first_export: tuple[Path, str]) -> None:
    root, printed = first_export
    lines = printed.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("rag: making the int8 ONNX encoder"), lines
    assert str(root) in lines[0]


def test_the_default_runs_onnx_and_matches_torch_on_the_seeds(seed_index: Config) -> None:
    onnx = sentence_encoder(DEFAULT_MODEL, "cpu", "onnx")
    assert isinstance(onnx, OnnxEncoder)
    texts = seed_texts(seed_index)
    assert len(texts) > 200
    torch_model = sentence_transformer(DEFAULT_MODEL, "cpu")
    # Same tokenizer and window: the word pieces each model sees are the same.
    sample = texts[:50]
    ours = onnx.tokenizer(sample, truncation=True, max_length=onnx.max_seq_length)["input_ids"]
    theirs = torch_model.tokenize(sample)["input_ids"].tolist()
    assert [ids for ids in ours] == [[t for t in ids if t != 0] for ids in theirs]
    a = onnx.encode(texts, batch_size=32)
    b = torch_model.encode(texts, batch_size=32, normalize_embeddings=True, convert_to_numpy=True)
    assert a.dtype == np.float32 and a.shape == b.shape == (len(texts), 384)
    assert np.allclose(np.linalg.norm(a, axis=1), 1.0, atol=1e-5)
    cosine = (a * b).sum(axis=1)
    assert cosine.mean() >= 0.99, cosine.mean()
    assert cosine.min() >= 0.98, (cosine.min(), texts[int(cosine.argmin())])


def test_the_export_is_made_once_and_reused(private_cache: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(private_cache))
    folder = cache_folder(Path(resolve_model(DEFAULT_MODEL)))
    assert folder.is_relative_to(private_cache / "citerag" / "encoders")
    before = (folder / MODEL).stat()
    meta = json.loads((folder / META).read_text(encoding="utf-8"))
    encoder = load_onnx_encoder(DEFAULT_MODEL)
    after = (folder / MODEL).stat()
    # Not written again: same file (a new export is moved in as a new inode), nothing left beside it.
    assert (after.st_ino, after.st_mtime_ns) == (before.st_ino, before.st_mtime_ns)
    assert sorted(p.name for p in folder.iterdir()) == sorted([".lock", META, MODEL])
    assert meta["max_seq_length"] == 256 and meta["dimension"] == 384
    vector = encoder.encode(["Child protection services help families."])
    assert vector.shape == (1, 384)


def test_a_damaged_cached_file_is_exported_again_with_one_warning(
    private_cache: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    shutil.copytree(private_cache, tmp_path / "cache")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    folder = cache_folder(Path(resolve_model(DEFAULT_MODEL)))
    model = folder / MODEL
    data = bytearray(model.read_bytes())
    data[len(data) // 2 : len(data) // 2 + 4096] = bytes(4096)  # zeroed weights: still a loadable file
    model.write_bytes(bytes(data))
    encoder = load_onnx_encoder(DEFAULT_MODEL)
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1 and "damaged" in lines[0] and "exporting it again" in lines[0], lines
    assert sha256_file(model) == json.loads((folder / META).read_text(encoding="utf-8"))["sha256"]
    good = load_onnx_encoder(DEFAULT_MODEL)  # now intact: loaded without a word
    assert capsys.readouterr().err == ""
    texts = ["Child protection services help families.", "The mayor funded the school."]
    assert np.allclose(encoder.encode(texts), good.encode(texts), atol=1e-6)


@pytest.mark.slow
def test_without_an_export_the_torch_encoder_indexes_with_one_warning(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The cache cannot be written (its root is a file): the real command line warns once and indexes."""
    blocked = tmp_path / "not-a-folder"
    blocked.write_text("x")
    docs = tmp_path / "docs"
    docs.mkdir()
    shutil.copy(sorted(SEEDS.glob("*.txt"))[0], docs)
    monkeypatch.setenv("XDG_CACHE_HOME", str(blocked))
    result = run_rag("index", str(docs), "--index-dir", str(tmp_path / "index"))
    assert result.returncode == 0, result.stderr
    warnings = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(warnings) == 1, warnings
    assert warnings[0].startswith("rag: warning: cannot write the ONNX cache") and "torch" in warnings[0]
    assert "1 documents" in result.stdout


def test_an_index_built_with_one_encoder_asks_for_a_rebuild_with_the_other(tmp_path: Path) -> None:
    docs = tmp_path / "docs"
    docs.mkdir()
    shutil.copy(sorted(SEEDS.glob("*.txt"))[0], docs)
    torch_config = Config(index_dir=tmp_path / "index", encoder="torch")
    build_index([docs], torch_config)
    onnx_config = torch_config.with_(encoder="onnx")
    with pytest.raises(UserError, match=r"encoder: 'torch' → 'onnx'.*rag index --rebuild"):
        build_index([docs], onnx_config)
    build_index([docs], onnx_config, rebuild=True)
    reader = IndexReader(onnx_config.index_dir)
    assert reader.manifest["settings"]["encoder"] == "onnx"
    manifest = reader.manifest
    reader.close()
    with pytest.raises(UserError, match=r"encoder: 'onnx' → 'torch'"):
        check_settings(manifest, torch_config.index_settings(), torch_config.index_dir)


def test_an_index_from_before_the_setting_counts_as_torch(tmp_path: Path) -> None:
    wanted = Config(encoder="torch").index_settings()
    old = {k: v for k, v in wanted.items() if k != "encoder"}
    manifest = {"format": FORMAT, "settings": old}
    check_settings(manifest, wanted, tmp_path)  # no rebuild: it was built with torch
    with pytest.raises(UserError, match=r"encoder: 'torch' → 'onnx'"):
        check_settings(manifest, Config().index_settings(), tmp_path)


def test_the_encoder_setting_is_validated(tmp_path: Path) -> None:
    assert Config().encoder == "onnx"
    with pytest.raises(UserError, match="encoder must be one of onnx, torch"):
        Config(encoder="tensorrt")
    toml = tmp_path / "rag.toml"
    toml.write_text('encoder = "torch"\n', encoding="utf-8")
    assert Config.from_file(toml).encoder == "torch"
    toml.write_text('encoder = "ONNX"\n', encoding="utf-8")
    with pytest.raises(UserError, match="encoder must be one of"):
        Config.from_file(toml)

"""An index folder's layout and each generation's manifest: where the live generation is, what it was
built with, and whether its files are still the ones the manifest recorded.

Layout: `DIR/CURRENT` names the live generation folder `DIR/gen-*` holding `rag.sqlite`,
`vectors.faiss`, `bm25/` and `manifest.json`. A build writes a new generation beside the old one and
then replaces CURRENT atomically, so a build killed at any moment leaves the previous index intact.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from rag.errors import UserError
from rag.store.generations import MANIFEST

FORMAT = 3  # 2: BM25 stored with each generation; 3: locators of documents and chunks
BM25 = "bm25"
DB, VECTORS, CURRENT, LOCK = "rag.sqlite", "vectors.faiss", "CURRENT", ".lock"
# What an index built before a setting existed was built with: torch ran every encoder before "encoder",
# the first chunker before "chunker".
BEFORE_SETTINGS = {"encoder": "torch", "chunker": "1"}


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def data_files(gen: Path) -> list[str]:
    """Every file of a generation but its manifest, relative to the generation folder."""
    return [DB, VECTORS, *sorted(f"{BM25}/{p.name}" for p in (gen / BM25).iterdir())]


def checksums(gen: Path) -> dict[str, str]:
    """What `verify` later compares against: the SHA-256 of each data file."""
    return {name: sha256_file(gen / name) for name in data_files(gen)}


def current_generation(index_dir: Path) -> Path | None:
    """The live generation folder, or None when no index was ever completed here."""
    try:
        name = (index_dir / CURRENT).read_text(encoding="utf-8").strip()
    except (FileNotFoundError, NotADirectoryError):
        return None
    gen = index_dir / name
    return gen if name.startswith("gen-") and gen.is_dir() else None


def read_manifest(gen: Path) -> dict[str, Any]:
    try:
        data: dict[str, Any] = json.loads((gen / MANIFEST).read_text(encoding="utf-8"))
        return data
    except (OSError, ValueError):
        raise UserError(
            f"index at {gen.parent} is damaged (manifest unreadable); rebuild it with `rag index --rebuild`"
        ) from None


def verify(gen: Path, manifest: dict[str, Any]) -> None:
    """Every data file present with the checksum the manifest recorded: a truncated or overwritten
    file is caught here with a clear message, not as a crash deep inside FAISS or SQLite."""
    for name, expected in manifest.get("checksums", {}).items():
        try:
            intact = sha256_file(gen / name) == expected
        except OSError:
            intact = False
        if not intact:
            raise UserError(
                f"index at {gen.parent} is damaged ({name} is missing or changed since it was built); "
                "rebuild it with `rag index --rebuild`"
            )


def check_settings(manifest: dict[str, Any], wanted: dict[str, Any], index_dir: Path | str) -> None:
    """Refuse to mix settings: a different model, encoder or chunker means a rebuild."""
    built = {**BEFORE_SETTINGS, **manifest.get("settings", {})}
    diffs = [f"{k}: {built.get(k)!r} → {v!r}" for k, v in wanted.items() if built.get(k) != v]
    if manifest.get("format") != FORMAT:
        diffs.insert(0, f"format: {manifest.get('format')!r} → {FORMAT!r}")
    if diffs:
        raise UserError(
            f"index at {index_dir} was built with other settings ({'; '.join(diffs)}); "
            "rebuild it with `rag index --rebuild`"
        )

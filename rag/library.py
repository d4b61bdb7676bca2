"""Changing a served index: uploaded files in, documents out, engines reopened on the new generation.

Uploads are copied into `<index_dir>/uploads/` and indexed as that folder (doc id = file name), so
indexing other folders never deletes them and nothing is written outside the index folder.
"""

from __future__ import annotations

import os
import re
import shutil
import threading
import unicodedata
from collections.abc import Callable, Collection, Sequence
from pathlib import Path

from rag.config import Config
from rag.engine import Engine
from rag.errors import LoadError, UserError
from rag.ingest import KINDS, load
from rag.store import Warn, build_index, check_settings, open_reader, open_writer, stored_manifest, where
from rag.types import IndexReport

UPLOADS = "uploads"
MAX_NAME = 120
_UNSAFE = re.compile(r"[^\w .()+-]")  # anything else in an uploaded file's name becomes "_"

Progress = Callable[[float, str], None]


def _silent(fraction: float, message: str) -> None:
    """The default progress callback: report nothing."""


def uploads_dir(config: Config) -> Path:
    return config.index_dir / UPLOADS


def safe_name(name: str, kinds: Collection[str] = KINDS) -> str:
    """The name an upload is stored and cited under: its base name only (no folders, so no `../`),
    in a plain character set; hidden names and types other than `kinds` are refused."""
    base = name.replace("\\", "/").rsplit("/", 1)[-1]
    base = _UNSAFE.sub("_", unicodedata.normalize("NFC", base)).strip()
    if not base or base.startswith("."):
        raise UserError(f"{base or 'an empty name'}: hidden or empty file names are not accepted")
    if len(base) > MAX_NAME:
        raise UserError(f"{base[:40]}…: file name longer than {MAX_NAME} characters")
    suffix = Path(base).suffix.lower()
    if suffix not in kinds:
        raise UserError(f"{base}: unsupported file type {suffix or '(none)'}; use {', '.join(kinds)}")
    return base


def _indexed_paths(config: Config) -> dict[str, str]:
    """doc id → source path of every indexed document (empty when there is no index yet)."""
    if stored_manifest(config) is None:
        return {}
    reader = open_reader(config)
    try:
        return {d["doc"]: d["path"] for d in reader.documents()}
    finally:
        reader.close()


def check_size(path: Path, name: str, limit_mb: float) -> None:
    """Refuse an upload too large to handle, before it is read (shown as `name`, not the temp path)."""
    size = path.stat().st_size
    if size > limit_mb * 1e6:
        raise UserError(f"{name}: too large ({size / 1e6:.1f} MB, limit {limit_mb:g} MB)")


def _check_upload(path: Path, name: str, config: Config) -> None:
    """Refuse a file that could not be indexed, before anything is copied. A symbolic link is
    refused rather than followed: its target (say /etc/passwd) was not uploaded."""
    if path.is_symlink():
        raise UserError(f"{name}: a symbolic link, not an uploaded file")
    check_size(path, name, config.max_file_mb)
    try:
        load(name, path, max_bytes=int(config.max_file_mb * 1e6))
    except LoadError as exc:
        raise UserError(f"{name}: {str(exc).removeprefix(f'{path}: ')}") from None


def add_files(files: Sequence[Path], config: Config, progress: Progress = _silent) -> IndexReport:
    """Copy uploaded files into the uploads folder and index it incrementally.

    The whole batch is checked first (name, type, size, readable text, no clash with an indexed
    document), so a bad file refuses the batch with one line and nothing is written.
    """
    # Names are compared case-blind: "Report.TXT" beside "report.txt" is one file on many systems,
    # and two documents a reader cannot tell apart in a citation.
    indexed = {doc.casefold(): doc for doc in _indexed_paths(config)}
    names: dict[str, Path] = {}
    progress(0.0, "checking files")
    for path in files:
        name = safe_name(path.name)
        if any(name.casefold() == given.casefold() for given in names):
            raise UserError(f"{name}: given twice (names differing only in case are the same file)")
        if name.casefold() in indexed:
            raise UserError(
                f"{name}: the index already has a document of that name ({indexed[name.casefold()]}); "
                "remove it or rename"
            )
        _check_upload(path, name, config)
        names[name] = path
    folder = uploads_dir(config)
    progress(0.2, "copying")
    try:
        folder.mkdir(parents=True, exist_ok=True)
        for name, path in names.items():
            part = folder / f".{name}.part"  # hidden: never indexed, even if a copy is interrupted
            part.unlink(missing_ok=True)  # a link planted under that name is not written through
            shutil.copyfile(path, part)
            os.replace(part, folder / name)
    except OSError as exc:
        raise UserError(f"cannot write to {folder}: {exc.strerror}") from None
    progress(0.4, "indexing")
    return build_index([folder], config)


def remove_document(doc: str, config: Config) -> None:
    """Take one document out of the index; an uploaded one's file goes too, so it stays out."""
    with open_writer(config) as writer:
        record = writer.documents().get(doc)
        if record is None:
            raise UserError(f"no document {doc!r} in the index")
        writer.remove(doc)
        writer.commit(writer.dimension(), hnsw_m=config.hnsw_m)
    path = Path(record.path)
    if path.parent == uploads_dir(config).resolve():
        path.unlink(missing_ok=True)


def ensure_index(
    config: Config, seeds: Path, progress: bool = False, warn: Warn = lambda message: None
) -> None:
    """Bring the served index up to date before serving: the seeds folder and the uploads, rebuilt
    when built with other settings. An index of other folders is not ours to fill with the seeds
    or to rebuild: only its uploads are synced (opening it reports other settings)."""
    folder = uploads_dir(config)
    manifest = stored_manifest(config)
    roots = [seeds.resolve(), folder.resolve()]
    ours = all(any(Path(p).is_relative_to(r) for r in roots) for p in _indexed_paths(config).values())
    stale = False
    if manifest is not None:
        try:
            check_settings(manifest, config.index_settings(), where(config))
        except UserError:
            if not ours:
                raise
            stale = True
    sources = [p for p in ([seeds, folder] if ours else [folder]) if p.is_dir()]
    if manifest is None and not sources:
        raise UserError(f"no index in {where(config)} and no {seeds}/ folder to build one from")
    if sources:
        build_index(sources, config, rebuild=stale, progress=progress, warn=warn)


class Library:
    """The served index: one open engine per reranking setting, replaced by fresh ones (which read
    the new generation) after each change. Changes run one at a time; questions wait for a change
    only when they need an engine opened."""

    def __init__(self, config: Config) -> None:
        self.config = config
        self._engines: dict[str, Engine] = {}
        self._lock = threading.Lock()  # held while the index changes and while an engine opens

    def engine(self, rerank: bool = True) -> Engine:
        """A warm engine; with `rerank` off, one whose reranker is "none"."""
        key = self.config.rerank if rerank else "none"
        engine = self._engines.get(key)
        if engine is not None:
            return engine
        with self._lock:  # never mid-change, when the generation it opens may be replaced
            engine = self._engines.get(key)
            if engine is None:
                engine = Engine(self.config.with_(rerank=key))
                engine.warm()  # FAISS and BM25 in memory before the first question comes
                self._engines = {**self._engines, key: engine}
            return engine

    def documents(self) -> list[dict[str, object]]:
        return self.engine().reader.documents()

    def add_files(self, files: Sequence[Path], progress: Progress = _silent) -> IndexReport:
        with self._lock:
            report = add_files(files, self.config, progress)
            self._reopen()
        return report

    def remove(self, doc: str) -> None:
        """Questions already running on the old engines finish with them (warm, so nothing is read
        from the deleted generation); the engines are then garbage collected."""
        with self._lock:
            remove_document(doc, self.config)
            self._reopen()

    def _reopen(self) -> None:
        """Fresh engines on the folder's new generation; a database's engines read its current state
        already (and keep their connection pools)."""
        if not self.config.store:
            self._engines = {}

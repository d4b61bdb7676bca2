"""Which store holds an index: the folder `index_dir` (the embedded default), or a PostgreSQL
database when `store` is a `postgresql://` URL. Everything that opens an index goes through here,
so the rest of the program meets one reader and one writer interface."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeAlias

from rag.config import Config
from rag.errors import UserError
from rag.store.manifest import current_generation, read_manifest
from rag.store.reader import IndexReader
from rag.store.writer import IndexWriter

if TYPE_CHECKING:
    from rag.store.lexical import LexicalIndex
    from rag.store.postgres import PostgresLexical, PostgresReader, PostgresWriter

Reader: TypeAlias = "IndexReader | PostgresReader"
Writer: TypeAlias = "IndexWriter | PostgresWriter"
Lexical: TypeAlias = "LexicalIndex | PostgresLexical"


def is_database(config: Config) -> bool:
    return bool(config.store)


def where(config: Config) -> str:
    """The index's name in messages and reports: the folder, or the URL without its password."""
    if is_database(config):
        from rag.store.postgres import display_url

        return display_url(config.store)
    return str(config.index_dir)


def open_reader(config: Config) -> Reader:
    """An `IndexReader` on the folder, or a `PostgresReader` with the same methods."""
    if is_database(config):
        from rag.store.postgres import PostgresReader

        return PostgresReader(config.store)
    return IndexReader(config.index_dir)


def open_writer(config: Config, rebuild: bool = False) -> Writer:
    """An `IndexWriter` on the folder, or a `PostgresWriter` with the same methods."""
    if is_database(config):
        from rag.store.postgres import PostgresWriter

        return PostgresWriter(config.store, config.index_settings(), rebuild, config.hnsw_m)
    return IndexWriter(config.index_dir, config.index_settings(), rebuild=rebuild)


def stored_manifest(config: Config) -> dict[str, Any] | None:
    """What the live index was built with (its `format` and `settings`), or None if there is none."""
    if not is_database(config):
        gen = current_generation(config.index_dir)
        return None if gen is None else read_manifest(gen)
    from rag.store.postgres import check_version, read_index_meta

    meta = read_index_meta(config.store)
    if meta is not None:
        check_version(meta, where(config))
    return meta


def copy_into_database(config: Config, index_dir: Path, rebuild: bool = False) -> tuple[int, int]:
    """An index folder's documents, chunks and vectors copied into `config.store` (no embedding);
    (documents, chunks) copied."""
    if not is_database(config):
        raise UserError("--from DIR copies an index folder into a database: give --store URL too")
    from rag.store.postgres import copy_folder

    return copy_folder(index_dir, config.store, rebuild, config.hnsw_m)

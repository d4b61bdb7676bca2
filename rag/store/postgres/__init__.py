"""The index in PostgreSQL with pgvector (`store = "postgresql://…"`): the folder store's reader and
writer interface over tables shared by any number of processes. psycopg and pgvector (the
`postgres` extra) are imported only when a database store is opened."""

from rag.store.postgres.connect import display_url, is_database_url
from rag.store.postgres.migrate import copy_folder
from rag.store.postgres.reader import PostgresLexical, PostgresReader, read_index_meta
from rag.store.postgres.writer import PostgresWriter, check_version

__all__ = [
    "PostgresLexical",
    "PostgresReader",
    "PostgresWriter",
    "check_version",
    "copy_folder",
    "display_url",
    "is_database_url",
    "read_index_meta",
]

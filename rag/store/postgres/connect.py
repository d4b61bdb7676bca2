"""Reaching the database: a URL shown without its password, connections and a pool opened with one
clear line on failure, and any database error met later turned into one (`database_errors`).

Credentials come from the URL or libpq's own environment (PGPASSWORD, PGSERVICE, ~/.pgpass); only
`display_url` is ever printed or recorded.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

from rag.errors import UserError

SCHEMES = ("postgresql://", "postgres://")
CONNECT_TIMEOUT = 10  # seconds; a refused connection fails at once, an unroutable host after this


def is_database_url(store: str) -> bool:
    return store.startswith(SCHEMES)


def display_url(url: str) -> str:
    """The URL without a password (libpq parses it: a password in the query string goes too)."""
    from psycopg.conninfo import conninfo_to_dict

    try:
        parts = conninfo_to_dict(url)
    except Exception:  # a malformed URL: show its scheme only
        return url.split("://", 1)[0] + "://…"
    user = f"{parts['user']}@" if parts.get("user") else ""
    host = str(parts.get("host", "")) + (f":{parts['port']}" if parts.get("port") else "")
    return f"postgresql://{user}{host}/{parts.get('dbname', '')}"


def _reason(exc: BaseException) -> str:
    """The server's or libpq's first line, without the password-bearing connection string."""
    text = str(exc).strip().splitlines()
    return text[0].removeprefix("connection failed: ") if text else exc.__class__.__name__


@contextlib.contextmanager
def database_errors(url: str) -> Iterator[None]:
    """A database error becomes one line naming the database: in `rag serve`, an error answer for
    the question that met it; the pool replaces a broken connection for the next."""
    import psycopg

    try:
        yield
    except psycopg.OperationalError as exc:
        raise UserError(f"the database at {display_url(url)} is unreachable: {_reason(exc)}") from None
    except psycopg.Error as exc:
        raise UserError(f"the database at {display_url(url)} failed: {_reason(exc)}") from None


def _configure(conn: Any) -> None:
    """Vectors as numpy arrays; HNSW explores enough of its graph for the candidates asked for."""
    from pgvector.psycopg import register_vector

    register_vector(conn)


def connect(url: str, autocommit: bool = True) -> Any:
    """One connection, checked: a wrong URL, a refused connection, a database without pgvector all
    fail here with one line."""
    import psycopg

    with database_errors(url):
        try:
            conn = psycopg.connect(url, autocommit=autocommit, connect_timeout=CONNECT_TIMEOUT)
        except psycopg.ProgrammingError as exc:  # the URL itself does not parse
            raise UserError(f"invalid database URL {display_url(url)}: {_reason(exc)}") from None
        ensure_vector(conn, url)
        _configure(conn)
        return conn


def ensure_vector(conn: Any, url: str) -> None:
    """The pgvector extension, created if the server has it and we may; else one line saying so."""
    import psycopg

    if conn.execute("SELECT 1 FROM pg_extension WHERE extname = 'vector'").fetchone():
        return
    try:
        with conn.transaction():
            conn.execute("CREATE EXTENSION IF NOT EXISTS vector")
    except psycopg.Error as exc:
        raise UserError(
            f"the database at {display_url(url)} has no pgvector extension and it cannot be created "
            f"({_reason(exc)}); install pgvector on the server (`make postgres` runs one that has it)"
        ) from None


def open_pool(url: str) -> Any:
    """A pool for readers: `rag serve` answers questions on several threads; a connection the
    server dropped is noticed when taken out (`check`) and replaced."""
    from psycopg_pool import ConnectionPool

    conn = connect(url)  # fails with one clear line before the pool starts retrying in the background
    conn.close()
    pool = ConnectionPool(
        url,
        min_size=1,
        max_size=8,
        kwargs={"autocommit": True, "connect_timeout": CONNECT_TIMEOUT},
        configure=_configure,
        check=ConnectionPool.check_connection,
        open=False,
        timeout=CONNECT_TIMEOUT,
    )
    with database_errors(url):
        pool.open(wait=True, timeout=CONNECT_TIMEOUT)
    return pool

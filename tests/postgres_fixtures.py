"""The real PostgreSQL with pgvector the database store is tested against: started once per session
the way `make postgres` starts it (scripts/postgres.sh, which installs it on first use), stopped at
the end if this session started it. A server that cannot be started fails the tests with the
script's reason; it never skips them."""

from __future__ import annotations

import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parent.parent / "scripts" / "postgres.sh"
PORT = 55432
ADMIN = f"postgresql://postgres@127.0.0.1:{PORT}/postgres"


def postgres(command: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(SCRIPT), command], capture_output=True, text=True, timeout=900, check=False, env=env
    )


def _running() -> bool:
    ready = subprocess.run(
        ["/usr/lib/postgresql/15/bin/pg_isready", "-q", "-h", "127.0.0.1", "-p", str(PORT)], check=False
    )
    return ready.returncode == 0


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[str]:
    """`make postgres`'s server; the URL it prints (its `citerag` database)."""
    was_running = _running()
    started = postgres("start")
    if started.returncode != 0:
        pytest.fail(f"cannot start PostgreSQL with scripts/postgres.sh: {started.stderr.strip()[-2000:]}")
    yield started.stdout.strip().splitlines()[-1]
    if not was_running:
        postgres("stop")


@pytest.fixture
def pg_url(postgres_server: str) -> Iterator[str]:
    """A fresh, empty database of its own for one test (pgvector available), dropped afterwards."""
    import psycopg

    name = f"test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(ADMIN, autocommit=True) as admin:
        admin.execute(f"CREATE DATABASE {name}")
    yield postgres_server.rsplit("/", 1)[0] + f"/{name}"
    with psycopg.connect(ADMIN, autocommit=True) as admin:
        admin.execute(f"DROP DATABASE {name} WITH (FORCE)")

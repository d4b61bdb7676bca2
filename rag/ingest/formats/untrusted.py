"""Reading untrusted files: a parsing library raises many kinds of exception on a damaged file, and
each must reach the user as one line naming the file, not a traceback."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from rag.errors import LoadError


@contextmanager
def failing_as(path: Path, failure: str) -> Iterator[None]:
    """Any exception in the block becomes LoadError "PATH: FAILURE (Kind: message)"; a LoadError of
    our own (a clearer line already) passes as it is."""
    try:
        yield
    except LoadError:
        raise
    except Exception as exc:  # untrusted input: whatever the library raises on a damaged file
        raise LoadError(f"{path}: {failure} ({exc.__class__.__name__}: {exc})") from None

"""Who still reads a generation: readers hold a shared lock on its manifest for as long as they are
open, and a build deletes a replaced generation only when it can take that lock exclusively.

SQLite's promise is the model: a reader opened before a build sees the old state to the end, one
opened after sees the new, and neither ever meets a deleted file (FAISS and BM25 load lazily, so
deleting the old generation at commit broke readers opened a moment before). A generation a reader
still holds is left in place and removed by the next build, or by the last reader's close.
"""

from __future__ import annotations

import fcntl
import os
import shutil
from pathlib import Path
from typing import IO

MANIFEST = "manifest.json"


def hold(gen: Path) -> IO[bytes] | None:
    """A shared hold on a committed generation (close the file to let go), or None if it is gone or
    being deleted, when the caller should look at CURRENT again."""
    try:
        held = (gen / MANIFEST).open("rb")
    except FileNotFoundError:
        return None
    try:
        fcntl.flock(held.fileno(), fcntl.LOCK_SH | fcntl.LOCK_NB)
        # A deleter may have finished between our open and our lock: the file we hold must still be
        # the generation's.
        if os.fstat(held.fileno()).st_ino == os.stat(gen / MANIFEST).st_ino:
            return held
    except (BlockingIOError, FileNotFoundError):
        pass
    held.close()
    return None


def delete_if_unheld(gen: Path) -> bool:
    """Delete a committed generation no reader holds; False (kept) while one does. Called only for a
    generation that is no longer CURRENT, so no reader comes to hold it anew (`hold` sees it go)."""
    try:
        probe = (gen / MANIFEST).open("rb")
    except FileNotFoundError:
        shutil.rmtree(gen, ignore_errors=True)
        return True
    with probe:
        try:
            fcntl.flock(probe.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False
        shutil.rmtree(gen, ignore_errors=True)
    return True
